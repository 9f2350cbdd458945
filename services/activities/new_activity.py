"""The guided creation of an activity (issue "Activities and draws"): which question comes next, what each answer
and button does, and the confirmation, over the answers kept in the ``dialog`` row (flow :data:`FLOW`).

The dialog asks one thing at a time: kind, title, organizer (the staff member's unit or one below it), start, end
and response deadline (typed in the bureau's time zone), inspected institutions (searched by part of the name),
place, the composition line by line (category, clinical sub-category, specialty tags, principals, backups), the
group-size waiver when needed, double blind for project reviews, then a summary to confirm.

Rules checked as it goes (:func:`services.activities.activities.create_activity` checks them all again on
confirmation):

- start after now, end not before start, response deadline after now and no later than the start, so experts
  are told before the activity (000 §19, :func:`services.activities.activities.check_time_answer`);
- each line: a category (000 §7), a clinical sub-category only for the clinical category (000 §7(二)), at most
  ``MAX_TAGS`` tags, counts of principals and backups (000 §17, annex 3);
- principals in total an odd number ≥3 (000 §18(一)), unless the organizer waives it with a recorded reason;
- double blind is asked only for project reviews (001 §14: double-blind reviews are exempt from rotation).

Every function here takes the caller's button stamp (``token``/``seq``) where a button led to it and returns None
when the stamp is not the dialog's current step (stale: nothing changes). Each commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.activities import activities
from services.activities.actions import (
    AddInstitution,
    ChooseCategory,
    ChooseCount,
    ChooseDoubleBlind,
    ChooseKind,
    ChooseSubcategory,
    EditSection,
    Move,
    NewActivityButton,
    NewActivityMove,
    Section,
)
from services.activities.activities import (
    MAX_BACKUPS,
    MAX_COUNT,
    MAX_INSTITUTIONS,
    MAX_REQUIREMENTS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ActivityInput,
    RequirementInput,
)
from services.activities.draw_rules import ActivityKind
from services.institutions import institutions
from services.people.orgs import get_unit, require_scope_over_units
from services.platform import dialogs
from services.platform.errors import (
    ActivityInvalid,
    DomainError,
    InstitutionNotFound,
    OrgUnitNotFound,
    PermissionDenied,
)
from services.platform.roles import Actor
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.activities import Dialog
from storage.uow import UnitOfWork

FLOW = "activity"
MAX_MATCHES = 8
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


def _after_composition(data: dict[str, Any]) -> Step:
    if is_review(data) and not data.get("fix"):
        return Step.DOUBLE_BLIND
    return Step.SUMMARY


def _next(step: Step, data: dict[str, Any]) -> Step:
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
        return _after_composition(data)
    return order[order.index(step) + 1]


def _previous(step: Step, data: dict[str, Any]) -> Step:
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


def _finish_composition(data: dict[str, Any]) -> Step:
    """Check the group size when the composition is done (000 §18(一)); a valid size clears any waiver."""
    try:
        activities.check_group_size(total_principals(data), allow_even_group=False, reason=None)
    except ActivityInvalid:
        return Step.GROUP
    data["waive"], data["waive_reason"] = False, None
    return _after_composition(data)


def moment_of(data: dict[str, Any], name: str) -> datetime | None:
    """A time answered so far (``starts``, ``ends``, ``deadline``), or None."""
    raw = data.get(name)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def _reason(error: DomainError) -> Note:
    key = error.params.get("reason_key")
    return Note(key if isinstance(key, str) else error.message_key, dict(error.params))


# ---- typed answers ----------------------------------------------------------------------------------------


async def _on_text(uow: UnitOfWork, actor: Actor, step: Step, data: dict[str, Any], text: str) -> Outcome:
    """A typed answer to ``step``."""
    text = text.strip()
    if step == Step.TITLE:
        return _title(data, text)
    if step == Step.ORG:
        return await _organizer(uow, actor, data, text)
    if step in TIME_STEPS:
        return _time(uow, step, data, text)
    if step == Step.INSTITUTIONS:
        return await _search(uow, text)
    if step == Step.PLACE:
        if len(text) > 200:
            return Outcome(step, [Note("activity.invalid.too_long")])
        data["place"] = text
        return Outcome(_next(step, data))
    if step == Step.TAGS:
        return _tags(data, text)
    if step in (Step.PRINCIPALS, Step.BACKUPS):
        return _count(step, data, text)
    if step == Step.WAIVER:
        reason = " ".join(text.split())
        if not 1 <= len(reason) <= 500:
            return Outcome(step, [Note("activity.invalid.reason")])
        data["waive"], data["waive_reason"] = True, reason
        return Outcome(_next(step, data))
    return Outcome(step, [Note("newact.use_buttons")])


def _title(data: dict[str, Any], text: str) -> Outcome:
    title = " ".join(text.split())
    if not 1 <= len(title) <= 200:
        return Outcome(Step.TITLE, [Note("activity.invalid.title")])
    data["title"] = title
    return Outcome(_next(Step.TITLE, data))


async def _organizer(uow: UnitOfWork, actor: Actor, data: dict[str, Any], text: str) -> Outcome:
    """The organizer: the staff member's unit or one below it."""
    try:
        unit = await get_unit(uow, text)
        assert unit.id is not None
        await require_scope_over_units(uow, actor, {unit.id})
    except OrgUnitNotFound:
        return Outcome(Step.ORG, [Note("newact.org_not_found", {"code": text})])
    except PermissionDenied:
        return Outcome(Step.ORG, [Note("newact.org_out_of_scope", {"code": text})])
    data["org_id"], data["org_label"] = unit.id, f"{unit.name}（{unit.code}）"
    return Outcome(_next(Step.ORG, data))


