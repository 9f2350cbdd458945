"""Sweeps read only what can be due (issue 21): every statement of every job in ``services.scheduler.JOBS`` finds
its rows through an index (SQLite ``EXPLAIN QUERY PLAN`` has no ``SCAN`` of a table that grows; PostgreSQL's
``EXPLAIN`` with sequential scans disabled has no ``Seq Scan``), and the credit and work-record sweeps mark what
they have looked at, so an expired slot or an ended activity is read once, not every 15 minutes forever."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from services.platform.clock import FixedClock
from services.records import credit, work_records
from services.scheduler import JOBS
from storage.activities import Activity, ActivityMember
from storage.records import CreditEvent
from storage.uow import UnitOfWorkFactory
from tests.services.test_work_records import START, signed_activity

SMALL_TABLES = {"received_update"}
"""Tables a sweep may read whole: received updates are deleted as soon as they are processed (only the few in
flight are ever there)."""


async def _with_due_work(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> list[int]:
    """An ended activity whose first slot expired and second refused the commitment; the clock after its end."""
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    async with uow_factory() as u:
        first, second = [await u.session.get(ActivityMember, s.id) for s in ended.slots[:2]]
        assert first is not None and second is not None
        first.status, second.status = "expired", "refused"
        u.session.add_all([first, second])
        await u.commit()
    clock.advance(START + timedelta(days=3) - clock.now())
    return [first.id or 0, second.id or 0]


async def _plans(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Each statement with its plan, in the database's words."""
    found = []
    async with engine.connect() as connection:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in statements:
            rows = (await connection.exec_driver_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement,
                                                     params)).all()
            found.append((statement, " | ".join(str(row[-1]) for row in rows)))
        await connection.rollback()
    return found


def _scans(plan: str, postgres: bool) -> list[str]:
    if postgres:
        return [part for part in plan.split(" | ") if "Seq Scan on" in part
                and part.split("Seq Scan on ")[1].split()[0] not in SMALL_TABLES]
    return [part for part in plan.split(" | ") if part.startswith("SCAN ")
            and part.split()[1] not in SMALL_TABLES and not part.startswith("SCAN CONSTANT")]


async def test_every_sweep_reads_through_an_index(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    await _with_due_work(uow_factory, clock)
    engine: AsyncEngine = uow_factory.session_factory.kw["bind"]
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            captured.append((statement, params))

    bad: dict[str, list[tuple[str, list[str]]]] = {}
    for job in JOBS:
        captured.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", grab)
        try:
            await job.run(uow_factory)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", grab)
        for statement, plan in await _plans(engine, captured):
            scans = _scans(plan, engine.dialect.name == "postgresql")
            if scans:
                bad.setdefault(job.name, []).append((statement[:200], scans))
    assert bad == {}


async def test_the_credit_sweep_reads_a_slot_once_per_status(uow_factory: UnitOfWorkFactory,
                                                             clock: FixedClock) -> None:
    expired, refused = await _with_due_work(uow_factory, clock)
    assert await credit.sweep_slots(uow_factory) == 2
    async with uow_factory() as u:
        swept = {m.id: m.credit_swept for m in (await u.session.exec(select(ActivityMember))).all()}
        unswept = (await u.session.exec(select(ActivityMember.id).where(credit._unswept()))).all()
    assert (swept[expired], swept[refused]) == ("expired", "refused") and unswept == []
    async with uow_factory() as u:  # the expired slot invited again, accepted, and the commitment refused
        slot = await u.session.get(ActivityMember, expired)
        assert slot is not None
        slot.status = "refused"
        u.session.add(slot)
        await u.commit()
    assert await credit.sweep_slots(uow_factory) == 1
    async with uow_factory() as u:
        sources = sorted(e.source for e in (await u.session.exec(select(CreditEvent))).all())
    assert sources == sorted([f"slot:{expired}:expired", f"slot:{expired}:refused", f"slot:{refused}:refused"])


async def test_the_work_record_sweep_looks_at_an_ended_activity_once(uow_factory: UnitOfWorkFactory,
                                                                     clock: FixedClock) -> None:
    await _with_due_work(uow_factory, clock)
    counts = await work_records.sweep(uow_factory)
    assert counts["opened"] == 1
    async with uow_factory() as u:
        pending = (await u.session.exec(select(Activity.id).where(col(Activity.record_pending) == True))).all()  # noqa: E712
    assert pending == []
    assert (await work_records.sweep(uow_factory))["opened"] == 0
