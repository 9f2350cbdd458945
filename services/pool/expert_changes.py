"""Profile changes an expert asks for and staff decide (000 §13(五)): the request (checked per field), the list
staff work from, and the decision, which changes the record (leaving the pool at one's own request, 000 §21, once
the bureau confirms; a new employer opens a new work-history period, read by recusal, 000 §15(一)); history is
kept and the expert is told."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from services.institutions.institutions import get_institution
from services.people.orgs import require_scope_over_person, subtree
from services.platform import audit, notify
from services.platform.errors import (
    ChangeRequestNotFound,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
)
from services.platform.identifiers import InvalidIdentifier, validate_mobile
from services.platform.roles import Actor
from services.pool.work_history import merge_requested
from storage.models import Expert, Person
from storage.pool import ExpertChangeRequest, ExpertEmployment
from storage.uow import UnitOfWork

__all__ = ["CHANGEABLE", "PendingChange", "decide_change", "file_request", "pending_changes", "request_change",
           "shown_value"]

CHANGEABLE = ("mobile", "email", "employer", "title", "exit")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


def _clean_change(field_name: str, raw: str) -> dict[str, Any]:
    value = raw.strip()
    if field_name == "mobile":
        try:
            return {"mobile": validate_mobile(value)}
        except InvalidIdentifier:
            raise InvalidInput("not a mainland mobile number", field="mobile") from None
    if field_name == "email":
        if not EMAIL.match(value):
            raise InvalidInput("not an e-mail address", field="email")
        return {"email": value}
    if field_name == "title":
        if not value or len(value) > 64:
            raise InvalidInput("title must be 1-64 characters", field="title")
        return {"title": value}
    if field_name == "exit":
        reason = " ".join(value.split())
        if not reason:
            raise InvalidInput("give a reason for leaving the pool", field="reason")
        return {"exit_reason": reason[:500]}
    if field_name == "employer":
        if not value.isdigit():
            raise InvalidInput("employer must be an institution id from the directory", field="employer")
        return {"employer_id": int(value)}
    raise InvalidInput(f"field must be one of {', '.join(CHANGEABLE)}", field="field")


@dataclass(frozen=True)
class ChangeRef:
    """A profile change request as the front ends show it (000 §13(五))."""

    id: int
    field: str
    status: str
    new_value: dict[str, Any]


def _ref(request: ExpertChangeRequest) -> ChangeRef:
    assert request.id is not None
    return ChangeRef(id=request.id, field=request.field, status=request.status, new_value=dict(request.new_value))


async def request_change(uow: UnitOfWork, *, actor: Actor, field_name: str, value: str) -> ChangeRef:
    """The expert asks to change a profile field (000 §13(五)); the pool's staff are alerted."""
    if actor.person_id is None:
        raise PermissionDenied("only the expert asks for their own changes")
    expert = await uow.people.expert(actor.person_id)
    if expert is None:
        raise PermissionDenied("only experts have a pool profile")
    new_value = _clean_change(field_name, value)
    if "employer_id" in new_value:
        institution = await get_institution(uow, new_value["employer_id"])
        new_value["employer_name"] = institution.name
    old_value = {key: getattr(expert, key) for key in new_value if hasattr(expert, key)}
    return await file_request(uow, actor, expert, field_name, old_value=old_value, new_value=new_value)


async def file_request(uow: UnitOfWork, actor: Actor, expert: Expert, field_name: str, *, old_value: dict[str, Any],
                       new_value: dict[str, Any]) -> ChangeRef:
    """Store a checked change request, audit it, alert the pool's staff, and commit."""
    now = uow.now()
    request = ExpertChangeRequest(expert_id=expert.person_id, field=field_name, old_value=old_value,
                                  new_value=new_value, requested_at=now)
    uow.session.add(request)
    await uow.session.flush()
    assert request.id is not None
    await audit.record(uow, at=now, actor=actor.label, action="expert.change_requested", object_type="person",
                       object_id=expert.person_id, details={"request_id": request.id, "field": field_name})
    person = await uow.people.get(expert.person_id)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="pool.change_requested_staff",
                             params={"name": person.name if person else "", "person_id": expert.person_id,
                                     "field_key": f"pool.field.{field_name}", "request_id": request.id})
    await uow.commit()
    return _ref(request)


@dataclass(frozen=True)
class PendingChange:
    """A change request waiting for staff: the expert, the field, and the value before and after (shown as one
    text each: the employer's name, else the first value, else ``-``)."""

    request_id: int
    expert_id: int
    name: str
    field: str
    old: str
    new: str


def shown_value(values: dict[str, Any]) -> str:
    """A change request's stored value as one text."""
    shown = values.get("employer_name") or next(iter(values.values()), None)
    return str(shown) if shown not in (None, "") else "-"


