"""The expert draw v2 (issue 18): every expert who may be drawn gets the highest equal chance the rules allow
(``draw_rules`` point 15), and the record states each chance.

Pure functions over plain data. Under 000 §18(三) ("同一领域来自同一单位的专家只能有一名") the experts of one
employer share at most one place per field, so the experts of an employer with ``n`` eligible experts can have a
chance of at most ``1/n`` each. The maximin-fair (LEXIMIN, Flanigan et al., Nature 2021) chances for ``k`` places
are then a *water level* ``p``: each expert gets ``min(p, 1/n)`` of their employer, with ``p`` as high as the
places allow (:func:`water_level`: ``Σ_employers min(1, n·p) = k``). The set of those chance vectors is the
base polytope of a partition matroid, so the water level is its unique LEXIMIN point and no solver is needed.

**Sampling** (:func:`systematic`): the employer groups in a seeded random order, each with weight ``min(1, n·p)``
(the chance that someone of that employer is drawn), are laid end to end; ``k`` points ``r, r+1, …, r+k-1`` with a
uniform ``r`` pick the groups the points fall in. The weights are multiples of ``1/D`` (``D`` the water level's
denominator), so ``r`` is drawn exactly from ``{0, 1/D, …, (D-1)/D}`` and every group is picked with exactly its
weight; a group's weight is at most 1, so no group is picked twice (000 §18(三)). Inside a picked group one
expert is taken uniformly, so each expert is drawn with exactly ``min(p, 1/n)``. The principals' order is then
shuffled. **Backups** are drawn the same way among the employers no principal came from (their chances
conditional on the principals), in random order, so every backup can replace any principal (000 §19).

**When v2 is exact** (:func:`common_case`): one requirement, or requirements of different fields whose eligible
experts are different people. Otherwise (two requirements of one field, or an expert eligible for two) the
chances depend on each other and need a linear programme over all valid groups; v2 then draws as v1 did and the
record says so (``DrawResult.fallback``), so the chances are not stated (README, "Fair draws").

The stream is :class:`~services.activities.sampling.SeededStream` over a domain of its own
(``fundwatch/draw/v2``), so v1 records keep verifying.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol, TypeVar

from services.activities.draw_rules import (
    ALREADY_DRAWN,
    SAME_EMPLOYER_FIELD,
    ActivitySpec,
    Candidate,
    DrawSettings,
    Member,
    Requirement,
    exclusions,
    matches,
)
from services.activities.sampling import SeededStream

__all__ = [
    "ALGORITHM_V2",
    "Chances",
    "Group",
    "Screened",
    "Selection",
    "common_case",
    "eligible",
    "groups_of",
    "marginals",
    "overlap",
    "percent",
    "screen",
    "screen_ids",
    "select",
    "shared_expert",
    "systematic",
    "water_level",
]

ALGORITHM_V2 = "v2"
_STREAM_DOMAIN = b"fundwatch/draw/v2\x00"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Group:
    """The eligible experts of one employer for one requirement (``employer_id`` None: one expert without an
    employer, who conflicts with nobody), ids sorted."""

    employer_id: int | None
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Chances:
    """The chance of every eligible expert of a requirement to be drawn as a principal (the stored marginals):
    ``level`` for each, except the experts of a ``capped`` employer (employer id, eligible experts there), who get
    ``1/n`` each (000 §18(三)). ``largest`` is the employer with the most eligible experts (for the card), when it
    has more than one and is not capped."""

    requirement_key: str
    eligible: int
    level: Fraction
    capped: tuple[tuple[int, int], ...] = ()
    largest: tuple[int, int] | None = None
    units: tuple[tuple[int, int], ...] = ()  # v3: a capped employer's experts over the lines of its field

    def _share(self, employer_id: int, n: int) -> Fraction:
        return Fraction(1, dict(self.units).get(employer_id, n))

    def listed(self) -> list[tuple[int, int, Fraction]]:
        """The employers a card names (the capped ones, else the largest): employer id, eligible experts there,
        each one's chance."""
        named = [(employer, n, self._share(employer, n)) for employer, n in self.capped]
        if self.largest is not None:
            named.append((self.largest[0], self.largest[1], self.level))
        return named

    def others(self) -> int:
        """How many eligible experts are not at a :meth:`listed` employer (each has ``level``)."""
        return self.eligible - sum(n for _, n, _ in self.listed())

    def of(self, employer_id: int | None) -> Fraction:
        """The chance of an expert of ``employer_id``."""
        for capped_id, n in self.capped:
            if capped_id == employer_id:
                return self._share(capped_id, n)
        return self.level


