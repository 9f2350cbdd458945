"""The expert draw (``draw_rules`` points 8 and 10–14): fills the requirements in the order of the seeded shuffle
(:mod:`services.activities.sampling`), skipping whom the staffing rules of :mod:`services.activities.draw_rules`
exclude, and records what it read (:class:`DrawInputs`) so that :func:`verify` can recompute it. Pure: the
candidates come from a :class:`CandidatePool` (in memory, or loaded on demand by ``candidates``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from services.activities import fair_draw, joint_draw
from services.activities.draw_pools import CandidatePool, ListPool, MissingCandidate, MissingNamed, SortedIds
from services.activities.draw_results import Chances, DrawResult, Pick, Shortfall, picks_of
from services.activities.draw_rules import (
    ALREADY_DRAWN,
    SAME_EMPLOYER_FIELD,
    ActivitySpec,
    Candidate,
    DrawRequestError,
    DrawSettings,
    Member,
    Requirement,
    Role,
    check_request,
    exclusions,
    matches,
)
from services.activities.sampling import shuffled
from services.pool.eligibility import Category

__all__ = [
    "ALGORITHM_VERSION",
    "CandidatePool",
    "Chances",
    "DrawInputs",
    "DrawResult",
    "ListPool",
    "MissingCandidate",
    "MissingNamed",
    "Pick",
    "Shortfall",
    "draw",
    "draw_recorded",
    "verify",
]

ALGORITHM_VERSION = joint_draw.ALGORITHM_V3  # v1 and v2 stay to verify older records


@dataclass(frozen=True)
class DrawInputs:
    """Everything a draw read, canonically: per requirement the sorted ids that may match, the facts of every
    candidate the draw visited (the others cannot change the result), the requests, the activity, the settings
    and the existing roster. Stored with the record, it lets anyone recompute the draw (:func:`verify`)."""

    matching: dict[str, tuple[int, ...]]
    candidates: tuple[Candidate, ...]
    requirements: tuple[Requirement, ...]
    activity: ActivitySpec
    settings: DrawSettings
    existing: tuple[Member, ...] = ()
    screened: dict[str, fair_draw.Screened] = field(default_factory=dict)  # v2: what it drew from

    def pool(self) -> CandidatePool:
        """The pool these inputs describe."""
        return _SnapshotPool(self)


class _SnapshotPool:
    def __init__(self, inputs: DrawInputs) -> None:
        self._matching = inputs.matching
        self._by_id = {c.person_id: c for c in inputs.candidates}
        self._screened = inputs.screened

    def screened(self, requirement: Requirement) -> fair_draw.Screened | None:
        return self._screened.get(requirement.key)

    def matching(self, requirement: Requirement) -> Sequence[int]:
        return self._matching.get(requirement.key, ())

    def get(self, person_id: int) -> Candidate:
        try:
            return self._by_id[person_id]
        except KeyError:
            raise MissingCandidate(person_id) from None


class _Recorder:
    """Wraps a pool and remembers what the draw read, to build :class:`DrawInputs`."""

    def __init__(self, pool: CandidatePool) -> None:
        self._pool = pool
        self.matching: dict[str, tuple[int, ...]] = {}
        self.visited: dict[int, Candidate] = {}
        self.screened: dict[str, fair_draw.Screened] = {}
        self.memo: dict[object, Any] = getattr(pool, "memo", {})  # the pool's, when it keeps one across calls

    def screen(self, requirement: Requirement, activity: ActivitySpec, settings: DrawSettings,
               existing: Sequence[Member]) -> fair_draw.Screened:
        """The pool's screening of ``requirement`` when it has one (the database's), else every matching
        candidate read and screened here."""
        ready = getattr(self._pool, "screened", None)
        found = ready(requirement) if ready is not None else None
        if found is None:
            found = fair_draw.eligible(self, requirement, activity, settings, existing)
        elif requirement.key not in self.matching:
            self.matching_ids(requirement)
        self.screened[requirement.key] = found
        return found

    def matching_ids(self, requirement: Requirement) -> tuple[int, ...]:
        found = self._pool.matching(requirement)
        ids = found if isinstance(found, SortedIds) else tuple(sorted(set(found)))
        self.matching[requirement.key] = ids
        return ids

    def get(self, person_id: int) -> Candidate:
        found = self.visited.get(person_id)
        if found is None:
            found = self.visited[person_id] = self._pool.get(person_id)
        return found


# --- the draw -------------------------------------------------------------------------------------


@dataclass
class _Roster:
    """Who the draw has taken so far (the existing roster included) and the (employer, field) pairs of 000 §18(三)."""

    chosen: set[int]
    taken: set[tuple[int, Category]]
    drawn: dict[int, Candidate] = field(default_factory=dict)

    @classmethod
    def of(cls, existing: Sequence[Member]) -> _Roster:
        return cls({m.person_id for m in existing},
                   {(m.employer_id, m.field) for m in existing if m.employer_id is not None})

    def take(self, c: Candidate, requirement: Requirement) -> None:
        self.chosen.add(c.person_id)
        self.drawn[c.person_id] = c
        if c.employer_id is not None:
            self.taken.add((c.employer_id, requirement.category))


def _removed_by(c: Candidate, requirement: Requirement, activity: ActivitySpec, settings: DrawSettings,
                roster: _Roster) -> list[str]:
    """Why a matching candidate is skipped: its exclusion codes, else the draw's own rules (points 8, 13)."""
    codes: list[str] = [e.code for e in exclusions(c, activity, settings)]
    if codes:
        return codes
    if c.person_id in roster.chosen:
        return [ALREADY_DRAWN]
    if c.employer_id is not None and (c.employer_id, requirement.category) in roster.taken:
        return [SAME_EMPLOYER_FIELD]
    return []


