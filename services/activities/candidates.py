"""The facts the staffing rules read about candidates for an activity: employer, past employers and declared
interests against the inspected institutions, leave and suspension periods and other activities overlapping the
dates, review draws in the rotation window (000 §15, §11; 001 §14). Read by the draw (``services.draws``) and when
a backup is called up (``services.invitations``), so both apply the same rules to the same facts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from services.activities.activities import ActivityView, local_day
from services.activities.draw_rules import (
    ACTIVE_STATE,
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawSettings,
    ExclusionCode,
    Member,
    Requirement,
    Role,
    exclusions,
)
from services.activities.fair_draw import Screened, screen_ids
from services.activities.pool_index import PoolIndex, age_cutoff
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.activities import Activity, ActivityMember
from storage.models import Expert
from storage.pool import ExpertEmployment, ExpertInterest, ExpertPeriod
from storage.uow import UnitOfWork

# Roster statuses that still hold a place (an expert released from an activity is free for others).
HOLDING = ("drawn", "invited", "accepted", "signed")


def contains_json(column: Any, value: str) -> Any:
    """The JSON array column contains ``value`` (a superset test on its text; the draw checks exactly)."""
    return cast(column, String).like(f'%{json.dumps(value)}%')


def _among(column: Any, chunk: Sequence[int] | None) -> list[Any]:
    """``column IN chunk``, or no condition for everyone."""
    return [] if chunk is None else [column.in_(chunk)]


def chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


class _Loader:
    """The draw's facts about some experts for one activity, gathered chunk by chunk (Core queries on the session's
    connection: plain rows, without the ORM's per-statement work), then turned into :class:`Candidate` values."""

    def __init__(self, connection: AsyncConnection, zone: ZoneInfo, spec: ActivitySpec, settings: DrawSettings,
                 activity_id: int | None) -> None:
        self.connection, self.zone, self.spec, self.activity_id = connection, zone, spec, activity_id
        self.settings = settings
        self.inspected = sorted(spec.inspected)
        self.rotation = spec.kind == ActivityKind.PROJECT_REVIEW and not spec.double_blind
        self.window_start = spec.start - timedelta(days=settings.rotation_window_days)
        self.experts: list[Any] = []
        self.past: dict[int, list[tuple[int, date]]] = defaultdict(list)
        self.interests: dict[int, set[int]] = defaultdict(set)
        self.unavailable: dict[int, list[tuple[date, date]]] = defaultdict(list)
        self.busy: dict[int, list[tuple[date, date]]] = defaultdict(list)
        self.reviews: dict[int, list[date]] = defaultdict(list)

    async def fetch(self, query: Any) -> list[Any]:
        return list((await self.connection.execute(query)).all())

    async def load(self, chunk: Sequence[int]) -> None:
        """Every fact about the experts of ``chunk``."""
        self.experts += await self.fetch(sa_select(
            col(Expert.person_id), col(Expert.categories), col(Expert.clinical_subcategories),
            col(Expert.specialty_tags), col(Expert.employer_id), col(Expert.birth_date), col(Expert.state),
            col(Expert.is_chief), col(Expert.barred_until), col(Expert.full_civil_capacity),
            col(Expert.criminal_record), col(Expert.administrative_penalty), col(Expert.insurance_violation),
            col(Expert.extended_until),
        ).where(col(Expert.person_id).in_(chunk)))
        if self.inspected:
            await self._ties(chunk)
        await self._periods(chunk)
        await self._rosters(chunk)

    async def _ties(self, chunk: Sequence[int] | None) -> None:
        """Past employment at and declared interests in the inspected institutions (000 §15); ``chunk`` None:
        of everyone (the draw v2's screening)."""
        # "+ 0" keeps SQLite on the expert_id index: without statistics it prefers the institution_id one,
        # and a big inspected employer has thousands of rows there (bench/draws.py).
        institution = col(ExpertEmployment.institution_id)
        for expert_id, institution_id, end in await self.fetch(sa_select(
                col(ExpertEmployment.expert_id), col(ExpertEmployment.institution_id),
                col(ExpertEmployment.end_date)).where(
                *_among(col(ExpertEmployment.expert_id), chunk),
                (institution if chunk is None else institution + 0).in_(self.inspected),
                col(ExpertEmployment.end_date).is_not(None))):
            assert institution_id is not None and end is not None
            self.past[expert_id].append((institution_id, end))
        institution = col(ExpertInterest.institution_id)
        for expert_id, institution_id in await self.fetch(sa_select(
                col(ExpertInterest.expert_id), col(ExpertInterest.institution_id)).where(
                *_among(col(ExpertInterest.expert_id), chunk),
                (institution if chunk is None else institution + 0).in_(self.inspected),
                col(ExpertInterest.withdrawn_at).is_(None))):
            self.interests[expert_id].add(institution_id)

    async def _periods(self, chunk: Sequence[int] | None) -> None:
        """Leave and suspension overlapping the activity's dates."""
        spec = self.spec
        for expert_id, start, end in await self.fetch(sa_select(
                col(ExpertPeriod.expert_id), col(ExpertPeriod.start_date), col(ExpertPeriod.end_date)).where(
                *_among(col(ExpertPeriod.expert_id), chunk), col(ExpertPeriod.cancelled_at).is_(None),
                col(ExpertPeriod.start_date) <= spec.end, col(ExpertPeriod.end_date) >= spec.start)):
            self.unavailable[expert_id].append((start, end))

    async def side_facts(self) -> set[int]:
        """Everyone's facts outside the expert table that can matter for the activity (ties to the inspected
        institutions, leave, other activities, review draws), in a few queries; the ids that have any."""
        if self.inspected:
            await self._ties(None)
        await self._periods(None)
        await self._rosters(None)
        return set(self.past) | set(self.interests) | set(self.unavailable) | set(self.busy) | set(self.reviews)

    async def _rosters(self, chunk: Sequence[int] | None) -> None:
        """Other activities overlapping the dates (busy) and review draws in the rotation window (001 §14)."""
        spec, zone, window_start = self.spec, self.zone, self.window_start
        margin = timedelta(days=1)
        low = datetime.combine(min(spec.start, window_start) if self.rotation else spec.start, datetime.min.time(),
                               zone) - margin
        high = datetime.combine(spec.end, datetime.max.time(), zone) + margin
        # The activities in the window first, then their members: the dates are converted once per activity,
        # not once per member (thousands of rows at province scale; bench/draws.py).
        within = (col(Activity.status) != "cancelled", col(Activity.ends_at) >= low, col(Activity.starts_at) <= high)
        activities = {row[0]: row[1:] for row in await self.fetch(sa_select(
            col(Activity.id), col(Activity.kind), col(Activity.double_blind), col(Activity.starts_at),
            col(Activity.ends_at)).where(*within))}
        members = await self.fetch(sa_select(
            col(ActivityMember.person_id), col(ActivityMember.role), col(ActivityMember.activity_id),
            col(ActivityMember.status)).where(
            *_among(col(ActivityMember.person_id), chunk), col(ActivityMember.status).in_(HOLDING),
            # a backup not called up is neither busy nor counted for rotation (below): not read
            or_(col(ActivityMember.role) == Role.PRINCIPAL.value, col(ActivityMember.status) != "drawn"),
            col(ActivityMember.activity_id).in_(sa_select(col(Activity.id)).where(*within))))
        days = {i: (local_day(a[2], zone), local_day(a[3], zone)) for i, a in activities.items()}
        for person_id, role, other_id, status in members:
            if other_id == self.activity_id or other_id not in activities:  # (one committed in between: unseen)
                continue
            kind, double_blind = activities[other_id][:2]
            first, last = days[other_id]
            serving = role == Role.PRINCIPAL or status in ("invited", "accepted", "signed")  # a backup called up
            if serving and first <= spec.end and spec.start <= last:
                self.busy[person_id].append((first, last))
            if (self.rotation and role == Role.PRINCIPAL and kind == ActivityKind.PROJECT_REVIEW
                    and not double_blind and window_start <= first <= spec.start):
                self.reviews[person_id].append(first)

    def side_key(self, person_id: int) -> tuple[object, ...]:
        """What :meth:`screening_candidate` holds of ``person_id`` (and whether a recusal is required): equal keys,
        equal exclusion codes (``screen_pool`` computes them once per key)."""
        past, interests, unavailable = self.past.get(person_id), self.interests.get(person_id), \
            self.unavailable.get(person_id)
        busy, reviews = self.busy.get(person_id), self.reviews.get(person_id)
        return (tuple(sorted(past)) if past else (), frozenset(interests) if interests else frozenset(),
                tuple(sorted(unavailable)) if unavailable else (), tuple(sorted(busy)) if busy else (),
                tuple(sorted(reviews)) if reviews else (), person_id in self.spec.required_recusals)

    def screening_candidate(self, person_id: int) -> Candidate:
        """A candidate with only the side facts gathered (for :func:`side_codes`)."""
        return Candidate(
            person_id=person_id, categories=frozenset(), birth_date=self.spec.start,
            past_employers=tuple(sorted(self.past.get(person_id, ()))),
            declared_interests=frozenset(self.interests.get(person_id, ())),
            unavailable=tuple(sorted(self.unavailable.get(person_id, ()))),
            busy=tuple(sorted(self.busy.get(person_id, ()))),
            review_draws=tuple(sorted(self.reviews.get(person_id, ()))))

    def candidates(self) -> dict[int, Candidate]:
        """The facts gathered, as candidates by person id."""
        spec = self.spec
        out: dict[int, Candidate] = {}
        for (person_id, categories, subcategories, tags, employer_id, birth, state, chief, barred_until,
             capable, criminal, penalty, violation, extended_until) in self.experts:
            out[person_id] = Candidate(
                person_id=person_id,
                categories=frozenset(Category(c) for c in categories if c in Category._value2member_map_),
                # An expert without a birth date in the record is not excluded by age here; import requires it.
                birth_date=birth or spec.start,
                clinical_subcategories=frozenset(ClinicalSubcategory(c) for c in subcategories
                                                 if c in ClinicalSubcategory._value2member_map_),
                specialty_tags=frozenset(tags),
                employer_id=employer_id,
                past_employers=tuple(sorted(self.past.get(person_id, ()))),
                declared_interests=frozenset(self.interests.get(person_id, ())),
                is_chief=chief,
                state=state,
                unavailable=tuple(sorted(self.unavailable.get(person_id, ()))),
                busy=tuple(sorted(self.busy.get(person_id, ()))),
                barred=barred_until is not None and barred_until > spec.start,
                review_draws=tuple(sorted(self.reviews.get(person_id, ()))),
                disqualified=not capable or criminal or penalty or violation,  # 000 §9(一)–(三)
                extended_until=extended_until,  # 000 §22
            )
        return out


