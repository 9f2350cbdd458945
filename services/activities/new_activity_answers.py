"""What each typed answer and each button of the new-activity dialog does (:mod:`services.activities.new_activity`):
checks the answer (the rules and articles are listed there), keeps it in the dialog's answers and says where it
led (:class:`~services.activities.new_activity_steps.Outcome`)."""

from __future__ import annotations

import re
from typing import Any

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
)
from services.activities.new_activity_steps import (
    ANY_SUBCATEGORY,
    EDITABLE,
    TIME_STEPS,
    Match,
    Note,
    Outcome,
    Step,
    example_moment,
    finish_composition,
    is_review,
    moment_of,
    next_step,
    previous_step,
    refusal_note,
    requirement_input,
)
from services.institutions import institutions
from services.people.orgs import get_unit, require_scope_over_units
from services.platform import dialogs
from services.platform.errors import ActivityInvalid, InstitutionNotFound, OrgUnitNotFound, PermissionDenied
from services.platform.roles import Actor
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.uow import UnitOfWork

__all__ = ["on_button", "on_text"]

MAX_MATCHES = 8


# ---- typed answers ----------------------------------------------------------------------------------------


async def on_text(uow: UnitOfWork, actor: Actor, step: Step, data: dict[str, Any], text: str) -> Outcome:
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
        return Outcome(next_step(step, data))
    if step == Step.TAGS:
        return _tags(data, text)
    if step in (Step.PRINCIPALS, Step.BACKUPS):
        return _count(step, data, text)
    if step == Step.WAIVER:
        reason = " ".join(text.split())
        if not 1 <= len(reason) <= 500:
            return Outcome(step, [Note("activity.invalid.reason")])
        data["waive"], data["waive_reason"] = True, reason
        return Outcome(next_step(step, data))
    return Outcome(step, [Note("newact.use_buttons")])


def _title(data: dict[str, Any], text: str) -> Outcome:
    title = " ".join(text.split())
    if not 1 <= len(title) <= 200:
        return Outcome(Step.TITLE, [Note("activity.invalid.title")])
    data["title"] = title
    return Outcome(next_step(Step.TITLE, data))


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
    return Outcome(next_step(Step.ORG, data))


def _time(uow: UnitOfWork, step: Step, data: dict[str, Any], text: str) -> Outcome:
    """A start, end or deadline typed in the bureau's time zone, checked against 000 §19 as far as known."""
    try:
        moment = dialogs.parse_local_datetime(text, zone=uow.zone, now=uow.now())
    except dialogs.UnreadableMoment:
        example = example_moment(TIME_STEPS[step], data, now=uow.now(), zone=uow.zone).astimezone(uow.zone)
        return Outcome(step, [Note("newact.bad_moment", {
            "text": text[:40], "zone": str(uow.zone), "example": example.strftime("%Y-%m-%d %H:%M"),
            "short": f"{example:%m-%d} {example.hour}:{example:%M}", "slashed": example.strftime("%Y/%m/%d %H:%M")})])
    try:
        activities.check_time_answer(TIME_STEPS[step], moment, starts_at=moment_of(data, "starts"), now=uow.now())
    except ActivityInvalid as error:
        return Outcome(step, [refusal_note(error)])
    data[TIME_STEPS[step]] = moment.isoformat()
    return Outcome(next_step(step, data))


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
        cleaned = activities.clean_requirement(requirement_input(line))
    except ActivityInvalid as error:
        data["line"] = line
        return Outcome(Step.PRINCIPALS, [refusal_note(error)])
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


async def on_button(uow: UnitOfWork, step: Step, data: dict[str, Any], action: NewActivityButton) -> Outcome:
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
            return Outcome(next_step(step, data))
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
            return Outcome(next_step(step, data))
    return Outcome(step, [Note("newact.use_buttons")])


def _on_move(step: Step, data: dict[str, Any], move: Move) -> Outcome:
    if move == Move.BACK:
        return Outcome(previous_step(step, data))
    if move == Move.MY_UNIT and step == Step.ORG:
        data["org_id"], data["org_label"] = data.get("own_id"), data.get("own_label")
        return Outcome(next_step(step, data))
    if move == Move.DONE and step == Step.INSTITUTIONS:
        return Outcome(next_step(step, data))
    if move == Move.CLEAR and step == Step.INSTITUTIONS:
        data["institutions"] = []
        return Outcome(step)
    if move == Move.SKIP and step == Step.PLACE:
        data["place"] = ""
        return Outcome(next_step(step, data))
    if move == Move.SKIP and step == Step.TAGS:
        data["line"] = {**data.get("line", {}), "tags": []}
        return Outcome(Step.PRINCIPALS)
    if move == Move.MORE and step == Step.MORE:
        if len(data.get("lines") or []) >= MAX_REQUIREMENTS:
            return Outcome(step, [Note("activity.invalid.requirements", {"max": MAX_REQUIREMENTS})])
        return Outcome(Step.CATEGORY)
    if move == Move.DONE and step == Step.MORE:
        return Outcome(finish_composition(data))
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
