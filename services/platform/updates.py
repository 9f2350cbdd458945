"""Processed update ids: a redelivered update (same id) is handled once.

Telegram redelivers an update when it did not get a webhook answer, usually within seconds.
:class:`DeliveryLedger` answers "seen before?" from memory for recent ids and from the database
for older ones, and writes new ids to the database in small batches off the critical path
(a crash loses at most the last fraction of a second of ids, and those updates were in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from datetime import timedelta

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import ProcessedUpdate
from storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=2)  # Telegram keeps undelivered updates at most 24 hours
RECENT = 10_000
FLUSH_EVERY = 0.2  # seconds


class DeliveryLedger:
    """Which update ids were already taken in, in memory and (in batches) in the database."""

    def __init__(self, uow_factory: UnitOfWorkFactory, *, channel: str, recent: int = RECENT) -> None:
        self.uow_factory = uow_factory
        self.channel = channel
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._capacity = recent
        self._pending: list[int] = []
        self._stored_highest: int | None = None  # the highest id in the database when first asked
        self._loaded = False
        self._evicted_highest: int | None = None  # the highest id ever dropped from ``_recent``
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def first_delivery(self, uow: UnitOfWork, update_id: int) -> bool:
        """Take an update id in; False when it was seen before (a duplicate delivery).

        Every id taken in since start stays in memory until it is dropped from the recent set, so an id
        above both the database's highest id at start and the highest id ever dropped is new unless it
        is in the recent set; only an id at or below that floor (a redelivery after a restart, or a very
        late one) is looked up in the database. Ids that overtake each other (updates of different
        chats run concurrently) are therefore answered from memory.
        """
        if update_id in self._recent:
            return False
        self._remember(update_id)  # before any await: a concurrent duplicate sees it at once
        if not self._loaded:
            self._stored_highest = await uow.updates.highest(self.channel)
            self._loaded = True
        floor = max(self._stored_highest or -1, self._evicted_highest or -1)
        if update_id <= floor and await uow.updates.exists(self.channel, update_id):
            return False
        self._pending.append(update_id)
        return True

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        while len(self._recent) > self._capacity:
            evicted, _ = self._recent.popitem(last=False)
            if self._evicted_highest is None or evicted > self._evicted_highest:
                self._evicted_highest = evicted

    def start(self) -> None:
        """Begin writing taken-in ids to the database in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._flush_loop(), name="update-ledger")

    async def stop(self) -> None:
        """Write what is left and stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    async def _flush_loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:
                logger.exception("could not record processed update ids; will retry")

    async def flush(self) -> int:
        """Write the ids taken in since the last flush (duplicates are ignored)."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        try:
            async with self.uow_factory() as uow:
                now = uow.now()
                rows = [{"channel": self.channel, "update_id": i, "processed_at": now} for i in batch]
                statement = _insert_ignoring_duplicates(uow.session.get_bind().dialect.name)
                await uow.session.exec(statement, params=rows)  # one executemany; the statement is compiled once
                await uow.commit()
        except BaseException:
            self._pending = batch + self._pending
            raise
        return len(batch)


@functools.cache
def _insert_ignoring_duplicates(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing()


async def prune(uow: UnitOfWork) -> int:
    """Forget update ids older than ``KEEP_FOR``."""
    removed = await uow.updates.prune(uow.now() - KEEP_FOR)
    await uow.commit()
    return removed
