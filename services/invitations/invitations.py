"""Invitations, answers, the commitment, replacement by backups and the chasing sweep (000 §14, §15, §19;
001 §17, §19).

A slot is an ``ActivityMember`` row. Its life::

    drawn (backup, not yet needed) ──invite──▶ invited ──accept──▶ accepted ──sign──▶ signed
                                                 │  │                  │
                         decline / recuse ◀──────┘  └── deadline ──▶ expired (no response)
                                                                       refuse ──▶ refused (000 §14)
    any open slot ── staff cancel / required recusal ──▶ cancelled

Closing a slot (declined, recused, expired, refused, cancelled) invites the next backup of the same requirement
in order (000 §19 "依次通知递补专家"), after checking again, at that moment, that the backup is still available,
not to recuse, and keeps the group's one-per-employer-and-field rule (000 §18(三)); a backup that no longer
qualifies is passed over with the reason. When a requirement has no backup left, staff get a shortfall alert with
a one-tap top-up draw (001 §11(二)).

Every answer is checked against the presser (only the invited expert answers their slot) and the slot's current
state, inside a transaction that locks the row, so a press racing the expiry or a cancellation has one outcome.
Due times live in ``activity_member.due_at`` (indexed): :func:`sweep` reads only what is due.

Chasing (configurable: :class:`services.platform.policy.ChaseSettings`): reminders at offsets after the invitation
(default 2 h and 6 h), never in quiet hours (22:00–08:00 local) unless the deadline falls inside them; expiry at
the deadline; an accepted expert who has not signed is reminded 24 h before the start, and staff are alerted
at the start.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.activities.activities import ActivityView, local_day, view
from services.activities.candidates import load_candidates, spec_of
from services.activities.draw_rules import exclusions
from services.invitations import commitment
from services.platform import audit, notify, policy
from services.platform.errors import DomainError
from services.platform.notify import Button
from services.platform.policy import ChaseSettings
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember, ActivityRequirement
from storage.models import Expert, Person
from storage.pool import ExpertInterest
from storage.uow import UnitOfWork, UnitOfWorkFactory

OPEN = ("invited", "accepted", "signed")
CLOSED = ("declined", "recused", "expired", "refused", "cancelled")
DECLINE_REASONS = ("busy", "field", "health", "other")  # 001 §19(四): outside my field
RECUSAL_GROUNDS = ("worked", "relative", "dispute", "other")  # 000 §15, 001 §17
INTEREST_KIND = {"worked": "worked", "relative": "interest", "dispute": "dispute", "other": "other"}
PREFIX = "inv:"
SWEEP_BATCH = 200


class AnswerRefused(DomainError):
    """The press does not apply to this slot now; ``reason_key`` says why (stale, foreign, expired...)."""

    message_key = "invite.refused"


def _refused(reason: str) -> AnswerRefused:
    return AnswerRefused(reason, reason_key=f"invite.refused_reason.{reason}")


@dataclass
class SweepReport:
    """What one run of the sweep did."""

    reminded: int = 0
    expired: int = 0
    sign_reminded: int = 0
    unsigned_alerts: int = 0
    errors: list[str] = field(default_factory=list)


# --- time arithmetic ---------------------------------------------------------------------------------


def in_quiet_hours(moment: datetime, zone: ZoneInfo, settings: ChaseSettings) -> bool:
    """Whether ``moment`` falls in the quiet window (which wraps past midnight)."""
    local = moment.astimezone(zone).time()
    if settings.quiet_start <= settings.quiet_end:
        return settings.quiet_start <= local < settings.quiet_end
    return local >= settings.quiet_start or local < settings.quiet_end


def quiet_end_after(moment: datetime, zone: ZoneInfo, settings: ChaseSettings) -> datetime:
    """The end of the quiet window that contains ``moment``."""
    local = moment.astimezone(zone)
    end = local.replace(hour=settings.quiet_end.hour, minute=settings.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(moment.tzinfo)


def next_due(member: ActivityMember, zone: ZoneInfo, settings: ChaseSettings) -> datetime | None:
    """When the sweep must next look at an invited slot: its next reminder (out of quiet hours, unless the
    deadline falls inside the same quiet window) or its deadline, whichever comes first."""
    if member.status != "invited" or member.invited_at is None or member.respond_by is None:
        return None
    due = member.respond_by
    if member.reminders_sent < len(settings.reminder_offsets):
        remind = member.invited_at + settings.reminder_offsets[member.reminders_sent]
        if in_quiet_hours(remind, zone, settings):
            quiet_end = quiet_end_after(remind, zone, settings)
            if member.respond_by >= quiet_end:  # the deadline is not inside this quiet window: wait
                remind = quiet_end
        due = min(due, remind)
    return due


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# --- loading, checking -------------------------------------------------------------------------------


async def _slot(uow: UnitOfWork, member_id: int) -> ActivityMember:
    member = await uow.session.get(ActivityMember, member_id, with_for_update=True)
    if member is None:
        raise _refused("stale")
    return member


def _own(member: ActivityMember, actor: Actor) -> None:
    if actor.person_id != member.person_id:
        raise _refused("foreign")


async def _activity(uow: UnitOfWork, activity_id: int) -> ActivityView:
    from services.platform.roles import SCHEDULER

    return await view(uow, actor=SCHEDULER, activity_id=activity_id)


async def _name(uow: UnitOfWork, person_id: int) -> str:
    person = await uow.session.get(Person, person_id)
    return person.name if person is not None else str(person_id)


def _facts(info: ActivityView, zone: ZoneInfo) -> dict[str, Any]:
    a = info.activity
    return {
        "activity_id": a.id, "title": a.title, "kind_key": f"draw.kind.{a.kind}",
        "start": _local(a.starts_at, zone), "end": _local(a.ends_at, zone), "place": a.place or "—",
        "institutions": "、".join(i.name for i in info.institutions) or "—",
    }


def _answer_buttons(member_id: int) -> list[list[Button]]:
    return [[Button("invite.button.accept", f"{PREFIX}a:{member_id}"),
             Button("invite.button.decline", f"{PREFIX}d:{member_id}"),
             Button("invite.button.recuse", f"{PREFIX}r:{member_id}")]]


async def _edit_invitation(uow: UnitOfWork, member: ActivityMember, key: str, params: dict[str, Any],
                           buttons: list[list[Button]] | None = None) -> None:
    if member.invitation_message_id is None:
        return
    from storage.models import OutboxMessage

    original = await uow.session.get(OutboxMessage, member.invitation_message_id)
    if original is not None:
        await notify.edit(uow, original=original, key=key, params=params, buttons=buttons)


async def _staff(uow: UnitOfWork, info: ActivityView, key: str, params: dict[str, Any],
                 buttons: list[list[Button]] | None = None) -> None:
    await notify.to_org_unit(uow, org_unit_id=info.activity.org_unit_id, key=key, params=params, buttons=buttons)


async def _audit(uow: UnitOfWork, actor: str, action: str, member: ActivityMember, **details: Any) -> None:
    await audit.record(uow, at=uow.now(), actor=actor, action=f"invitation.{action}", object_type="activity_member",
                       object_id=member.id or 0, details={"activity_id": member.activity_id,
                                                          "person_id": member.person_id, **details})


# --- inviting ----------------------------------------------------------------------------------------


async def invite(uow: UnitOfWork, member: ActivityMember, info: ActivityView,
                 settings: ChaseSettings | None = None) -> None:
    """Send the invitation (000 §19): activity, kind, time, place, inspected institutions, the deadline, and
    Accept / Decline / Recuse. Does not commit."""
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
    params = {**_facts(info, uow.zone), "respond_by": _local(respond_by, uow.zone),
              "role_key": f"invite.role.{member.role}"}
    sent = await notify.to_person(uow, person_id=member.person_id, key="invite.invitation", params=params,
                                  buttons=_answer_buttons(member.id or 0))
    member.invitation_message_id = sent.id
    uow.session.add(member)
    await _audit(uow, "system:invite", "sent", member, respond_by=respond_by.isoformat())


async def invite_principals(uow: UnitOfWork, activity_id: int, draw_id: int) -> int:
    """After a draw: invite its principals (backups are told only when needed). Does not commit."""
    info = await _activity(uow, activity_id)
    rows = await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity_id, ActivityMember.draw_id == draw_id,
        ActivityMember.role == "principal", ActivityMember.status == "drawn").order_by(col(ActivityMember.id)))
    count = 0
    for member in rows.all():
        await invite(uow, member, info)
        count += 1
    if count:
        await update_roster(uow, info)
    return count


# --- the expert's answers ------------------------------------------------------------------------------


async def _expire_if_late(uow: UnitOfWork, member: ActivityMember) -> None:
    if member.status == "invited" and member.respond_by is not None and uow.now() >= member.respond_by:
        await _close(uow, member, "expired", "no_response", actor="system:deadline")
        await uow.commit()
        raise _refused("expired")


async def accept(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Accept the invitation; the commitment follows (000 §14)."""
    member = await _slot(uow, member_id)
    _own(member, actor)
    await _expire_if_late(uow, member)
    if member.status != "invited":
        raise _refused("stale")
    info = await _activity(uow, member.activity_id)
    now = uow.now()
    member.status = "accepted"
    member.answered_at = now
    start = info.activity.starts_at
    member.due_at = max(now, start - policy.current().chase.sign_reminder_before)
    member.reminders_sent = 0
    zone = uow.zone
    await _edit_invitation(uow, member, "invite.answered",
                           {**_facts(info, zone), "answer_key": "invite.answer.accepted"})
    text = commitment.render(name=await _name(uow, member.person_id), title=info.activity.title,
                             start=_local(start, zone), end=_local(info.activity.ends_at, zone),
                             place=info.activity.place)
    sent = await notify.to_person(uow, person_id=member.person_id, key="invite.commitment", params={"text": text},
                                  buttons=[[Button("invite.button.sign", f"{PREFIX}s:{member_id}"),
                                            Button("invite.button.refuse", f"{PREFIX}x:{member_id}")]])
    member.commitment_message_id = sent.id
    uow.session.add(member)
    await _audit(uow, actor.label, "accepted", member)
    await update_roster(uow, info)
    await uow.commit()
    return member


