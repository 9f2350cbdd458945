"""An active process and a standby on one PostgreSQL database (issue 19, "a standby that takes over").

Two ``python -m bot run`` processes may share a PostgreSQL database. The *active* one holds a session-level
advisory lock (``pg_try_advisory_lock``) on a connection of its own and runs what must run once: the outbox
dispatcher, the scheduler, polling and the processing of updates. The other is a *standby*: it serves
``/healthz``, ``/metrics`` and the webhook (the durable intake records every update it receives; the active
process feeds those rows to its handlers, :mod:`bot.feeder`) and tries the lock every ``STANDBY_RETRY_SECONDS``.

PostgreSQL frees a session's advisory locks when the session ends: a process killed with SIGKILL closes its
socket, the server ends the session at once and the standby's next try takes the lock. A machine that vanishes
is noticed by the server's TCP keepalives on the lock's connection (set per session here), which end its
session after about ``KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT`` seconds.

The keeper of the active process checks every ``STANDBY_CHECK_SECONDS`` that its session still holds the lock
(``pg_locks``), each check bounded by the same time. A check that fails or does not answer makes it step down
(stop the active work, close the lock's connection) and go back to trying: a process that cannot prove it
holds the lock does not act as active, so two never run at once; it steps down well before the server's
keepalives could free the lock for another.

SQLite has no second process: no keeper, the process is always active.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

# The lock: pg_try_advisory_lock(int4, int4); pg_locks shows it as classid, objid with objsubid 2.
LOCK_CLASS = 0x66756E64  # "fund"
LOCK_OBJECT = 1
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3  # seconds, seconds, probes (the lock's session)
_TRY = text("SELECT pg_try_advisory_lock(:class_id, :object_id)")
_HOLDS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    " AND classid = :class_id AND objid = :object_id AND objsubid = 2)"
)
_PARAMS = {"class_id": LOCK_CLASS, "object_id": LOCK_OBJECT}


class Role(StrEnum):
    """What a process does right now."""

    ACTIVE = "active"
    STANDBY = "standby"


class AdvisoryLock:
    """The active role's lock: a session-level advisory lock on a dedicated PostgreSQL connection."""

    def __init__(self, database_url: str, *, timeout: float) -> None:
        self.timeout = timeout
        self._engine: AsyncEngine = create_async_engine(
            database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={"timeout": timeout, "server_settings": {
                "application_name": "fundwatch-active-lock",
                "tcp_keepalives_idle": str(KEEPALIVE_IDLE),
                "tcp_keepalives_interval": str(KEEPALIVE_INTERVAL),
                "tcp_keepalives_count": str(KEEPALIVE_COUNT),
            }},
        )
        self._connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another session holds it. Raises when the database fails."""
        if self._connection is None:
            self._connection = await asyncio.wait_for(self._engine.connect(), self.timeout)
        try:
            taken = await asyncio.wait_for(self._scalar(_TRY), self.timeout)
        except BaseException:
            await self.release()
            raise
        if not taken:
            await self.release()  # no idle session kept open while waiting
        return bool(taken)

    async def holds(self) -> bool:
        """Whether this session still holds the lock (False when the connection failed or did not answer)."""
        if self._connection is None:
            return False
        try:
            return bool(await asyncio.wait_for(self._scalar(_HOLDS), self.timeout))
        except Exception as error:  # any failure: the lock cannot be proven
            logger.warning("the active role's lock connection failed (%s: %s)", type(error).__name__, error)
            return False

    async def release(self) -> None:
        """Close the lock's connection (the server frees the lock with the session)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self.timeout)
            if not connection.closed:
                with contextlib.suppress(Exception):
                    await connection.invalidate()

    async def dispose(self) -> None:
        """Release the lock and the engine."""
        await self.release()
        await self._engine.dispose()

    async def _scalar(self, statement: Any) -> Any:
        assert self._connection is not None
        return (await self._connection.execute(statement, _PARAMS)).scalar()


class Keeper:
    """Takes the active role when the lock is free and keeps it while the lock is proven held.

    ``activate`` starts the active work and ``step_down`` stops it; both are awaited inside the keeper's
    task, one at a time, so the role and the work never disagree for longer than a step takes.
    """

    def __init__(
        self,
        lock: AdvisoryLock,
        *,
        activate: Callable[[], Awaitable[None]],
        step_down: Callable[[], Awaitable[None]],
        retry_every: float,
        check_every: float,
        on_role: Callable[[Role], None] = lambda role: None,
    ) -> None:
        self.lock = lock
        self._activate, self._step_down, self._on_role = activate, step_down, on_role
        self.retry_every, self.check_every = retry_every, check_every
        self.role = Role.STANDBY
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def first_try(self) -> Role:
        """Try the lock once (at start, before ``/healthz`` says anything) and start the active work if taken."""
        await self._try_once()
        self._set(self.role)
        if self.role is Role.STANDBY:
            logger.warning("standby: another process holds the active role; trying every %g s", self.retry_every)
        return self.role

    def start(self) -> None:
        """Keep trying (standby) or checking (active) in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="active-role-keeper")

    async def stop(self) -> None:
        """Stop the keeper's task (the caller stops the active work); the lock is kept until :meth:`release`."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def release(self) -> None:
        """Free the lock for a standby (after the active work has stopped) and close its engine."""
        await self.lock.dispose()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            wait = self.check_every if self.role is Role.ACTIVE else self.retry_every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            if self._stopping.is_set():
                return
            if self.role is Role.ACTIVE:
                await self._check()
            else:
                await self._try_once()

    async def _try_once(self) -> None:
        try:
            taken = await self.lock.try_acquire()
        except Exception as error:  # the database is away: stay standby
            logger.warning("could not try the active role's lock (%s: %s); trying again", type(error).__name__, error)
            return
        if not taken:
            return
        logger.warning("active: took the active role's lock; starting the dispatcher, the scheduler and updates")
        try:
            await self._activate()
        except Exception:
            logger.exception("could not start the active work; stepping down")
            await self._stand_down()
            return
        self._set(Role.ACTIVE)  # /healthz says active once the work runs

    async def _check(self) -> None:
        if await self.lock.holds():
            return
        logger.error("the active role's lock can no longer be proven held: stepping down to standby")
        await self._stand_down()

    async def _stand_down(self) -> None:
        try:
            await self._step_down()
        finally:
            await self.lock.release()
            self._set(Role.STANDBY)

    def _set(self, role: Role) -> None:
        self.role = role
        self._on_role(role)
