"""Staff's roster tools: cancel an invitation, require a recusal (000 §15), invite the next backup by hand, close
the roster, record attendance, confirm a removal after a refused commitment (000 §14)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from services.activities.activities import view
from services.invitations import keyboards
from services.invitations.keyboards import Rows
from services.invitations.replacement import _close, replace
from services.invitations.roster import recorded_attendance, update_roster
from services.invitations.slots import OPEN, _activity, _audit, _facts, _local, _name, _refused
from services.platform import audit, notify
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.models import Person
from storage.uow import UnitOfWork


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


async def removal_question(uow: UnitOfWork, *, actor: Actor, member_id: int) -> tuple[dict[str, object], Rows]:
    """The second confirmation of a removal (irreversible: issue 13): the expert's name and the consequence, and
    the buttons (confirm naming the expert, back)."""
    member = await _removable(uow, actor, member_id)
    name = await _name(uow, member.person_id)
    return {"name": name, "person_id": member.person_id}, keyboards.removal_confirmation(member_id, name)


async def _removable(uow: UnitOfWork, actor: Actor, member_id: int) -> ActivityMember:
    from storage.models import Expert

    member = await _staff_slot(uow, actor, member_id)
    expert = await uow.session.get(Expert, member.person_id)
    if member.status != "refused" or expert is None or expert.state == "removed":
        raise _refused("decided" if expert is not None and expert.state == "removed" else "stale")
    return member


@dataclass(frozen=True)
class Removed:
    """Who was removed, to name them in the answer."""

    person_id: int
    name: str


async def confirm_removal(uow: UnitOfWork, *, actor: Actor, member_id: int,
                          shown_in: notify.MessageRef | None = None, language: str | None = None) -> Removed:
    """Staff confirm, a second time, the removal proposed after a refused commitment (000 §14): every copy of the
    proposal shows who decided and when (issue 13). Commits."""
    from services.pool import lifecycle

    member = await _removable(uow, actor, member_id)
    info = await _activity(uow, member.activity_id)
    params = {**_facts(info, uow.zone), "name": await _name(uow, member.person_id), "person_id": member.person_id,
              "by": actor.name or actor.label, "at": _local(uow.now(), uow.zone)}
    await notify.edit_copies(uow, member.removal_message_ids, key="invite.staff.removal_decided", params=params,
                             shown_in=shown_in, language=language)
    await lifecycle.remove(uow, actor=actor, expert_id=member.person_id,
                           reason=f"拒绝签署活动 {member.activity_id} 的承诺书（000 第十四条）")
    return Removed(member.person_id, str(params["name"]))


@dataclass(frozen=True)
class InvitedBackup:
    """The backup invited by hand."""

    person_id: int
    name: str


async def invite_next_on_line(uow: UnitOfWork, *, actor: Actor, activity_id: int,
                              position: int) -> InvitedBackup | None:
    """:func:`invite_next` for the requirement on line ``position`` of the activity; None when no backup is left."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    line = next((r for r in info.requirements if r.position == position), None)
    if line is None or line.id is None:
        raise InvalidInput("no such line", field="line")
    backup = await invite_next(uow, actor=actor, activity_id=activity_id, requirement_id=line.id)
    if backup is None:
        return None
    return InvitedBackup(backup.person_id, await _name(uow, backup.person_id))


@dataclass(frozen=True)
class AttendanceLine:
    """One expert who accepted, with the attendance recorded so far and the buttons to record it."""

    member_id: int
    name: str
    attendance: str | None
    buttons: Rows


@dataclass(frozen=True)
class AttendanceSheet:
    """The experts of an activity whose attendance staff record (those who accepted or signed)."""

    activity_id: int
    lines: tuple[AttendanceLine, ...]


async def attendance_sheet(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> AttendanceSheet:
    """Who accepted or signed, in slot order, for staff of the organizer's line."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    rows = (await uow.session.exec(
        select(ActivityMember, Person.name).join(Person, col(Person.id) == ActivityMember.person_id)
        .where(ActivityMember.activity_id == info.activity.id,
               col(ActivityMember.status).in_(("accepted", "signed"))).order_by(col(ActivityMember.id)))).all()
    recorded = await recorded_attendance(uow, [activity_id])
    return AttendanceSheet(activity_id, tuple(
        AttendanceLine(member.id or 0, name, recorded.get(member.id or 0) or member.attendance,
                       keyboards.attendance(member.id or 0))
        for member, name in rows))
