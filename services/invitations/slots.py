"""What a slot is and the helpers every step uses: the states, the answers an expert may give, the refusal
of a press that does not apply, the activity facts shown in messages, the audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.activities.activities import ActivityView, local_day, view
from services.invitations.actions import DeclineReason, RecusalGround
from services.platform import audit, notify
from services.platform.errors import AnswerRefused
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.models import Person
from storage.uow import UnitOfWork

OPEN = ("invited", "accepted", "signed")


CLOSED = ("declined", "recused", "expired", "refused", "cancelled")


DECLINE_REASONS = tuple(DeclineReason)  # 001 §19(四): outside my field


RECUSAL_GROUNDS = tuple(RecusalGround)  # 000 §15, 001 §17


INTEREST_KIND = {"worked": "worked", "relative": "interest", "dispute": "dispute", "other": "other"}


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
    if member.invitation_message_id is None:
        return
    from storage.models import OutboxMessage

    original = await uow.session.get(OutboxMessage, member.invitation_message_id)
    if original is not None:
        await notify.edit(uow, original=original, key=key, params=params, buttons=buttons)


async def _staff(uow: UnitOfWork, info: ActivityView, key: str, params: dict[str, Any],
                 buttons: notify.ButtonRows | None = None) -> None:
    await notify.to_org_unit(uow, org_unit_id=info.activity.org_unit_id, key=key, params=params, buttons=buttons)


async def _audit(uow: UnitOfWork, actor: str, action: str, member: ActivityMember, **details: Any) -> None:
    await audit.record(uow, at=uow.now(), actor=actor, action=f"invitation.{action}", object_type="activity_member",
                       object_id=member.id or 0, details={"activity_id": member.activity_id,
                                                          "person_id": member.person_id, **details})


def local_start_day(activity: Activity, zone: ZoneInfo) -> Any:
    """The activity's first local day (for letters and records)."""
    return local_day(activity.starts_at, zone)
