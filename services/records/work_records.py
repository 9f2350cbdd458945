"""The work record (《监管专家工作登记表》, annex 4) the organizer fills within 5 working days after an activity ends
(000 §25), and the sweep that reminds and escalates.

- Once an activity with experts who accepted or signed has ended, :func:`sweep` opens its record: one entry per such
  expert, attendance prefilled from the roster (``/attendance``), due at the end of the 5th working day after the end
  (``services.platform.workdays``, 调休 included), first reminder the next local morning (``remind_at``, indexed).
- Each run reminds the organizer's unit once a day while the record is open and, once the deadline has passed,
  escalates to the unit's admins (up the tree when it has none) once.
- :func:`submit` stores, per expert, attendance, performance rating, recusal statement, discipline (with notes) and
  the credit opinion, and for the group the final opinion and whether it was reached by consensus or by majority
  (001 §16). It records the credit events the answers imply (``services.records.ledger``) and asks for sanctions
  (``services.records.sanctions``). Only the organizer's line of staff may see or submit it
  (``services.activities.activities.view``).
- :func:`export_docx` lays it out like annex 4, ready to print and stamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import exists
from sqlmodel import col, select

from services.activities.activities import ActivityView, view
from services.documents.work_record import SheetEntry, WorkRecordSheet
from services.documents.work_record import render as render_sheet
from services.people.orgs import admins_up
from services.platform import audit, notify, policy
from services.platform.errors import InvalidInput, RecordNotReady, RecordSubmitted
from services.platform.roles import Actor
from services.platform.workdays import default_calendar
from services.records import ledger, sanctions
from storage.activities import Activity, ActivityMember
from storage.models import Expert, Person
from storage.pool import Institution
from storage.records import WorkRecord, WorkRecordEntry
from storage.uow import UnitOfWork, UnitOfWorkFactory

ROSTERED = ("accepted", "signed")
ATTENDANCE = ("attended", "absent_with_notice", "absent_without_notice")
PERFORMANCE = ("excellent", "good", "fair", "poor")
RECUSAL = ("none_needed", "declared", "failed")
DISCIPLINE = ("good", "breach")
DECISIONS = ("consensus", "majority")


@dataclass(frozen=True)
class EntryInput:
    """One expert's answers."""

    member_id: int
    attendance: str
    performance: str
    recusal: str
    discipline: str
    discipline_note: str = ""
    credit_opinion: str = ""


@dataclass(frozen=True)
class RecordView:
    """A work record with its activity and its entries (with names)."""

    info: ActivityView
    record: WorkRecord
    entries: tuple[tuple[WorkRecordEntry, str], ...]


def _next_morning(moment: datetime, uow: UnitOfWork) -> datetime:
    local = moment.astimezone(uow.zone)
    return datetime.combine(local.date() + timedelta(days=1), time(policy.current().records.reminder_hour),
                            tzinfo=uow.zone)


async def _open(uow: UnitOfWork, activity: Activity) -> WorkRecord | None:
    """Open the record of an ended activity (no commit); None when nobody accepted."""
    members = (await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity.id, col(ActivityMember.status).in_(ROSTERED))
        .order_by(col(ActivityMember.id)))).all()
    if not members:
        return None
    days = policy.current().records.work_record_working_days
    record = WorkRecord(activity_id=activity.id or 0, org_unit_id=activity.org_unit_id,
                        due_at=default_calendar().deadline(activity.ends_at, days, uow.zone),
                        remind_at=_next_morning(activity.ends_at, uow), created_at=uow.now())
    uow.session.add(record)
    activity.record_pending = False
    uow.session.add(activity)
    await uow.session.flush()
    for member in members:
        uow.session.add(WorkRecordEntry(record_id=record.id or 0, member_id=member.id or 0,
                                        person_id=member.person_id, attendance=member.attendance))
    await audit.record(uow, at=uow.now(), actor="system:work_records", action="work_record.opened",
                       object_type="activity", object_id=activity.id or 0,
                       details={"record_id": record.id, "due_at": record.due_at.isoformat()})
    return record


