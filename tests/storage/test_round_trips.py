"""Fewer round trips per unit of work on PostgreSQL, with the same guarantees (issue 21: button presses).

- a unit of work whose lone reads need no snapshot runs them in autocommit, and the pooled connection it
  used is transactional again for the next unit of work;
- the durable intake's one-statement write is committed when the statement returns, and a unit of work that
  writes with one statement is the only kind that runs in autocommit;
- a pooled connection is tested on checkout only after it has rested (``pool_pre_ping`` cost three round
  trips on every checkout); one that fails the test is replaced.

On SQLite the same calls behave as before (its BEGIN already travels with the first statement).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.platform import intake
from storage import db
from storage.db import create_engine, create_session_factory
from storage.uow import UnitOfWorkFactory


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work that all share one pooled connection, so what one leaves behind the next one sees."""
    engine = create_engine(database_url)
    if engine.dialect.name != "sqlite":
        await engine.dispose()
        engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
    try:
        yield UnitOfWorkFactory(create_session_factory(engine))
    finally:
        await engine.dispose()


async def _in_transaction(uow_session: object) -> bool:
    connection = await uow_session.connection()  # type: ignore[attr-defined]
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if hasattr(driver, "is_in_transaction"):  # asyncpg
        return bool(driver.is_in_transaction())
    return bool(driver._connection.in_transaction)  # aiosqlite's sqlite3 connection


async def test_a_lone_read_runs_without_a_transaction_and_the_next_unit_of_work_still_rolls_back(
    one_connection: UnitOfWorkFactory,
) -> None:
    async with one_connection(readonly=True, snapshot=False) as uow:
        assert (await uow.session.exec(text("SELECT 1"))).one()[0] == 1  # type: ignore[call-overload]
        assert not await _in_transaction(uow.session)
    async with one_connection() as uow:  # the same connection, no longer in autocommit
        await uow.received.receive("telegram", [(1, "{}")], uow.now())
        assert await _in_transaction(uow.session)
        # no commit: rolled back
    assert [row async for row in intake.waiting(one_connection, channel="telegram")] == []


async def test_the_intake_write_is_committed_when_it_returns_and_a_read_with_a_snapshot_keeps_its_transaction(
    one_connection: UnitOfWorkFactory,
) -> None:
    await intake.record(one_connection, channel="telegram", updates=[(7, '{"update_id":7}'), (8, "{}")])
    async with one_connection(readonly=True) as uow:
        assert [update_id for update_id, _ in await uow.received.waiting("telegram")] == [7, 8]
        assert await _in_transaction(uow.session)  # a snapshot read is still one transaction


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(database_url: str, pid: int) -> None:
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_rested_connection_that_died_is_replaced_on_checkout(database_url: str) -> None:
    if db.is_sqlite(database_url):
        pytest.skip("PostgreSQL's pool only (SQLite has no server to lose)")
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
    db._ping_idle_connections(engine, idle_after=0.0)  # every connection counts as rested
    try:
        dead = await _backend_pid(engine)
        await _kill(database_url, dead)
        assert await _backend_pid(engine) != dead  # tested, found dead, replaced: the caller never saw it
    finally:
        await engine.dispose()


async def test_a_connection_used_a_moment_ago_goes_out_untested(database_url: str) -> None:
    if db.is_sqlite(database_url):
        pytest.skip("PostgreSQL's pool only")
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
    db._ping_idle_connections(engine, idle_after=3600.0)  # nothing has rested that long
    try:
        dead = await _backend_pid(engine)
        await _kill(database_url, dead)
        with pytest.raises(Exception):  # noqa: B017 (the driver words it in several ways)
            await _backend_pid(engine)  # the price: the statement in hand fails, as one in flight would
        assert await _backend_pid(engine) != dead  # and the pool then starts afresh
    finally:
        await engine.dispose()