async def decline(uow: UnitOfWork, *, actor: Actor, member_id: int, reason: str, text: str = "") -> ActivityMember:
    """Decline with a reason: busy, outside my field (001 §19(四)), health, other (free text)."""
    if reason not in DECLINE_REASONS:
        raise _refused("stale")
    member = await _slot(uow, member_id)
    _own(member, actor)
    await _expire_if_late(uow, member)
    if member.status != "invited":
        raise _refused("stale")
    await _close(uow, member, "declined", reason, actor=actor.label, text=text)
    await uow.commit()
    return member


async def recuse(uow: UnitOfWork, *, actor: Actor, member_id: int, ground: str, text: str = "") -> ActivityMember:
    """Declare a recusal ground (000 §15, 001 §17). It is also recorded as a declared interest in the activity's
    institutions, so future draws concerning them exclude the expert."""
    if ground not in RECUSAL_GROUNDS:
        raise _refused("stale")
    member = await _slot(uow, member_id)
    _own(member, actor)
    if member.status not in ("invited", "accepted", "signed"):
        raise _refused("stale")
    info = await _activity(uow, member.activity_id)
    today = uow.today()
    for institution in info.institutions:
        assert institution.id is not None
        note = (text or f"回避：活动 {info.activity.id}")[:500]
        uow.session.add(ExpertInterest(expert_id=member.person_id, institution_id=institution.id,
                                       kind=INTEREST_KIND[ground], note=note, declared_on=today,
                                       declared_at=uow.now()))
    await _close(uow, member, "recused", ground, actor=actor.label, text=text)
    await uow.commit()
    return member


