"""What a slot is and the helpers every step uses: the states, the answers an expert may give, the refusal
of a press that does not apply, the activity facts shown in messages, the audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from services.activities.activities import ActivityView, local_day, view
from services.invitations.actions import AcceptInvitation, DeclineReason, RecusalGround
from services.platform import audit, notify
from services.platform.errors import AnswerRefused
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.models import Person
from storage.uow import UnitOfWork

OPEN = ("invited", "accepted", "signed")


CLOSED = ("declined", "recused", "expired", "refused", "cancelled", "withdrawn")


DECLINE_REASONS = tuple(DeclineReason)  # 001 §19(四): outside my field


RECUSAL_GROUNDS = tuple(RecusalGround)  # 000 §15, 001 §17


INTEREST_KIND = {"worked": "worked", "relative": "interest", "dispute": "dispute", "other": "other"}


def expiry_reason(member: ActivityMember) -> str:
    """Why an invited slot expired: ``no_response``, or ``unreachable`` when the invitation never reached the
    expert (contact by phone, issue 13: no credit event for that)."""
    return "unreachable" if member.contact == "phone" else "no_response"


def _refused(reason: str) -> AnswerRefused:
    return AnswerRefused(reason, reason_key=f"invite.refused_reason.{reason}")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


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


async def _edit_invitation(uow: UnitOfWork, member: ActivityMember, key: str, params: dict[str, Any],
                           buttons: notify.ButtonRows | None = None) -> None:
    """The invitation shows the slot's new state (with ``buttons``, or none); so do the reminders that carried
    its answer buttons, without buttons (issue 13: no stale question keeps its buttons)."""
    await _edit_reminders(uow, member, key, params)
    if member.invitation_message_id is None:
        return
    from storage.models import OutboxMessage

    original = await uow.session.get(OutboxMessage, member.invitation_message_id)
    if original is not None:
        await notify.edit(uow, original=original, key=key, params=params, buttons=buttons)


async def _edit_reminders(uow: UnitOfWork, member: ActivityMember, key: str, params: dict[str, Any]) -> None:
    """The reminders of this invitation still holding its Accept / Decline / Recuse lose them (index on the
    person's outbox rows; only this slot's reminders since it was invited)."""
    if member.reminders_sent == 0 or member.invited_at is None or member.id is None:
        return
    from storage.models import OutboxMessage

    accept = AcceptInvitation(member.id).encode()
    rows = (await uow.session.exec(select(OutboxMessage).where(
        OutboxMessage.person_id == member.person_id, col(OutboxMessage.status).in_(("pending", "sent")),
        OutboxMessage.message_key == "invite.reminder", col(OutboxMessage.created_at) >= member.invited_at))).all()
    for row in rows:
        if any(button.get("action") == accept for line in row.buttons for button in line):
            await notify.edit(uow, original=row, key=key, params=params)


async def _edit_commitment(uow: UnitOfWork, member: ActivityMember, params: dict[str, Any]) -> None:
    """The commitment message of a slot that closed before signing loses its buttons."""
    if member.commitment_message_id is None:
        return
    from storage.models import OutboxMessage

    original = await uow.session.get(OutboxMessage, member.commitment_message_id)
    if original is not None:
        await notify.edit(uow, original=original, key="invite.answered", params=params)


async def _staff(uow: UnitOfWork, info: ActivityView, key: str, params: dict[str, Any],
                 buttons: notify.ButtonRows | None = None) -> list[int]:
    """Alert the organizer's staff; the outbox rows of the copies."""
    rows = await notify.to_org_unit(uow, org_unit_id=info.activity.org_unit_id, key=key, params=params,
                                    buttons=buttons)
    return [row.id for row in rows if row.id is not None]


async def _audit(uow: UnitOfWork, actor: str, action: str, member: ActivityMember, **details: Any) -> None:
    await audit.record(uow, at=uow.now(), actor=actor, action=f"invitation.{action}", object_type="activity_member",
                       object_id=member.id or 0, details={"activity_id": member.activity_id,
                                                          "person_id": member.person_id, **details})


POOL_REASONS = {"pool_removed": "001 §22", "pool_barred": "001 §22", "pool_not_active": "000 §11",
                "pool_suspended": "001 §21"}
"""Why an expert may no longer serve on a slot they hold, with the article (issue 13: checked at every answer,
and the chasing sweep closes the slots of experts who no longer may)."""


async def pool_standing(uow: UnitOfWork, person_id: int, activity: Activity) -> str | None:
    """The reason (a key of :data:`POOL_REASONS`) the expert may no longer serve on ``activity``, or None: not
    active in the pool (removed, exited), barred, or suspended on one of the activity's days."""
    from services.pool.lifecycle import ExpertState
    from storage.models import Expert
    from storage.pool import ExpertPeriod

    expert = await uow.session.get(Expert, person_id)
    if expert is None or expert.state != ExpertState.ACTIVE.value:
        return "pool_removed" if expert is not None and expert.state == ExpertState.REMOVED.value \
            else "pool_not_active"
    first, last = local_day(activity.starts_at, uow.zone), local_day(activity.ends_at, uow.zone)
    if expert.barred_until is not None and expert.barred_until > first:
        return "pool_barred"
    suspended = (await uow.session.exec(select(ExpertPeriod.id).where(
        ExpertPeriod.expert_id == person_id, ExpertPeriod.kind == "suspension",
        col(ExpertPeriod.cancelled_at).is_(None), col(ExpertPeriod.start_date) <= last,
        col(ExpertPeriod.end_date) >= first))).first()
    return "pool_suspended" if suspended is not None else None


async def _may_serve(uow: UnitOfWork, member: ActivityMember, activity: Activity) -> None:
    """Refuse an answer from an expert who may no longer serve (the refusal names the article)."""
    reason = await pool_standing(uow, member.person_id, activity)
    if reason is not None:
        raise _refused(reason)


def local_start_day(activity: Activity, zone: ZoneInfo) -> Any:
    """The activity's first local day (for letters and records)."""
    return local_day(activity.starts_at, zone)