@dataclass(frozen=True)
class Selection:
    """One requirement drawn by v2: principals and backups in their drawn order, and the principals' chances."""

    principals: tuple[int, ...]
    backups: tuple[int, ...]
    chances: Chances


def percent(chance: Fraction) -> str:
    """A chance as the card and the export state it: ``3.0%``, ``1.7%``; two decimals below 1%."""
    return f"{float(chance):.1%}" if chance >= Fraction(1, 100) else f"{float(chance):.2%}"


def groups_of(eligible: Iterable[tuple[int, int | None]]) -> list[Group]:
    """(person id, employer id) pairs as employer groups in a canonical order: employers by id, then each expert
    without an employer by person id (so the input order does not matter). One sort of the pairs."""
    by_employer: dict[int, list[int]] = defaultdict(list)
    alone: list[Group] = []
    for person_id, employer_id in sorted(eligible, key=lambda pair: pair[0]):
        if employer_id is None:
            alone.append(Group(None, (person_id,)))
        else:
            by_employer[employer_id].append(person_id)
    return [Group(e, tuple(by_employer[e])) for e in sorted(by_employer)] + alone


def water_level(sizes: Sequence[int], places: int) -> Fraction | None:
    """The LEXIMIN level ``p`` with ``Σ min(1, n·p) = places`` over the group ``sizes``; None when fewer groups
    than places (a shortfall). Groups are capped from the largest down while ``n·p`` would exceed 1."""
    if places == 0:
        return Fraction(0)
    if len(sizes) < places:
        return None
    ordered = sorted(sizes, reverse=True)
    rest = sum(ordered)
    for capped, n in enumerate(ordered):
        level = Fraction(places - capped, rest)
        if n * level <= 1:
            return level
        rest -= n
    raise AssertionError("unreachable: a group is capped only while two or more places remain")


def marginals(groups: Sequence[Group], places: int) -> dict[int, Fraction]:
    """Every expert's chance to be among ``places`` drawn from ``groups`` (the LEXIMIN marginals); empty on a
    shortfall."""
    level = water_level([len(g.ids) for g in groups], places)
    if level is None:
        return {}
    return {person_id: min(level, Fraction(1, len(g.ids))) for g in groups for person_id in g.ids}


def systematic(weights: Sequence[Fraction], places: int, stream: SeededStream) -> list[int]:
    """Indexes of ``places`` of the ``weights`` (each ≤1, summing to ``places``), index ``i`` picked with
    probability exactly ``weights[i]``: systematic sampling with a start drawn from the weights' common grid."""
    denominator = math.lcm(*(w.denominator for w in weights)) if weights else 1
    scaled = [int(w * denominator) for w in weights]
    if sum(scaled) != places * denominator or any(s > denominator or s < 0 for s in scaled):
        raise ValueError("the weights must each be at most 1 and sum to the number of places")
    start = stream.below(denominator)
    picked: list[int] = []
    point, edge = start, 0
    for index, size in enumerate(scaled):
        edge += size
        while point < edge and len(picked) < places:
            picked.append(index)
            point += denominator
    return picked


def _shuffle(items: list[_T], stream: SeededStream) -> None:
    """Fisher–Yates in place from the back."""
    for i in range(len(items) - 1, 0, -1):
        j = stream.below(i + 1)
        items[i], items[j] = items[j], items[i]


