"""Rewriting a SQLite file so values replaced in place leave no trace (issue 19): SQLite keeps the old bytes of an
updated row in the page's free space and in the write-ahead log until they are reused, so after
``python -m bot keys encrypt-existing`` the file is rebuilt (``VACUUM``) and the log emptied (checkpoint with
truncate). PostgreSQL keeps old row versions until ``VACUUM``, too: its recipe is in the README."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from storage.backup import BUSY_SECONDS, sqlite_file


def compact_sqlite(database_url: str) -> bool:
    """``VACUUM`` the SQLite file of ``database_url`` and truncate its log; False for another database."""
    path = sqlite_file(database_url)
    if path is None:
        return False
    with closing(sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)) as connection:
        connection.execute("PRAGMA busy_timeout=60000")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return True
