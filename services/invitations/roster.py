"""The live roster of an activity: one message per staff chat, sent once and then edited in place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.activities.activities import ActivityView, view
from services.invitations.slots import _activity, _facts, _local
from services.platform import notify, outbox
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.models import Person
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class RosterMessage:
    """The roster of one activity as a message: ``invite.roster.message`` with its parameters."""

    params: dict[str, Any]
    key: str = "invite.roster.message"


async def roster_message(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> RosterMessage:
    """The live roster for staff of the organizer's line (each slot, state, answered when, reminders)."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    return RosterMessage(await _roster_params(uow, info))


async def _roster_params(uow: UnitOfWork, info: ActivityView) -> dict[str, Any]:
    activity = info.activity
    return {**_facts(info, uow.zone), "roster_lines": await roster_lines(uow, info),
            "closed_key": _state_key(activity)}


def _state_key(activity: Activity) -> str:
    """The roster's state: cancelled, closed (no more replacements) or kept up to date."""
    if activity.status == "cancelled":
        return "invite.roster.cancelled"
    return "invite.roster.closed" if activity.roster_closed_at else "invite.roster.open"


async def roster_lines(uow: UnitOfWork, info: ActivityView) -> list[list[Any]]:
    """The roster as message lines: each slot with requirement, role, expert, state, answered when, reminders."""
    rows = await uow.session.exec(
        select(ActivityMember, Person.name).join(Person, col(Person.id) == ActivityMember.person_id)
        .where(ActivityMember.activity_id == info.activity.id))
    recorded = await recorded_attendance(uow, [info.activity.id or 0])
    return _roster_lines(info, [(member, name) for member, name in rows.all()], uow.zone, recorded)


async def recorded_attendance(uow: UnitOfWork, activity_ids: Sequence[int]) -> dict[int, str]:
    """The attendance the work record (000 §25) gives each slot of these activities, by slot id: what the
    roster and the attendance sheet show once the record has it (read only; the record is the records
    package's)."""
    from storage.records import WorkRecord, WorkRecordEntry

    rows = await uow.session.exec(
        select(WorkRecordEntry.member_id, WorkRecordEntry.attendance)
        .join(WorkRecord, col(WorkRecord.id) == WorkRecordEntry.record_id)
        .where(col(WorkRecord.activity_id).in_(list(activity_ids)), col(WorkRecordEntry.attendance).is_not(None)))
    return {member_id: attendance for member_id, attendance in rows.all() if attendance is not None}


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
                  zone: ZoneInfo, recorded: dict[int, str]) -> list[list[Any]]:
    """:func:`roster_lines` from the activity's slots (with names) already loaded; ``recorded`` is the work
    record's attendance by slot id, which wins over the one marked on the slot."""
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
                "attendance_key": "invite.attendance."
                                  f"{recorded.get(member.id or 0) or member.attendance or 'none'}"}])
    return lines


async def update_roster(uow: UnitOfWork, info: ActivityView) -> None:
    """Keep one roster message per staff chat up to date (sent the first time, then edited in place)."""
    await _update_rosters(uow, [info])


async def _send_roster(uow: UnitOfWork, info: ActivityView) -> None:
    """Send the roster message to the organizer's staff chats the first time."""
    activity = info.activity
    rows = await notify.to_org_unit(uow, org_unit_id=activity.org_unit_id, key="invite.roster.message",
                                    params=await _roster_params(uow, info))
    activity.roster_messages = [r.id for r in rows if r.id is not None]
    uow.session.add(activity)


REFRESH = "invite.roster"
"""The outbox refresher (``services.platform.outbox.REFRESH``) that reads a roster edit's parameters when it is sent."""


async def _update_rosters(uow: UnitOfWork, infos: Sequence[ActivityView]) -> None:
    """:func:`update_roster` for several activities: an activity whose roster was never sent gets it sent; the
    others get one edit of each roster message queued, whose lines are read when it is sent
    (:func:`refreshed_params`), not now: an answer does not render the whole roster (issue 21). Edits are coalesced
    per message: a new edit skips the older ones still waiting, so at most one edit per roster message is in flight
    and the latest state wins."""
    await notify.queue_many(uow, await roster_drafts(uow, infos))


async def roster_drafts(uow: UnitOfWork, infos: Sequence[ActivityView]) -> list[notify.Draft]:
    """What :func:`_update_rosters` does, but the edits are returned as drafts for the caller to write with its
    own (one INSERT for all of an answer's messages, issue 21); the older waiting edits are skipped already, so
    the drafts must be written in the same transaction."""
    fresh = [info for info in infos if not info.activity.roster_messages]
    for info in fresh:
        await _send_roster(uow, info)  # sent with the current state: no edit of it in the same breath
    shown = [info for info in infos if info not in fresh and info.activity.roster_messages
             and info.activity.id is not None]
    if not shown:
        return []
    originals = sorted({outbox_id for info in shown for outbox_id in info.activity.roster_messages})
    await uow.outbox.supersede_edits(originals, now=uow.now(), reason="superseded by a newer roster")
    return [notify.edit_draft(original_id=outbox_id, key="invite.roster.message",
                              params={outbox.REFRESH: REFRESH, "activity_id": info.activity.id})
            for info in shown for outbox_id in info.activity.roster_messages]


async def refreshed_params(uow: UnitOfWork, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a queued roster edit, read when it is sent: the roster as it stands then."""
    info = await _activity(uow, int(params["activity_id"]))
    activity_id = info.activity.id or 0
    # A Core select of table columns: no ORM loading for what may be thousands of rows.
    members, people = ActivityMember.__table__.c, Person.__table__.c  # type: ignore[attr-defined]
    statement = (sa_select(*(members[name] for name in _RosterSlot._fields), people.name)
                 .join_from(ActivityMember.__table__, Person.__table__,  # type: ignore[attr-defined]
                            people.id == members.person_id)
                 .where(members.activity_id == activity_id).order_by(members.id))
    rows = await uow.session.exec(statement)  # type: ignore[call-overload]
    slots = [(_RosterSlot(*row[:-1]), row[-1]) for row in rows.all()]
    recorded = await recorded_attendance(uow, [activity_id])
    return {**_facts(info, uow.zone), "roster_lines": _roster_lines(info, slots, uow.zone, recorded),
            "closed_key": _state_key(info.activity)}