async def record_of(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> RecordView:
    """The activity's work record for its organizer's line (opened now if the sweep has not yet)."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    record = (await uow.session.exec(select(WorkRecord).where(WorkRecord.activity_id == activity_id))).first()
    if record is None:
        if info.activity.ends_at > uow.now() or info.activity.status == "cancelled":
            raise RecordNotReady(str(activity_id), activity_id=activity_id)
        record = await _open(uow, info.activity)
        if record is None:
            raise RecordNotReady(str(activity_id), activity_id=activity_id)
        await uow.commit()
    rows = (await uow.session.exec(
        select(WorkRecordEntry, Person.name).join(Person, col(Person.id) == WorkRecordEntry.person_id)
        .where(WorkRecordEntry.record_id == record.id).order_by(col(WorkRecordEntry.id)))).all()
    return RecordView(info=info, record=record, entries=tuple((entry, name) for entry, name in rows))


def _check(entry: EntryInput) -> None:
    for field, value, allowed in (("attendance", entry.attendance, ATTENDANCE),
                                  ("performance", entry.performance, PERFORMANCE),
                                  ("recusal", entry.recusal, RECUSAL), ("discipline", entry.discipline, DISCIPLINE)):
        if value not in allowed:
            raise InvalidInput(f"{field} must be one of {allowed}", field=field)
    if entry.discipline == "breach" and not entry.discipline_note.strip():
        raise InvalidInput("a breach needs a note (annex 4: 应详细记录)", field="discipline_note")


async def submit(uow: UnitOfWork, *, actor: Actor, activity_id: int, entries: list[EntryInput],
                 final_opinion: str, decision: str) -> RecordView:
    """Store the answers and submit the record; record the credit events they imply and propose sanctions."""
    current = await record_of(uow, actor=actor, activity_id=activity_id)
    record = current.record
    if record.status == "submitted":
        raise RecordSubmitted(str(activity_id), activity_id=activity_id)
    if decision not in DECISIONS:
        raise InvalidInput("decision must be consensus or majority (001 §16)", field="decision")
    by_member = {entry.member_id: entry for entry, _ in current.entries}
    given = {e.member_id: e for e in entries}
    if set(given) != set(by_member):
        raise InvalidInput("every expert of the record needs an entry", field="entries")
    now, activity = uow.now(), current.info.activity
    for member_id, answer in given.items():
        _check(answer)
        row = by_member[member_id]
        row.attendance, row.performance, row.recusal = answer.attendance, answer.performance, answer.recusal
        row.discipline, row.discipline_note = answer.discipline, " ".join(answer.discipline_note.split())[:1000]
        row.credit_opinion = " ".join(answer.credit_opinion.split())[:1000]
        uow.session.add(row)
    record.final_opinion = final_opinion.strip()[:2000]
    record.decision, record.status = decision, "submitted"
    record.submitted_by, record.submitted_at, record.remind_at = actor.person_id, now, None
    uow.session.add(record)
    await audit.record(uow, at=now, actor=actor.label, action="work_record.submitted", object_type="activity",
                       object_id=activity_id, details={"record_id": record.id, "late": now > record.due_at})
    for row in by_member.values():
        for kind in _kinds(row):
            await ledger.record(uow, person_id=row.person_id, kind=kind, source=f"entry:{row.id}:{kind}",
                                recorded_by=actor.label, occurred_at=activity.ends_at, activity_id=activity_id,
                                org_unit_id=activity.org_unit_id,
                                note=row.discipline_note if kind == "discipline_breach" else row.credit_opinion)
    for person_id in sorted({row.person_id for row in by_member.values()}):
        await sanctions.evaluate(uow, person_id=person_id, org_unit_id=activity.org_unit_id)
    await uow.commit()
    return current


def _kinds(row: WorkRecordEntry) -> list[str]:
    """The credit events an entry implies (services.records.credit)."""
    kinds = {"attended": "attended", "absent_without_notice": "absent_without_notice"}
    found = [kinds[row.attendance]] if row.attendance in kinds else []
    if row.performance == "excellent":
        found.append("excellent_performance")
    if row.performance == "poor":
        found.append("poor_performance")
    if row.recusal == "failed":
        found.append("failure_to_recuse")
    if row.discipline == "breach":
        found.append("discipline_breach")
    return found


# --- the sweep -------------------------------------------------------------------------------------------------


async def sweep(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """Open the records of ended activities, remind daily while open, escalate once after the deadline."""
    counts = {"opened": 0, "reminded": 0, "escalated": 0}
    async with uow_factory() as uow:
        now = uow.now()
        ended = (await uow.session.exec(select(Activity, exists().where(col(WorkRecord.activity_id) == Activity.id))
                                        .where(col(Activity.record_pending) == True,  # noqa: E712
                                               col(Activity.ends_at) <= now)
                                        .order_by(col(Activity.ends_at), col(Activity.id)).limit(200))).all()
        for activity, recorded in ended:  # read once: pending ended activities only, by index (issue 21)
            if activity.status != "cancelled" and not recorded and await _open(uow, activity) is not None:
                counts["opened"] += 1
            activity.record_pending = False
            uow.session.add(activity)
        due = (await uow.session.exec(select(WorkRecord, Activity).join(Activity, col(Activity.id) ==
                                                                        WorkRecord.activity_id)
                                      .where(col(WorkRecord.remind_at) <= now, WorkRecord.status == "open")
                                      .order_by(col(WorkRecord.remind_at)).limit(200))).all()
        for record, activity in due:
            params = {"activity_id": activity.id, "title": activity.title,
                      "due": record.due_at.astimezone(uow.zone).strftime("%Y-%m-%d")}
            if now > record.due_at and record.escalated_at is None:
                record.escalated_at = now
                for admin in await admins_up(uow, record.org_unit_id):
                    await notify.to_person(uow, person_id=admin, key="workrecord.escalation", params=params)
                await audit.record(uow, at=now, actor="system:work_records", action="work_record.escalated",
                                   object_type="activity", object_id=activity.id or 0, details=params)
                counts["escalated"] += 1
            else:
                await notify.to_org_unit(uow, org_unit_id=record.org_unit_id, key="workrecord.reminder",
                                         params=params)
                record.reminders_sent += 1
                counts["reminded"] += 1
            record.remind_at = _next_morning(now, uow)
            uow.session.add(record)
        await uow.commit()
    return counts


# --- the annex-4 document ---------------------------------------------------------------------------------------

async def export_docx(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> tuple[str, bytes]:
    """The record in the layout of annex 4 (:mod:`services.documents.work_record`): activity, organizer, experts
    and employers, performance, recusal statements, discipline (with credit opinions), recorder, the organizer's
    opinion, reviewer, seal and date."""
    current = await record_of(uow, actor=actor, activity_id=activity_id)
    record = current.record
    entries = []
    for entry, name in current.entries:
        expert = await uow.session.get(Expert, entry.person_id)
        employer = await uow.session.get(Institution, expert.employer_id) if expert and expert.employer_id else None
        entries.append(SheetEntry(name=name, employer=employer.name if employer is not None else None,
                                  attendance=entry.attendance, performance=entry.performance, recusal=entry.recusal,
                                  discipline=entry.discipline, discipline_note=entry.discipline_note or "",
                                  credit_opinion=entry.credit_opinion or ""))
    recorder = await uow.session.get(Person, record.submitted_by) if record.submitted_by else None
    sheet = WorkRecordSheet(title=current.info.activity.title, organizer=current.info.organizer.name,
                            entries=tuple(entries), decision=record.decision, final_opinion=record.final_opinion or "",
                            recorder=recorder.name if recorder else "")
    return f"work-record-{activity_id}.docx", render_sheet(sheet)


__all__ = [
    "ATTENDANCE",
    "DECISIONS",
    "DISCIPLINE",
    "PERFORMANCE",
    "RECUSAL",
    "EntryInput",
    "RecordView",
    "export_docx",
    "record_of",
    "submit",
    "sweep",
]
