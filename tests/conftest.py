"""Shared fixtures: a migrated database per test (SQLite always; PostgreSQL when TEST_DATABASE_URL
is set), a unit-of-work factory on a fixed clock, and builders for common data."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from bot import loop
from services.platform.clock import FixedClock
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.uow import UnitOfWorkFactory

PG_URL = os.environ.get("TEST_DATABASE_URL")
# The loop the tests run on: the bot's own default (uvloop), or TEST_EVENT_LOOP=asyncio.
TEST_EVENT_LOOP = os.environ.get("TEST_EVENT_LOOP", loop.UVLOOP)
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory] | None:
    """Every async test and fixture runs on the event loop ``python -m bot run`` uses."""
    factory = loop.loop_factory(TEST_EVENT_LOOP)  # None: asyncio's own loop
    return {TEST_EVENT_LOOP: factory or asyncio.new_event_loop}  # pytest-asyncio wants a non-empty mapping


def _async_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once by Alembic; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test run (dropped afterwards), migrated once."""
    if not PG_URL:
        yield None
        return
    admin_url = _async_url(PG_URL)
    name = f"fundwatch_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(tmp_path: Path, sqlite_template: Path, pg_database: str | None) -> AsyncIterator[str]:
    """A migrated, empty database for one test."""
    if pg_database is None:
        path = tmp_path / "test.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    engine = create_async_engine(pg_database)
    try:
        async with engine.begin() as connection:
            tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    yield pg_database


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at T0 until a test moves it."""
    return FixedClock(T0)


@pytest.fixture
async def uow_factory(database_url: str, clock: FixedClock) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on the test database and the fixed clock."""
    engine = create_engine(database_url)
    try:
        yield UnitOfWorkFactory(create_session_factory(engine), clock=clock)
    finally:
        await engine.dispose()
