"""The pure checks behind the rules of :mod:`services.activities.activities` (listed there with their articles):
the kind, the times (000 §19), each composition line (000 §7, §17, annex 3) and the group size (000 §18(一)), over
the values entered (:class:`ActivityInput`, :class:`RequirementInput`); and the pure-rule form of a requirement row
for the draw (:func:`as_rule`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.activities.draw_rules import MIN_GROUP, ActivityKind, Requirement
from services.platform.errors import ActivityInvalid
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.activities import ActivityRequirement

__all__ = [
    "MAX_BACKUPS",
    "MAX_COUNT",
    "MAX_INSTITUTIONS",
    "MAX_REQUIREMENTS",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "ActivityInput",
    "RequirementInput",
    "as_rule",
    "check_group_size",
    "check_time_answer",
    "check_times",
    "clean_composition",
    "clean_kind",
    "clean_requirement",
    "invalid",
    "local_day",
    "requirement_key",
]

MAX_REQUIREMENTS = 10
MAX_COUNT = 25
MAX_BACKUPS = 20
MAX_TAGS = 5
MAX_TAG_LENGTH = 30
MAX_INSTITUTIONS = 20


@dataclass(frozen=True)
class RequirementInput:
    """One line of the composition as entered."""

    category: str
    count: int
    backups: int = 0
    subcategory: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivityInput:
    """An activity as entered by staff (bot flow or CLI)."""

    org: str | int
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    response_deadline: datetime
    requirements: tuple[RequirementInput, ...]
    institution_ids: tuple[int, ...] = ()
    place: str = ""
    double_blind: bool = False
    allow_even_group: bool = False
    even_group_reason: str | None = None
    notes: str = ""



def invalid(reason: str, **params: object) -> ActivityInvalid:
    """The refusal of an activity for ``reason`` (message key ``activity.invalid.<reason>``)."""
    return ActivityInvalid(reason, reason_key=f"activity.invalid.{reason}", **params)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day of ``moment`` in the bureau's time zone."""
    return moment.astimezone(zone).date()


def requirement_key(requirement: ActivityRequirement) -> str:
    """The draw's key for a requirement row (stable across relaxations: the row id)."""
    return f"r{requirement.id}"


def as_rule(requirement: ActivityRequirement, *, count: int | None = None, backups: int | None = None) -> Requirement:
    """The pure-rule form of a requirement row (optionally with other counts, for a top-up)."""
    return Requirement(
        key=requirement_key(requirement),
        category=Category(requirement.category),
        count=requirement.count if count is None else count,
        backups=requirement.backups if backups is None else backups,
        subcategory=None if requirement.subcategory is None else ClinicalSubcategory(requirement.subcategory),
        tags=frozenset(requirement.tags),
    )


def clean_kind(raw: str) -> ActivityKind:
    """The kind of activity named ``raw`` (:class:`services.activities.draw_rules.ActivityKind`)."""
    try:
        return ActivityKind(raw)
    except ValueError:
        raise invalid("kind", value=raw) from None


def clean_requirement(raw: RequirementInput) -> RequirementInput:
    """Check one composition line (000 §7, §17, annex 3) and normalise it."""
    try:
        category = Category(raw.category.strip().lower())
    except ValueError:
        raise invalid("category", value=raw.category) from None
    subcategory = None
    if raw.subcategory:
        if category != Category.CLINICAL:
            raise invalid("subcategory_not_clinical")
        try:
            subcategory = ClinicalSubcategory(raw.subcategory.strip().lower()).value
        except ValueError:
            raise invalid("subcategory", value=raw.subcategory) from None
    if not 0 <= raw.count <= MAX_COUNT:
        raise invalid("count", max=MAX_COUNT)
    if not 0 <= raw.backups <= MAX_BACKUPS:
        raise invalid("backups", max=MAX_BACKUPS)
    if raw.count + raw.backups == 0:
        raise invalid("count", max=MAX_COUNT)
    tags = tuple(dict.fromkeys(t.strip() for t in raw.tags if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise invalid("tags", max=MAX_TAGS, length=MAX_TAG_LENGTH)
    return RequirementInput(category.value, raw.count, raw.backups, subcategory, tags)


def check_group_size(total: int, *, allow_even_group: bool, reason: str | None) -> None:
    """000 §18(一): an odd number of principals, at least three, unless waived with a recorded reason."""
    if total < 1:
        raise invalid("no_principals")
    if allow_even_group:
        if not (reason or "").strip():
            raise invalid("even_group_reason")
        return
    if total < MIN_GROUP or total % 2 == 0:
        raise invalid("group_size", total=total, min=MIN_GROUP)


def clean_composition(requirements: Sequence[RequirementInput], *, allow_even_group: bool,
                      reason: str | None) -> list[RequirementInput]:
    """Check and normalise a whole composition: 1 to :data:`MAX_REQUIREMENTS` lines, each by
    :func:`clean_requirement`, and the group size over all of them (:func:`check_group_size`)."""
    if not requirements or len(requirements) > MAX_REQUIREMENTS:
        raise invalid("requirements", max=MAX_REQUIREMENTS)
    lines = [clean_requirement(r) for r in requirements]
    check_group_size(sum(r.count for r in lines), allow_even_group=allow_even_group, reason=reason)
    return lines


def check_times(*, starts_at: datetime, ends_at: datetime, response_deadline: datetime, now: datetime) -> None:
    """000 §19: an activity starts after now, ends after it starts, and invitations are due after now and no
    later than the start. Times must be timezone-aware (``ValueError`` otherwise)."""
    for moment in (starts_at, ends_at, response_deadline):
        if moment.tzinfo is None:
            raise ValueError("activity times must be timezone-aware")
    check_time_answer("starts", starts_at, starts_at=None, now=now)
    check_time_answer("ends", ends_at, starts_at=starts_at, now=now)
    check_time_answer("deadline", response_deadline, starts_at=starts_at, now=now)


def check_time_answer(which: str, moment: datetime, *, starts_at: datetime | None, now: datetime) -> None:
    """000 §19 for one time of :func:`check_times` (``starts``, ``ends`` or ``deadline``), as far as the start is
    known (a dialog asks the three in turn): the start after now, the end not before the start, the response
    deadline after now and no later than the start."""
    if which == "starts" and moment <= now:
        raise invalid("starts_in_past")
    if which == "ends" and starts_at is not None and moment < starts_at:
        raise invalid("ends_before_start")
    if which == "deadline" and (moment <= now or (starts_at is not None and moment > starts_at)):
        raise invalid("deadline")
