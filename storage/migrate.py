"""Alembic migrations, driven from code (``python -m bot db upgrade``) rather than an ini file.

Alembic is imported only when a migration runs or the database's revision is read through it: a start-up whose
schema is already at the head reads the revision with one query and finds the head from the migration files, so
the bot starts without loading Alembic (issue 21, start-up)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.M)


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at this package's migrations and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (blocking; call from a thread in async code)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision the code knows: read from the migration files (the one revision no other revises),
    or by Alembic when they do not name exactly one."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (found := _REVISION.search(source)) is not None:
            revisions.add(found[1])
        if (down := _DOWN_REVISION.search(source)) is not None:
            revised.add(down[1])
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _version(connection: Connection) -> str | None:
    """What Alembic's version table says (None: no table, an empty one, or several heads)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return str(versions[0]) if len(versions) == 1 else None


def current_revision(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    sync_url = make_url(url)
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}.get(sync_url.get_backend_name())
    if sync_url.get_backend_name() == "postgresql":
        return _current_revision_async(url)
    engine = create_sync_engine(sync_url.set(drivername=driver or "sqlite"))
    try:
        with engine.connect() as connection:
            return _version(connection)
    finally:
        engine.dispose()


def _current_revision_async(url: str) -> str | None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> str | None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_version)
        finally:
            await engine.dispose()

    return asyncio.run(read())
