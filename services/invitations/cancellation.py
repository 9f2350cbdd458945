"""Staff cancel or reschedule a drawn activity (001 §19–§21: staff may cancel or change an activity; 000 §19
notice to every expert concerned).

Cancel: the activity becomes ``cancelled``; every open slot (invited, accepted, signed) closes as ``cancelled``
(reason ``activity_cancelled``), its invitation loses its buttons and the expert is told with the reason;
backups not yet needed close silently. Nothing is replaced, nothing is due any more (``due_at`` cleared: the
chasing sweep never sees these slots again), no credit event follows (the credit file counts only ``expired`` and
``refused`` slots), the roster shows "cancelled", the work-record chase skips cancelled activities and a cancelled
activity cannot be drawn again (:func:`services.draws.requests.file_request`).

Reschedule: new start, end and answer deadline (000 §19, as at creation). Every open slot is checked again
against the new dates (leave, other activities, the age rule: :func:`services.activities.draw_rules.exclusions`);
one who no longer qualifies is closed (``cancelled``, reason ``reschedule_conflict``) and replaced by the next
backup as usual. Everyone else is asked to reconfirm: the slot goes back to ``invited`` with the new deadline and
a "dates changed" invitation with the usual Accept / Decline / Recuse buttons, so the answers, reminders, expiry
and replacement are the invitation's own. Not answering a reconfirmation is not a ``no_response`` (the slot
carries an ``invitation.reconfirm`` audit entry, which :func:`services.records.credit.sweep_slots` reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from services.activities.activities import ActivityView, view
from services.activities.activity_rules import check_times
from services.activities.candidates import load_candidates, spec_of
from services.activities.draw_rules import exclusions
from services.invitations.invite import invite
from services.invitations.replacement import _close
from services.invitations.roster import update_roster
from services.invitations.slots import OPEN, _audit, _edit_invitation, _facts, _local
from services.invitations.unreached import alert_to_call
from services.platform import audit, notify, policy
from services.platform.errors import ActivityInvalid
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.uow import UnitOfWork

RECONFIRM_ACTION = "invitation.reconfirm"


def _refused(reason: str) -> ActivityInvalid:
    return ActivityInvalid(reason, reason_key=f"invite.change.refused.{reason}")


@dataclass(frozen=True)
class Cancelled:
    """An activity cancelled: how many experts were told."""

    activity_id: int
    told: int


@dataclass(frozen=True)
class Rescheduled:
    """An activity moved: who was asked to reconfirm and who no longer qualifies (closed, backup invited)."""

    activity_id: int
    start: str
    end: str
    asked: int
    conflicts: int


async def _changeable(uow: UnitOfWork, actor: Actor, activity_id: int) -> ActivityView:
    info = await view(uow, actor=actor, activity_id=activity_id)  # the organizer's line only
    if info.activity.status == "cancelled":
        raise _refused("cancelled")
    if info.activity.starts_at <= uow.now():
        raise _refused("started")
    return info


async def check_changeable(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> None:
    """Refuse unless the caller may cancel or move the activity now (before a guided change starts)."""
    await _changeable(uow, actor, activity_id)


async def _members(uow: UnitOfWork, activity_id: int, states: tuple[str, ...]) -> list[ActivityMember]:
    return list((await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity_id, col(ActivityMember.status).in_(states))
        .order_by(col(ActivityMember.id)).with_for_update())).all())


async def cancel_activity(uow: UnitOfWork, *, actor: Actor, activity_id: int, reason: str) -> Cancelled:
    """Cancel an activity that has not started: every invited, accepted and signed expert is told with the
    reason, every slot closes without a credit event, the roster shows "cancelled"."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise _refused("reason")
    info = await _changeable(uow, actor, activity_id)
    params = {**_facts(info, uow.zone), "reason": reason}
    told = 0
    for member in await _members(uow, activity_id, (*OPEN, "drawn")):
        was = member.status
        member.status, member.reason, member.reason_text = "cancelled", "activity_cancelled", reason
        member.answered_at, member.due_at = uow.now(), None
        uow.session.add(member)
        await _audit(uow, actor.label, "cancelled", member, reason="activity_cancelled", was=was)
        if was in OPEN:
            await _edit_invitation(uow, member, "invite.answered",
                                   {**_facts(info, uow.zone), "answer_key": "invite.answer.cancelled"})
            await notify.to_person(uow, person_id=member.person_id, key="invite.change.cancelled_to_expert",
                                   params=params)
            told += 1
    info.activity.status = "cancelled"
    info.activity.updated_at = uow.now()
    uow.session.add(info.activity)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.cancelled", object_type="activity",
                       object_id=activity_id, details={"reason": reason, "told": told})
    if info.activity.roster_messages:
        await update_roster(uow, info)
    await uow.commit()
    return Cancelled(activity_id, told)


