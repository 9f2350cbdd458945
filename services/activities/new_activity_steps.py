"""The steps of the guided creation of an activity (:mod:`services.activities.new_activity`): the questions in
order, which comes after (and before) each answer, what a turn shows, and the answers as the input of
:func:`services.activities.activities.create_activity`. Pure functions over the answers kept in the ``dialog`` row;
the rules they apply are cited in :mod:`services.activities.new_activity`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.activities import activities
from services.activities.actions import Section
from services.activities.activities import ActivityInput, RequirementInput
from services.activities.draw_rules import ActivityKind
from services.platform.errors import (
    ActivityInvalid,
    DomainError,
    InstitutionNotFound,
    OrgUnitNotFound,
    PermissionDenied,
)
from services.pool.eligibility import Category

__all__ = [
    "ANY_SUBCATEGORY",
    "BACKUP_CHOICES",
    "EDITABLE",
    "PRINCIPAL_CHOICES",
    "TIME_STEPS",
    "Created",
    "Match",
    "Note",
    "Outcome",
    "Step",
    "Turn",
    "activity_input",
    "editable_sections",
    "finish_composition",
    "is_review",
    "moment_of",
    "next_step",
    "previous_step",
    "refusal_note",
    "requirement_input",
    "step_for",
    "total_principals",
]

ANY_SUBCATEGORY = "any"


class Step(StrEnum):
    """The questions of the flow, in order."""

    KIND = "kind"
    TITLE = "title"
    ORG = "org"
    STARTS = "starts"
    ENDS = "ends"
    DEADLINE = "deadline"
    INSTITUTIONS = "institutions"
    PLACE = "place"
    CATEGORY = "category"
    SUBCATEGORY = "subcategory"
    TAGS = "tags"
    PRINCIPALS = "principals"
    BACKUPS = "backups"
    MORE = "more"
    GROUP = "group"
    WAIVER = "waiver"
    DOUBLE_BLIND = "double_blind"
    SUMMARY = "summary"


TIME_STEPS = {Step.STARTS: "starts", Step.ENDS: "ends", Step.DEADLINE: "deadline"}
EDITABLE = {Section.KIND: Step.KIND, Section.TITLE: Step.TITLE, Section.ORG: Step.ORG, Section.TIME: Step.STARTS,
            Section.INSTITUTIONS: Step.INSTITUTIONS, Section.PLACE: Step.PLACE,
            Section.COMPOSITION: Step.CATEGORY, Section.DOUBLE_BLIND: Step.DOUBLE_BLIND}
REASON_STEPS = {
    "kind": Step.KIND, "title": Step.TITLE, "too_long": Step.PLACE, "double_blind": Step.DOUBLE_BLIND,
    "starts_in_past": Step.STARTS, "ends_before_start": Step.ENDS, "deadline": Step.DEADLINE,
    "too_many_institutions": Step.INSTITUTIONS, "group_size": Step.GROUP, "even_group_reason": Step.GROUP,
}
PRINCIPAL_CHOICES = (1, 2, 3, 4, 5)
BACKUP_CHOICES = (0, 1, 2, 3)


@dataclass(frozen=True)
class Note:
    """A message shown before the next question: its key and parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """An institution found by a search, to add with a button."""

    institution_id: int
    name: str


@dataclass
class Outcome:
    """Where an answer led: notes shown first, the step now current, and whether to ask its question."""

    step: Step
    notes: list[Note] = field(default_factory=list)
    ask: bool = True
    matches: tuple[Match, ...] = ()


@dataclass(frozen=True)
class Turn:
    """What the person sees next: the notes, the found institutions (with their buttons), and the question of
    ``step`` (when ``ask``), with the answers so far and the stamp the new buttons carry."""

    step: Step
    data: dict[str, Any]
    token: str
    seq: int
    zone: ZoneInfo
    notes: tuple[Note, ...] = ()
    matches: tuple[Match, ...] = ()
    ask: bool = True
    moved: bool = True
    refused: Note | None = None
    example: datetime | None = None


@dataclass(frozen=True)
class Created:
    """The confirmed activity's id."""

    activity_id: int


# ---- the order of the steps -------------------------------------------------------------------------------


def is_review(data: dict[str, Any]) -> bool:
    """Whether the activity is a project review (the only kind asked about double blind, 001 §14)."""
    return bool(data.get("kind") == ActivityKind.PROJECT_REVIEW)


def total_principals(data: dict[str, Any]) -> int:
    """The principals of the composition so far."""
    return sum(int(line["count"]) for line in data.get("lines") or [])


def editable_sections(data: dict[str, Any]) -> list[Section]:
    """The parts of the summary that can be answered again (double blind only for project reviews)."""
    return [s for s in Section if s != Section.DOUBLE_BLIND or is_review(data)]


def after_composition(data: dict[str, Any]) -> Step:
    """Double blind next for a project review (unless fixing one section), else the summary."""
    if is_review(data) and not data.get("fix"):
        return Step.DOUBLE_BLIND
    return Step.SUMMARY


