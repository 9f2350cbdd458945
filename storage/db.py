"""The async engine and session factory, built on demand from a database URL.

SQLite (the embedded default) gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE``
transactions, so writers queue up instead of failing with "database is locked" when a read
transaction later wants to write. PostgreSQL (asyncpg) is used as is.

On SQLite the driver is aiosqlite, which runs every call on one worker thread per connection.
Its cursors take four trips to that thread per statement (open, execute, fetch, close), and each
trip costs the event loop a wake-up: :class:`OneTripConnection` runs a statement and fetches its
rows in one trip, and skips the trip for a COMMIT or ROLLBACK when no transaction is open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]
READONLY_OPTION = "fundwatch_readonly"  # a unit of work that only reads: deferred BEGIN
NO_SNAPSHOT_OPTION = "fundwatch_no_snapshot"  # a read-only unit of work whose reads each stand alone: no BEGIN
SQLITE_TIMEOUT = 30  # seconds sqlite3 waits for another process's write lock


def is_sqlite(url: str) -> bool:
    """Whether the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory that will hold a SQLite file, if the URL names one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``)."""
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        parsed = make_url(url)
        plain_file = _plain_file(parsed.database) and not parsed.query
        if parsed.get_driver_name() == "aiosqlite" and plain_file and _one_trip_supported():
            database = str(Path(parsed.database or "").expanduser())
            engine = create_async_engine(
                url, echo=echo, async_creator=lambda: OneTripConnection.open(database, timeout=SQLITE_TIMEOUT)
            )
        else:
            engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_TIMEOUT})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _plain_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not (database or "").startswith("file:")


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        readonly = options.get(READONLY_OPTION, False)
        if readonly and options.get(NO_SNAPSHOT_OPTION, False):
            return  # each SELECT runs in its own implicit transaction: nothing to begin or end
        statement = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        driver = conn.connection.driver_connection
        if isinstance(driver, OneTripConnection):
            driver.begin_with_next_statement(statement)
        else:
            conn.exec_driver_sql(statement)


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


# ---- SQLite: one trip to the driver's thread per statement ------------------------------------


def _one_trip_supported() -> bool:
    """Whether this aiosqlite has the worker-thread hook :class:`OneTripConnection` builds on."""
    return callable(getattr(aiosqlite.Connection, "_execute", None))


_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, begin: str | None, sql: str, parameters: Any) -> _Outcome:
    """On the worker thread: begin the transaction if asked, execute, fetch every row, close the cursor."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        cursor.execute(sql, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, begin: str | None, sql: str, parameters: Iterable[Any]) -> _Outcome:
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        cursor.executemany(sql, parameters)
        return cursor.description, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """A cursor whose statement runs, and whose rows are fetched, in one trip to the worker thread.

    It has the coroutine interface of ``aiosqlite.Cursor`` that SQLAlchemy's aiosqlite dialect uses.
    """

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._rows = []

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        """Run one statement and keep its rows."""
        connection = self._connection
        outcome = await connection.on_thread(_run, connection._conn, connection.take_begin(), sql, parameters)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        """Run one statement for each set of parameters."""
        connection = self._connection
        outcome = await connection.on_thread(_run_many, connection._conn, connection.take_begin(), sql, parameters)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to ``size`` rows (``arraysize`` by default)."""
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> Sequence[Any]:
        """Every remaining row."""
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        """Drop the rows (the sqlite3 cursor is already closed)."""
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """``aiosqlite.Connection`` with :class:`OneTripCursor` cursors.

    ``BEGIN`` travels with the transaction's first statement (:meth:`begin_with_next_statement`),
    so the write lock of a ``BEGIN IMMEDIATE`` is taken then, and a transaction that runs no
    statement never begins. COMMIT and ROLLBACK outside a transaction are no-ops in ``sqlite3``
    itself; they are skipped here before the trip (SQLAlchemy rolls back on every release to the pool),
    unless a statement is still queued or running (a cancelled caller's), which may yet open one.
    """

    _pending_begin: str | None = None
    # Trips queued by the event loop / finished by the worker thread (each counter has one writer):
    # while they differ, a statement may still open a transaction, so COMMIT/ROLLBACK are not skipped.
    _queued = 0
    _finished = 0

    def begin_with_next_statement(self, statement: str) -> None:
        """Run ``statement`` (BEGIN ...) just before the next statement, in the same trip."""
        self._pending_begin = statement

    def take_begin(self) -> str | None:
        """The BEGIN waiting for the next statement, if any (it is then no longer waiting)."""
        begin, self._pending_begin = self._pending_begin, None
        return begin

    @classmethod
    def open(cls, database: str, **kwargs: Any) -> OneTripConnection:
        """A connection to the SQLite file ``database`` (await it to connect), like ``aiosqlite.connect``."""
        kwargs.setdefault("check_same_thread", False)

        def connector() -> sqlite3.Connection:
            connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
            return connection

        connection = cls(connector, 64)
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True  # as aiosqlite.connect does under SQLAlchemy: never keeps the process alive
        return connection

    async def on_thread(self, function: Callable[..., _Outcome], *args: Any) -> _Outcome:
        """Run ``function(*args)`` on the connection's worker thread (one trip)."""
        execute: Callable[..., Awaitable[_Outcome]] = self._execute
        self._queued += 1
        return await execute(self._counted, function, *args)

    def _counted(self, function: Callable[..., _Outcome], *args: Any) -> _Outcome:
        try:
            return function(*args)
        finally:
            self._finished += 1

    def _idle_outside_transaction(self) -> bool:
        """No transaction open and none about to be (no statement queued or running)."""
        connection = self._connection
        return connection is not None and self._queued == self._finished and not connection.in_transaction

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """A cursor; no trip to the worker thread until it executes."""
        return OneTripCursor(self)

    async def commit(self) -> None:
        """Commit, if a transaction is open."""
        self._pending_begin = None
        if self._idle_outside_transaction():
            return
        await super().commit()

    async def rollback(self) -> None:
        """Roll back, if a transaction is open."""
        self._pending_begin = None
        if self._idle_outside_transaction():
            return
        await super().rollback()
