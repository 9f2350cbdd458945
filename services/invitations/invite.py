"""Sending invitations (000 §19): to the principals after a draw, and to each backup called in."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from services.activities.activities import ActivityView
from services.invitations import keyboards
from services.invitations.roster import update_roster
from services.invitations.slots import _activity, _audit, _facts, _local
from services.invitations.timing import next_due
from services.invitations.unreached import alert_to_call, mark_unreached, reachable
from services.platform import notify, policy
from services.platform.policy import ChaseSettings
from storage.activities import ActivityMember
from storage.uow import UnitOfWork


async def invite(uow: UnitOfWork, member: ActivityMember, info: ActivityView,
                 settings: ChaseSettings | None = None, *, key: str = "invite.invitation") -> bool:
    """Send the invitation (000 §19): activity, kind, time, place, inspected institutions, the deadline, and
    Accept / Decline / Recuse (``key``: the message, e.g. the "dates changed" one of a reschedule). An expert
    without a bound account is not written to: the slot is to be answered by phone
    (:mod:`services.invitations.unreached`; the caller alerts staff). Returns whether the message was queued.
    Does not commit."""
    settings = settings or policy.current().chase
    now = uow.now()
    activity = info.activity
    respond_by = activity.response_deadline
    if respond_by <= now + timedelta(hours=1):  # a backup called late: a fair window, never past the start
        respond_by = min(now + settings.late_window, activity.starts_at)
    member.status = "invited"
    member.invited_at = now
    member.respond_by = respond_by
    member.reminders_sent = 0
    member.due_at = next_due(member, uow.zone, settings)
    member.contact = None
    if not await reachable(uow, member.person_id):
        member.invitation_message_id = None
        await _audit(uow, "system:invite", "sent", member, respond_by=respond_by.isoformat(), delivered=False)
        await mark_unreached(uow, member, "no bound account")
        return False
    params = {**_facts(info, uow.zone), "respond_by": _local(respond_by, uow.zone),
              "role_key": f"invite.role.{member.role}"}
    sent = await notify.to_person(uow, person_id=member.person_id, key=key, params=params,
                                  buttons=keyboards.answers(member.id or 0))
    member.invitation_message_id = sent.id
    uow.session.add(member)
    await _audit(uow, "system:invite", "sent", member, respond_by=respond_by.isoformat())
    return True


async def invite_principals(uow: UnitOfWork, activity_id: int, draw_id: int) -> int:
    """After a draw: invite its principals (backups are told only when needed). Does not commit."""
    info = await _activity(uow, activity_id)
    rows = await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity_id, ActivityMember.draw_id == draw_id,
        ActivityMember.role == "principal", ActivityMember.status == "drawn").order_by(col(ActivityMember.id)))
    count = 0
    unreached = []
    for member in rows.all():
        if not await invite(uow, member, info):
            unreached.append(member)
        count += 1
    await alert_to_call(uow, info, unreached)  # one alert listing whom to call (issue 13)
    if count:
        await update_roster(uow, info)
    return count
