"""Drawing experts for an activity (专家抽取): who may be drawn, and the reproducible random draw itself.

Pure functions over plain data: no I/O, no clock (the activity's dates are the reference), no global randomness
(the caller passes the ``seed``). :func:`exclusions` explains why a candidate cannot be drawn, each
:class:`Exclusion` with a stable ``code`` and the ``article`` it rests on; :func:`matches` says whether a candidate
fits a :class:`Requirement`; :func:`draw` makes the draw (``ALGORITHM_VERSION``), :func:`verify` recomputes it and
:func:`snapshot_hash` fingerprints the inputs so a stored record (000 §25 "可查询、可回溯、可追究", 001 §11
"做好记录") can prove what was drawn from what.

Sources: ``000`` is the XPCC expert-pool rules (兵团医疗保障基金监管专家库管理办法), ``001`` the Hainan rules the
project adopts where 000 is silent (RULES.md).

Interpretations
---------------
1. **Dates are inclusive.** An activity runs from ``start`` to ``end`` inclusive; a leave/suspension or another
   activity ``(s, e)`` blocks the draw when the two ranges share at least one day.
2. **Not active** (``not_active``, "000 §11"): only experts whose pool state is ``"active"`` are drawn; the
   lifecycle service owns the other states (term expired, suspended, left, removed).
3. **Age** (``age_limit``, "000 §8(四)"): completed age (周岁) on the activity's start ≥ ``age_limit`` excludes; 000
   §22 makes the 65th birthday the exit point, so the draw never relies on an extension not yet granted.
4. **Blacklist** (``barred``, "000 §25").
5. **Recusal** (000 §15, 001 §17) applies to every kind of activity; ``inspected`` holds the institutions the
   activity concerns (inspected institutions, or the parties of a review or consultation):
   ``recusal_employer`` the current employer is one of them (000 §15(一): 任职 includes the present);
   ``recusal_past_employer`` the person left one of them on or after the same calendar day ``recusal_years``
   before the start (000 §15(一) "两年内"; 29 February falls back to 28 February); ``recusal_interest`` a declared
   interest (self, spouse, relatives, or the employer) in one of them (000 §15(二)(三), 001 §17(二)(三));
   ``recusal_required`` staff required this person to recuse (000 §15 last paragraph, 001 §17 last paragraph).
6. **Rotation** (001 §14) only for project reviews that are not double blind (001 §14 "双盲评审活动不受此限"; 001
   §15: no limit for inspections, research and consultation). Previous review draws dated in
   ``[start - rotation_window_days, start]`` count. ``rotation_consecutive`` ("连续"): a previous review draw within
   ``rotation_gap_days`` before the start. ``rotation_frequent`` ("短期内多次"): already ``rotation_max`` draws in
   the window, so this draw would make more than ``rotation_max``.
7. **Matching**: the requirement's category is among the candidate's categories; a sub-category, when given, is
   among the candidate's clinical sub-categories; every tag of the requirement is among the specialty tags.
8. **Group rule "同一领域来自同一单位的专家只能有一名"** (000 §18(三)): a member's *field* is the category of the
   requirement they are drawn for. Among **everyone drawn — principals and backups of all requirements** — no two
   share (employer, field). This is stricter than needed for a group that never uses its backups, but any backup
   may replace any principal of its requirement (000 §19 "依次通知递补专家"), and several may be used at once, so
   this is the simplest rule under which every possible substitution still yields a valid group, and notifying
   backups in order needs no further check. Experts without an employer (``employer_id is None``) never conflict.
9. **Group size** (000 §18(一) "三人以上的单数"): the total of principals over all requirements must be odd and ≥3,
   unless ``allow_even_group`` (not a group under §18: a single adviser, or a case the organizer justified). A
   request breaking it is an error (:class:`DrawRequestError`), not a shortfall: it does not depend on the pool.
10. **Leader** (000 §18(四)): exactly one chief expert among the principals leads; several → the organizer names
    one (``needs_leader_choice``); none → no leader is implied by the draw. Backups do not count.
11. **The draw, v1**: requirements are filled one by one in the order given. For each, the ids of the experts
    that may match are sorted (so the input order does not matter) and visited in the order of a Fisher–Yates
    shuffle done lazily from the front with :class:`SeededStream` (SHA-256 over the seed, the requirement key
    and a counter; uniform integers by rejection sampling, no modulo bias). A visited candidate that does not match, is
    excluded, was drawn for an earlier requirement (or is on the roster already, when topping up) or would break
    point 8 is skipped; the first ``count`` taken are principals, the next ``backups`` backups, in order. Skipping
    the ineligible in a uniformly random order of everyone is a uniformly random order of the eligible, and only
    the candidates visited need to be loaded, so a draw costs what it takes, not the size of the pool. Within one
    requirement this greedy pass is optimal (it takes one per employer); across requirements of the same category
    an earlier requirement may use up an employer a later one needed, so the organizer may reorder requirements or
    relax them (001 §11(二)) and draw again.
12. **Shortfall** (001 §11(二)): if any requirement cannot be met, nothing is drawn (``ok`` is false, no picks) and
    each short requirement gets a :class:`Shortfall`: how many are missing, how many candidates matched (all were
    visited, so the counts are complete), and a
    ``Counter`` of the reasons that removed matching candidates (every exclusion code a candidate has, plus
    ``already_drawn`` and ``same_employer_field`` for the draw's own rules).
13. **Top-up** (001 §11(二) "进行增补"): with ``existing`` members (the activity's roster), they are not drawn again and
    count for point 8; group size (point 9) and leader (point 10) are judged on the whole roster by the caller.
14. **Record**: :func:`draw_recorded` also returns the :class:`DrawInputs` it read (matching ids per requirement,
    the facts of every visited candidate, the request); :func:`canonical_snapshot` / :func:`parse_snapshot` store
    and rebuild them, and :func:`verify` recomputes the draw from them with the stored algorithm version.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from services.platform.identifiers import age_on
from services.platform.policy import DrawSettings
from services.pool.eligibility import Category, ClinicalSubcategory

__all__ = [
    "ALGORITHM_VERSION",
    "ActivityKind",
    "ActivitySpec",
    "Candidate",
    "CandidatePool",
    "DrawInputs",
    "DrawRequestError",
    "DrawResult",
    "DrawSettings",
    "Exclusion",
    "ExclusionCode",
    "ListPool",
    "Member",
    "MissingCandidate",
    "Pick",
    "Requirement",
    "Role",
    "SeededStream",
    "Shortfall",
    "canonical_snapshot",
    "draw",
    "draw_recorded",
    "exclusions",
    "matches",
    "parse_snapshot",
    "snapshot_hash",
    "verify",
    "visit_order",
]

ALGORITHM_VERSION = "v1"
ACTIVE_STATE = "active"
MIN_GROUP = 3  # 000 §18(一)


class ActivityKind(StrEnum):
    """What the experts are drawn for."""

    ROUTINE_INSPECTION = "routine_inspection"
    SPECIAL_INSPECTION = "special_inspection"
    FLIGHT_INSPECTION = "flight_inspection"
    PROJECT_REVIEW = "project_review"
    CONSULTATION = "consultation"


class ExclusionCode(StrEnum):
    """Stable keys of the reasons a candidate cannot be drawn (module docstring, points 2–6)."""

    NOT_ACTIVE = "not_active"
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    AGE_LIMIT = "age_limit"
    BARRED = "barred"
    RECUSAL_EMPLOYER = "recusal_employer"
    RECUSAL_PAST_EMPLOYER = "recusal_past_employer"
    RECUSAL_INTEREST = "recusal_interest"
    RECUSAL_REQUIRED = "recusal_required"
    ROTATION_CONSECUTIVE = "rotation_consecutive"
    ROTATION_FREQUENT = "rotation_frequent"


ALREADY_DRAWN = "already_drawn"  # shortfall counter key: drawn for an earlier requirement
SAME_EMPLOYER_FIELD = "same_employer_field"  # shortfall counter key: 000 §18(三)

ARTICLES: dict[ExclusionCode, str] = {
    ExclusionCode.NOT_ACTIVE: "000 §11",
    ExclusionCode.UNAVAILABLE: "RULES.md Expert pool 6",
    ExclusionCode.BUSY: "RULES.md Draws 5",
    ExclusionCode.AGE_LIMIT: "000 §8(四)",
    ExclusionCode.BARRED: "000 §25",
    ExclusionCode.RECUSAL_EMPLOYER: "000 §15(一)",
    ExclusionCode.RECUSAL_PAST_EMPLOYER: "000 §15(一)",
    ExclusionCode.RECUSAL_INTEREST: "000 §15(二), 001 §17(二)",
    ExclusionCode.RECUSAL_REQUIRED: "000 §15, 001 §17",
    ExclusionCode.ROTATION_CONSECUTIVE: "001 §14",
    ExclusionCode.ROTATION_FREQUENT: "001 §14",
}


class Role(StrEnum):
    """A drawn expert serves (principal) or stands by to replace one, in order (backup, 000 §17)."""

    PRINCIPAL = "principal"
    BACKUP = "backup"


@dataclass(frozen=True)
class Candidate:
    """What the draw needs to know about one expert of the pool."""

    person_id: int
    categories: frozenset[Category]
    birth_date: date
    clinical_subcategories: frozenset[ClinicalSubcategory] = frozenset()
    specialty_tags: frozenset[str] = frozenset()
    employer_id: int | None = None
    past_employers: tuple[tuple[int, date], ...] = ()  # (institution id, last day there)
    declared_interests: frozenset[int] = frozenset()  # institution ids
    is_chief: bool = False
    state: str = ACTIVE_STATE
    unavailable: tuple[tuple[date, date], ...] = ()  # leave or suspension, inclusive
    busy: tuple[tuple[date, date], ...] = ()  # other activities, inclusive
    barred: bool = False  # blacklisted (000 §25)
    review_draws: tuple[date, ...] = ()  # dates of previous project-review draws


@dataclass(frozen=True)
class Requirement:
    """One line of the draw request (annex 3): ``count`` principals and ``backups`` backups of a kind."""

    key: str
    category: Category
    count: int
    backups: int = 0
    subcategory: ClinicalSubcategory | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActivitySpec:
    """The activity drawn for; ``inspected`` are the institutions concerned, ``required_recusals`` person ids."""

    kind: ActivityKind
    start: date
    end: date
    inspected: frozenset[int] = frozenset()
    double_blind: bool = False
    required_recusals: frozenset[int] = frozenset()
    allow_even_group: bool = False


@dataclass(frozen=True)
class Exclusion:
    """Why a candidate cannot be drawn: stable ``code``, the ``article``, and values for a message."""

    code: ExclusionCode
    article: str
    params: dict[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Pick:
    """One drawn expert: for which requirement, as principal or backup, and their 1-based order in that role."""

    requirement_key: str
    person_id: int
    role: Role
    order: int


@dataclass(frozen=True)
class Shortfall:
    """A requirement the pool cannot meet: ``short`` of ``needed`` are missing; ``removed`` counts, among the
    ``matched`` candidates, how many each rule removed (a candidate may count under several exclusion codes)."""

    requirement_key: str
    needed: int
    short: int
    matched: int
    removed: Counter[str] = field(default_factory=Counter, hash=False)


@dataclass(frozen=True)
class DrawResult:
    """The outcome: ``picks`` in draw order (empty when any requirement falls short), leader per 000 §18(四)."""

    algorithm_version: str
    picks: tuple[Pick, ...] = ()
    leader: int | None = None
    needs_leader_choice: bool = False
    shortfalls: tuple[Shortfall, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every requirement was met."""
        return not self.shortfalls

    @property
    def principals(self) -> tuple[int, ...]:
        """Principal person ids, in draw order."""
        return tuple(pick.person_id for pick in self.picks if pick.role == Role.PRINCIPAL)

    @property
    def backups(self) -> tuple[int, ...]:
        """Backup person ids, in draw order."""
        return tuple(pick.person_id for pick in self.picks if pick.role == Role.BACKUP)


