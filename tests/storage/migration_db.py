"""What the migration tests share: an empty database to migrate, and a way to run raw SQL against it.

Raw SQL on purpose: a migration test seeds rows the way an older version's tables held them, which the current
models cannot describe.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

PG_URL = os.environ.get("TEST_DATABASE_URL")

__all__ = ["PG_URL", "fresh_url", "run_sql"]


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL is set."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path}/m.db"
        return
    admin = PG_URL.replace("postgresql://", "postgresql+asyncpg://")
    name = f"fundwatch_mig_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_sql(url: str, statements: list[str]) -> list[tuple[object, ...]]:
    """Run ``statements`` in one transaction on a fresh engine; the rows of the last one (empty if it returns none)."""

    async def run() -> list[tuple[object, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                rows: list[tuple[object, ...]] = []
                for sql in statements:
                    result = await connection.execute(text(sql))
                    rows = [tuple(row) for row in result.all()] if result.returns_rows else []
                return rows
        finally:
            await engine.dispose()

    return asyncio.run(run())