def _time(uow: UnitOfWork, step: Step, data: dict[str, Any], text: str) -> Outcome:
    """A start, end or deadline typed in the bureau's time zone, checked against 000 §19 as far as known."""
    try:
        moment = dialogs.parse_local_datetime(text, zone=uow.zone, now=uow.now())
    except dialogs.UnreadableMoment:
        return Outcome(step, [Note("newact.bad_moment", {"text": text[:40], "zone": str(uow.zone)})])
    try:
        activities.check_time_answer(TIME_STEPS[step], moment, starts_at=moment_of(data, "starts"), now=uow.now())
    except ActivityInvalid as error:
        return Outcome(step, [_reason(error)])
    data[TIME_STEPS[step]] = moment.isoformat()
    return Outcome(_next(step, data))


def _tags(data: dict[str, Any], text: str) -> Outcome:
    tags = [tag.strip() for tag in re.split(r"[,，、;；]", text) if tag.strip()]
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        return Outcome(Step.TAGS, [Note("activity.invalid.tags", {"max": MAX_TAGS, "length": MAX_TAG_LENGTH})])
    data["line"] = {**data.get("line", {}), "tags": list(dict.fromkeys(tags))}
    return Outcome(Step.PRINCIPALS)


def _number(text: str, limit: int) -> int | None:
    raw = text.strip()
    return int(raw) if raw.isdigit() and int(raw) <= limit else None


def _count(step: Step, data: dict[str, Any], text: str) -> Outcome:
    limit = MAX_COUNT if step == Step.PRINCIPALS else MAX_BACKUPS
    number = _number(text, limit)
    if number is None:
        return Outcome(step, [Note("newact.bad_number", {"max": limit})])
    line = dict(data.get("line") or {})
    if step == Step.PRINCIPALS:
        line["count"] = number
        data["line"] = line
        return Outcome(Step.BACKUPS)
    line["backups"] = number
    try:
        cleaned = activities.clean_requirement(_requirement(line))
    except ActivityInvalid as error:
        data["line"] = line
        return Outcome(Step.PRINCIPALS, [_reason(error)])
    data["lines"] = [*(data.get("lines") or []), {
        "category": cleaned.category, "subcategory": cleaned.subcategory, "tags": list(cleaned.tags),
        "count": cleaned.count, "backups": cleaned.backups}]
    data["line"] = {}
    return Outcome(Step.MORE)


async def _search(uow: UnitOfWork, text: str) -> Outcome:
    found = list(await institutions.search(uow, text, limit=MAX_MATCHES))
    if not found:
        return Outcome(Step.INSTITUTIONS, [Note("newact.no_match", {"text": text[:40]})])
    matches = tuple(Match(i.id, i.name) for i in found if i.id is not None)
    return Outcome(Step.INSTITUTIONS, ask=False, matches=matches)


# ---- buttons ------------------------------------------------------------------------------------------------