async def load_candidates(uow: UnitOfWork, ids: Sequence[int], spec: ActivitySpec, settings: DrawSettings,
                activity_id: int | None) -> dict[int, Candidate]:
    """The draw's facts about ``ids``, loaded only where they can matter for ``spec`` (Core queries on the
    session's connection: plain rows, without the ORM's per-statement work)."""
    loader = _Loader(await uow.session.connection(), uow.zone, spec, settings, activity_id)
    for chunk in chunks(ids):
        await loader.load(chunk)
    return loader.candidates()


def spec_of(info: ActivityView, zone: Any) -> ActivitySpec:
    """The pure-rule form of an activity."""
    activity = info.activity
    return ActivitySpec(
        kind=ActivityKind(activity.kind),
        start=local_day(activity.starts_at, zone),
        end=local_day(activity.ends_at, zone),
        inspected=frozenset(i.id for i in info.institutions if i.id is not None),
        double_blind=activity.double_blind,
        required_recusals=frozenset(r.expert_id for r in info.recusals),
        allow_even_group=activity.allow_even_group,
    )


# --- the draw v2's screening of the whole pool ------------------------------------------------------------


OLD, BARRED, DISQUALIFIED = 1, 2, 4  # the expert columns' exclusions, as bits computed by the database


def column_codes(flags: int, employer_id: int | None, spec: ActivitySpec) -> list[str]:
    """The exclusion codes the expert table's columns give (``flags``: :data:`OLD` | :data:`BARRED` |
    :data:`DISQUALIFIED`, and the employer against the inspected institutions); with :func:`side_codes`, what
    ``draw_rules.exclusions`` gives (tests/services/test_draw_screening.py checks they agree)."""
    codes: list[str] = []
    if flags & OLD:
        codes.append(ExclusionCode.AGE_LIMIT.value)
    if flags & BARRED:
        codes.append(ExclusionCode.BARRED.value)
    if flags & DISQUALIFIED:
        codes.append(ExclusionCode.DISQUALIFIED.value)
    if employer_id is not None and employer_id in spec.inspected:
        codes.append(ExclusionCode.RECUSAL_EMPLOYER.value)
    return codes


