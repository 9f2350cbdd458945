"""A year of history for the sandbox (issue 17): so that ``/stats``, its lists and every chart show real figures,
the demo bureau's past twelve months are filled with what the bot would have recorded, in one transaction of
batched inserts (the sandbox must start quickly; ``bench/README.md`` has the time it takes):

- activities of each division, month by month, each drawn by the production draw (:func:`run_pool_draw` over the
  division's own pool, a seeded draw whose record, snapshot and audit entry verify like any other, 001 §11), its
  principals invited, answering or not (accepted and signed, declined, recused, no answer), backups called in
  order for those who did not accept (000 §19), attendance noted, and a credit event for each unanswered
  invitation (000 §25) so the credit sweep finds nothing left to do;
- a few activities cancelled before their draw.

Leads, rewards, pool changes and the published excellent experts are :mod:`services.demo.demo_records`. Every row
has an audit entry with the time it happened (appended after the demo's set-up, in time order: ``record_many``).
Everything is chosen by a :class:`random.Random` seeded from the demo's seed, so two sandboxes hold the same
history relative to the day they were made.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlmodel import SQLModel, col, select

from services.activities.candidates import load_candidates
from services.activities.draw_results import DrawResult
from services.activities.draw_rules import ActivityKind, ActivitySpec, Candidate, Requirement
from services.activities.draw_snapshot import canonical_snapshot
from services.activities.expert_draw import ListPool, draw_recorded
from services.draws.draw_verify import result_hash
from services.draws.running import result_json
from services.platform import audit, policy
from services.platform.roles import person_actor_label
from services.pool.eligibility import Category
from services.records.credit import SLOT_KINDS
from services.records.ledger import points_for
from storage.activities import Activity, ActivityInstitution, ActivityMember, ActivityRequirement, DrawRecord
from storage.models import Expert
from storage.pool import Institution
from storage.records import CreditEvent
from storage.uow import UnitOfWork

MONTHS = 13  # a chart of the twelve months up to last month is full as well
KINDS = (("routine_inspection", "定点医疗机构日常检查"), ("special_inspection", "医保基金专项检查"),
         ("flight_inspection", "飞行检查"), ("consultation", "医保支付政策咨询论证"))
CATEGORIES = ("clinical", "clinical", "management", "informatics", "supervision")
PRINCIPAL_ANSWERS = (("signed", 62), ("declined", 13), ("recused", 5), ("expired", 12), ("accepted", 8))
BACKUP_ANSWERS = (("signed", 80), ("declined", 10), ("expired", 10))
ANSWER_HOURS = ((0.1, 2, 35), (2, 6, 25), (6, 24, 25), (24, 60, 15))  # low, high, weight: how long answers take
HISTORY_ACTOR = "system:draw"


@dataclass(frozen=True)
class Window:
    """A month of the history: events fall in [start, end)."""

    start: datetime
    end: datetime


@dataclass
class History:
    """What the history made (counts for the CLI, ids for the records that follow)."""

    activities: int = 0
    slots: int = 0
    leads: int = 0
    attended: dict[int, int] = field(default_factory=dict)
    """person id → activities attended (the excellent experts are chosen from it)"""
    entries: list[audit.Pending] = field(default_factory=list)


def windows(now: datetime, zone: ZoneInfo, *, months: int = MONTHS) -> list[Window]:
    """The ``months`` calendar months up to and including this one (this one up to an hour ago), oldest first;
    a month with less than a day in it is left out."""
    local = now.astimezone(zone)
    first = date(local.year, local.month, 1)
    found: list[Window] = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        begin = datetime.combine(date(index // 12, index % 12 + 1, 1), time(), zone)
        after = datetime.combine(date((index + 1) // 12, (index + 1) % 12 + 1, 1), time(), zone)
        end = min(after, now - timedelta(hours=1))
        if end - begin >= timedelta(days=1):
            found.append(Window(begin, end))
    return found


def moment(rng: random.Random, window: Window, zone: ZoneInfo, *, hours: tuple[int, int] = (9, 17)) -> datetime:
    """A working-hours moment in the window (local time), or its end when none fits."""
    days = max(1, (window.end - window.start).days)
    for _ in range(8):
        day = (window.start + timedelta(days=rng.randrange(days))).astimezone(zone).date()
        at = datetime.combine(day, time(rng.randrange(*hours), rng.randrange(60)), zone)
        if day.weekday() < 5 and window.start <= at < window.end:
            return at
    return window.end - timedelta(minutes=1)


def weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    """One of ``choices`` (value, weight)."""
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def answer_delay(rng: random.Random) -> timedelta:
    """How long an expert took to answer."""
    low, high, _ = rng.choices(ANSWER_HOURS, weights=[w for _, _, w in ANSWER_HOURS])[0]
    return timedelta(hours=rng.uniform(low, high))


async def add_activities(uow: UnitOfWork, rng: random.Random, history: History, *, units: dict[str, int],
                         staff_id: int, admin_id: int, leave_out: frozenset[int] = frozenset()) -> None:
    """One to three activities a month in each division (this month's only if already over), drawn in the order
    they were filed; ``leave_out`` are never drawn (the unbound expert, who has never used the bot)."""
    places = await _institutions(uow, units)
    planned = _plan(uow, rng, units, places, staff_id=staff_id)
    await insert(uow, Activity, [activity for activity, _, _ in planned])
    lines = [Row(activity_id=a.id, position=1, category=category, subcategory=None, tags=[], count=3, backups=2)
             for a, _, category in planned]
    await insert(uow, ActivityRequirement, lines)
    await insert(uow, ActivityInstitution, [Row(activity_id=a.id, institution_id=t.id) for a, t, _ in planned
                                            if t is not None], ids=False)
    pools = {unit_id: await _candidates(uow, unit_id, places.get(unit_id, []), leave_out)
             for unit_id in units.values()}
    drawn: list[tuple[Row, Row, Row, DrawResult]] = []
    for (activity, target, _), line in zip(planned, lines, strict=True):
        history.activities += 1
        history.entries.append(entry(activity.created_at, person_actor_label(staff_id), "activity.created",
                                     "activity", activity.id, {"title": activity.title}))
        if activity.status != "cancelled":
            record, result = _draw(rng, activity, line, target, pools[activity.org_unit_id],
                                   staff_id=staff_id, admin_id=admin_id, zone=uow.zone)
            drawn.append((activity, line, record, result))
    await insert(uow, DrawRecord, [record for _, _, record, _ in drawn])
    members: list[tuple[Row, Row]] = []
    for activity, line, record, result in drawn:
        history.entries.append(_draw_entry(record))
        if result.ok:
            picks = sorted(result.picks, key=lambda p: (p.role.value != "principal", p.order))
            members += _roster(rng, activity, history, record_id=record.id, requirement_id=line.id,
                               picks=[(p.person_id, p.role.value, p.order) for p in picks])
    await _settle(uow, [(a, r) for a, _, _, r in drawn if r.ok])
    await insert(uow, ActivityMember, [member for member, _ in members])
    await insert(uow, CreditEvent, [event for member, activity in members
                                    for event in _follow_up(member, activity, history)], ids=False)


async def _settle(uow: UnitOfWork, drawn: list[tuple[Row, DrawResult]]) -> None:
    """The drawn activities' state and leader (set after the insert: the activity came first, as when filed)."""
    table = Activity.__table__  # type: ignore[attr-defined]
    if drawn:
        await (await uow.session.connection()).execute(
            update(table).where(table.c.id == bindparam("key")).values(status="drawn", leader_id=bindparam("leader")),
            [{"key": activity.id, "leader": result.leader} for activity, result in drawn])


class Row(SimpleNamespace):
    """A row being made: attribute access while the history is decided, then inserted with Core (the ORM's
    per-object work would double the sandbox's start-up)."""


async def insert(uow: UnitOfWork, model: type[SQLModel], rows: Sequence[Row], *, ids: bool = True) -> None:
    """Insert ``rows`` (every row with the same attributes) in one statement; each gets its ``id``."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    params = [vars(r) for r in rows]
    connection = await uow.session.connection()
    if not ids:
        await connection.execute(table.insert(), params)
        return
    result = await connection.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), params)
    for row, (new_id,) in zip(rows, result.all(), strict=True):
        row.id = new_id


def _plan(uow: UnitOfWork, rng: random.Random, units: dict[str, int], places: dict[int, list[Institution]], *,
          staff_id: int) -> list[tuple[Row, Institution | None, str]]:
    """The activities (unsaved), their inspected institution and their line's category, in filing order."""
    now, zone = uow.now(), uow.zone
    planned: list[tuple[Row, Institution | None, str]] = []
    for window in windows(now, zone):
        for unit_id in units.values():
            for _ in range(rng.choice((1, 2, 2, 3))):
                starts = moment(rng, window, zone, hours=(8, 10))
                if starts + timedelta(hours=9) >= now:
                    continue
                kind, label = rng.choice(KINDS)
                target = rng.choice(places[unit_id]) if places.get(unit_id) and kind != "consultation" else None
                created = starts - timedelta(days=rng.randrange(8, 21))
                title = f"{target.name}{label}" if target is not None else label
                planned.append((Row(
                    org_unit_id=unit_id, kind=kind, title=title[:200], place=(target.name if target else "")[:200],
                    starts_at=starts, ends_at=starts + timedelta(hours=8), response_deadline=starts - timedelta(days=2),
                    status="cancelled" if rng.random() < 0.07 else "planned", record_pending=False, notes="",
                    double_blind=False, allow_even_group=False, roster_messages=[], created_by=staff_id,
                    created_at=created, updated_at=created), target, rng.choice(CATEGORIES)))
    return sorted(planned, key=lambda p: p[0].created_at)


async def _institutions(uow: UnitOfWork, units: dict[str, int]) -> dict[int, list[Institution]]:
    rows = (await uow.session.exec(select(Institution).where(col(Institution.designated).is_(True))
                                   .order_by(col(Institution.id)))).all()
    found: dict[int, list[Institution]] = {}
    for institution in rows:
        if institution.org_unit_id is not None and institution.org_unit_id in units.values():
            found.setdefault(institution.org_unit_id, []).append(institution)
    return found


async def _candidates(uow: UnitOfWork, unit_id: int, places: list[Institution],
                      leave_out: frozenset[int]) -> dict[int, Candidate]:
    """The draw's facts about a division's pool over the whole year (every institution its activities concern),
    loaded once; the rules then apply them to each activity's dates."""
    ids = (await uow.session.exec(select(Expert.person_id).where(Expert.org_unit_id == unit_id,
                                                                 Expert.state == "active"))).all()
    today = uow.today()
    spec = ActivitySpec(kind=ActivityKind.ROUTINE_INSPECTION, start=today - timedelta(days=400), end=today,
                        inspected=frozenset(p.id for p in places if p.id is not None))
    return await load_candidates(uow, sorted(set(ids) - leave_out), spec, policy.current().draw, None)


def _draw(rng: random.Random, activity: Row, line: Row, target: Institution | None, pool: dict[int, Candidate], *,
          staff_id: int, admin_id: int, zone: ZoneInfo) -> tuple[Row, DrawResult]:
    """The production draw (the current algorithm, seeded) over the division's pool as it stood, stored with its
    snapshot; the drawn are then busy on the activity's days."""
    spec = ActivitySpec(kind=ActivityKind(activity.kind), start=activity.starts_at.astimezone(zone).date(),
                        end=activity.ends_at.astimezone(zone).date(),
                        inspected=frozenset({target.id} if target is not None and target.id is not None else ()))
    seed = rng.randbytes(32)
    requirement = Requirement(key=f"r{line.id}", category=Category(line.category), count=line.count,
                              backups=line.backups)
    result, inputs = draw_recorded(ListPool(pool.values()), [requirement], spec, policy.current().draw, seed)
    for pick in result.picks if result.ok else ():
        pool[pick.person_id] = replace(pool[pick.person_id], busy=(*pool[pick.person_id].busy, (spec.start, spec.end)))
    snapshot = canonical_snapshot(inputs).encode("utf-8")
    record = Row(subject="experts", org_unit_id=activity.org_unit_id, activity_id=activity.id, request_id=None,
                 algorithm_version=result.algorithm_version, seed=seed.hex(), snapshot=zlib.compress(snapshot, 1),
                 snapshot_hash=hashlib.sha256(snapshot).hexdigest(), result=result_json(result),
                 outcome="drawn" if result.ok else "short", operator_id=staff_id, approver_id=admin_id,
                 drawn_at=activity.created_at + timedelta(hours=2), lending_unit_ids=[])
    return record, result


def _draw_entry(record: Row) -> audit.Pending:
    return entry(record.drawn_at, "system:draw", f"draw.{record.outcome}", "draw", record.id, {
        "activity_id": record.activity_id, "request_id": None, "algorithm_version": record.algorithm_version,
        "seed": record.seed, "snapshot_hash": record.snapshot_hash, "result_hash": result_hash(record.result),
        "operator_id": record.operator_id, "approver_id": record.approver_id})


def _roster(rng: random.Random, activity: Row, history: History, *, record_id: int, requirement_id: int,
            picks: list[tuple[int, str, int]]) -> list[tuple[Row, Row]]:
    """The drawn on the roster; principals invited at the draw, each one who does not accept replaced by the next
    backup (000 §19)."""
    invited_at = activity.created_at + timedelta(hours=2, minutes=1)
    members = [Row(activity_id=activity.id, requirement_id=requirement_id, draw_id=record_id, person_id=person_id,
                   role=role, position=order, created_at=invited_at, status="drawn", invited_at=None,
                   respond_by=None, answered_at=None, reason=None, signed_at=None, attendance=None, credit_swept="",
                   reminders_sent=0, removal_message_ids=[]) for person_id, role, order in picks]
    backups = [m for m in members if m.role == "backup"]
    for principal in [m for m in members if m.role == "principal"]:
        asked = principal
        status = _answer(rng, asked, activity, history, at=invited_at, choices=PRINCIPAL_ANSWERS)
        while status not in ("signed", "accepted") and backups:
            assert asked.answered_at is not None
            at, asked = asked.answered_at, backups.pop(0)
            status = _answer(rng, asked, activity, history, at=at, choices=BACKUP_ANSWERS)
    return [(member, activity) for member in members]


def _answer(rng: random.Random, member: Row, activity: Row, history: History, *, at: datetime,
            choices: Sequence[tuple[str, int]]) -> str:
    """Invite ``member`` at ``at``; how and when they answered (an expired one at the deadline)."""
    respond_by = min(activity.response_deadline, at + timedelta(days=3))
    status = weighted(rng, choices)
    member.invited_at, member.respond_by, member.status = at, respond_by, status
    answered = respond_by if status == "expired" else min(at + answer_delay(rng), respond_by - timedelta(minutes=5))
    member.answered_at = max(answered, at + timedelta(minutes=3))
    if status == "declined":
        member.reason = rng.choice(("schedule", "health", "other"))
    elif status == "recused":
        member.reason = "interest"
    elif status == "signed":
        member.signed_at = member.answered_at + timedelta(minutes=rng.randrange(1, 90))
        member.attendance = "attended" if rng.random() < 0.95 else "absent_with_notice"
        if member.attendance == "attended":
            history.attended[member.person_id] = history.attended.get(member.person_id, 0) + 1
    member.credit_swept = status if status in SLOT_KINDS else ""
    history.slots += 1
    return status


def _follow_up(member: Row, activity: Row, history: History) -> list[Row]:
    """The audit entries of a slot, and the credit event of an unanswered invitation (as the sweep records it)."""
    if member.invited_at is None or member.answered_at is None:
        return []
    history.entries.append(entry(member.invited_at, "system:invitations", "invitation.sent", "activity_member",
                                  member.id, {"activity_id": activity.id, "person_id": member.person_id}))
    action = "expired" if member.status == "expired" else "accepted" if member.status == "signed" else member.status
    actor = "system:chase" if member.status == "expired" else f"person:{member.person_id}"
    history.entries.append(entry(member.answered_at, actor, f"invitation.{action}", "activity_member", member.id,
                                  {"activity_id": activity.id, **({"reason": member.reason} if member.reason else {})}))
    if member.signed_at is not None:
        history.entries.append(entry(member.signed_at, actor, "invitation.signed", "activity_member", member.id,
                                      {"activity_id": activity.id}))
    if member.status in SLOT_KINDS:
        kind, source = SLOT_KINDS[member.status], f"slot:{member.id}:{member.status}"
        history.entries.append(entry(member.answered_at, "system:credit", "credit.event", "person",
                                     member.person_id, {"kind": kind, "points": points_for(kind), "source": source}))
        return [Row(person_id=member.person_id, kind=kind, points=points_for(kind), occurred_at=member.answered_at,
                    source=source, activity_id=activity.id, org_unit_id=activity.org_unit_id, note="",
                    recorded_by="system:credit", created_at=member.answered_at)]
    return []


def entry(at: datetime, actor: str, action: str, object_type: str, object_id: int | None,  # noqa: PLR0917
          details: dict[str, object]) -> audit.Pending:
    """An audit entry of the history, dated when it happened."""
    return audit.Pending(at=at, actor=actor, action=action, object_type=object_type, object_id=object_id or 0,
                         details=details)


async def write_entries(uow: UnitOfWork, history: History) -> None:
    """Append the history's audit entries in time order."""
    await uow.session.flush()
    entries = sorted((replace(e, at=e.at.astimezone(UTC)) for e in history.entries), key=lambda e: e.at)
    await audit.record_many(uow, entries)  # in UTC, as stored: the hash covers the time as read back
    history.entries.clear()