async def _on_button(uow: UnitOfWork, step: Step, data: dict[str, Any], action: NewActivityButton) -> Outcome:
    """A pressed button of the current step; one the step does not take changes nothing."""
    match action:
        case NewActivityMove(move=move):
            return _on_move(step, data, move)
        case EditSection(section=section) if step == Step.SUMMARY:
            data["fix"] = True
            if section == Section.COMPOSITION:
                data["lines"], data["line"] = [], {}
            return Outcome(EDITABLE[section])
        case ChooseKind(kind=kind) if step == Step.KIND:
            data["kind"] = kind.value
            if not is_review(data):
                data["double_blind"] = False
            return Outcome(_next(step, data))
        case AddInstitution(institution_id=institution_id) if step == Step.INSTITUTIONS:
            return await _add_institution(uow, data, institution_id)
        case ChooseCategory(category=category) if step == Step.CATEGORY:
            data["line"] = {"category": category.value, "subcategory": None, "tags": []}
            return Outcome(Step.SUBCATEGORY if category == Category.CLINICAL else Step.TAGS)
        case ChooseSubcategory(subcategory=sub) if step == Step.SUBCATEGORY and (
                sub in set(ClinicalSubcategory) or sub == ANY_SUBCATEGORY):
            data["line"] = {**data.get("line", {}), "subcategory": None if sub == ANY_SUBCATEGORY else sub}
            return Outcome(Step.TAGS)
        case ChooseCount(count=count) if step in (Step.PRINCIPALS, Step.BACKUPS):
            return _count(step, data, str(count))
        case ChooseDoubleBlind(double_blind=double_blind) if step == Step.DOUBLE_BLIND:
            data["double_blind"] = double_blind
            return Outcome(_next(step, data))
    return Outcome(step, [Note("newact.use_buttons")])


def _on_move(step: Step, data: dict[str, Any], move: Move) -> Outcome:
    if move == Move.BACK:
        return Outcome(_previous(step, data))
    if move == Move.MY_UNIT and step == Step.ORG:
        data["org_id"], data["org_label"] = data.get("own_id"), data.get("own_label")
        return Outcome(_next(step, data))
    if move == Move.DONE and step == Step.INSTITUTIONS:
        return Outcome(_next(step, data))
    if move == Move.CLEAR and step == Step.INSTITUTIONS:
        data["institutions"] = []
        return Outcome(step)
    if move == Move.SKIP and step == Step.PLACE:
        data["place"] = ""
        return Outcome(_next(step, data))
    if move == Move.SKIP and step == Step.TAGS:
        data["line"] = {**data.get("line", {}), "tags": []}
        return Outcome(Step.PRINCIPALS)
    if move == Move.MORE and step == Step.MORE:
        if len(data.get("lines") or []) >= MAX_REQUIREMENTS:
            return Outcome(step, [Note("activity.invalid.requirements", {"max": MAX_REQUIREMENTS})])
        return Outcome(Step.CATEGORY)
    if move == Move.DONE and step == Step.MORE:
        return Outcome(_finish_composition(data))
    if move == Move.CHANGE and step == Step.GROUP:
        data["line"] = (data.get("lines") or [{}]).pop() if data.get("lines") else {}
        return Outcome(Step.PRINCIPALS if data["line"] else Step.CATEGORY)
    if move == Move.WAIVE and step == Step.GROUP:
        return Outcome(Step.WAIVER)
    return Outcome(step, [Note("newact.use_buttons")])


async def _add_institution(uow: UnitOfWork, data: dict[str, Any], institution_id: int) -> Outcome:
    chosen: list[list[Any]] = list(data.get("institutions") or [])
    if any(row[0] == institution_id for row in chosen):
        return Outcome(Step.INSTITUTIONS, [Note("newact.already_added")])
    if len(chosen) >= MAX_INSTITUTIONS:
        return Outcome(Step.INSTITUTIONS, [Note("activity.invalid.too_many_institutions", {"max": MAX_INSTITUTIONS})])
    try:
        institution = await institutions.get_institution(uow, institution_id)
    except InstitutionNotFound:
        return Outcome(Step.INSTITUTIONS, [Note("error.institution_not_found")])
    data["institutions"] = [*chosen, [institution_id, institution.name]]
    return Outcome(Step.INSTITUTIONS, [Note("newact.added", {"name": institution.name})])


# ---- confirmation -----------------------------------------------------------------------------------------


def _requirement(line: dict[str, Any]) -> RequirementInput:
    return RequirementInput(category=str(line.get("category", "")), count=int(line.get("count", 0)),
                            backups=int(line.get("backups", 0)), subcategory=line.get("subcategory"),
                            tags=tuple(line.get("tags") or ()))


