"""The chasing sweep: reminders, expiries, commitment reminders and unsigned alerts, read from the indexed due
time (``activity_member.due_at``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from services.activities.activities import ActivityView
from services.invitations import keyboards
from services.invitations.replacement import _close
from services.invitations.roster import _update_rosters, update_roster
from services.invitations.slots import (
    OPEN,
    _activity,
    _edit_commitment,
    _edit_invitation,
    _facts,
    _local,
    _name,
    _staff,
    expiry_reason,
    pool_standing,
)
from services.invitations.timing import next_due
from services.invitations.unreached import mark_undelivered
from services.platform import audit, notify, policy
from services.platform.policy import ChaseSettings
from storage.activities import Activity, ActivityMember, ActivityRequirement
from storage.uow import UnitOfWork, UnitOfWorkFactory

SWEEP_BATCH = 200


@dataclass
class SweepReport:
    """What one run of the sweep did."""

    reminded: int = 0
    expired: int = 0
    sign_reminded: int = 0
    unsigned_alerts: int = 0
    closed_unavailable: int = 0
    to_call: int = 0
    errors: list[str] = field(default_factory=list)


async def sweep(uow_factory: UnitOfWorkFactory, settings: ChaseSettings | None = None) -> SweepReport:
    """Chase what is due (index on ``due_at``): reminders, expiries, commitment reminders, unsigned alerts.

    One unit of work per run, over at most ``SWEEP_BATCH`` due slots, oldest due first (on PostgreSQL slots
    locked by a concurrent answer are skipped and picked up next run). Reminders are written together: the
    activity views are loaded once, the messages and the audit entries in one statement each, the slots
    flushed together, and each activity's roster edited once per run, not once per slot. Expiries and
    accepted slots (rare) are handled one by one, in due order, in the same transaction.

    If handling any slot raises, the whole batch rolls back (nothing is sent or recorded) and the next run
    retries it. The sweep is idempotent: what it does is decided by each slot's state and ``due_at``, which
    it moves past ``now`` in the same transaction, so a slot is never chased twice for the same step.
    """
    settings = settings or policy.current().chase
    report = SweepReport(closed_unavailable=await close_unavailable(uow_factory),
                         to_call=await mark_undelivered(uow_factory))
    async with uow_factory() as uow:
        now = uow.now()
        due = (await uow.session.exec(
            select(ActivityMember).where(col(ActivityMember.due_at) <= now).order_by(col(ActivityMember.due_at))
            .limit(SWEEP_BATCH).with_for_update(skip_locked=True))).all()
        if not due:
            return report
        views = await _views(uow, {m.activity_id for m in due if _reminder_due(m, now)})
        pending = _Reminders()
        for member in due:
            if _reminder_due(member, now):
                _remind(uow, member, views[member.activity_id], settings, pending)
                report.reminded += 1
                continue
            await pending.write(uow)  # the audit chain keeps the order in which the slots were handled
            await _chase(uow, member, settings, report)
        await pending.write(uow)
        await _update_rosters(uow, list(pending.activities.values()))
        await uow.commit()
    return report


async def close_unavailable(uow_factory: UnitOfWorkFactory) -> int:
    """Close the open slots of experts who may no longer serve (removed, exited, barred, suspended on the
    activity's days: :func:`~services.invitations.slots.pool_standing`) on activities not yet ended: the next
    backup is invited and staff are alerted, with no credit event (issue 13). The pool package does not know
    the invitations, so the sweep looks here, every run. One unit of work; returns how many were closed."""
    from storage.models import Expert
    from storage.pool import ExpertPeriod

    closed = 0
    async with uow_factory() as uow:
        now = uow.now()
        ended = col(Activity.ends_at) > now
        open_slots = (select(ActivityMember.id).join(Activity, col(Activity.id) == ActivityMember.activity_id)
                      .where(col(ActivityMember.status).in_(OPEN), ended))
        left = open_slots.join(Expert, col(Expert.person_id) == ActivityMember.person_id).where(
            Expert.state != "active")
        suspended = open_slots.join(ExpertPeriod, col(ExpertPeriod.expert_id) == ActivityMember.person_id).where(
            ExpertPeriod.kind == "suspension", col(ExpertPeriod.cancelled_at).is_(None),
            col(ExpertPeriod.end_date) >= uow.today())
        ids = sorted({*(await uow.session.exec(left)).all(), *(await uow.session.exec(suspended)).all()} - {None})
        for member_id in ids[:SWEEP_BATCH]:
            member = await uow.session.get(ActivityMember, member_id, with_for_update=True)
            activity = await uow.session.get(Activity, member.activity_id) if member is not None else None
            if member is None or activity is None or member.status not in OPEN:
                continue
            reason = await pool_standing(uow, member.person_id, activity)
            if reason is not None:
                await _close(uow, member, "cancelled", reason, actor="system:pool_state")
                closed += 1
        await uow.commit()
    return closed


def _reminder_due(member: ActivityMember, now: datetime) -> bool:
    return (member.status == "invited" and member.respond_by is not None and now < member.respond_by
            and member.contact is None)


@dataclass
class _Reminders:
    """Reminders decided but not yet written: the messages, the audit entries, the activities whose roster
    changed (their views, by id)."""

    messages: list[notify.Draft] = field(default_factory=list)
    entries: list[audit.Pending] = field(default_factory=list)
    activities: dict[int, ActivityView] = field(default_factory=dict)

    async def write(self, uow: UnitOfWork) -> None:
        """Queue the messages, then append the audit entries (which flushes the slots); no commit."""
        await notify.queue_many(uow, self.messages)
        await audit.record_many(uow, self.entries)
        self.messages.clear()
        self.entries.clear()


def _remind(uow: UnitOfWork, member: ActivityMember, info: ActivityView, settings: ChaseSettings,
            pending: _Reminders) -> None:
    """Decide one reminder of an invited slot: the message, the count, the next due time, the audit entry."""
    now, zone = uow.now(), uow.zone
    assert member.respond_by is not None
    member.reminders_sent += 1
    pending.messages.append(notify.person_draft(
        person_id=member.person_id, key="invite.reminder",
        params={**_facts(info, zone), "respond_by": _local(member.respond_by, zone)},
        buttons=keyboards.answers(member.id or 0)))
    member.due_at = next_due(member, zone, settings)
    if member.due_at is not None and member.due_at <= now:  # offsets already passed: next is the deadline
        member.due_at = member.respond_by
    uow.session.add(member)
    pending.entries.append(audit.Pending(
        at=uow.now(), actor="system:chase", action="invitation.reminded", object_type="activity_member",
        object_id=member.id or 0, details={"activity_id": member.activity_id, "person_id": member.person_id,
                                           "count": member.reminders_sent}))
    pending.activities[member.activity_id] = info


async def _chase(uow: UnitOfWork, member: ActivityMember, settings: ChaseSettings, report: SweepReport) -> None:
    """Handle one due slot on its own (the sweep batches reminders and sends expiries and accepted slots here)."""
    now, zone = uow.now(), uow.zone
    info = await _activity(uow, member.activity_id)
    activity = info.activity
    if member.status == "invited":
        assert member.respond_by is not None
        if now >= member.respond_by:
            await _close(uow, member, "expired", expiry_reason(member), actor="system:deadline")
            report.expired += 1
            return
        pending = _Reminders()
        _remind(uow, member, info, settings, pending)
        await pending.write(uow)
        await update_roster(uow, info)
        report.reminded += 1
    elif member.status == "accepted":
        if now >= activity.starts_at:
            member.due_at = None
            uow.session.add(member)
            await _started(uow, member, info)
            await _staff(uow, info, "invite.staff.unsigned_at_start",
                         {**_facts(info, zone), "name": await _name(uow, member.person_id),
                          "person_id": member.person_id})
            report.unsigned_alerts += 1
            return
        await notify.to_person(uow, person_id=member.person_id, key="invite.sign_reminder", params=_facts(info, zone))
        member.reminders_sent += 1
        member.due_at = activity.starts_at
        uow.session.add(member)
        report.sign_reminded += 1
    else:
        if member.status == "signed" and now >= activity.starts_at:
            await _started(uow, member, info)
        member.due_at = None if member.status != "signed" or now >= activity.starts_at else activity.starts_at
        uow.session.add(member)


async def _started(uow: UnitOfWork, member: ActivityMember, info: ActivityView) -> None:
    """The activity has started: the slot's messages keep their words and lose the buttons that no longer apply
    (withdraw, declare a conflict, sign; issue 13)."""
    params = {**_facts(info, uow.zone), "answer_key": f"invite.answer.{member.status}"}
    await _edit_invitation(uow, member, "invite.answered", params)
    if member.status == "accepted":
        await _edit_commitment(uow, member, params)


async def _views(uow: UnitOfWork, activity_ids: Collection[int]) -> dict[int, ActivityView]:
    """What :func:`_activity` gives, for several activities in five queries."""
    from storage.activities import ActivityInstitution, ActivityRecusal
    from storage.models import OrgUnit
    from storage.pool import Institution

    ids = sorted(activity_ids)
    if not ids:
        return {}
    found = {a.id: a for a in (await uow.session.exec(select(Activity).where(col(Activity.id).in_(ids)))).all()}
    unit_ids = sorted({a.org_unit_id for a in found.values()})
    units = {u.id: u for u in (await uow.session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(unit_ids)))).all()}
    institutions: dict[int, list[Institution]] = {}
    for activity_id, institution in (await uow.session.exec(
            select(ActivityInstitution.activity_id, Institution)
            .join(Institution, col(Institution.id) == ActivityInstitution.institution_id)
            .where(col(ActivityInstitution.activity_id).in_(ids)).order_by(col(Institution.id)))).all():
        institutions.setdefault(activity_id, []).append(institution)
    requirements: dict[int, list[ActivityRequirement]] = {}
    for requirement in (await uow.session.exec(select(ActivityRequirement).where(
            col(ActivityRequirement.activity_id).in_(ids)).order_by(col(ActivityRequirement.position)))).all():
        requirements.setdefault(requirement.activity_id, []).append(requirement)
    recusals: dict[int, list[ActivityRecusal]] = {}
    for recusal in (await uow.session.exec(select(ActivityRecusal).where(
            col(ActivityRecusal.activity_id).in_(ids)).order_by(col(ActivityRecusal.id)))).all():
        recusals.setdefault(recusal.activity_id, []).append(recusal)
    views: dict[int, ActivityView] = {}
    for activity_id in ids:
        activity = found.get(activity_id)
        organizer = units.get(activity.org_unit_id) if activity is not None else None
        if activity is None or organizer is None:  # cannot happen (foreign keys); fail as view() fails
            views[activity_id] = await _activity(uow, activity_id)
            continue
        views[activity_id] = ActivityView(
            activity=activity, organizer=organizer, institutions=tuple(institutions.get(activity_id, ())),
            requirements=tuple(requirements.get(activity_id, ())), recusals=tuple(recusals.get(activity_id, ())))
    return views
