"""The reminder the day before the start (issue 13): at a configurable local hour (setting ``eve_reminder_time``,
default 18:00; :class:`services.platform.policy.ChaseSettings`) every accepted or signed expert of an activity
starting the next day is told the time, the place, the group leader and the staff contact; once per slot
(``activity_member.eve_reminded_at``). An expert reached only by phone is on the staff's call list instead.
Run by the scheduler (:data:`services.scheduler.JOBS`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from services.activities.activities import local_day
from services.invitations.slots import _activity, _audit, _facts, _name
from services.platform import notify, policy
from services.platform.policy import ChaseSettings
from storage.activities import Activity, ActivityMember
from storage.uow import UnitOfWork, UnitOfWorkFactory

BATCH = 500


def eve_due(activity: Activity, uow: UnitOfWork, settings: ChaseSettings) -> datetime:
    """When the reminder of ``activity`` is due: the configured local hour of the day before its first day (or at
    once, for an activity drawn later than that)."""
    day = local_day(activity.starts_at, uow.zone) - timedelta(days=1)
    return datetime.combine(day, settings.eve_reminder_at, tzinfo=uow.zone)


async def eve_sweep(uow_factory: UnitOfWorkFactory, settings: ChaseSettings | None = None) -> int:
    """Send the reminders that are due: accepted or signed slots of activities starting within two days, not
    cancelled, not yet reminded. Idempotent; returns how many were sent."""
    settings = settings or policy.current().chase
    sent = 0
    async with uow_factory() as uow:
        now = uow.now()
        rows = (await uow.session.exec(
            select(ActivityMember, Activity).join(Activity, col(Activity.id) == ActivityMember.activity_id)
            .where(col(Activity.starts_at) > now, col(Activity.starts_at) <= now + timedelta(days=2),
                   Activity.status != "cancelled", col(ActivityMember.status).in_(("accepted", "signed")),
                   col(ActivityMember.eve_reminded_at).is_(None))
            .order_by(col(ActivityMember.id)).limit(BATCH))).all()
        for member, activity in rows:
            if now < eve_due(activity, uow, settings):
                continue
            info = await _activity(uow, member.activity_id)
            leader = await _name(uow, activity.leader_id) if activity.leader_id else "—"
            await notify.to_person(uow, person_id=member.person_id, key="invite.eve", params={
                **_facts(info, uow.zone), "leader": leader, "contact": await _name(uow, activity.created_by),
                "role_key": f"invite.role.{member.role}", "status_key": f"invite.status.{member.status}"})
            member.eve_reminded_at = now
            uow.session.add(member)
            await _audit(uow, "system:eve", "eve_reminded", member)
            sent += 1
        await uow.commit()
    return sent
