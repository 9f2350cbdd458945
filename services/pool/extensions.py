"""Staying in the pool past 65 (000 §22: "年满65周岁……自动退出，申请延期的除外"): the expert asks (``/extend``,
:func:`services.pool.lifecycle.request_extension`), staff grant it until a date or refuse it, and the daily pool
job reminds staff and the expert a month before a granted extension ends.

Interpretations
---------------
1. **Pending**: a request not yet decided keeps the expert in the pool (the daily job does not exit them: the
   bureau owes a decision) but not drawable (the draw's age rule only yields to a granted extension).
2. **Granted** until ``extended_until`` (inclusive): the daily job does not exit the expert before that day has
   passed, and the draw takes them for an activity that ends on or before it (``draw_rules`` point 3). The day
   after, the daily job exits them (age limit) unless a new extension was granted.
3. **Refused**: the request is cleared and the daily job exits an expert who is 65 or older at its next run.
4. Staff decide for experts of their org unit's subtree; the command line for anyone. Granting does not need a
   pending request (staff may extend at the term review); refusing does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select

from services.people.orgs import TERM_YEARS, add_years, require_scope_over_person, subtree
from services.platform import audit, notify
from services.platform.errors import InvalidInput, InvalidTransition, PermissionDenied, PersonNotFound
from services.platform.roles import SCHEDULER, Actor
from services.pool.standing import Standing, standing_of
from storage.models import Expert, Person
from storage.uow import UnitOfWork

__all__ = ["PendingExtension", "decide_extension", "pending_extensions", "remind"]

REMINDER_DAYS = 31  # "a month before it ends"


@dataclass(frozen=True)
class PendingExtension:
    """A request to stay past 65 waiting for staff, with the end date the grant button offers (the term's end, or
    one year from today when the term ends sooner)."""

    person_id: int
    name: str
    birth_date: date | None
    term_end: date | None
    offered_until: date


async def pending_extensions(uow: UnitOfWork, *, actor: Actor) -> Sequence[PendingExtension]:
    """Undecided requests of the actor's org subtree, oldest birth date first."""
    if actor.staff_org_unit_id is None and actor.person_id is not None:
        raise PermissionDenied("only staff decide extensions")
    query = select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id)).where(
        col(Expert.state) == "active", col(Expert.extension_requested).is_(True), col(Expert.extended_until).is_(None))
    if actor.staff_org_unit_id is not None:
        query = query.where(col(Expert.org_unit_id).in_(await subtree(uow, actor.staff_org_unit_id)))
    today = uow.today()
    rows = (await uow.session.exec(query.order_by(col(Expert.birth_date), col(Expert.person_id)))).all()
    return [PendingExtension(e.person_id, p.name, e.birth_date, e.term_end,
                             e.term_end if e.term_end and e.term_end > add_years(today, 1) else add_years(today, 1))
            for e, p in rows]


async def decide_extension(uow: UnitOfWork, *, actor: Actor, expert_id: int, until: date | None, note: str = "",
                           shown_in: notify.MessageRef | None = None, language: str | None = None) -> Standing:
    """Grant the extension until ``until`` (inclusive), or refuse it (``until`` None); the expert is told, and the
    message that carried the buttons (``shown_in``) is replaced by the decision."""
    if actor.person_id == expert_id:
        raise PermissionDenied("staff decide an extension")
    await require_scope_over_person(uow, actor, expert_id)
    expert = await uow.people.expert(expert_id)
    if expert is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    action = "grant_extension" if until is not None else "refuse_extension"
    if expert.state != "active" or (until is None and not expert.extension_requested):
        raise InvalidTransition(f"{action} not allowed", action_key=f"lifecycle.action.{action}",
                                state_key=f"lifecycle.state.{expert.state}")
    today = uow.today()
    if until is not None and not today < until <= add_years(today, TERM_YEARS):
        raise InvalidInput("the extension ends after today and within a term", field="until")
    expert.extension_requested, expert.extended_until = until is not None, until
    expert.extension_reminded_for, expert.updated_at = None, uow.now()
    uow.session.add(expert)
    details = {"until": until.isoformat() if until else None, "note": " ".join(note.split())[:500] or None}
    await audit.record(uow, at=uow.now(), actor=actor.label,
                       action="expert.extension_granted" if until else "expert.extension_refused",
                       object_type="person", object_id=expert_id, details=details)
    key = "lifecycle.extension_granted" if until else "lifecycle.extension_refused"
    await notify.to_person(uow, person_id=expert_id, key=key,
                           params={"until": until.isoformat() if until else "-", "note": details["note"] or "-"})
    if shown_in is not None:
        await notify.edit(uow, channel=shown_in.channel, address=shown_in.address,
                          external_message_id=shown_in.message_id, key="extension.decided", language=language,
                          params={"person_id": expert_id, "decision_key": f"extension.decision.{action}",
                                  "until": until.isoformat() if until else "-"})
    await uow.commit()
    return standing_of(expert)


async def remind(uow: UnitOfWork, expert_id: int) -> bool:
    """A month before a granted extension ends: tell the expert and the pool's staff, once per end date."""
    expert = await uow.people.expert(expert_id)
    until = expert.extended_until if expert is not None else None
    if expert is None or until is None or expert.extension_reminded_for == until or expert.state != "active":
        return False
    if until - uow.today() > timedelta(days=REMINDER_DAYS) or until < uow.today():
        return False
    expert.extension_reminded_for = until
    uow.session.add(expert)
    person = await uow.session.get(Person, expert_id)
    params = {"name": person.name if person else "", "person_id": expert_id, "until": until.isoformat()}
    await notify.to_person(uow, person_id=expert_id, key="lifecycle.extension_ending", params=params)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="lifecycle.extension_ending_staff",
                             params=params)
    await audit.record(uow, at=uow.now(), actor=SCHEDULER.label, action="expert.extension_reminder",
                       object_type="person", object_id=expert_id, details={"until": until.isoformat()})
    await uow.commit()
    return True
