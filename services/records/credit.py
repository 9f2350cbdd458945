"""The expert's credit file (信用档案, 000 §25): every event that matters, with its source and its points.

Kinds and where they come from (points: ``services.platform.policy.DEFAULT_CREDIT_POINTS``, configurable with the
setting
``credit_points``):

============================  ==================================================================  ======
kind                          source                                                              points
============================  ==================================================================  ======
``no_response``               a slot expired unanswered (``slot:<id>:expired``, :func:`sweep_slots`)    −5
``decline_after_accept``      a withdrawal within 24 h of the start (``slot:<id>:withdrawn``), or staff     −10
``absent_without_notice``     the submitted work record (000 §27(一), 001 §22(三))                 −20
``late``                      recorded by staff                                                    −10
``failure_to_recuse``         the work record's recusal "failed" (000 §27(四), 001 §22(七))        −20
``refusal_to_sign``           a slot whose commitment was refused (000 §14, :func:`sweep_slots`)   −10
``discipline_breach``         the work record's discipline "breach" (000 §27(五)(七))              −20
``serious_violation``         recorded by staff: a ground of removal of 000 §23                    −50
``poor_performance``          the work record's rating "poor" (000 §27(二))                        −10
``reprimand``                 a reprimand confirmed by staff (``services.records.sanctions``, 000 §27)     −10
``attended``                  the work record's attendance "attended" (000 §20)                    +2
``excellent_performance``     the work record's rating "excellent" (000 §20)                       +5
``praise``                    recorded by staff                                                    +10
============================  ==================================================================  ======

A slot that expired while asked to reconfirm the new dates of a rescheduled activity is not a ``no_response``, nor
is one whose invitation never reached the expert (reason ``unreachable``: staff were to call, issue 13).
Each event's ``source`` is unique, so recording the same fact twice adds nothing. The expert sees their own
file; staff see the file of experts within their org unit's subtree
(:func:`services.people.orgs.require_scope_over_person`).
Events are kept by :mod:`services.records.ledger` (below this module and :mod:`services.records.sanctions`);
recording one here asks :mod:`services.records.sanctions` whether a sanction should be proposed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, exists, or_
from sqlmodel import col, select

from services.people.orgs import require_scope_over_person
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.records import sanctions
from services.records.ledger import events_of, points_for, record
from storage.activities import Activity, ActivityMember
from storage.models import AuditEntry
from storage.records import CreditEvent
from storage.uow import UnitOfWork, UnitOfWorkFactory

STAFF_KINDS = ("decline_after_accept", "late", "discipline_breach", "failure_to_recuse", "praise",
               "absent_without_notice", "serious_violation")
SLOT_KINDS = {"expired": "no_response", "refused": "refusal_to_sign", "withdrawn": "decline_after_accept"}


@dataclass(frozen=True)
class CreditFile:
    """An expert's credit file: events newest first and the total of their points."""

    person_id: int
    events: tuple[CreditEvent, ...]
    total: int


@dataclass(frozen=True)
class CreditEntry:
    """An event just recorded in an expert's credit file."""

    id: int
    person_id: int
    kind: str
    points: int
    source: str


async def add_by_staff(uow: UnitOfWork, *, actor: Actor, person_id: int, kind: str, note: str,
                       activity_id: int | None = None) -> CreditEntry:
    """Staff record an event (praise, lateness, a withdrawal after accepting, ...) with a note; commits."""
    if kind not in STAFF_KINDS:
        raise InvalidInput(f"staff cannot record {kind}", field="kind")
    if not note.strip():
        raise InvalidInput("a note is required", field="note")
    await require_scope_over_person(uow, actor, person_id)
    event = await record(uow, person_id=person_id, kind=kind, source=f"staff:{secrets.token_hex(8)}",
                         recorded_by=actor.label, activity_id=activity_id, org_unit_id=actor.staff_org_unit_id,
                         note=note.strip())
    assert event is not None
    await sanctions.evaluate(uow, person_id=person_id, org_unit_id=actor.staff_org_unit_id)
    await uow.commit()
    assert event.id is not None
    return CreditEntry(id=event.id, person_id=event.person_id, kind=event.kind, points=event.points,
                       source=event.source)


async def credit_file(uow: UnitOfWork, *, actor: Actor, person_id: int) -> CreditFile:
    """The credit file of ``person_id``: one's own, or (staff) an expert within the org unit's subtree."""
    if actor.person_id != person_id:
        await require_scope_over_person(uow, actor, person_id)
    events = await events_of(uow, person_id)
    return CreditFile(person_id=person_id, events=tuple(reversed(events)), total=sum(e.points for e in events))


def _reconfirmation(expired: Any) -> Any:
    """An expired slot that was a request to reconfirm new dates (a rescheduled activity): not a ``no_response``
    (:mod:`services.invitations.cancellation`; the audit entry ``invitation.reconfirm`` marks it)."""
    return expired & exists().where(col(AuditEntry.action) == "invitation.reconfirm",
                                    col(AuditEntry.object_type) == "activity_member",
                                    col(AuditEntry.object_id) == cast(col(ActivityMember.id), String))


def _unswept() -> Any:
    """Slots in a status of :data:`SLOT_KINDS` that the sweep has not yet looked at them in: one seek per
    (status, last status seen) pair in the index ``(status, credit_swept)``, so the sweep reads only new ones
    (issue 21), never every expired or refused slot ever recorded."""
    return or_(*(and_(col(ActivityMember.status) == status, col(ActivityMember.credit_swept) == seen)
                 for status in SLOT_KINDS for seen in ("", *SLOT_KINDS) if seen != status))


def _penalised(member: ActivityMember) -> bool:
    """Whether a closed slot is held against the expert: not an invitation that never reached them (reason
    ``unreachable``: staff were to call, issue 13), nor a withdrawal earlier than 24 h before the start (only
    ``withdrawn_late`` is a ``decline_after_accept``)."""
    if member.status == "expired" and member.reason == "unreachable":
        return False
    return not (member.status == "withdrawn" and member.reason != "withdrawn_late")


async def sweep_slots(uow_factory: UnitOfWorkFactory) -> int:
    """Record the events the roster already knows: slots expired unanswered (no response) and commitments refused
    (refusal to sign). Idempotent (the slot is the source; each slot is marked with the status it was looked at
    in); returns how many events were added."""
    added = 0
    async with uow_factory() as uow:
        rows = (await uow.session.exec(
            select(ActivityMember, Activity.org_unit_id, _reconfirmation(ActivityMember.status == "expired"))
            .join(Activity, col(Activity.id) == ActivityMember.activity_id)
            .where(_unswept()).order_by(col(ActivityMember.id)).limit(500))).all()
        for member, org_unit_id, reconfirmation in rows:
            member.credit_swept = member.status
            uow.session.add(member)
            if reconfirmation or not _penalised(member):
                continue
            event = await record(uow, person_id=member.person_id, kind=SLOT_KINDS[member.status],
                                 source=f"slot:{member.id}:{member.status}", recorded_by="system:credit",
                                 occurred_at=member.answered_at, activity_id=member.activity_id,
                                 org_unit_id=org_unit_id)
            if event is not None:
                added += 1
                await sanctions.evaluate(uow, person_id=member.person_id, org_unit_id=org_unit_id)
        await uow.commit()
    return added


__all__ = [
    "STAFF_KINDS",
    "CreditFile",
    "add_by_staff",
    "credit_file",
    "events_of",
    "points_for",
    "record",
    "sweep_slots",
]
