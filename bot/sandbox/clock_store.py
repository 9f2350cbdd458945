"""The sandbox keeps its time (issue 20): the clock's offset is stored in the sandbox's own database, so a restart
carries on at the sandbox's date instead of sending the clock back to today while the data stays in the future,
and ``python -m bot --sandbox …`` runs command-line tools at the same moment as the page.

The offset lives in a small table of its own (``sandbox_clock``), created here and only in a sandbox database:
production's schema (the Alembic migrations) never has it, and nothing but the sandbox reads it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from services.platform.clock import OffsetClock

TABLE = "sandbox_clock"
BUSY_SECONDS = 30  # the running bot may be writing: wait for its transaction, never fail the page's request


def load_offset(database: Path) -> timedelta:
    """The stored offset (zero for a new or reset sandbox)."""
    if not database.exists():
        return timedelta(0)
    with closing(sqlite3.connect(database, timeout=BUSY_SECONDS)) as connection:
        found = connection.execute("SELECT name FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)).fetchone()
        if found is None:
            return timedelta(0)
        row = connection.execute(f"SELECT offset_seconds FROM {TABLE} WHERE id = 1").fetchone()  # noqa: S608
    return timedelta(seconds=float(row[0])) if row else timedelta(0)


def save_offset(database: Path, offset: timedelta) -> None:
    """Store ``offset`` (committed at once)."""
    with closing(sqlite3.connect(database, timeout=BUSY_SECONDS)) as connection, connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, offset_seconds REAL NOT NULL)")
        connection.execute(f"INSERT INTO {TABLE} (id, offset_seconds) VALUES (1, ?) "  # noqa: S608
                           "ON CONFLICT(id) DO UPDATE SET offset_seconds = excluded.offset_seconds",
                           (offset.total_seconds(),))


class SavedOffsetClock(OffsetClock):
    """An :class:`OffsetClock` whose offset is read from and written to a sandbox database."""

    def __init__(self, database: Path) -> None:
        super().__init__()
        self.database = database
        self.offset = load_offset(database)

    def reset(self) -> None:
        """Back to the machine's time (the page's "reset clock"): the sandbox's data may then lie in the future."""
        self.offset = timedelta(0)

    async def save(self) -> None:
        """Store the offset, off the event loop (the page calls it after moving the clock)."""
        await asyncio.to_thread(save_offset, self.database, self.offset)