def _take(groups: Sequence[Group], places: int, stream: SeededStream) -> tuple[list[int], set[int]]:
    """``places`` experts from ``groups`` (in the order given) with the LEXIMIN chances, and the picked groups'
    indexes; the experts in a random order."""
    level = water_level([len(g.ids) for g in groups], places)
    assert level is not None
    picked = systematic([min(Fraction(1), len(g.ids) * level) for g in groups], places, stream)
    people = [groups[i].ids[stream.below(len(groups[i].ids))] for i in picked]
    _shuffle(people, stream)
    return people, set(picked)


def chances_of(key: str, groups: Sequence[Group], places: int) -> Chances:
    """The stored form of the principals' marginals of one requirement."""
    level = water_level([len(g.ids) for g in groups], places)
    assert level is not None
    capped = tuple((g.employer_id, len(g.ids)) for g in groups
                   if g.employer_id is not None and len(g.ids) * level > 1)
    employers = [g for g in groups if g.employer_id is not None and len(g.ids) > 1]
    big = max(employers, key=lambda g: (len(g.ids), -(g.employer_id or 0)), default=None)
    largest = None if big is None or big.employer_id is None or any(big.employer_id == c for c, _ in capped) \
        else (big.employer_id, len(big.ids))
    return Chances(key, sum(len(g.ids) for g in groups), level, capped, largest)


def select(key: str, groups: Sequence[Group], count: int, backups: int, seed: bytes) -> Selection | None:
    """Draw ``count`` principals then ``backups`` backups for the requirement ``key`` from its eligible
    ``groups`` (canonical order, :func:`groups_of`); None when there are fewer groups than places."""
    if len(groups) < count + backups:
        return None
    stream = SeededStream(seed, key, domain=_STREAM_DOMAIN)
    order = list(groups)
    _shuffle(order, stream)
    principals, used = _take(order, count, stream)
    rest = [g for i, g in enumerate(order) if i not in used]
    backup_ids, _ = _take(rest, backups, stream)
    return Selection(tuple(principals), tuple(backup_ids), chances_of(key, groups, count))


def common_case(fields: Sequence[str], eligible: Sequence[Iterable[int]]) -> bool:
    """True when v2's chances are exact for these requirements: their fields differ and no expert is eligible for
    two of them (the requirements are then independent draws)."""
    if len(set(fields)) != len(fields):
        return False
    seen: Counter[int] = Counter()
    for ids in eligible:
        seen.update(set(ids))
    return all(n == 1 for n in seen.values())


class _Pool(Protocol):
    def matching_ids(self, requirement: Requirement) -> tuple[int, ...]: ...

    def get(self, person_id: int) -> Candidate: ...


def overlap(pool: _Pool, requirements: Sequence[Requirement]) -> list[int]:
    """The ids that may match two or more requirements, ascending."""
    seen: Counter[int] = Counter()
    for requirement in requirements:
        seen.update(set(pool.matching_ids(requirement)))
    return sorted(i for i, n in seen.items() if n > 1)


def shared_expert(pool: _Pool, requirements: Sequence[Requirement], activity: ActivitySpec,
                  settings: DrawSettings, existing: Sequence[Member]) -> int | None:
    """The first expert (by id) eligible for two of the requirements, which takes v2 out of its exact case
    (:func:`common_case`), or None; reads only the experts that may match two. With it on record, a draw that
    falls back proves why without screening the whole pool."""
    chosen = {m.person_id for m in existing}
    taken = {(m.employer_id, m.field) for m in existing if m.employer_id is not None}
    ids = [set(pool.matching_ids(r)) for r in requirements]
    for person_id in overlap(pool, requirements):
        c = pool.get(person_id)
        if person_id in chosen or exclusions(c, activity, settings):
            continue
        fits = [r for r, among in zip(requirements, ids, strict=True) if person_id in among and matches(c, r)
                and (c.employer_id is None or (c.employer_id, r.category) not in taken)]
        if len(fits) > 1:
            return person_id
    return None