async def sign(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Sign the commitment (000 §14): time, the exact text's SHA-256 and the message, once per activity."""
    member = await _slot(uow, member_id)
    _own(member, actor)
    if member.status != "accepted":
        raise _refused("signed" if member.status == "signed" else "stale")
    info = await _activity(uow, member.activity_id)
    zone = uow.zone
    text = commitment.render(name=await _name(uow, member.person_id), title=info.activity.title,
                             start=_local(info.activity.starts_at, zone), end=_local(info.activity.ends_at, zone),
                             place=info.activity.place)
    member.status = "signed"
    member.signed_at = uow.now()
    member.commitment_hash = commitment.text_hash(text)
    member.due_at = None
    uow.session.add(member)
    if member.commitment_message_id is not None:
        from storage.models import OutboxMessage

        original = await uow.session.get(OutboxMessage, member.commitment_message_id)
        if original is not None:
            await notify.edit(uow, original=original, key="invite.signed",
                              params={"text": text, "at": _local(member.signed_at, zone)})
    await _audit(uow, actor.label, "signed", member, commitment_hash=member.commitment_hash,
                 version=commitment.VERSION, message_id=member.commitment_message_id)
    await update_roster(uow, info)
    await uow.commit()
    return member


async def refuse_commitment(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Refuse to sign (confirmed by the expert): the slot closes and staff are asked to confirm removal from the
    pool (000 §14: "拒绝签署的，予以解聘出库")."""
    member = await _slot(uow, member_id)
    _own(member, actor)
    if member.status != "accepted":
        raise _refused("stale")
    await _close(uow, member, "refused", "commitment_refused", actor=actor.label)
    info = await _activity(uow, member.activity_id)
    await _staff(uow, info, "invite.staff.removal_proposed",
                 {**_facts(info, uow.zone), "name": await _name(uow, member.person_id), "person_id": member.person_id},
                 buttons=[[Button("invite.button.remove", f"{PREFIX}rm:{member.id}")]])
    await uow.commit()
    return member


# --- closing a slot and replacing it ---------------------------------------------------------------------


async def _close(uow: UnitOfWork, member: ActivityMember, status: str, reason: str, *, actor: str,
                 text: str = "") -> None:
    """Close an open slot, tell who needs to know, and invite the next backup (no commit)."""
    info = await _activity(uow, member.activity_id)
    zone = uow.zone
    was = member.status
    member.status = status
    member.answered_at = uow.now()
    member.reason = reason
    member.reason_text = " ".join(text.split())[:500] or None
    member.due_at = None
    uow.session.add(member)
    await _audit(uow, actor, status, member, reason=reason, text=member.reason_text, was=was)
    if status in ("declined", "recused", "expired"):
        await _edit_invitation(uow, member, "invite.answered",
                               {**_facts(info, zone), "answer_key": f"invite.answer.{status}"})
    if status == "cancelled":
        await _edit_invitation(uow, member, "invite.answered",
                               {**_facts(info, zone), "answer_key": "invite.answer.cancelled"})
        await notify.to_person(uow, person_id=member.person_id, key="invite.cancelled_to_expert",
                               params=_facts(info, zone))
    name = await _name(uow, member.person_id)
    await _staff(uow, info, "invite.staff.slot_closed",
                 {**_facts(info, zone), "name": name, "person_id": member.person_id,
                  "status_key": f"invite.status.{status}", "reason_key": f"invite.reason.{reason}",
                  "text": member.reason_text or ""})
    if was in OPEN:
        await replace(uow, member, info)
    await update_roster(uow, info)


async def _holders(uow: UnitOfWork, activity_id: int) -> list[tuple[ActivityMember, int | None, str]]:
    rows = await uow.session.exec(
        select(ActivityMember, Expert.employer_id, ActivityRequirement.category)
        .join(Expert, col(Expert.person_id) == ActivityMember.person_id)
        .join(ActivityRequirement, col(ActivityRequirement.id) == ActivityMember.requirement_id)
        .where(ActivityMember.activity_id == activity_id, col(ActivityMember.status).in_(OPEN)))
    return [(m, employer, category) for m, employer, category in rows.all()]


async def replace(uow: UnitOfWork, closed: ActivityMember, info: ActivityView) -> ActivityMember | None:
    """Invite the next backup of the closed slot's requirement that still qualifies now (000 §19, §15, §18(三));
    pass over the others with the reason; alert staff with a top-up button when none is left. No commit."""
    activity = info.activity
    if activity.roster_closed_at is not None or activity.starts_at <= uow.now():
        return None
    requirement = next(r for r in info.requirements if r.id == closed.requirement_id)
    backups = (await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity.id, ActivityMember.requirement_id == requirement.id,
        ActivityMember.role == "backup", ActivityMember.status == "drawn")
        .order_by(col(ActivityMember.position)))).all()
    spec = spec_of(info, uow.zone)
    settings = policy.current().draw
    holders = await _holders(uow, activity.id or 0)
    taken = {(employer, category) for m, employer, category in holders if employer is not None}
    for backup in backups:
        facts = (await load_candidates(uow, [backup.person_id], spec, settings, activity.id)).get(backup.person_id)
        problems = [e.code.value for e in exclusions(facts, spec, settings)] if facts is not None else ["not_active"]
        if facts is not None and facts.employer_id is not None and (facts.employer_id, requirement.category) in taken:
            problems.append("same_employer_field")
        if problems:
            backup.status = "passed_over"
            backup.reason = problems[0]
            uow.session.add(backup)
            await _audit(uow, "system:replace", "passed_over", backup, reasons=problems)
            continue
        await invite(uow, backup, info)
        await _staff(uow, info, "invite.staff.backup_invited",
                     {**_facts(info, uow.zone), "name": await _name(uow, backup.person_id),
                      "person_id": backup.person_id, "position": backup.position,
                      "replaced": await _name(uow, closed.person_id)})
        return backup
    await _staff(uow, info, "invite.staff.backups_exhausted",
                 {**_facts(info, uow.zone), "position": requirement.position,
                  "category_key": f"category.{requirement.category}"},
                 buttons=[[Button("invite.button.top_up", f"draw:tu:{activity.id}:{requirement.id}")]])
    return None


# --- staff actions -----------------------------------------------------------------------------------------


async def _staff_slot(uow: UnitOfWork, actor: Actor, member_id: int) -> ActivityMember:
    member = await uow.session.get(ActivityMember, member_id, with_for_update=True)
    if member is None:
        raise _refused("stale")
    await view(uow, actor=actor, activity_id=member.activity_id)  # the organizer's line only
    return member


async def cancel(uow: UnitOfWork, *, actor: Actor, member_id: int, reason: str) -> ActivityMember:
    """Staff cancel an open invitation; the next backup is invited."""
    member = await _staff_slot(uow, actor, member_id)
    if member.status not in OPEN:
        raise _refused("stale")
    await _close(uow, member, "cancelled", "staff", actor=actor.label, text=reason)
    await uow.commit()
    return member


async def require_recusal(uow: UnitOfWork, *, actor: Actor, member_id: int, reason: str) -> ActivityMember:
    """Staff require a rostered expert to recuse (000 §15 last paragraph): recorded for the activity, the slot
    closes, the next backup is invited."""
    from services.activities.activities import require_recusal as record_recusal

    member = await _staff_slot(uow, actor, member_id)
    activity_id, person_id = member.activity_id, member.person_id
    await record_recusal(uow, actor=actor, activity_id=activity_id, expert_id=person_id, reason=reason)
    member = await _staff_slot(uow, actor, member_id)
    if member.status in OPEN:
        await _close(uow, member, "cancelled", "recusal_required", actor=actor.label, text=reason)
    elif member.status == "drawn":
        member.status = "passed_over"
        member.reason = "recusal_required"
        uow.session.add(member)
    await uow.commit()
    return member


async def invite_next(uow: UnitOfWork, *, actor: Actor, activity_id: int, requirement_id: int) -> ActivityMember | None:
    """Staff invite the next qualifying backup of a requirement by hand."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    placeholder = ActivityMember(activity_id=activity_id, requirement_id=requirement_id, draw_id=0, person_id=0,
                                 role="principal", position=0)
    if not any(r.id == requirement_id for r in info.requirements):
        raise _refused("stale")
    backup = await replace(uow, placeholder, info)
    await update_roster(uow, info)
    await uow.commit()
    return backup


async def close_roster(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> Activity:
    """Staff close the roster: no more replacements; open invitations stay as they are."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    activity = info.activity
    activity.roster_closed_at = uow.now()
    uow.session.add(activity)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.roster_closed",
                       object_type="activity", object_id=activity_id, details={})
    await update_roster(uow, info)
    await uow.commit()
    return activity


ATTENDANCE = ("attended", "absent_with_notice", "absent_without_notice")


async def mark_attendance(uow: UnitOfWork, *, actor: Actor, member_id: int, value: str) -> ActivityMember:
    """After the activity, staff record attendance (feeds the credit file)."""
    if value not in ATTENDANCE:
        raise _refused("stale")
    member = await _staff_slot(uow, actor, member_id)
    info = await _activity(uow, member.activity_id)
    if uow.now() < info.activity.starts_at:
        raise _refused("not_started")
    if member.status not in ("accepted", "signed"):
        raise _refused("stale")
    member.attendance = value
    uow.session.add(member)
    await _audit(uow, actor.label, "attendance", member, value=value)
    await update_roster(uow, info)
    await uow.commit()
    return member


async def confirm_removal(uow: UnitOfWork, *, actor: Actor, member_id: int) -> None:
    """Staff confirm the removal proposed after a refused commitment (000 §14)."""
    from services.pool import lifecycle

    member = await _staff_slot(uow, actor, member_id)
    if member.status != "refused":
        raise _refused("stale")
    await lifecycle.remove(uow, actor=actor, expert_id=member.person_id,
                           reason=f"拒绝签署活动 {member.activity_id} 的承诺书（000 第十四条）")


# --- the live roster -----------------------------------------------------------------------------------------


async def roster_lines(uow: UnitOfWork, info: ActivityView) -> list[list[Any]]:
    """The roster as message lines: each slot with requirement, role, expert, state, answered when, reminders."""
    rows = await uow.session.exec(
        select(ActivityMember, Person.name).join(Person, col(Person.id) == ActivityMember.person_id)
        .where(ActivityMember.activity_id == info.activity.id))
    return _roster_lines(info, [(member, name) for member, name in rows.all()], uow.zone)


class _RosterSlot(NamedTuple):
    """The columns of a slot the roster shows (read without loading the whole row)."""

    id: int | None
    requirement_id: int
    role: str
    position: int
    person_id: int
    status: str
    answered_at: datetime | None
    reminders_sent: int
    attendance: str | None


def _roster_lines(info: ActivityView, slots: Sequence[tuple[ActivityMember | _RosterSlot, str]],
                  zone: ZoneInfo) -> list[list[Any]]:
    """:func:`roster_lines` from the activity's slots (with names) already loaded."""
    by_requirement: dict[int, list[tuple[ActivityMember | _RosterSlot, str]]] = {}
    for member, name in slots:
        by_requirement.setdefault(member.requirement_id, []).append((member, name))
    lines: list[list[Any]] = []
    for requirement in info.requirements:
        lines.append(["invite.roster.requirement", {"position": requirement.position,
                                                    "category_key": f"category.{requirement.category}",
                                                    "count": requirement.count, "backups": requirement.backups}])
        ordered = sorted(by_requirement.get(requirement.id or 0, []),
                         key=lambda pair: (pair[0].role != "principal", pair[0].position))
        for member, name in ordered:
            answered = _local(member.answered_at, zone) if member.answered_at else "—"
            lines.append(["invite.roster.slot", {
                "member_id": member.id, "role_key": f"invite.role.{member.role}", "position": member.position,
                "name": name, "person_id": member.person_id, "status_key": f"invite.status.{member.status}",
                "answered": answered, "reminders": member.reminders_sent,
                "attendance_key": f"invite.attendance.{member.attendance or 'none'}"}])
    return lines


async def update_roster(uow: UnitOfWork, info: ActivityView) -> None:
    """Keep one roster message per staff chat up to date (sent the first time, then edited in place)."""
    from storage.models import OutboxMessage

    activity = info.activity
    params = {**_facts(info, uow.zone), "roster_lines": await roster_lines(uow, info),
              "closed_key": "invite.roster.closed" if activity.roster_closed_at else "invite.roster.open"}
    if not activity.roster_messages:
        rows = await notify.to_org_unit(uow, org_unit_id=activity.org_unit_id, key="invite.roster.message",
                                        params=params)
        activity.roster_messages = [r.id for r in rows if r.id is not None]
        uow.session.add(activity)
        return
    for outbox_id in activity.roster_messages:
        original = await uow.session.get(OutboxMessage, outbox_id)
        if original is not None:
            await notify.edit(uow, original=original, key="invite.roster.message", params=params)


# --- the sweep ----------------------------------------------------------------------------------------------


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
    report = SweepReport()
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


def _reminder_due(member: ActivityMember, now: datetime) -> bool:
    return member.status == "invited" and member.respond_by is not None and now < member.respond_by


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
        buttons=_answer_buttons(member.id or 0)))
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
            await _close(uow, member, "expired", "no_response", actor="system:deadline")
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
        member.due_at = None
        uow.session.add(member)


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


