"""The draw's index of the pool, kept in memory between draws (issue 21: the draw's cost should not grow with the
pool): the active experts' columns the screening reads (categories, employer, age, bar, 000 §9 grounds, tags),
each field's experts as sorted ids and as employer groups in the canonical order (``fair_draw.groups_of``).

It is rebuilt only when the pool changed: the database stamps every change to the expert table in
``pool_version`` (migration 0019, triggers), the draw reads the stamp in its own transaction (one statement) and
takes the index built at that stamp, else builds it from one query. So a draw screens a requirement with set
operations and per employer group (:meth:`PoolIndex.screen`), not per expert; the groups no expert of which is
excluded are the index's own objects. The result is exactly ``fair_draw.screen`` of the same facts
(tests/services/test_pool_index.py compares them).

The facts outside the expert table (ties to the inspected institutions, leave, other activities, review draws) are
read for each draw, as before (``candidates.screen_pool``).
"""

from __future__ import annotations

import asyncio
import gc
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from itertools import filterfalse
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import text

from services.activities.draw_pools import SortedIds
from services.activities.draw_rules import (
    ACTIVE_STATE,
    ALREADY_DRAWN,
    SAME_EMPLOYER_FIELD,
    ActivitySpec,
    DrawSettings,
    ExclusionCode,
    Member,
    Requirement,
)
from services.activities.fair_draw import Group, Screened, screen_ids
from storage.models import Expert
from storage.uow import UnitOfWork

__all__ = ["PoolIndex", "age_cutoff", "current", "stamp"]

_KEEP = 4  # indexes kept (one per set of pools drawn from; the oldest goes first)
_SETTLE_FROM = 5_000  # experts: a smaller index costs the collector little (and tests build many)
_Key = tuple[str, int, tuple[int, ...] | None]  # the stamp (epoch, version) and the pools
_CACHE: dict[_Key, PoolIndex] = {}


class _Field:
    """The experts of one category (and sub-category): sorted ids, as a set, and as canonical employer groups."""

    __slots__ = ("groups", "ids", "members")

    def __init__(self, ids: list[int], employer_of: Mapping[int, int | None]) -> None:
        self.ids = SortedIds(sorted(ids))
        self.members = frozenset(self.ids)
        by_employer: dict[int, list[int]] = defaultdict(list)
        alone: list[Group] = []
        for person_id in self.ids:
            employer_id = employer_of[person_id]
            if employer_id is None:
                alone.append(Group(None, (person_id,)))
            else:
                by_employer[employer_id].append(person_id)
        self.groups = tuple([Group(e, tuple(by_employer[e])) for e in sorted(by_employer)] + alone)


