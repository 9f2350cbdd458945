"""The unit of work: one transaction, its repositories, and what happens after it commits.

Usage (services receive the ``uow`` already entered)::

    async with uow_factory() as uow:
        ...                      # repositories add and read
        await uow.commit()       # nothing is kept unless this runs

Leaving the block without ``commit()`` rolls back. Callbacks registered with
:meth:`UnitOfWork.after_commit` run only once the commit has succeeded (e.g. waking the
outbox dispatcher).

On SQLite (one writer at a time) write units of work of this process queue on an asyncio lock
before ``BEGIN IMMEDIATE``: waiting in the event loop hands the database over at once, where
SQLite's own busy handler sleeps up to 100 ms between tries. Read-only units of work
(``uow_factory(readonly=True)``) take no lock and begin a deferred transaction; with
``snapshot=False`` (for a unit of work whose reads need not see one consistent state, such as the
gate's single lookup) SQLite runs each read on its own and there is no transaction to begin or end;
PostgreSQL runs them in autocommit (no BEGIN and ROLLBACK around them: two round trips fewer).

A unit of work that writes with **one statement** (``uow_factory(one_statement=True)``, the durable intake's
insert) needs no transaction around it on PostgreSQL either: the statement runs in autocommit, so the server
commits it (durably: ``synchronous_commit`` stays on) before it answers, one round trip instead of three,
and :meth:`UnitOfWork.commit` then only runs the after-commit callbacks. On SQLite it is an ordinary write
transaction (its BEGIN already travels with the statement).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import NO_SNAPSHOT_OPTION, READONLY_OPTION, SessionFactory
from storage.repositories import (
    AccountRepository,
    AuditRepository,
    InviteRepository,
    OrgUnitRepository,
    OutboxRepository,
    PersonRepository,
    ProcessedUpdateRepository,
    ReceivedUpdateRepository,
    StaffChatRepository,
)


class _Clock(Protocol):
    def now(self) -> datetime: ...


class _UTCClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


class UnitOfWork:
    """A transaction with its repositories; rolls back unless :meth:`commit` was called."""

    org_units: OrgUnitRepository
    people: PersonRepository
    accounts: AccountRepository
    invites: InviteRepository
    staff_chats: StaffChatRepository
    outbox: OutboxRepository
    audit: AuditRepository
    updates: ProcessedUpdateRepository
    received: ReceivedUpdateRepository

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        clock: _Clock | None = None,
        zone: ZoneInfo | None = None,
        on_outbox_commit: Callable[[], None] | None = None,
        handoff: Callable[[list[Any]], None] | None = None,
        readonly: bool = False,
        write_lock: asyncio.Lock | None = None,
        snapshot: bool = True,
        autocommit_reads: bool = False,
        one_statement: bool = False,
    ) -> None:
        self._session_factory = session_factory
        self.readonly = readonly
        self._snapshot = snapshot or not readonly
        # Autocommit where the server's own per-statement transaction is all that is needed (PostgreSQL only).
        self._autocommit = autocommit_reads and (not self._snapshot or (one_statement and not readonly))
        self._write_lock = None if readonly else write_lock
        self._holds_lock = False
        self.clock: _Clock = clock or _UTCClock()
        self.zone = zone or DEFAULT_ZONE
        self._on_outbox_commit = on_outbox_commit
        self._handoff = handoff
        self._handed: list[Any] = []
        self._session: AsyncSession | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.committed = False
        self.outbox_written = False

    def now(self) -> datetime:
        """The current time by this unit of work's clock (services never read the machine's clock)."""
        return self.clock.now()

    def today(self) -> date:
        """Today's date in the bureau's time zone (life-cycle dates and working days use it)."""
        return self.clock.now().astimezone(self.zone).date()

    @property
    def session(self) -> AsyncSession:
        """The session of the open transaction."""
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'async with' block")
        return self._session

    async def __aenter__(self) -> Self:
        if self._write_lock is not None:
            await self._write_lock.acquire()
            self._holds_lock = True
        try:
            session = self._session_factory()
            options: dict[str, Any] = {}
            if self.readonly:
                options = {READONLY_OPTION: True, NO_SNAPSHOT_OPTION: not self._snapshot}
            if self._autocommit:
                options["isolation_level"] = "AUTOCOMMIT"
            if options:
                await session.connection(execution_options=options)
        except BaseException:
            self._release()
            raise
        self._session = session
        self.committed = False
        self.outbox_written = False
        self._after_commit = []
        self._handed = []
        self.org_units = OrgUnitRepository(session)
        self.people = PersonRepository(session)
        self.accounts = AccountRepository(session)
        self.invites = InviteRepository(session)
        self.staff_chats = StaffChatRepository(session)
        self.outbox = OutboxRepository(session)
        self.audit = AuditRepository(session)
        self.updates = ProcessedUpdateRepository(session)
        self.received = ReceivedUpdateRepository(session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed and detaches the loaded objects without
        # expiring them, so values read inside the block stay readable after it.
        session = self.session
        self._session = None
        try:
            await session.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._holds_lock and self._write_lock is not None:
            self._holds_lock = False
            self._write_lock.release()

    async def commit(self) -> None:
        """Commit the transaction, then run the after-commit callbacks."""
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.session.commit()
        self.committed = True
        callbacks = list(self._after_commit)
        if self.outbox_written and self._on_outbox_commit is not None:
            callbacks.append(self._on_outbox_commit)
        self._after_commit = []
        handed, self._handed = self._handed, []
        for callback in callbacks:
            callback()
        if handed and self._handoff is not None:
            self._handoff(handed)

    async def rollback(self) -> None:
        """Discard everything done in this transaction so far, with what was to follow its commit."""
        await self.session.rollback()
        self._handed, self._after_commit, self.outbox_written = [], [], False

    @property
    def accepts_handoff(self) -> bool:
        """Whether rows written here may go straight to the running dispatcher after commit (see
        :meth:`hand_off`) instead of waiting for it to claim them."""
        return self._handoff is not None and not self.readonly

    def hand_off(self, item: Any) -> None:
        """Give ``item`` (a leased outbox row, ready to send) to the dispatcher once this transaction has
        committed; a rollback drops it with the row."""
        self._handed.append(item)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)


class UnitOfWorkFactory:
    """Makes a fresh :class:`UnitOfWork` per use; the one object services are wired with."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        clock: _Clock | None = None,
        zone: ZoneInfo | None = None,
        serialize_writes: bool | None = None,
    ) -> None:
        self.session_factory = session_factory
        bind = session_factory.kw.get("bind")
        on_sqlite = bind is not None and bind.dialect.name == "sqlite"
        if serialize_writes is None:
            serialize_writes = on_sqlite
        # SQLite's own begin hook already runs lone reads without a transaction (storage/db.py).
        self._autocommit_reads = bind is not None and not on_sqlite
        self._write_lock = asyncio.Lock() if serialize_writes else None
        self.clock: _Clock = clock or _UTCClock()
        self.zone = zone or DEFAULT_ZONE
        self._outbox_listeners: list[Callable[[], None]] = []
        self._handoff_listener: Callable[[list[Any]], None] | None = None

    def accept_handoffs(self, listener: Callable[[list[Any]], None] | None) -> None:
        """Route rows that units of work hand off (:meth:`UnitOfWork.hand_off`) to ``listener`` (the running
        dispatcher); ``None`` stops it (rows are then claimed as usual)."""
        self._handoff_listener = listener

    def on_outbox_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit that wrote to the outbox."""
        self._outbox_listeners.append(listener)

    def _notify_outbox(self) -> None:
        for listener in self._outbox_listeners:
            listener()

    def __call__(self, *, readonly: bool = False, snapshot: bool = True, one_statement: bool = False) -> UnitOfWork:
        """A unit of work; ``readonly`` ones take no write lock, and with ``snapshot=False`` their
        reads each stand alone (SQLite: no transaction around them). ``one_statement``: it writes with a single
        statement, which PostgreSQL commits as it runs (see the module's docstring)."""
        return UnitOfWork(
            self.session_factory, clock=self.clock, zone=self.zone, on_outbox_commit=self._notify_outbox,
            handoff=self._handoff_listener, readonly=readonly, write_lock=self._write_lock, snapshot=snapshot,
            autocommit_reads=self._autocommit_reads, one_statement=one_statement,
        )