async def _update_rosters(uow: UnitOfWork, infos: Sequence[ActivityView]) -> None:
    """:func:`update_roster` for several activities: the slots of all of them in one query and the edits of
    their roster messages in one statement (an activity whose roster was never sent gets it sent, as there)."""
    from storage.models import OutboxMessage

    for info in infos:
        if not info.activity.roster_messages:
            await update_roster(uow, info)
    shown = [info for info in infos if info.activity.roster_messages and info.activity.id is not None]
    if not shown:
        return
    await uow.session.flush()  # the columns below are read from the database
    # A Core select of table columns: no ORM loading for what may be thousands of rows.
    members, people = ActivityMember.__table__.c, Person.__table__.c  # type: ignore[attr-defined]
    statement = (sa_select(*(members[name] for name in ("activity_id", *_RosterSlot._fields)), people.name)
                 .join_from(ActivityMember.__table__, Person.__table__,  # type: ignore[attr-defined]
                            people.id == members.person_id)
                 .where(members.activity_id.in_([info.activity.id for info in shown])).order_by(members.id))
    rows = await uow.session.exec(statement)  # type: ignore[call-overload]
    slots: dict[int, list[tuple[_RosterSlot, str]]] = {}
    for row in rows.all():
        slots.setdefault(row[0], []).append((_RosterSlot(*row[1:-1]), row[-1]))
    wanted = [outbox_id for info in shown for outbox_id in info.activity.roster_messages]
    existing = set((await uow.session.exec(
        select(OutboxMessage.id).where(col(OutboxMessage.id).in_(wanted)))).all())
    edits: list[notify.Draft] = []
    for info in shown:
        activity = info.activity
        params = {**_facts(info, uow.zone), "roster_lines": _roster_lines(info, slots.get(activity.id or 0, []),
                                                                          uow.zone),
                  "closed_key": "invite.roster.closed" if activity.roster_closed_at else "invite.roster.open"}
        edits.extend(notify.edit_draft(original_id=outbox_id, key="invite.roster.message", params=params)
                     for outbox_id in activity.roster_messages if outbox_id in existing)
    await notify.queue_many(uow, edits)


def local_start_day(activity: Activity, zone: ZoneInfo) -> Any:
    """The activity's first local day (for letters and records)."""
    return local_day(activity.starts_at, zone)


__all__ = [
    "ATTENDANCE",
    "DECLINE_REASONS",
    "RECUSAL_GROUNDS",
    "AnswerRefused",
    "ChaseSettings",
    "accept",
    "cancel",
    "close_roster",
    "confirm_removal",
    "decline",
    "invite",
    "invite_next",
    "invite_principals",
    "mark_attendance",
    "next_due",
    "recuse",
    "refuse_commitment",
    "replace",
    "require_recusal",
    "roster_lines",
    "sign",
    "sweep",
    "update_roster",
]