async def pending_changes(uow: UnitOfWork, *, actor: Actor) -> Sequence[PendingChange]:
    """Pending change requests of the actor's org subtree, oldest first, with the expert's name."""
    if actor.staff_org_unit_id is None:
        raise PermissionDenied("only staff decide changes")
    units = await subtree(uow, actor.staff_org_unit_id)
    rows = (await uow.session.exec(
        select(ExpertChangeRequest, Person)
        .join(Expert, col(Expert.person_id) == col(ExpertChangeRequest.expert_id))
        .join(Person, col(Person.id) == col(Expert.person_id))
        .where(ExpertChangeRequest.status == "pending", col(Expert.org_unit_id).in_(units))
        .order_by(col(ExpertChangeRequest.id))
    )).all()
    return [PendingChange(request_id=request.id or 0, expert_id=request.expert_id, name=person.name,
                          field=request.field, old=shown_value(request.old_value), new=shown_value(request.new_value))
            for request, person in rows]


async def decide_change(
    uow: UnitOfWork,
    *,
    actor: Actor,
    request_id: int,
    approve: bool,
    note: str = "",
    shown_in: notify.MessageRef | None = None,
    language: str | None = None,
) -> ChangeRef:
    """Staff approve (the record changes) or reject a change request; the expert is told.

    With ``shown_in`` (the message carrying the decision buttons) that message is replaced by the decision.
    """
    request = await uow.session.get(ExpertChangeRequest, request_id)
    if request is None:
        raise ChangeRequestNotFound(str(request_id))
    await require_scope_over_person(uow, actor, request.expert_id)
    if request.status != "pending":
        raise InvalidTransition("already decided", action_key="pool.action.decide",
                                state_key=f"pool.change_status.{request.status}")
    expert = await uow.people.expert(request.expert_id)
    assert expert is not None
    now = uow.now()
    if approve:
        await _apply(uow, expert, request, now)
    request.status = "approved" if approve else "rejected"
    request.decided_at, request.decided_by = now, actor.label
    request.decision_note = note.strip()[:500] or None
    uow.session.add(request)
    await audit.record(uow, at=now, actor=actor.label, action=f"expert.change_{request.status}", object_type="person",
                       object_id=request.expert_id, details={"request_id": request.id, "field": request.field})
    await _tell(uow, request, shown_in=shown_in, language=language)
    await uow.commit()
    return _ref(request)


async def _apply(uow: UnitOfWork, expert: Expert, request: ExpertChangeRequest, now: datetime) -> None:
    """Change the record as approved: leaving the pool, or the new values of the fields."""
    if request.field == "history":  # a dated work-history period (000 §15(一), annex 1)
        await merge_requested(uow, expert.person_id, request.new_value)
    elif request.field == "exit":  # 000 §21: leaving at one's own request, once the bureau confirms
        if expert.state not in ("active", "public_notice", "under_review", "applicant"):
            raise InvalidTransition("not in the pool", action_key="lifecycle.action.exit",
                                    state_key=f"lifecycle.state.{expert.state}")
        expert.state = "exited"
        expert.ended_on = uow.today()
        expert.end_reason = f"voluntary: {request.new_value.get('exit_reason', '')}"[:500]
    else:
        for key, value in request.new_value.items():
            if hasattr(expert, key):
                setattr(expert, key, value)
        if "employer_id" in request.new_value:
            await _move_employment(uow, expert, request.new_value)
    expert.updated_at = now
    uow.session.add(expert)


async def _tell(uow: UnitOfWork, request: ExpertChangeRequest, *, shown_in: notify.MessageRef | None,
                language: str | None) -> None:
    """Tell the expert the decision, and replace the staff message that carried the buttons (when known)."""
    await notify.to_person(uow, person_id=request.expert_id, key=f"pool.change_{request.status}",
                           params={"field_key": f"pool.field.{request.field}", "note": request.decision_note or "-"})
    if shown_in is not None:
        await notify.edit(uow, channel=shown_in.channel, address=shown_in.address,
                          external_message_id=shown_in.message_id, key="pool.change_decided", language=language,
                          params={"request_id": request.id, "decision_key": f"pool.decision.{request.status}"})


async def _move_employment(uow: UnitOfWork, expert: Expert, new_value: dict[str, Any]) -> None:
    """Close the open work-history period and open one at the new employer (000 §15(一) reads it)."""
    today = uow.today()
    open_periods = (await uow.session.exec(
        select(ExpertEmployment).where(ExpertEmployment.expert_id == expert.person_id,
                                       col(ExpertEmployment.end_date).is_(None))
    )).all()
    for period in open_periods:
        period.end_date = today
        uow.session.add(period)
    uow.session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=new_value["employer_id"],
                                     institution_name=str(new_value.get("employer_name", "")), start_date=today))
