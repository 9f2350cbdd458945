"""Processed update ids: a redelivered update (same id) is handled once.

Telegram redelivers an update when it did not get a webhook answer, usually within seconds, and the
durable intake (:mod:`services.platform.intake`) feeds again, at start, every update it recorded that was not
processed. :class:`DeliveryLedger` answers "seen before?" from memory for recent ids and from the
database for older ones. An id is written to the database once its update has been processed
(:meth:`DeliveryLedger.processed`), in small batches off the critical path, in the transaction that
deletes the update's intake row: a crash before that leaves the row, and the update is fed again.

Only ids an update can have (integers in [0, 2^63)) are taken: anything else is refused with one log
line, so one bad id can never make a batch fail again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from datetime import timedelta

from sqlalchemy import Insert

from services.platform.intake import is_storable_update_id
from storage.models import ProcessedUpdate
from storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=2)  # Telegram keeps undelivered updates at most 24 hours
RECENT = 10_000
FLUSH_EVERY = 0.2  # seconds
RETRY_AT_MOST_EVERY = 5.0  # seconds between tries while the database refuses a batch


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
        """Take an update id in; False when it was seen before (a duplicate delivery) or cannot be an
        update's id. The id is written once the update has been processed (:meth:`processed`).

        Every id taken in since start stays in memory until it is dropped from the recent set, so an id
        above both the database's highest id at start and the highest id ever dropped is new unless it
        is in the recent set; only an id at or below that floor (a redelivery after a restart, or a very
        late one) is looked up in the database. Ids that overtake each other (updates of different
        chats run concurrently) are therefore answered from memory.
        """
        if not is_storable_update_id(update_id):
            logger.error("update id %.40r refused: not an integer in [0, 2^63)", update_id)
            return False
        if update_id in self._recent:
            return False
        self._remember(update_id)  # before any await: a concurrent duplicate sees it at once
        if not self._loaded:
            self._stored_highest = await uow.updates.highest(self.channel)
            self._loaded = True
        floor = max(self._stored_highest or -1, self._evicted_highest or -1)
        return not (update_id <= floor and await uow.updates.exists(self.channel, update_id))

    def processed(self, update_id: int) -> None:
        """Record (in the next batch) that the update ``update_id`` has been processed, whatever the outcome;
        its intake row goes in the same transaction."""
        if is_storable_update_id(update_id):  # any other was refused, and logged, before it got this far
            self._pending.append(update_id)

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        while len(self._recent) > self._capacity:
            evicted, _ = self._recent.popitem(last=False)
            if self._evicted_highest is None or evicted > self._evicted_highest:
                self._evicted_highest = evicted

    def start(self) -> None:
        """Begin writing processed ids to the database in the background."""
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
        wait = FLUSH_EVERY
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            try:
                await self.flush()
            except Exception:
                wait = min(wait * 2, RETRY_AT_MOST_EVERY)
                logger.exception("could not record processed update ids; will retry in %.1f s", wait)
            else:
                wait = FLUSH_EVERY

    async def flush(self) -> int:
        """Write the ids processed since the last flush (duplicates are ignored) and delete their intake rows."""
        if not self._pending:
            return 0
        batch, self._pending = [i for i in self._pending if is_storable_update_id(i)], []
        if not batch:
            return 0
        try:
            async with self.uow_factory() as uow:
                now = uow.now()
                rows = [{"channel": self.channel, "update_id": i, "processed_at": now} for i in batch]
                statement = _insert_ignoring_duplicates(uow.session.get_bind().dialect.name)
                await uow.session.exec(statement, params=rows)  # one executemany; the statement is compiled once
                await uow.received.forget(self.channel, batch)
                await uow.commit()
        except BaseException:
            self._pending = batch + self._pending
            raise
        return len(batch)


@functools.cache
def _insert_ignoring_duplicates(dialect: str) -> Insert:
    from sqlalchemy.dialects import postgresql, sqlite  # the PostgreSQL dialect loads on PostgreSQL only

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing()


async def prune(uow: UnitOfWork) -> int:
    """Forget update ids older than ``KEEP_FOR``."""
    removed = await uow.updates.prune(uow.now() - KEEP_FOR)
    await uow.commit()
    return removed