def _fill(pool: _Recorder, requirement: Requirement, activity: ActivitySpec, settings: DrawSettings, *,
          seed: bytes, roster: _Roster) -> list[Pick] | Shortfall:
    """One requirement (point 11): its picks in order, or its :class:`Shortfall` (point 12)."""
    removed: Counter[str] = Counter()
    matched = 0
    needed = requirement.count + requirement.backups
    got: list[int] = []
    for person_id in shuffled(pool.matching_ids(requirement), seed, requirement.key):
        if len(got) == needed:
            break
        c = pool.get(person_id)
        if not matches(c, requirement):
            continue
        matched += 1
        reasons = _removed_by(c, requirement, activity, settings, roster)
        if reasons:
            removed.update(reasons)
        else:
            got.append(person_id)
            roster.take(c, requirement)
    if len(got) < needed:  # every matching candidate was visited, so the counts are complete
        return Shortfall(requirement.key, needed, needed - len(got), matched, removed)
    return [*(Pick(requirement.key, person_id, Role.PRINCIPAL, order)
              for order, person_id in enumerate(got[: requirement.count], start=1)),
            *(Pick(requirement.key, person_id, Role.BACKUP, order)
              for order, person_id in enumerate(got[requirement.count :], start=1))]


def _draw_v1(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
             settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult:
    top_up = bool(existing)
    check_request(requirements, activity, top_up)
    roster = _Roster.of(existing)
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    for requirement in requirements:
        filled = _fill(pool, requirement, activity, settings, seed=seed, roster=roster)
        if isinstance(filled, Shortfall):
            shortfalls.append(filled)
        else:
            picks.extend(filled)
    if shortfalls:
        return DrawResult("v1", shortfalls=tuple(shortfalls))
    chiefs = [p.person_id for p in picks if p.role == Role.PRINCIPAL and roster.drawn[p.person_id].is_chief]
    return DrawResult(
        "v1",
        picks=tuple(picks),
        leader=chiefs[0] if len(chiefs) == 1 and not top_up else None,
        needs_leader_choice=len(chiefs) > 1 and not top_up,
    )


def _facts(pool: _Recorder, ids: Sequence[int]) -> dict[int, Candidate]:
    """The drawn experts' facts (recorded with the draw), or :class:`MissingCandidate` naming all not loaded."""
    found: dict[int, Candidate] = {}
    absent: list[int] = []
    for person_id in ids:
        try:
            found[person_id] = pool.get(person_id)
        except MissingCandidate:
            absent.append(person_id)
    if absent:
        raise MissingNamed(absent[0], absent)
    return found


def _shared(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
            settings: DrawSettings, existing: Sequence[Member]) -> bool:
    """Whether an expert is eligible for two requirements; the pool is asked for the next few that may be."""
    try:
        return fair_draw.shared_expert(pool, requirements, activity, settings, existing) is not None
    except MissingCandidate as missing:
        ahead = fair_draw.overlap(pool, requirements)
        start = ahead.index(missing.person_id) if missing.person_id in ahead else 0
        raise MissingNamed(missing.person_id, ahead[start:start + 16]) from None


def _as_v1(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec, settings: DrawSettings,
           seed: bytes, *, existing: Sequence[Member]) -> DrawResult:
    """v2 outside its exact case: v1's order, the result saying so (``fallback``)."""
    return replace(_draw_v1(pool, requirements, activity, settings, seed, existing=existing),
                   algorithm_version=fair_draw.ALGORITHM_V2, fallback=True)


def _draw_v2(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
             settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult:
    """The fair draw (``draw_rules`` point 15, :mod:`services.activities.fair_draw`); as v1 outside its common
    case, saying so."""
    top_up = bool(existing)
    check_request(requirements, activity, top_up)
    fields = [r.category.value for r in requirements]
    if len(set(fields)) != len(fields) or _shared(pool, requirements, activity, settings, existing):
        return _as_v1(pool, requirements, activity, settings, seed, existing=existing)
    found = [pool.screen(r, activity, settings, existing) for r in requirements]
    if not fair_draw.common_case(fields, [[i for g in s.groups for i in g.ids] for s in found]):
        return _as_v1(pool, requirements, activity, settings, seed, existing=existing)
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    chances: list[Chances] = []
    for requirement, screened in zip(requirements, found, strict=True):
        selection = fair_draw.select(requirement.key, screened.groups, requirement.count, requirement.backups, seed)
        if selection is None:  # point 12: at most one per employer group can be drawn
            shortfalls.append(_short(requirement, screened))
        else:
            picks += picks_of(requirement.key, selection.principals, selection.backups)
            chances.append(selection.chances)
    if shortfalls:
        return DrawResult(fair_draw.ALGORITHM_V2, shortfalls=tuple(shortfalls))
    return _finish(pool, fair_draw.ALGORITHM_V2, picks, top_up, tuple(chances))


def _short(requirement: Requirement, screened: fair_draw.Screened) -> Shortfall:
    """Point 12 for v2 and v3: fewer employer groups than places (at most one per group can be drawn)."""
    groups = screened.groups
    needed, removed = requirement.count + requirement.backups, screened.counts()
    removed.update({SAME_EMPLOYER_FIELD: n} if (n := sum(len(g.ids) - 1 for g in groups)) else {})
    return Shortfall(requirement.key, needed, needed - len(groups), screened.matched, removed)


def _finish(pool: _Recorder, version: str, picks: list[Pick], top_up: bool, chances: tuple[Chances, ...]
            ) -> DrawResult:
    """The result with its leader (point 10) from the drawn experts' facts."""
    facts = _facts(pool, [p.person_id for p in picks])
    chiefs = [p.person_id for p in picks if p.role == Role.PRINCIPAL and facts[p.person_id].is_chief]
    return DrawResult(version, picks=tuple(picks), leader=chiefs[0] if len(chiefs) == 1 and not top_up else None,
                      needs_leader_choice=len(chiefs) > 1 and not top_up, chances=chances)


def _draw_v3(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
             settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult:
    """The joint fair draw (:mod:`services.activities.joint_draw`): every request with stated chances; as v1,
    saying so, only when the plan's shares cannot fill a line that the rules could."""
    top_up = bool(existing)
    check_request(requirements, activity, top_up)
    found = {r.key: pool.screen(r, activity, settings, existing) for r in requirements}
    shortfalls = [_short(r, found[r.key]) for r in requirements if len(found[r.key].groups) < r.count + r.backups]
    if shortfalls:
        return DrawResult(joint_draw.ALGORITHM_V3, shortfalls=tuple(shortfalls))
    lines = [joint_draw.Line(r.key, r.category.value, r.count, r.backups) for r in requirements]
    drawn = pool.memo.get(("v3", seed))  # the pure part once per draw, also when facts are loaded after it
    if drawn is None or any(a is not b for a, b in zip(drawn[0], found.values(), strict=True)):
        drawn = (tuple(found.values()), joint_draw.draw_lines(lines, found, seed))
        pool.memo[("v3", seed)] = drawn
    if drawn[1] is None:
        return replace(_draw_v1(pool, requirements, activity, settings, seed, existing=existing),
                       algorithm_version=joint_draw.ALGORITHM_V3, fallback=True)
    principals, backups, chances = drawn[1]
    picks = [p for r in requirements for p in picks_of(r.key, principals[r.key], backups[r.key])]
    return _finish(pool, joint_draw.ALGORITHM_V3, picks, top_up, chances)


class _Algorithm(Protocol):
    def __call__(self, pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
                 settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult: ...

_ALGORITHMS: dict[str, _Algorithm] = {"v1": _draw_v1, fair_draw.ALGORITHM_V2: _draw_v2,
                                      joint_draw.ALGORITHM_V3: _draw_v3}


def _as_pool(candidates: Sequence[Candidate] | CandidatePool) -> CandidatePool:
    if isinstance(candidates, Sequence):
        return ListPool(candidates)
    return candidates


def draw_recorded(candidates: Sequence[Candidate] | CandidatePool, requirements: Sequence[Requirement],
                  activity: ActivitySpec, settings: DrawSettings, seed: bytes, *,
                  existing: Sequence[Member] = (), version: str = ALGORITHM_VERSION) -> tuple[DrawResult, DrawInputs]:
    """Draw with the current algorithm (or ``version``, for benchmarks and tests of older records) and return the
    :class:`DrawInputs` it read (to store with the record). Raises :class:`DrawRequestError` for an invalid
    request, :class:`MissingCandidate` when the pool has not loaded a candidate the draw visits (load more and
    call again: the draw is deterministic; v2 reads every matching candidate)."""
    recorder = _Recorder(_as_pool(candidates))
    result = _ALGORITHMS[version](recorder, requirements, activity, settings, seed, existing=existing)
    inputs = DrawInputs(
        matching=dict(recorder.matching),
        candidates=tuple(sorted(recorder.visited.values(), key=lambda c: c.person_id)),
        requirements=tuple(requirements),
        activity=activity,
        settings=settings,
        existing=tuple(existing),
        screened=dict(recorder.screened),
    )
    return result, inputs


def draw(candidates: Sequence[Candidate] | CandidatePool, requirements: Sequence[Requirement],
         activity: ActivitySpec, settings: DrawSettings, seed: bytes, *, existing: Sequence[Member] = (),
         version: str = ALGORITHM_VERSION) -> DrawResult:
    """Draw experts with the current algorithm (``ALGORITHM_VERSION``, or ``version``); deterministic from
    ``seed``. Raises :class:`DrawRequestError` for an invalid request (module docstring 9)."""
    return draw_recorded(candidates, requirements, activity, settings, seed, existing=existing,
                         version=version)[0]


def verify(inputs: DrawInputs, seed: bytes, *, stored: DrawResult) -> bool:
    """Recompute the draw from its recorded inputs with the stored result's algorithm version and compare (order
    included). Raises ``ValueError`` for an unknown version."""
    algorithm = _ALGORITHMS.get(stored.algorithm_version)
    if algorithm is None:
        raise ValueError(f"unknown draw algorithm {stored.algorithm_version!r}")
    try:
        recomputed = algorithm(_Recorder(inputs.pool()), inputs.requirements, inputs.activity, inputs.settings,
                               seed, existing=inputs.existing)
    except (DrawRequestError, MissingCandidate):
        return False
    return recomputed == stored and _screening_holds(inputs)


def _screening_holds(inputs: DrawInputs) -> bool:
    """v2 draws from its recorded screening: every candidate whose facts are recorded (the drawn, at least) must
    be where its facts put it: eligible ones matching, without exclusion, in their employer's group."""
    by_id = {c.person_id: c for c in inputs.candidates}
    for requirement in inputs.requirements:
        screened = inputs.screened.get(requirement.key)
        for group in screened.groups if screened else ():
            for person_id in group.ids:
                c = by_id.get(person_id)
                if c is not None and (not matches(c, requirement) or c.employer_id != group.employer_id
                                      or exclusions(c, inputs.activity, inputs.settings)):
                    return False
    return True
