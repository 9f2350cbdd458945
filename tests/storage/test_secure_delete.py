"""Issue 19 (002 §11, 003 三(四): reporters' information kept confidential): on SQLite a deleted row does not stay
readable in the file's free space (``PRAGMA secure_delete=FAST`` on every connection, storage/db.py), so what
retention shreds or a sealed message drops is gone from the file once the log is checkpointed, not only after a
VACUUM."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine


async def test_a_deleted_row_is_not_left_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    secret = "陈监督的举报线索"
    try:
        async with engine.begin() as connection:
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 2  # FAST
            await connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
            for n in range(100):
                await connection.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": f"filler {n} " + "x" * 40})
            await connection.execute(text("INSERT INTO note (id, body) VALUES (1000, :b)"), {"b": secret})
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM note WHERE id = 1000"))
    finally:
        await engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as connection:  # fold the log into the file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = path.read_bytes() + (path.with_name("d.db-wal").read_bytes() if path.with_name("d.db-wal").exists() else b"")
    assert secret.encode() not in raw and b"filler 50" in raw