def side_codes(candidate: Candidate, spec: ActivitySpec, settings: DrawSettings) -> list[str]:
    """The exclusion codes of the facts outside the expert table (and a required recusal): the rules applied to
    ``candidate`` with its columns made neutral (no age, bar, 000 §9 ground or employer)."""
    neutral = replace(candidate, birth_date=spec.start, barred=False, disqualified=False, employer_id=None,
                      state=ACTIVE_STATE)
    return [e.code.value for e in exclusions(neutral, spec, settings)]


def _columns_query(spec: ActivitySpec, settings: DrawSettings) -> Any:
    """Every active expert's id and employer as two comma-joined lists in the same row order, and ``id:flags`` of
    those the columns exclude (:func:`column_codes`): one row, not thousands (bench/draws.py)."""
    expert = Expert.__table__.c  # type: ignore[attr-defined]
    extended = and_(expert.extended_until.is_not(None), expert.extended_until >= spec.end)  # 000 §22 granted
    old = case((and_(expert.birth_date.is_not(None), expert.birth_date <= age_cutoff(spec.start, settings.age_limit),
                     ~extended), OLD), else_=0)
    barred = case((and_(expert.barred_until.is_not(None), expert.barred_until > spec.start), BARRED), else_=0)
    disqualified = case((or_(expert.full_civil_capacity.is_(False), expert.criminal_record.is_(True),
                             expert.administrative_penalty.is_(True), expert.insurance_violation.is_(True)),
                         DISQUALIFIED), else_=0)  # 000 §9(一)–(三)
    flags = old + barred + disqualified
    return sa_select(
        func.aggregate_strings(cast(expert.person_id, String), ","),
        func.aggregate_strings(func.coalesce(cast(expert.employer_id, String), "null"), ","),
        func.aggregate_strings(case((flags > 0, cast(expert.person_id, String) + ":" + cast(flags, String))), ","),
    ).where(expert.state == ACTIVE_STATE)


