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
11. **The draw, v1**: requirements are filled one by one in the order given. For each, the eligible candidates (not
    excluded, matching, not drawn for an earlier requirement) are sorted by ``person_id`` (so the input order does
    not matter), shuffled by Fisher–Yates with :class:`_Stream` (SHA-256 over the seed, the requirement key and a
    counter; uniform integers by rejection sampling, no modulo bias), and taken in shuffled order, skipping anyone
    who would break point 8: the first ``count`` are principals, the next ``backups`` backups, in order. Within one
    requirement this greedy pass is optimal (it takes one per employer); across requirements of the same category an
    earlier requirement may use up an employer a later one needed, so the organizer may reorder requirements or relax
    them (001 §11(二)) and draw again.
12. **Shortfall** (001 §11(二)): if any requirement cannot be met, nothing is drawn (``ok`` is false, no picks) and
    each short requirement gets a :class:`Shortfall`: how many are missing, how many candidates matched, and a
    ``Counter`` of the reasons that removed matching candidates (every exclusion code a candidate has, plus
    ``already_drawn`` and ``same_employer_field`` for the draw's own rules).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from services.eligibility import Category, ClinicalSubcategory
from services.identifiers import age_on

__all__ = [
    "ALGORITHM_VERSION",
    "ActivityKind",
    "ActivitySpec",
    "Candidate",
    "DrawRequestError",
    "DrawResult",
    "DrawSettings",
    "Exclusion",
    "ExclusionCode",
    "Pick",
    "Requirement",
    "Role",
    "Shortfall",
    "canonical_snapshot",
    "draw",
    "exclusions",
    "matches",
    "snapshot_hash",
    "verify",
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
class DrawSettings:
    """Tunable limits (defaults: 001 §14 practice, 000 §8(四), 000 §15(一))."""

    rotation_window_days: int = 180
    rotation_max: int = 2
    rotation_gap_days: int = 30
    age_limit: int = 65
    recusal_years: int = 2


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


class _Stream:
    """Uniform integers from SHA-256(domain, seed, key, counter); independent of Python's ``random``."""

    _DOMAIN = b"fundwatch/draw/v1\x00"

    def __init__(self, seed: bytes, key: str) -> None:
        encoded = key.encode("utf-8")
        self._prefix = (self._DOMAIN + len(seed).to_bytes(8, "big") + seed
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

    def shuffle(self, items: list[Candidate]) -> None:
        """Fisher–Yates, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


# --- the draw -------------------------------------------------------------------------------------


def _validate(candidates: Sequence[Candidate], requirements: Sequence[Requirement], activity: ActivitySpec) -> None:
    ids = [c.person_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise DrawRequestError("duplicate_candidate", "", "a person appears twice among the candidates")
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
    if total < 1:
        raise DrawRequestError("group_size", "000 §18(一)", "at least one principal is needed")
    if not activity.allow_even_group and (total < MIN_GROUP or total % 2 == 0):
        raise DrawRequestError("group_size", "000 §18(一)", f"a group has an odd number ≥{MIN_GROUP}, not {total}")


def _draw_v1(candidates: Sequence[Candidate], requirements: Sequence[Requirement], activity: ActivitySpec,
             settings: DrawSettings, seed: bytes) -> DrawResult:
    _validate(candidates, requirements, activity)
    pool = sorted(candidates, key=lambda c: c.person_id)
    excluded = {c.person_id: [e.code for e in exclusions(c, activity, settings)] for c in pool}
    chosen: set[int] = set()
    taken: set[tuple[int, Category]] = set()  # (employer, field) already in the drawn set
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    for requirement in requirements:
        matching = [c for c in pool if matches(c, requirement)]
        removed: Counter[str] = Counter()
        eligible: list[Candidate] = []
        for c in matching:
            if excluded[c.person_id]:
                removed.update(excluded[c.person_id])
            elif c.person_id in chosen:
                removed[ALREADY_DRAWN] += 1
            else:
                eligible.append(c)
        _Stream(seed, requirement.key).shuffle(eligible)
        needed = requirement.count + requirement.backups
        got: list[int] = []
        for c in eligible:
            if len(got) == needed:
                break
            if c.employer_id is not None and (c.employer_id, requirement.category) in taken:
                removed[SAME_EMPLOYER_FIELD] += 1
                continue
            got.append(c.person_id)
            chosen.add(c.person_id)
            if c.employer_id is not None:
                taken.add((c.employer_id, requirement.category))
        if len(got) < needed:
            shortfalls.append(Shortfall(requirement.key, needed, needed - len(got), len(matching), removed))
            continue
        for order, person_id in enumerate(got[: requirement.count], start=1):
            picks.append(Pick(requirement.key, person_id, Role.PRINCIPAL, order))
        for order, person_id in enumerate(got[requirement.count :], start=1):
            picks.append(Pick(requirement.key, person_id, Role.BACKUP, order))
    if shortfalls:
        return DrawResult(ALGORITHM_VERSION, shortfalls=tuple(shortfalls))
    by_id = {c.person_id: c for c in pool}
    chiefs = [p.person_id for p in picks if p.role == Role.PRINCIPAL and by_id[p.person_id].is_chief]
    return DrawResult(
        ALGORITHM_VERSION,
        picks=tuple(picks),
        leader=chiefs[0] if len(chiefs) == 1 else None,
        needs_leader_choice=len(chiefs) > 1,
    )


_ALGORITHMS: dict[str, Callable[[Sequence[Candidate], Sequence[Requirement], ActivitySpec, DrawSettings, bytes],
                                DrawResult]] = {"v1": _draw_v1}


def draw(candidates: Sequence[Candidate], requirements: Sequence[Requirement], activity: ActivitySpec,
         settings: DrawSettings, seed: bytes) -> DrawResult:
    """Draw experts with the current algorithm (``ALGORITHM_VERSION``); deterministic from ``seed``.
    Raises :class:`DrawRequestError` for an invalid request (module docstring 9)."""
    return _ALGORITHMS[ALGORITHM_VERSION](candidates, requirements, activity, settings, seed)


def verify(candidates: Sequence[Candidate], requirements: Sequence[Requirement], activity: ActivitySpec,
           settings: DrawSettings, seed: bytes, *, stored: DrawResult) -> bool:
    """Recompute the draw with the stored result's algorithm version and compare (order included).
    Raises ``ValueError`` for an unknown version."""
    algorithm = _ALGORITHMS.get(stored.algorithm_version)
    if algorithm is None:
        raise ValueError(f"unknown draw algorithm {stored.algorithm_version!r}")
    try:
        recomputed = algorithm(candidates, requirements, activity, settings, seed)
    except DrawRequestError:
        return False
    return recomputed == stored


# --- canonical snapshot ---------------------------------------------------------------------------


def _iso(days: Iterable[date]) -> list[str]:
    return sorted(d.isoformat() for d in days)


def _periods(periods: Iterable[tuple[date, date]]) -> list[list[str]]:
    return sorted([s.isoformat(), e.isoformat()] for s, e in periods)


def canonical_snapshot(candidates: Sequence[Candidate], requirements: Sequence[Requirement],
                       activity: ActivitySpec, settings: DrawSettings) -> str:
    """Canonical JSON of the inputs: candidates by ``person_id``, sets sorted, requirements in the given order
    (it matters to the draw), dates in ISO form, compact separators, sorted keys."""
    data = {
        "format": "fundwatch-draw-snapshot/1",
        "candidates": [
            {
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
            for c in sorted(candidates, key=lambda c: c.person_id)
        ],
        "requirements": [
            {
                "key": r.key,
                "category": str(r.category),
                "subcategory": None if r.subcategory is None else str(r.subcategory),
                "tags": sorted(r.tags),
                "count": r.count,
                "backups": r.backups,
            }
            for r in requirements
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
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def snapshot_hash(candidates: Sequence[Candidate], requirements: Sequence[Requirement], activity: ActivitySpec,
                  settings: DrawSettings) -> str:
    """Hex SHA-256 of :func:`canonical_snapshot` (UTF-8)."""
    text = canonical_snapshot(candidates, requirements, activity, settings)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
