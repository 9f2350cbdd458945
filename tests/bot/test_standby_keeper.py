"""The keeper of the active role (bot/standby.py): one process holds the PostgreSQL advisory lock; a keeper that
can no longer prove it holds the lock steps down; a standby takes the lock once it is free."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.standby import LOCK_CLASS, LOCK_OBJECT, AdvisoryLock, Keeper, Role
from tests.e2e.harness import free_port

PG = os.environ.get("TEST_DATABASE_URL")


def _keeper(url: str, name: str, events: list[tuple[str, str]], *, retry: float, check: float) -> Keeper:
    async def activate() -> None:
        events.append((name, "active"))

    async def step_down() -> None:
        events.append((name, "standby"))

    return Keeper(AdvisoryLock(url, timeout=1.0), activate=activate, step_down=step_down,
                  retry_every=retry, check_every=check)


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def _terminate_holder(url: str) -> None:
    """End the lock holder's session, as a killed process or a lost connection does."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            ended = (await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = :c"
                " AND objid = :o AND objsubid = 2 AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"c": LOCK_CLASS, "o": LOCK_OBJECT})).all()
        assert ended == [(True,)]
    finally:
        await engine.dispose()


async def _both(action: Callable[[Keeper], Awaitable[None]], *keepers: Keeper) -> None:
    for keeper in keepers:
        await action(keeper)


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_the_active_keeper_steps_down_when_its_session_ends_and_the_standby_takes_over(database_url: str) -> None:
    events: list[tuple[str, str]] = []
    first = _keeper(database_url, "first", events, retry=1.0, check=0.05)
    second = _keeper(database_url, "second", events, retry=0.1, check=0.05)
    try:
        assert await first.first_try() is Role.ACTIVE
        assert await second.first_try() is Role.STANDBY
        first.start()
        second.start()
        await asyncio.sleep(0.3)
        assert (first.role, second.role) == (Role.ACTIVE, Role.STANDBY)  # the standby's tries change nothing

        await _terminate_holder(database_url)
        await _until(lambda: second.role is Role.ACTIVE)
        await _until(lambda: first.role is Role.STANDBY)  # at its next check, which may come after the other's try
        await _until(lambda: len(events) == 3)
        assert events[0] == ("first", "active")
        assert sorted(events[1:]) == [("first", "standby"), ("second", "active")]  # it stepped down untold

        await second.stop()
        await second.release()  # the process stops: the first one takes the role again
        await _until(lambda: first.role is Role.ACTIVE)
        assert events[3:] == [("first", "active")]
    finally:
        await _both(Keeper.stop, first, second)
        await _both(Keeper.release, first, second)


async def test_a_keeper_whose_database_is_unreachable_stays_standby_and_keeps_trying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[tuple[str, str]] = []
    keeper = _keeper(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x", "k", events, retry=0.05, check=0.05)
    try:
        assert await keeper.first_try() is Role.STANDBY
        keeper.start()
        await _until(lambda: caplog.text.count("could not try the active role's lock") >= 3)
        assert keeper.role is Role.STANDBY and events == []
    finally:
        await keeper.stop()
        await keeper.release()