_Columns = tuple[dict[int, int | None], dict[int, int], dict[int, frozenset[str]]]


async def _columns(loader: _Loader, tagged: bool) -> _Columns:
    """Per active expert the employer; the :func:`column_codes` flags of those with any; the specialty tags when
    a requirement has some."""
    (ids, employers, flagged), = await loader.fetch(_columns_query(loader.spec, loader.settings))
    employer_of: dict[int, int | None] = dict(zip(json.loads(f"[{ids or ''}]"), json.loads(f"[{employers or ''}]"),
                                                  strict=True))
    flags = {int(i): int(f) for i, f in (item.split(":") for item in flagged.split(","))} if flagged else {}
    tags: dict[int, frozenset[str]] = {}
    if tagged:
        expert = Expert.__table__.c  # type: ignore[attr-defined]
        for person_id, values in await loader.fetch(sa_select(expert.person_id, expert.specialty_tags)
                                                    .where(expert.state == ACTIVE_STATE)):
            tags[person_id] = frozenset(values or ())
    return employer_of, flags, tags


async def screen_pool(uow: UnitOfWork, requirements: Sequence[Requirement], matching: dict[str, Sequence[int]], *,
                      spec: ActivitySpec, settings: DrawSettings, existing: Sequence[Member],
                      activity_id: int | None, index: PoolIndex | None = None) -> dict[str, Screened]:
    """Screen every matching candidate of each requirement for the draw v2 (``draw_rules`` point 15) in a few
    set queries: the facts outside the expert table of everyone who has any (``_Loader.side_facts``), and the
    expert table's columns of every active expert in one row (:func:`_columns`); the rules as
    :func:`column_codes` and, for those with side facts, :func:`side_codes`. With the pool's ``index``
    (``pool_index.current``) the columns come from it and the screening is per employer group
    (``PoolIndex.screen``): the same result."""
    loader = _Loader(await uow.session.connection(), uow.zone, spec, settings, activity_id)
    special = await loader.side_facts() | spec.required_recusals
    codes: dict[int, list[str]] = {}  # of the experts something excludes; the others have none
    side: dict[tuple[object, ...], list[str]] = {}  # the codes of a set of side facts (many experts share one)
    for person_id in special:  # the screening candidate is neutral in its columns: side_codes without the copy
        key = loader.side_key(person_id)
        found = side.get(key)
        if found is None:
            found = side[key] = [e.code.value for e in exclusions(loader.screening_candidate(person_id), spec,
                                                                  settings)]
        if found:
            codes[person_id] = found
    if index is not None:
        by_code = index.column_codes(spec, settings)
        for person_id, found in codes.items():
            for code in found:
                by_code.setdefault(code, set()).add(person_id)
        return {r.key: index.screen(r, by_code, existing) for r in requirements}
    employer_of, flags, tags = await _columns(loader, any(r.tags for r in requirements))
    inspected = spec.inspected
    columns: dict[tuple[int, bool], list[str]] = {}  # column_codes by (flags, employer inspected): a few kinds
    for person_id in set(flags) | {p for p, e in employer_of.items() if e is not None and e in inspected}:
        employer_id, bits = employer_of[person_id], flags.get(person_id, 0)
        kind = (bits, employer_id is not None and employer_id in inspected)
        found = columns.get(kind)
        if found is None:
            found = columns[kind] = column_codes(bits, employer_id, spec)
        codes[person_id] = [*found, *codes.get(person_id, ())]
    out: dict[str, Screened] = {}
    for requirement in requirements:
        wanted, empty = requirement.tags, frozenset[str]()
        ids = matching[requirement.key]
        if wanted:
            ids = [p for p in ids if wanted <= tags.get(p, empty)]
        out[requirement.key] = screen_ids(requirement, ids, employer_of, codes, existing)
    return out