def activity_input(data: dict[str, Any]) -> ActivityInput:
    """The answers as the input of :func:`services.activities.activities.create_activity`."""
    starts, ends, deadline = moment_of(data, "starts"), moment_of(data, "ends"), moment_of(data, "deadline")
    assert starts is not None and ends is not None and deadline is not None
    return ActivityInput(
        org=int(data["org_id"]), kind=str(data["kind"]), title=str(data["title"]), starts_at=starts, ends_at=ends,
        response_deadline=deadline, requirements=tuple(_requirement(line) for line in data.get("lines") or []),
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


# ---- the dialog's transactions ------------------------------------------------------------------------------


def _step_of(raw: str) -> Step:
    try:
        return Step(raw)
    except ValueError:
        return Step.KIND


def _turn(dialog: Dialog, data: dict[str, Any], zone: ZoneInfo, outcome: Outcome, *, moved: bool = True) -> Turn:
    return Turn(step=outcome.step, data=data, token=str(dialog.data.get(dialogs.NONCE_FIELD, "")),
                seq=int(dialog.data.get(dialogs.SEQ_FIELD, 0)), zone=zone, notes=tuple(outcome.notes),
                matches=outcome.matches, ask=outcome.ask, moved=moved)


async def start(uow: UnitOfWork, *, actor: Actor) -> Turn:
    """Open the dialog at the first question, the staff member's own unit as the organizer (any open dialog is
    replaced); commits."""
    assert actor.account_id is not None and actor.staff_org_unit_id is not None
    unit = await get_unit(uow, actor.staff_org_unit_id)
    label = f"{unit.name}（{unit.code}）"
    data: dict[str, Any] = {"org_id": unit.id, "org_label": label, "own_id": unit.id, "own_label": label,
                            "lines": [], "line": {}, "institutions": [], "place": "", "double_blind": False,
                            "waive": False}
    dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step=Step.KIND, data=data)
    turn = _turn(dialog, dict(dialog.data), uow.zone, Outcome(Step.KIND))
    await uow.commit()
    return turn


async def answer(uow: UnitOfWork, *, actor: Actor, text: str) -> Turn | None:
    """A typed answer to the current question; None without an open dialog of this flow. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None:
        return None
    data = dict(dialog.data)
    outcome = await _on_text(uow, actor, _step_of(dialog.step), data, text)
    await dialogs.save(uow, dialog, step=outcome.step, data=data)
    turn = _turn(dialog, data, uow.zone, outcome)
    await uow.commit()
    return turn


async def press(uow: UnitOfWork, *, actor: Actor, action: NewActivityButton) -> Turn | None:
    """A button of the current step (not confirm or cancel); None when stale. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, action.token, str(action.seq)):
        return None
    data, step = dict(dialog.data), _step_of(dialog.step)
    outcome = await _on_button(uow, step, data, action)
    await dialogs.save(uow, dialog, step=outcome.step, data=data)
    turn = _turn(dialog, data, uow.zone, outcome, moved=outcome.step != step)
    await uow.commit()
    return turn


async def cancel(uow: UnitOfWork, *, actor: Actor, token: str, seq: int) -> bool:
    """The cancel button: end the dialog; False when the button is stale. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, token, str(seq)):
        return False
    await dialogs.clear(uow, actor.account_id)
    await uow.commit()
    return True


async def confirm(uow: UnitOfWork, *, actor: Actor, token: str, seq: int) -> Created | Turn | None:
    """Create the activity and end the dialog in one transaction (:class:`Created`); a refusal sends the person to
    the step to fix (a :class:`Turn` with ``refused``); None when the button is stale or not the summary's."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, token, str(seq)):
        return None
    if dialog.step != Step.SUMMARY:
        return await press(uow, actor=actor, action=NewActivityMove(token, seq, Move.CONFIRM))
    data, zone = dict(dialog.data), uow.zone
    try:
        await dialogs.clear(uow, actor.account_id)
        activity = await activities.create_activity(uow, actor=actor, data=activity_input(data))
    except DomainError as error:
        await uow.rollback()
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW, idle_limit=None) or dialog
        step = step_for(error, data)
        data["fix"] = True
        await dialogs.save(uow, dialog, step=step, data=data)
        turn = _turn(dialog, data, zone, Outcome(step))
        await uow.commit()
        return replace(turn, refused=_reason(error))
    assert activity.id is not None
    return Created(activity.id)


__all__ = ["FLOW", "Created", "Match", "Note", "Step", "Turn", "answer", "cancel", "confirm", "press", "start"]
