"""The audit sequencer (issue 21): links the audit entries that transactions wrote pending into the hash chain,
after they commit, so appends never queue on the chain head (``services.platform.audit``).

One per process, started with the active role's work (on PostgreSQL only the active process runs it; two would
still be correct, the head row's lock orders them). A commit that recorded entries wakes it; it then links every
committed pending entry, a batch per short transaction. It also polls, for entries written by other processes
(CLI commands) and left by a process that stopped between a commit and the linking: nothing is lost, only linked
later. At start it links whatever a previous run left, and at stop what the last transactions committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from services.platform import audit
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)


class AuditSequencer:
    """Links pending audit entries into the chain after commits (and every ``poll_seconds``)."""

    def __init__(self, uow: UnitOfWorkFactory, *, poll_seconds: float = 5.0, batch: int = 500,
                 gather_seconds: float = 0.01, spacing: float = 0.0) -> None:
        self.uow, self.poll_seconds, self.batch = uow, poll_seconds, batch
        self.gather_seconds = gather_seconds  # after a wake, let more commits land so one transaction links them
        # The least time between two links after wakes: under load one transaction links what many commits left
        # (on SQLite every write transaction holds the others back; issue 21).
        self.spacing = spacing
        self._wakeup = asyncio.Event()
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self.linked = 0

    def wake(self) -> None:
        """Link now (called after a commit that recorded audit entries)."""
        self._wakeup.set()

    async def start(self) -> None:
        """Link what a previous run left, then keep linking after every commit that records entries."""
        if self._running:
            return
        try:
            await self.run_once()
        except Exception:  # the loop tries again: a start does not fail over entries that can be linked later
            logger.exception("linking the audit entries a previous run left failed; will retry")
        self._running = True
        audit.add_waker(self.wake)
        self._task = asyncio.create_task(self._loop(), name="audit-sequencer")

    async def stop(self) -> None:
        """Stop waiting for commits, then link what they left."""
        if not self._running:
            return
        self._running = False
        audit.remove_waker(self.wake)
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.run_once()

    async def run_once(self) -> int:
        """Link every committed pending entry now; returns how many."""
        linked = await audit.chain_all(self.uow, batch=self.batch)
        self.linked += linked
        return linked

    async def _loop(self) -> None:
        last = -math.inf
        while self._running:
            woken = False
            with contextlib.suppress(TimeoutError):
                woken = await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)
            if woken and self._running:
                now = asyncio.get_running_loop().time()
                await asyncio.sleep(max(self.gather_seconds, last + self.spacing - now))
                last = asyncio.get_running_loop().time()
            self._wakeup.clear()
            try:
                if woken or await self._has_pending():  # a poll looks first, without taking the write lock
                    await self.run_once()
            except Exception:  # the database is away for a moment: try again at the next wake or poll
                logger.exception("linking audit entries into the chain failed; will retry")

    async def _has_pending(self) -> bool:
        async with self.uow(readonly=True) as uow:
            return await audit.has_pending(uow)