class PoolIndex:
    """The active experts' columns the screening reads (module docstring); built from :func:`_rows`."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.employer_of: dict[int, int | None] = {}
        self.tags: dict[int, frozenset[str]] = {}
        self._kinds: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        births: list[tuple[date, int]] = []
        self._extended: dict[int, date] = {}
        self._barred: list[tuple[date, int]] = []
        disqualified: list[int] = []
        staff: dict[int, list[int]] = defaultdict(list)
        shared: dict[object, Any] = {}  # equal sets of categories and tags stored once
        for (person_id, employer_id, categories, subcategories, tags, birth, barred_until, extended_until, capable,
             criminal, penalty, violation) in rows:
            self.employer_of[person_id] = employer_id
            kind = (frozenset(categories or ()), frozenset(subcategories or ()))
            self._kinds[person_id] = shared.setdefault(kind, kind)
            tag_set = frozenset(tags or ())
            self.tags[person_id] = shared.setdefault(tag_set, tag_set)
            if birth is not None:
                births.append((birth, person_id))
            if extended_until is not None:
                self._extended[person_id] = extended_until
            if barred_until is not None:
                self._barred.append((barred_until, person_id))
            if capable is False or criminal is True or penalty is True or violation is True:  # 000 §9(一)–(三)
                disqualified.append(person_id)
            if employer_id is not None:
                staff[employer_id].append(person_id)
        births.sort()
        self._birth_dates = [b for b, _ in births]
        self._birth_ids = [p for _, p in births]
        self._disqualified = frozenset(disqualified)
        self._staff = {employer: tuple(ids) for employer, ids in staff.items()}
        self._fields: dict[tuple[str, str | None], _Field] = {}

    def field(self, category: str, subcategory: str | None) -> _Field:
        """The experts of ``category`` (and ``subcategory``), built the first time it is asked for."""
        found = self._fields.get((category, subcategory))
        if found is None:
            ids = [p for p, (categories, subcategories) in self._kinds.items() if category in categories
                   and (subcategory is None or subcategory in subcategories)]
            found = self._fields[(category, subcategory)] = _Field(ids, self.employer_of)
        return found

    def matching(self, requirements: Sequence[Requirement]) -> dict[str, SortedIds]:
        """Per requirement key the sorted ids of the experts of its category and sub-category (the tags are
        screened later, as ``running._matching_ids`` leaves them)."""
        return {r.key: self.field(r.category.value, None if r.subcategory is None else r.subcategory.value).ids
                for r in requirements}

    def column_codes(self, spec: ActivitySpec, settings: DrawSettings) -> dict[str, set[int]]:
        """Per exclusion code of the expert table's columns the ids it removes: ``candidates.column_codes`` of
        every active expert (age with the extension of 000 §22, bar, 000 §9 grounds, inspected employer)."""
        end = spec.end
        old = set(self._birth_ids[:bisect_right(self._birth_dates, age_cutoff(spec.start, settings.age_limit))])
        old.difference_update(p for p, until in self._extended.items() if until >= end)
        codes = {ExclusionCode.AGE_LIMIT.value: old,
                 ExclusionCode.BARRED.value: {p for until, p in self._barred if until > spec.start},
                 ExclusionCode.DISQUALIFIED.value: set(self._disqualified),
                 ExclusionCode.RECUSAL_EMPLOYER.value: {p for e in spec.inspected for p in self._staff.get(e, ())}}
        return {code: ids for code, ids in codes.items() if ids}

    def screen(self, requirement: Requirement, codes: Mapping[str, Collection[int]], existing: Sequence[Member]
               ) -> Screened:
        """``fair_draw.screen`` of the requirement's experts with the exclusion ``codes`` (code: ids), per
        employer group: groups untouched by any exclusion are kept as they are."""
        f = self.field(requirement.category.value, None if requirement.subcategory is None
                       else requirement.subcategory.value)
        if requirement.tags:  # rare: per candidate, as before
            wanted, by_id = requirement.tags, _by_id(codes)
            tagged = [p for p in f.ids if wanted <= self.tags[p]]
            return screen_ids(requirement, tagged, self.employer_of, by_id, existing)
        members = f.members
        removed: dict[str, set[int]] = defaultdict(set)
        excluded: set[int] = set()
        for code, code_ids in codes.items():
            hit = members.intersection(code_ids)
            if hit:
                removed[str(code)] |= hit
                excluded |= hit
        chosen = {m.person_id for m in existing}
        taken = {m.employer_id for m in existing if m.employer_id is not None and m.field == requirement.category}
        already = members.intersection(chosen) - excluded
        if already:
            removed[ALREADY_DRAWN] |= already
            excluded |= already
        groups: list[Group] = []
        for g in f.groups:
            if g.employer_id is not None and g.employer_id in taken:
                same = [p for p in g.ids if p not in excluded]
                if same:
                    removed[SAME_EMPLOYER_FIELD].update(same)
            elif excluded.isdisjoint(g.ids):
                groups.append(g)
            else:
                kept = tuple(filterfalse(excluded.__contains__, g.ids))
                if kept:
                    groups.append(Group(g.employer_id, kept))
        return Screened(tuple(groups), len(f.ids), {code: tuple(sorted(ids)) for code, ids in sorted(removed.items())})


def age_cutoff(start: date, limit: int) -> date:
    """The latest birth date of someone aged ``limit`` or more on ``start`` (000 §8(四); ``age_on``: born on
    29 February, one is a year older on 1 March)."""
    try:
        return start.replace(year=start.year - limit)
    except ValueError:  # 29 February without a counterpart
        return date(start.year - limit, 2, 28)


def _by_id(codes: Mapping[str, Collection[int]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for code, ids in codes.items():
        for person_id in ids:
            out[person_id].append(code)
    return out


def _query(units: tuple[int, ...] | None) -> Any:
    expert = Expert.__table__.c  # type: ignore[attr-defined]
    query = sa_select(expert.person_id, expert.employer_id, expert.categories, expert.clinical_subcategories,
                      expert.specialty_tags, expert.birth_date, expert.barred_until, expert.extended_until,
                      expert.full_civil_capacity, expert.criminal_record, expert.administrative_penalty,
                      expert.insurance_violation).where(expert.state == ACTIVE_STATE)
    if units is not None:  # the pools the activity may draw from (services.pool.pools.drawable_pools)
        query = query.where(expert.org_unit_id.in_(units))
    return query


async def stamp(uow: UnitOfWork) -> tuple[str, int] | None:
    """The pool's change stamp in this transaction (migration 0019), or None before any expert was written."""
    connection = await uow.session.connection()
    row = (await connection.execute(text("SELECT epoch, version FROM pool_version WHERE id = 1"))).first()
    return None if row is None else (str(row[0]), int(row[1]))


async def current(uow: UnitOfWork, units: Collection[int] | None = None) -> PoolIndex:
    """The index of the active experts of ``units``' pools (None: every pool) as this transaction sees them: the
    one built at the same stamp, else a new one (kept for the next draws)."""
    chosen = None if units is None else tuple(sorted(units))
    at = await stamp(uow)
    key: _Key | None = None if at is None else (at[0], at[1], chosen)
    if key is not None and (found := _CACHE.get(key)) is not None:
        return found
    connection = await uow.session.connection()
    rows = (await connection.execute(_query(chosen))).all()
    index = await asyncio.to_thread(PoolIndex, rows)  # CPU only: off the event loop
    del rows
    if key is not None:
        while len(_CACHE) >= _KEEP:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = index
        if len(index.employer_of) >= _SETTLE_FROM:
            _settle()
    return index


def _settle() -> None:
    """Collect, then freeze what is left (the new index with it) into the collector's permanent generation, as
    ``bot.runtime.settle_heap`` does at start-up: otherwise every full collection walks the index's objects, about
    a third of a 50,000-expert draw's CPU time (bench/draws.py). The index holds no reference cycle, so an index
    dropped later is still freed (by reference counting). Objects frozen with it that later die in a reference cycle
    are never collected: a small, bounded amount per rebuild of a large pool (only from :data:`_SETTLE_FROM`)."""
    gc.collect()
    gc.freeze()
