"""Drawing experts for an activity (专家抽取): who may be drawn, and the rules the reproducible random draw follows.

Pure functions over plain data: no I/O, no clock (the activity's dates are the reference), no global randomness
(the caller passes the ``seed``). :func:`exclusions` explains why a candidate cannot be drawn, each
:class:`Exclusion` with a stable ``code`` and the ``article`` it rests on; :func:`matches` says whether a candidate
fits a :class:`Requirement`; :func:`check_request` holds a request to the group rules (points 9, 13). The draw
itself (points 8, 10–14) is :mod:`services.activities.expert_draw`: ``draw`` makes it (``ALGORITHM_VERSION``) in the
order of :mod:`services.activities.sampling`'s seeded stream, ``verify`` recomputes it, and
:mod:`services.activities.draw_snapshot` fingerprints the inputs so a stored record (000 §25 "可查询、可回溯、可追究",
001 §11 "做好记录") can prove what was drawn from what.

Sources: ``000`` is the XPCC expert-pool rules (兵团医疗保障基金监管专家库管理办法), ``001`` the Hainan rules the
project adopts where 000 is silent (RULES.md).

Interpretations
---------------
1. **Dates are inclusive.** An activity runs from ``start`` to ``end`` inclusive; a leave/suspension or another
   activity ``(s, e)`` blocks the draw when the two ranges share at least one day.
2. **Not active** (``not_active``, "000 §11"): only experts whose pool state is ``"active"`` are drawn; the
   lifecycle service owns the other states (term expired, suspended, left, removed).
3. **Age** (``age_limit``, "000 §8(四)"): completed age (周岁) on the activity's start ≥ ``age_limit`` excludes; 000
   §22 makes the 65th birthday the exit point, so the draw never relies on an extension not yet granted; a granted
   one (``extended_until``) lifts the rule for an activity that ends on or before its last day.
4. **Blacklist** (``barred``, "000 §25"). **Disqualified** (``disqualified``, "000 §9"): the record carries a §9
   ground (no full civil capacity, a criminal record, an administrative penalty or severe sanction, a violation of
   insurance rules), whatever the pool state says (an expert admitted by the import override keeps the flag).
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
14. **Record**: ``expert_draw.draw_recorded`` also returns the ``DrawInputs`` it read (matching ids per
    requirement, the facts of every visited candidate, the request); ``draw_snapshot.canonical_snapshot`` /
    ``parse_snapshot`` store and rebuild them, and ``expert_draw.verify`` recomputes the draw from them with the
    stored algorithm version.
15. **The draw, v2** (issue 18; :mod:`services.activities.fair_draw`): every expert who may be drawn for a
    requirement gets the highest equal chance point 8 allows (000 §16 "随机抽取": the same chance for everyone,
    as close as the rules let it be): the LEXIMIN chances, a water level over the employers (at most ``1/n`` for
    each of an employer's ``n`` eligible experts), sampled exactly by systematic sampling over the employers in a
    seeded order, then one expert uniformly inside each picked employer; backups likewise among the other
    employers, in random order. It reads every matching candidate, and the result stores the chances. Exact when
    the requirements have different fields and no expert is eligible for two of them; otherwise v2 draws as v1
    (point 11) and the result says so (``fallback``). **v3** (current; :mod:`services.activities.joint_draw`)
    draws such requests jointly with stated chances (v2's chances in its exact case); it draws as v1, saying
    so, only when its shares cannot fill a line. v1 and v2 stay to verify older records.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from services.platform.identifiers import age_on
from services.platform.policy import DrawSettings
from services.pool.eligibility import Category, ClinicalSubcategory

__all__ = [
    "ARTICLES",
    "ActivityKind",
    "ActivitySpec",
    "Candidate",
    "DrawRequestError",
    "DrawSettings",
    "Exclusion",
    "ExclusionCode",
    "Member",
    "Requirement",
    "Role",
    "check_request",
    "exclusions",
    "matches",
]

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
    DISQUALIFIED = "disqualified"


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
    ExclusionCode.DISQUALIFIED: "000 §9",
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
    disqualified: bool = False  # a 000 §9 ground on the record (point 4)
    extended_until: date | None = None  # a granted extension past 65 ends (000 §22, point 3)


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
class Member:
    """Someone already on the activity's roster when topping up: they count for 000 §18(三) and are not drawn
    again. ``field`` is the category of the requirement they were drawn for."""

    person_id: int
    employer_id: int | None
    field: Category



class DrawRequestError(ValueError):
    """The request itself is invalid (independent of the pool): ``code`` says which rule, ``article`` where."""

    def __init__(self, code: str, article: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.article = article


# --- exclusions and matching ----------------------------------------------------------------------


def _overlaps(period: tuple[date, date], start: date, end: date) -> bool:
    return period[0] <= end and start <= period[1]


def _first_overlap(periods: Sequence[tuple[date, date]], start: date, end: date) -> tuple[date, date] | None:
    return next((period for period in periods if _overlaps(period, start, end)), None)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February without a counterpart
        return date(day.year - years, 2, 28)


def _exclusion(code: ExclusionCode, **params: object) -> Exclusion:
    return Exclusion(code, ARTICLES[code], dict(params))


def _standing(candidate: Candidate, activity: ActivitySpec, settings: DrawSettings) -> Iterator[Exclusion]:
    """Points 2–4: pool state, leave or another activity over the dates, age, blacklist."""
    start, end = activity.start, activity.end
    if candidate.state != ACTIVE_STATE:
        yield _exclusion(ExclusionCode.NOT_ACTIVE, state=candidate.state)
    if (period := _first_overlap(candidate.unavailable, start, end)) is not None:
        yield _exclusion(ExclusionCode.UNAVAILABLE, start=period[0], end=period[1])
    if (period := _first_overlap(candidate.busy, start, end)) is not None:
        yield _exclusion(ExclusionCode.BUSY, start=period[0], end=period[1])
    extended = candidate.extended_until is not None and end <= candidate.extended_until
    if candidate.birth_date <= start and age_on(candidate.birth_date, start) >= settings.age_limit and not extended:
        yield _exclusion(ExclusionCode.AGE_LIMIT, age=age_on(candidate.birth_date, start), limit=settings.age_limit)
    if candidate.barred:
        yield _exclusion(ExclusionCode.BARRED)
    if candidate.disqualified:
        yield _exclusion(ExclusionCode.DISQUALIFIED)


def _recusals(candidate: Candidate, activity: ActivitySpec, settings: DrawSettings) -> Iterator[Exclusion]:
    """Point 5 (000 §15, 001 §17): the institutions the activity concerns, past and present."""
    if candidate.employer_id is not None and candidate.employer_id in activity.inspected:
        yield _exclusion(ExclusionCode.RECUSAL_EMPLOYER, institution_id=candidate.employer_id)
    since = _years_before(activity.start, settings.recusal_years)
    past = sorted({inst for inst, left in candidate.past_employers if inst in activity.inspected and left >= since})
    if past:
        yield _exclusion(ExclusionCode.RECUSAL_PAST_EMPLOYER, institution_ids=past, years=settings.recusal_years)
    interests = sorted(candidate.declared_interests & activity.inspected)
    if interests:
        yield _exclusion(ExclusionCode.RECUSAL_INTEREST, institution_ids=interests)
    if candidate.person_id in activity.required_recusals:
        yield _exclusion(ExclusionCode.RECUSAL_REQUIRED)


def _rotation(candidate: Candidate, activity: ActivitySpec, settings: DrawSettings) -> Iterator[Exclusion]:
    """Point 6 (001 §14): only project reviews that are not double blind."""
    if activity.kind != ActivityKind.PROJECT_REVIEW or activity.double_blind:
        return
    start = activity.start
    window_start = start - timedelta(days=settings.rotation_window_days)
    in_window = sorted(d for d in candidate.review_draws if window_start <= d <= start)
    gap_start = start - timedelta(days=settings.rotation_gap_days)
    if any(d >= gap_start for d in in_window):
        yield _exclusion(ExclusionCode.ROTATION_CONSECUTIVE, last=in_window[-1], gap_days=settings.rotation_gap_days)
    if len(in_window) >= settings.rotation_max:
        yield _exclusion(ExclusionCode.ROTATION_FREQUENT, count=len(in_window), max=settings.rotation_max,
                         window_days=settings.rotation_window_days)


def exclusions(candidate: Candidate, activity: ActivitySpec, settings: DrawSettings) -> list[Exclusion]:
    """Every reason ``candidate`` cannot be drawn for ``activity``, in a fixed order (module docstring 2–6)."""
    return [*_standing(candidate, activity, settings), *_recusals(candidate, activity, settings),
            *_rotation(candidate, activity, settings)]


def matches(candidate: Candidate, requirement: Requirement) -> bool:
    """True when the candidate has the requirement's category, sub-category (if any) and every tag."""
    if requirement.category not in candidate.categories:
        return False
    if requirement.subcategory is not None and requirement.subcategory not in candidate.clinical_subcategories:
        return False
    return requirement.tags <= candidate.specialty_tags



# --- the request ----------------------------------------------------------------------------------


def check_request(requirements: Sequence[Requirement], activity: ActivitySpec, top_up: bool) -> None:
    """Raise :class:`DrawRequestError` when the request breaks a rule that does not depend on the pool: unique
    keys, sub-categories only under the clinical category, counts, dates, and the group size (points 9, 13)."""
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