class DrawRequestError(ValueError):
    """The request itself is invalid (independent of the pool): ``code`` says which rule, ``article`` where."""

    def __init__(self, code: str, article: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.article = article


# --- exclusions and matching ----------------------------------------------------------------------


def _overlaps(period: tuple[date, date], start: date, end: date) -> bool:
    return period[0] <= end and start <= period[1]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February without a counterpart
        return date(day.year - years, 2, 28)


def exclusions(candidate: Candidate, activity: ActivitySpec, settings: DrawSettings) -> list[Exclusion]:
    """Every reason ``candidate`` cannot be drawn for ``activity``, in a fixed order (module docstring 2–6)."""
    found: list[Exclusion] = []

    def add(code: ExclusionCode, **params: object) -> None:
        found.append(Exclusion(code, ARTICLES[code], dict(params)))

    start, end = activity.start, activity.end
    if candidate.state != ACTIVE_STATE:
        add(ExclusionCode.NOT_ACTIVE, state=candidate.state)
    for period in candidate.unavailable:
        if _overlaps(period, start, end):
            add(ExclusionCode.UNAVAILABLE, start=period[0], end=period[1])
            break
    for period in candidate.busy:
        if _overlaps(period, start, end):
            add(ExclusionCode.BUSY, start=period[0], end=period[1])
            break
    if candidate.birth_date <= start and age_on(candidate.birth_date, start) >= settings.age_limit:
        add(ExclusionCode.AGE_LIMIT, age=age_on(candidate.birth_date, start), limit=settings.age_limit)
    if candidate.barred:
        add(ExclusionCode.BARRED)
    if candidate.employer_id is not None and candidate.employer_id in activity.inspected:
        add(ExclusionCode.RECUSAL_EMPLOYER, institution_id=candidate.employer_id)
    since = _years_before(start, settings.recusal_years)
    past = sorted({inst for inst, left in candidate.past_employers if inst in activity.inspected and left >= since})
    if past:
        add(ExclusionCode.RECUSAL_PAST_EMPLOYER, institution_ids=past, years=settings.recusal_years)
    interests = sorted(candidate.declared_interests & activity.inspected)
    if interests:
        add(ExclusionCode.RECUSAL_INTEREST, institution_ids=interests)
    if candidate.person_id in activity.required_recusals:
        add(ExclusionCode.RECUSAL_REQUIRED)
    if activity.kind == ActivityKind.PROJECT_REVIEW and not activity.double_blind:
        window_start = start - timedelta(days=settings.rotation_window_days)
        in_window = sorted(d for d in candidate.review_draws if window_start <= d <= start)
        gap_start = start - timedelta(days=settings.rotation_gap_days)
        if any(d >= gap_start for d in in_window):
            add(ExclusionCode.ROTATION_CONSECUTIVE, last=in_window[-1], gap_days=settings.rotation_gap_days)
        if len(in_window) >= settings.rotation_max:
            add(ExclusionCode.ROTATION_FREQUENT, count=len(in_window), max=settings.rotation_max,
                window_days=settings.rotation_window_days)
    return found


def matches(candidate: Candidate, requirement: Requirement) -> bool:
    """True when the candidate has the requirement's category, sub-category (if any) and every tag."""
    if requirement.category not in candidate.categories:
        return False
    if requirement.subcategory is not None and requirement.subcategory not in candidate.clinical_subcategories:
        return False
    return requirement.tags <= candidate.specialty_tags


# --- deterministic randomness ---------------------------------------------------------------------


_STREAM_DOMAIN = b"fundwatch/draw/v1\x00"


class SeededStream:
    """Uniform integers from SHA-256(domain, seed, key, counter); independent of Python's ``random``.

    Each draw algorithm passes a ``domain`` of its own (this module's for the expert draw v1,
    ``services.draws.target_rules``'s for the target draw t1), so the same seed gives each its own sequence. Stored
    draws verify only while the sequences stay the same: change nothing here, add a new algorithm version."""

    def __init__(self, seed: bytes, key: str, *, domain: bytes) -> None:
        encoded = key.encode("utf-8")
        self._prefix = (domain + len(seed).to_bytes(8, "big") + seed
                        + len(encoded).to_bytes(8, "big") + encoded)
        self._counter = 0

    def _next64(self) -> int:
        digest = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
        self._counter += 1
        return int.from_bytes(digest[:8], "big")

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by rejection sampling (no modulo bias)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = self._next64()
            if value < limit:
                return value % n


class _Shuffle:
    """A lazy Fisher–Yates shuffle from the front: ``next()`` fixes one more position of a uniformly random
    permutation of ``ids``, so visiting k candidates costs k steps whatever the size of the pool."""

    def __init__(self, ids: Sequence[int], seed: bytes, key: str) -> None:
        self._order = list(ids)
        self._stream = SeededStream(seed, key, domain=_STREAM_DOMAIN)
        self._i = 0

    def __iter__(self) -> Iterator[int]:
        order, n = self._order, len(self._order)
        while self._i < n:
            i = self._i
            j = i + self._stream.below(n - i)
            order[i], order[j] = order[j], order[i]
            self._i += 1
            yield order[i]


def visit_order(ids: Sequence[int], seed: bytes, key: str, upto: int) -> list[int]:
    """The first ``upto`` ids in the order the draw visits them for the requirement ``key`` (for prefetching)."""
    out: list[int] = []
    for person_id in _Shuffle(ids, seed, key):
        if len(out) >= upto:
            break
        out.append(person_id)
    return out


# --- where candidates come from -------------------------------------------------------------------


class MissingCandidate(LookupError):
    """The draw needs a candidate the pool has not loaded; the caller loads more and draws again."""

    def __init__(self, person_id: int) -> None:
        super().__init__(f"candidate {person_id} is not loaded")
        self.person_id = person_id


class CandidatePool(Protocol):
    """What the draw reads: for a requirement, the sorted ids of the experts that may match it (a superset is
    fine: :func:`matches` is checked again for each one visited), and a candidate's facts by id."""

    def matching(self, requirement: Requirement) -> Sequence[int]: ...

    def get(self, person_id: int) -> Candidate: ...


class ListPool:
    """A pool over candidates held in memory (tests, the frequency benchmark)."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._by_id: dict[int, Candidate] = {}
        for c in candidates:
            if c.person_id in self._by_id:
                raise DrawRequestError("duplicate_candidate", "", "a person appears twice among the candidates")
            self._by_id[c.person_id] = c
        self._ids = sorted(self._by_id)

    def matching(self, requirement: Requirement) -> Sequence[int]:
        return [i for i in self._ids if matches(self._by_id[i], requirement)]

    def get(self, person_id: int) -> Candidate:
        try:
            return self._by_id[person_id]
        except KeyError:
            raise MissingCandidate(person_id) from None


@dataclass(frozen=True)
class Member:
    """Someone already on the activity's roster when topping up: they count for 000 §18(三) and are not drawn
    again. ``field`` is the category of the requirement they were drawn for."""

    person_id: int
    employer_id: int | None
    field: Category


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

    def pool(self) -> CandidatePool:
        """The pool these inputs describe."""
        return _SnapshotPool(self)


class _SnapshotPool:
    def __init__(self, inputs: DrawInputs) -> None:
        self._matching = inputs.matching
        self._by_id = {c.person_id: c for c in inputs.candidates}

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

    def matching_ids(self, requirement: Requirement) -> tuple[int, ...]:
        ids = tuple(sorted(set(self._pool.matching(requirement))))
        self.matching[requirement.key] = ids
        return ids

    def get(self, person_id: int) -> Candidate:
        found = self.visited.get(person_id)
        if found is None:
            found = self.visited[person_id] = self._pool.get(person_id)
        return found


# --- the draw -------------------------------------------------------------------------------------


def _validate(requirements: Sequence[Requirement], activity: ActivitySpec, top_up: bool) -> None:
    keys = [r.key for r in requirements]
    if not requirements or len(set(keys)) != len(keys):
        raise DrawRequestError("bad_requirements", "000 §17", "requirements must be non-empty with unique keys")
    if any(r.subcategory is not None and r.category != Category.CLINICAL for r in requirements):
        raise DrawRequestError("bad_requirements", "000 §7(二)", "a sub-category needs the clinical category")
    if any(r.count < 0 or r.backups < 0 for r in requirements):
        raise DrawRequestError("bad_requirements", "000 §17", "counts must not be negative")
    if activity.end < activity.start:
        raise DrawRequestError("bad_dates", "", "the activity ends before it starts")
    total = sum(r.count for r in requirements)
    if top_up:  # the group was checked when it was first drawn; a top-up fills places in it
        if total + sum(r.backups for r in requirements) < 1:
            raise DrawRequestError("bad_requirements", "001 §11(二)", "a top-up draws at least one expert")
        return
    if total < 1:
        raise DrawRequestError("group_size", "000 §18(一)", "at least one principal is needed")
    if not activity.allow_even_group and (total < MIN_GROUP or total % 2 == 0):
        raise DrawRequestError("group_size", "000 §18(一)", f"a group has an odd number ≥{MIN_GROUP}, not {total}")


def _draw_v1(pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
             settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult:
    top_up = bool(existing)
    _validate(requirements, activity, top_up)
    chosen: set[int] = {m.person_id for m in existing}
    taken: set[tuple[int, Category]] = {(m.employer_id, m.field) for m in existing if m.employer_id is not None}
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    drawn: dict[int, Candidate] = {}
    for requirement in requirements:
        removed: Counter[str] = Counter()
        matched = 0
        needed = requirement.count + requirement.backups
        got: list[int] = []
        for person_id in _Shuffle(pool.matching_ids(requirement), seed, requirement.key):
            if len(got) == needed:
                break
            c = pool.get(person_id)
            if not matches(c, requirement):
                continue
            matched += 1
            codes = [e.code for e in exclusions(c, activity, settings)]
            if codes:
                removed.update(codes)
            elif person_id in chosen:
                removed[ALREADY_DRAWN] += 1
            elif c.employer_id is not None and (c.employer_id, requirement.category) in taken:
                removed[SAME_EMPLOYER_FIELD] += 1
            else:
                got.append(person_id)
                chosen.add(person_id)
                drawn[person_id] = c
                if c.employer_id is not None:
                    taken.add((c.employer_id, requirement.category))
        if len(got) < needed:  # every matching candidate was visited, so the counts are complete
            shortfalls.append(Shortfall(requirement.key, needed, needed - len(got), matched, removed))
            continue
        for order, person_id in enumerate(got[: requirement.count], start=1):
            picks.append(Pick(requirement.key, person_id, Role.PRINCIPAL, order))
        for order, person_id in enumerate(got[requirement.count :], start=1):
            picks.append(Pick(requirement.key, person_id, Role.BACKUP, order))
    if shortfalls:
        return DrawResult(ALGORITHM_VERSION, shortfalls=tuple(shortfalls))
    chiefs = [p.person_id for p in picks if p.role == Role.PRINCIPAL and drawn[p.person_id].is_chief]
    return DrawResult(
        ALGORITHM_VERSION,
        picks=tuple(picks),
        leader=chiefs[0] if len(chiefs) == 1 and not top_up else None,
        needs_leader_choice=len(chiefs) > 1 and not top_up,
    )


class _Algorithm(Protocol):
    def __call__(self, pool: _Recorder, requirements: Sequence[Requirement], activity: ActivitySpec,
                 settings: DrawSettings, seed: bytes, *, existing: Sequence[Member]) -> DrawResult: ...

_ALGORITHMS: dict[str, _Algorithm] = {"v1": _draw_v1}


def _as_pool(candidates: Sequence[Candidate] | CandidatePool) -> CandidatePool:
    if isinstance(candidates, Sequence):
        return ListPool(candidates)
    return candidates


def draw_recorded(candidates: Sequence[Candidate] | CandidatePool, requirements: Sequence[Requirement],
                  activity: ActivitySpec, settings: DrawSettings, seed: bytes, *,
                  existing: Sequence[Member] = ()) -> tuple[DrawResult, DrawInputs]:
    """Draw with the current algorithm and return the :class:`DrawInputs` it read (to store with the record).
    Raises :class:`DrawRequestError` for an invalid request, :class:`MissingCandidate` when the pool has not
    loaded a candidate the draw visits (load more and call again: the draw is deterministic)."""
    recorder = _Recorder(_as_pool(candidates))
    result = _ALGORITHMS[ALGORITHM_VERSION](recorder, requirements, activity, settings, seed, existing=existing)
    inputs = DrawInputs(
        matching=dict(recorder.matching),
        candidates=tuple(sorted(recorder.visited.values(), key=lambda c: c.person_id)),
        requirements=tuple(requirements),
        activity=activity,
        settings=settings,
        existing=tuple(existing),
    )
    return result, inputs


def draw(candidates: Sequence[Candidate] | CandidatePool, requirements: Sequence[Requirement],
         activity: ActivitySpec, settings: DrawSettings, seed: bytes, *, existing: Sequence[Member] = (),
         ) -> DrawResult:
    """Draw experts with the current algorithm (``ALGORITHM_VERSION``); deterministic from ``seed``.
    Raises :class:`DrawRequestError` for an invalid request (module docstring 9)."""
    return draw_recorded(candidates, requirements, activity, settings, seed, existing=existing)[0]


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
    return recomputed == stored


# --- canonical snapshot ---------------------------------------------------------------------------

SNAPSHOT_FORMAT = "fundwatch-draw-snapshot/1"


def _iso(days: Iterable[date]) -> list[str]:
    return sorted(d.isoformat() for d in days)


def _periods(periods: Iterable[tuple[date, date]]) -> list[list[str]]:
    return sorted([s.isoformat(), e.isoformat()] for s, e in periods)


def _candidate_json(c: Candidate) -> dict[str, object]:
    return {
        "person_id": c.person_id,
        "categories": sorted(c.categories),
        "clinical_subcategories": sorted(c.clinical_subcategories),
        "specialty_tags": sorted(c.specialty_tags),
        "employer_id": c.employer_id,
        "past_employers": sorted([inst, left.isoformat()] for inst, left in c.past_employers),
        "declared_interests": sorted(c.declared_interests),
        "is_chief": c.is_chief,
        "birth_date": c.birth_date.isoformat(),
        "state": c.state,
        "unavailable": _periods(c.unavailable),
        "busy": _periods(c.busy),
        "barred": c.barred,
        "review_draws": _iso(c.review_draws),
    }


def canonical_snapshot(inputs: DrawInputs) -> str:
    """Canonical JSON of the inputs: candidates by ``person_id``, sets sorted, requirements in the given order
    (it matters to the draw), dates in ISO form, compact separators, sorted keys."""
    activity, settings = inputs.activity, inputs.settings
    data = {
        "format": SNAPSHOT_FORMAT,
        "matching": {key: sorted(ids) for key, ids in inputs.matching.items()},
        "candidates": [_candidate_json(c) for c in sorted(inputs.candidates, key=lambda c: c.person_id)],
        "requirements": [
            {
                "key": r.key,
                "category": str(r.category),
                "subcategory": None if r.subcategory is None else str(r.subcategory),
                "tags": sorted(r.tags),
                "count": r.count,
                "backups": r.backups,
            }
            for r in inputs.requirements
        ],
        "activity": {
            "kind": str(activity.kind),
            "start": activity.start.isoformat(),
            "end": activity.end.isoformat(),
            "inspected": sorted(activity.inspected),
            "double_blind": activity.double_blind,
            "required_recusals": sorted(activity.required_recusals),
            "allow_even_group": activity.allow_even_group,
        },
        "settings": {
            "rotation_window_days": settings.rotation_window_days,
            "rotation_max": settings.rotation_max,
            "rotation_gap_days": settings.rotation_gap_days,
            "age_limit": settings.age_limit,
            "recusal_years": settings.recusal_years,
        },
        "existing": sorted([m.person_id, m.employer_id, str(m.field)] for m in inputs.existing),
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def snapshot_hash(inputs: DrawInputs) -> str:
    """Hex SHA-256 of :func:`canonical_snapshot` (UTF-8)."""
    return hashlib.sha256(canonical_snapshot(inputs).encode("utf-8")).hexdigest()


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _span(pair: list[str]) -> tuple[date, date]:
    return (_day(pair[0]), _day(pair[1]))


def parse_snapshot(text: str) -> DrawInputs:
    """Rebuild :class:`DrawInputs` from :func:`canonical_snapshot` (``ValueError`` for another format)."""
    data = json.loads(text)
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    candidates = tuple(
        Candidate(
            person_id=c["person_id"],
            categories=frozenset(Category(x) for x in c["categories"]),
            birth_date=_day(c["birth_date"]),
            clinical_subcategories=frozenset(ClinicalSubcategory(x) for x in c["clinical_subcategories"]),
            specialty_tags=frozenset(c["specialty_tags"]),
            employer_id=c["employer_id"],
            past_employers=tuple((inst, _day(left)) for inst, left in c["past_employers"]),
            declared_interests=frozenset(c["declared_interests"]),
            is_chief=c["is_chief"],
            state=c["state"],
            unavailable=tuple(_span(p) for p in c["unavailable"]),
            busy=tuple(_span(p) for p in c["busy"]),
            barred=c["barred"],
            review_draws=tuple(_day(d) for d in c["review_draws"]),
        )
        for c in data["candidates"]
    )
    requirements = tuple(
        Requirement(
            key=r["key"],
            category=Category(r["category"]),
            count=r["count"],
            backups=r["backups"],
            subcategory=None if r["subcategory"] is None else ClinicalSubcategory(r["subcategory"]),
            tags=frozenset(r["tags"]),
        )
        for r in data["requirements"]
    )
    a = data["activity"]
    activity = ActivitySpec(
        kind=ActivityKind(a["kind"]),
        start=_day(a["start"]),
        end=_day(a["end"]),
        inspected=frozenset(a["inspected"]),
        double_blind=a["double_blind"],
        required_recusals=frozenset(a["required_recusals"]),
        allow_even_group=a["allow_even_group"],
    )
    return DrawInputs(
        matching={key: tuple(ids) for key, ids in data["matching"].items()},
        candidates=candidates,
        requirements=requirements,
        activity=activity,
        settings=DrawSettings(**data["settings"]),
        existing=tuple(Member(pid, emp, Category(f)) for pid, emp, f in data["existing"]),
    )
