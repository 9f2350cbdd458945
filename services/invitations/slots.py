"""What a slot is and the helpers every step uses: the states, the answers an expert may give, the refusal
of a press that does not apply, the activity facts shown in messages, the audit entries."""

from __future__ import annotations

from dataclasses import dataclass
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


async def _slot_and_view(uow: UnitOfWork, member_id: int) -> tuple[ActivityMember, ActivityView]:
    """The slot, locked, with its activity, organizer and institutions, for an answer's messages, in one statement
    (issue 21: it was four). The requirements and recusals are not read (an answer shows neither; the roster reads
    its own when it is sent)."""
    from storage.activities import ActivityInstitution
    from storage.models import OrgUnit
    from storage.pool import Institution

    rows = (await uow.session.exec(
        select(ActivityMember, Activity, OrgUnit, Institution)
        .join(Activity, col(Activity.id) == ActivityMember.activity_id)
        .join(OrgUnit, col(OrgUnit.id) == Activity.org_unit_id)
        .outerjoin(ActivityInstitution, col(ActivityInstitution.activity_id) == Activity.id)
        .outerjoin(Institution, col(Institution.id) == ActivityInstitution.institution_id)
        .where(ActivityMember.id == member_id).order_by(col(Institution.id))
        .with_for_update(of=ActivityMember))).all()
    if not rows:
        raise _refused("stale")
    member, activity, organizer, _ = rows[0]
    institutions = tuple(institution for *_, institution in rows if institution is not None)
    return member, ActivityView(activity=activity, organizer=organizer, institutions=institutions, requirements=())


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
    await notify.queue_many(uow, await _invitation_drafts(uow, member, key, params, buttons))


async def _invitation_drafts(uow: UnitOfWork, member: ActivityMember, key: str, params: dict[str, Any],
                             buttons: notify.ButtonRows | None = None) -> list[notify.Draft]:
    """:func:`_edit_invitation`, the invitation's edit returned as a draft for the caller to write with its other
    messages (issue 21: one INSERT for an answer's messages); the reminders' edits are queued now."""
    await _edit_reminders(uow, member, key, params)
    if member.invitation_message_id is None:
        return []
    # outbox rows are never deleted: no need to read it
    return [notify.edit_draft(original_id=member.invitation_message_id, key=key, params=params, buttons=buttons)]


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
    if member.commitment_message_id is not None:  # outbox rows are never deleted: no need to read it
        await notify.queue_many(uow, [notify.edit_draft(original_id=member.commitment_message_id,
                                                        key="invite.answered", params=params)])


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
    return (await standing_and_name(uow, person_id, activity))[0]


async def standing_and_name(uow: UnitOfWork, person_id: int, activity: Activity) -> tuple[str | None, str]:
    """:func:`pool_standing` and the expert's name, in one Core statement (issue 21)."""
    standing = await standing_name_language(uow, person_id, activity)
    return standing.reason, standing.name


@dataclass(frozen=True)
class Standing:
    """Whether an expert may still serve on an activity (``reason`` None) or why not (a key of
    :data:`POOL_REASONS`), their name, and the language of their bound account on ``channel`` (None: not chosen)."""

    reason: str | None
    name: str
    language: str | None


async def standing_name_language(uow: UnitOfWork, person_id: int, activity: Activity,
                                 channel: str = notify.TELEGRAM) -> Standing:
    """:func:`pool_standing`, the expert's name and the language their messages are written in, in one Core
    statement (issue 21: an answer read them in three)."""
    from sqlalchemy import exists
    from sqlalchemy import select as sa_select

    from services.pool.lifecycle import ExpertState
    from storage.models import Account, Expert
    from storage.pool import ExpertPeriod

    first, last = local_day(activity.starts_at, uow.zone), local_day(activity.ends_at, uow.zone)
    person, expert, period, account = (model.__table__.c  # type: ignore[union-attr]
                                       for model in (Person, Expert, ExpertPeriod, Account))
    suspended = exists().where(period.expert_id == person_id, period.kind == "suspension",
                               period.cancelled_at.is_(None), period.start_date <= last, period.end_date >= first)
    language = (sa_select(account.language).where(account.person_id == person_id, account.channel == channel,
                                                   account.unbound_at.is_(None))
                .order_by(account.id).limit(1).scalar_subquery())
    statement = (sa_select(person.name, expert.person_id, expert.state, expert.barred_until, suspended, language)
                 .select_from(Person.__table__.outerjoin(  # type: ignore[attr-defined]
                     Expert.__table__, expert.person_id == person.id))  # type: ignore[attr-defined]
                 .where(person.id == person_id))
    row = (await uow.session.exec(statement)).first()  # type: ignore[call-overload]
    if row is None:
        return Standing("pool_not_active", str(person_id), None)
    name, language_chosen = row[0], row[5] or None
    if row[1] is None or row[2] != ExpertState.ACTIVE.value:
        removed = row[2] == ExpertState.REMOVED.value
        return Standing("pool_removed" if removed else "pool_not_active", name, language_chosen)
    if row[3] is not None and row[3] > first:
        return Standing("pool_barred", name, language_chosen)
    return Standing("pool_suspended" if row[4] else None, name, language_chosen)


async def _may_serve(uow: UnitOfWork, member: ActivityMember, activity: Activity) -> Standing:
    """Refuse an answer from an expert who may no longer serve (the refusal names the article); the expert's name
    and language."""
    standing = await standing_name_language(uow, member.person_id, activity)
    if standing.reason is not None:
        raise _refused(standing.reason)
    return standing


def local_start_day(activity: Activity, zone: ZoneInfo) -> Any:
    """The activity's first local day (for letters and records)."""
    return local_day(activity.starts_at, zone)