async def reschedule(uow: UnitOfWork, *, actor: Actor, activity_id: int, starts_at: datetime, ends_at: datetime,
                     response_deadline: datetime | None = None) -> Rescheduled:
    """Move an activity that has not started (000 §19 times); every open slot is checked against the new dates
    and asked to reconfirm (or closed and replaced when it no longer qualifies), without any penalty."""
    info = await _changeable(uow, actor, activity_id)
    now, activity = uow.now(), info.activity
    deadline = response_deadline or min(now + policy.current().chase.late_window, starts_at)
    check_times(starts_at=starts_at, ends_at=ends_at, response_deadline=deadline, now=now)
    before = {"start": activity.starts_at.isoformat(), "end": activity.ends_at.isoformat(),
              "deadline": activity.response_deadline.isoformat()}
    activity.starts_at, activity.ends_at, activity.response_deadline = starts_at, ends_at, deadline
    activity.updated_at = now
    uow.session.add(activity)
    await audit.record(uow, at=now, actor=actor.label, action="activity.rescheduled", object_type="activity",
                       object_id=activity_id, details={"before": before, "start": starts_at.isoformat(),
                                                       "end": ends_at.isoformat(), "deadline": deadline.isoformat()})
    members = await _members(uow, activity_id, OPEN)
    facts = await load_candidates(uow, [m.person_id for m in members], spec_of(info, uow.zone),
                                  policy.current().draw, activity_id)
    asked = conflicts = 0
    unreached: list[ActivityMember] = []
    for member in members:
        found = facts.get(member.person_id)
        problems = ([e.code.value for e in exclusions(found, spec_of(info, uow.zone), policy.current().draw)]
                    if found is not None else ["not_active"])
        if problems:
            await _close(uow, member, "cancelled", "reschedule_conflict", actor=actor.label, text=problems[0])
            conflicts += 1
            continue
        await _edit_invitation(uow, member, "invite.answered",
                               {**_facts(info, uow.zone), "answer_key": "invite.answer.rescheduled"})
        if not await invite(uow, member, info, key="invite.change.reconfirm"):
            unreached.append(member)
        await _audit(uow, actor.label, "reconfirm", member, start=starts_at.isoformat())
        asked += 1
    await alert_to_call(uow, info, unreached)
    await update_roster(uow, info)
    await uow.commit()
    return Rescheduled(activity_id, _local(starts_at, uow.zone), _local(ends_at, uow.zone), asked, conflicts)


async def reschedule_typed(uow: UnitOfWork, *, actor: Actor, activity_id: int, start: str, end: str,
                           deadline: str | None = None) -> Rescheduled:
    """:func:`reschedule` with the times as staff type them in the bureau's time zone (``2026-12-01 09:00``)."""
    from services.platform.dialogs import UnreadableMoment, parse_local_datetime

    try:
        moments = [parse_local_datetime(text, zone=uow.zone, now=uow.now()) if text else None
                   for text in (start, end, deadline)]
    except UnreadableMoment:
        raise _refused("bad_time") from None
    starts_at, ends_at, response_deadline = moments
    assert starts_at is not None and ends_at is not None
    return await reschedule(uow, actor=actor, activity_id=activity_id, starts_at=starts_at, ends_at=ends_at,
                            response_deadline=response_deadline)