def next_step(step: Step, data: dict[str, Any]) -> Step:
    """The step after ``step`` is answered (back to the summary when fixing one section)."""
    if data.get("fix") and step in (Step.TITLE, Step.ORG, Step.DEADLINE, Step.INSTITUTIONS, Step.PLACE,
                                    Step.DOUBLE_BLIND, Step.WAIVER):
        return Step.SUMMARY
    if step == Step.KIND and data.get("fix"):
        return Step.DOUBLE_BLIND if is_review(data) else Step.SUMMARY
    order = list(Step)
    if step == Step.PLACE:
        return Step.CATEGORY
    if step == Step.WAIVER:
        return after_composition(data)
    return order[order.index(step) + 1]


def previous_step(step: Step, data: dict[str, Any]) -> Step:
    """The step "back" returns to (from the end of the composition, its last line is reopened)."""
    line = data.get("line") or {}
    lines = data.get("lines") or []
    if step == Step.CATEGORY:
        return Step.MORE if lines else Step.PLACE
    if step == Step.TAGS:
        return Step.SUBCATEGORY if line.get("category") == Category.CLINICAL else Step.CATEGORY
    if step == Step.MORE:
        if lines:
            data["line"] = lines.pop()
        return Step.BACKUPS if data.get("line") else Step.CATEGORY
    if step == Step.DOUBLE_BLIND:
        return Step.WAIVER if data.get("waive") else Step.MORE
    if step == Step.SUMMARY:
        return Step.DOUBLE_BLIND if is_review(data) else Step.WAIVER if data.get("waive") else Step.MORE
    if step == Step.KIND:
        return Step.KIND
    order = list(Step)
    return order[order.index(step) - 1]


def finish_composition(data: dict[str, Any]) -> Step:
    """Check the group size when the composition is done (000 §18(一)); a valid size clears any waiver."""
    try:
        activities.check_group_size(total_principals(data), allow_even_group=False, reason=None)
    except ActivityInvalid:
        return Step.GROUP
    data["waive"], data["waive_reason"] = False, None
    return after_composition(data)


def moment_of(data: dict[str, Any], name: str) -> datetime | None:
    """A time answered so far (``starts``, ``ends``, ``deadline``), or None."""
    raw = data.get(name)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def example_moment(which: str, data: dict[str, Any], *, now: datetime, zone: ZoneInfo) -> datetime:
    """An example answer for a time question that passes its own check (000 §19, :func:`activities.check_time_answer`),
    computed from now and the answers so far (issue 20: an example must never break the rule it illustrates): a start
    a week ahead at 09:00, an end two days after the start at 17:30, a response deadline two days ahead at 18:00 or,
    when the start is nearer, halfway to it."""
    local_now = now.astimezone(zone)
    starts = moment_of(data, "starts") or datetime.combine(local_now.date() + timedelta(days=7), time(9), zone)
    if which == "starts":
        return starts
    if which == "ends":
        return datetime.combine(starts.astimezone(zone).date() + timedelta(days=2), time(17, 30), zone)
    deadline = datetime.combine(local_now.date() + timedelta(days=2), time(18), zone)
    if deadline > starts:
        halfway = (now + (starts - now) / 2).astimezone(zone).replace(second=0, microsecond=0)
        deadline = halfway if halfway > now else starts
    return deadline


def refusal_note(error: DomainError) -> Note:
    """The note explaining a refusal: its reason key when it has one."""
    key = error.params.get("reason_key")
    return Note(key if isinstance(key, str) else error.message_key, dict(error.params))


# ---- confirmation -----------------------------------------------------------------------------------------


def requirement_input(line: dict[str, Any]) -> RequirementInput:
    """One line of the composition as the service's input."""
    return RequirementInput(category=str(line.get("category", "")), count=int(line.get("count", 0)),
                            backups=int(line.get("backups", 0)), subcategory=line.get("subcategory"),
                            tags=tuple(line.get("tags") or ()))


def activity_input(data: dict[str, Any]) -> ActivityInput:
    """The answers as the input of :func:`services.activities.activities.create_activity`."""
    starts, ends, deadline = moment_of(data, "starts"), moment_of(data, "ends"), moment_of(data, "deadline")
    assert starts is not None and ends is not None and deadline is not None
    return ActivityInput(
        org=int(data["org_id"]), kind=str(data["kind"]), title=str(data["title"]), starts_at=starts, ends_at=ends,
        response_deadline=deadline, requirements=tuple(requirement_input(line) for line in data.get("lines") or []),
        institution_ids=tuple(int(row[0]) for row in data.get("institutions") or []),
        place=str(data.get("place") or ""), double_blind=bool(data.get("double_blind")),
        allow_even_group=bool(data.get("waive")), even_group_reason=data.get("waive_reason"))


def step_for(error: DomainError, data: dict[str, Any]) -> Step:
    """Where the person fixes what the service refused (the other answers stay)."""
    if isinstance(error, InstitutionNotFound):
        missing = error.params.get("institution_id")
        data["institutions"] = [row for row in data.get("institutions") or [] if row[0] != missing]
        return Step.INSTITUTIONS
    if isinstance(error, (PermissionDenied, OrgUnitNotFound)):
        return Step.ORG
    reason = str(error.params.get("reason_key", "")).rsplit(".", 1)[-1]
    if reason in REASON_STEPS:
        return REASON_STEPS[reason]
    if isinstance(error, ActivityInvalid):
        data["lines"], data["line"] = [], {}
        return Step.CATEGORY
    return Step.SUMMARY