@dataclass(frozen=True)
class Screened:
    """Every candidate matching a requirement, screened (``draw_rules`` points 2–8, 12, 13): the eligible in
    employer groups, and per reason the ids it removed (a candidate may be under several exclusion codes). The
    draw v2 reads only this, and the record stores it."""

    groups: tuple[Group, ...]
    matched: int
    removed: dict[str, tuple[int, ...]] = field(default_factory=dict, hash=False)

    def counts(self) -> Counter[str]:
        """How many each reason removed (the shortfall's explanation)."""
        return Counter({code: len(ids) for code, ids in self.removed.items()})


def screen(requirement: Requirement, found: Iterable[tuple[int, int | None, Sequence[str]]],
           existing: Sequence[Member]) -> Screened:
    """Screen matching candidates given as (person id, employer id, exclusion codes): the excluded by their
    codes, then those on the roster already (top-up) and those of an employer the roster has in the field."""
    chosen = {m.person_id for m in existing}
    taken = {(m.employer_id, m.field) for m in existing if m.employer_id is not None}
    removed: dict[str, list[int]] = defaultdict(list)
    matched = 0
    pairs: list[tuple[int, int | None]] = []
    for person_id, employer_id, codes in found:
        matched += 1
        if codes:
            for code in codes:
                removed[str(code)].append(person_id)
        elif person_id in chosen:
            removed[ALREADY_DRAWN].append(person_id)
        elif employer_id is not None and (employer_id, requirement.category) in taken:
            removed[SAME_EMPLOYER_FIELD].append(person_id)
        else:
            pairs.append((person_id, employer_id))
    return Screened(tuple(groups_of(pairs)), matched,
                    {code: tuple(sorted(ids)) for code, ids in sorted(removed.items())})


def screen_ids(requirement: Requirement, ids: Iterable[int], employer_of: Mapping[int, int | None],
               codes: Mapping[int, Sequence[str]], existing: Sequence[Member]) -> Screened:
    """:func:`screen` of the ``ids`` found in ``employer_of`` (the others are not candidates), each with its
    employer there and its exclusion codes in ``codes`` (none when absent): the same result, without a tuple per
    candidate or a sort of the pairs (province scale, issue 21)."""
    chosen = {m.person_id for m in existing}
    taken = {m.employer_id for m in existing if m.employer_id is not None and m.field == requirement.category}
    removed: dict[str, list[int]] = defaultdict(list)
    by_employer: dict[int, list[int]] = defaultdict(list)
    alone: list[int] = []
    matched = 0
    missing = object()
    for person_id in sorted(ids):
        employer_id = employer_of.get(person_id, missing)
        if employer_id is missing:
            continue
        matched += 1
        found = codes.get(person_id)
        if found:
            for code in found:
                removed[str(code)].append(person_id)
        elif person_id in chosen:
            removed[ALREADY_DRAWN].append(person_id)
        elif employer_id is None:
            alone.append(person_id)
        elif employer_id in taken:
            removed[SAME_EMPLOYER_FIELD].append(person_id)
        else:
            by_employer[employer_id].append(person_id)  # type: ignore[index]
    groups = [Group(e, tuple(by_employer[e])) for e in sorted(by_employer)] + [Group(None, (p,)) for p in alone]
    return Screened(tuple(groups), matched, {code: tuple(sorted(ids)) for code, ids in sorted(removed.items())})


def eligible(pool: _Pool, requirement: Requirement, activity: ActivitySpec, settings: DrawSettings,
             existing: Sequence[Member]) -> Screened:
    """:func:`screen` every matching candidate of ``pool`` (each one is read)."""
    def found() -> Iterable[tuple[int, int | None, list[str]]]:
        for person_id in pool.matching_ids(requirement):
            c = pool.get(person_id)
            if matches(c, requirement):
                yield person_id, c.employer_id, [e.code.value for e in exclusions(c, activity, settings)]

    return screen(requirement, found(), existing)
