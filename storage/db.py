"""The async engine and session factory, built on demand from a database URL.

SQLite (the embedded default) gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE``
transactions, so writers queue up instead of failing with "database is locked" when a read
transaction later wants to write. PostgreSQL (asyncpg) is used as is.

On PostgreSQL (asyncpg) a pooled connection is tested before use only when it has sat unused for
``PING_IDLE_AFTER`` seconds (:func:`_ping_idle_connections`): SQLAlchemy's ``pool_pre_ping`` costs three
round trips on every checkout (BEGIN, an empty query, ROLLBACK), about as many as the work of a button
press itself; a connection returned to the pool a moment ago was working a moment ago. A server that
restarted within that moment fails the statement in hand, and SQLAlchemy then drops every pooled
connection, as it would have failed a statement in flight anyway.

On SQLite the driver is aiosqlite, which runs every call on one worker thread per connection.
Its cursors take four trips to that thread per statement (open, execute, fetch, close), and each
trip costs the event loop a wake-up: :class:`OneTripConnection` runs a statement and fetches its
rows in one trip, and skips the trip for a COMMIT or ROLLBACK when no transaction is open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]
READONLY_OPTION = "fundwatch_readonly"  # a unit of work that only reads: deferred BEGIN
NO_SNAPSHOT_OPTION = "fundwatch_no_snapshot"  # a read-only unit of work whose reads each stand alone: no BEGIN
SQLITE_TIMEOUT = 30  # seconds sqlite3 waits for another process's write lock
CONNECT_TIMEOUT = 10.0  # seconds a start-up probe waits for the database to answer
PING_IDLE_AFTER = 1.0  # seconds a pooled PostgreSQL connection may rest before it is tested on checkout
# PostgreSQL connections kept open, and opened beyond them under load (closed again when returned). Up to 64
# updates run at once, plus the webhook's intake, the dispatcher and the sequencer; an overflow connection costs
# a server process and the driver's set-up, and was opened and closed every ten presses at 50 pressing at once
# (10 kept, 10 more allowed). Twenty kept are more than two CPUs' worth of busy backends: beyond them a unit of work
# waits for a connection (cheap) rather than opening one, with a little slack for bursts. Two processes (active and
# standby) stay well within PostgreSQL's default max_connections of 100.
POOL_SIZE, POOL_OVERFLOW = 20, 5


def is_sqlite(url: str) -> bool:
    """Whether the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_folder(url: str) -> Path | None:
    """The folder that holds the SQLite file of ``url`` (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not _plain_file(parsed.database):
        return None
    return Path(parsed.database or "").expanduser().parent


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder that will hold a SQLite file, if the URL names one.

    Nothing here calls it implicitly: only a caller that owns the folder (the bot's default data folder,
    the sandbox's) creates it; a folder someone named must already exist (:func:`probe` says so).
    """
    folder = sqlite_folder(url)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)


class DatabaseUnavailable(Exception):
    """The database cannot be used at all; the message is one line naming the cause.

    Unreachable (host:port), missing (its name), the login refused, the SQLite file's folder missing or
    the file unopenable.
    """


async def probe(url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect to ``url`` once and run ``SELECT 1``; raise :class:`DatabaseUnavailable` naming why not."""
    parsed = make_url(url)
    folder = sqlite_folder(url)
    if folder is not None and not folder.is_dir():
        raise DatabaseUnavailable(f"missing folder for the SQLite file: {folder.absolute()} does not exist")
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        async with asyncio.timeout(connect_timeout + 1):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        raise DatabaseUnavailable(_unavailable(parsed, error)) from error
    finally:
        await engine.dispose()


def _unavailable(url: URL, error: BaseException) -> str:
    """One line for a failed connection: the first cause in the chain that names a known condition."""
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if url.get_backend_name() == "sqlite":
        return f"cannot open the SQLite file {url.database}: {_root(error)}"
    for cause in _chain(error):
        name = type(cause).__name__
        if name == "InvalidCatalogNameError":
            return f"database missing: {url.database} does not exist on {where}"
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return f"database refused the login of {url.username or '(default user)'} on {where}: {cause}"
        if isinstance(cause, TimeoutError):
            return f"database unreachable ({where}): no answer within the connect timeout"
        if isinstance(cause, OSError):
            return f"database unreachable ({where}): {cause.strerror or cause}"
    return f"database error on {where}: {_root(error)}"


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it (SQLAlchemy's ``orig``, then ``__cause__``/``__context__``)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return seen


def _root(error: BaseException) -> str:
    last = _chain(error)[-1]
    text = " ".join(str(last).split())
    return text or type(last).__name__


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``)."""
    if is_sqlite(url):
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
    engine = create_async_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    _ping_idle_connections(engine, idle_after=PING_IDLE_AFTER)
    return engine


_RESTED_SINCE = "fundwatch_rested_since"


def _ping_idle_connections(engine: AsyncEngine, *, idle_after: float) -> None:
    """Test a pooled connection on checkout only when it has rested over ``idle_after`` seconds.

    A connection that fails the test is replaced (the pool retries with a new one), as with
    ``pool_pre_ping``; one used within ``idle_after`` seconds goes out untested.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RESTED_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RESTED_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get(_RESTED_SINCE)
        if rested_since is not None and time.monotonic() - rested_since <= idle_after:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection failed its test: {error}") from error
        record.info[_RESTED_SINCE] = time.monotonic()


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
        # Deleted rows are zeroed in the pages the delete writes anyway (no extra I/O): a shredded evidence record, a
        # purged reporter link or a sealed message is not left readable in the file's free space (issue 19).
        cursor.execute("PRAGMA secure_delete=FAST")
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
