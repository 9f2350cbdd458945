"""Durable intake: an update is in the database before Telegram is told it arrived.

Telegram forgets an update once the webhook answered 200, or once a later ``getUpdates`` passed an
offset above it; PTB's update queue is only in memory. So:

- the webhook records the update's JSON (a ``received_update`` row) before it answers 200: the
  requests that arrive together share one transaction (:class:`IntakeBatcher`, a group commit), and
  each is answered only once that transaction has committed;
- polling records each ``getUpdates`` batch with one insert before PTB's updater sees it, so the
  offset only moves past recorded updates (:func:`record_batch`, called by ``bot.tolerant``);
- when PTB has run an update through its handlers (whatever their outcome), the delivery ledger
  (:mod:`services.platform.updates`) records its id as processed and deletes its row, in one transaction;
- at start, the rows left (acknowledged, never processed) are fed again in update id order before
  anything new (:func:`waiting`).

Exactly once: a row leaves only with its processed id, so every acknowledged update is fed until it
has been processed; one fed twice (a replay, a redelivery of an update being processed) is stopped
by the gate, which asks the ledger. The one window left is a crash in the fraction of a second
between an update's handlers finishing and the ledger writing its id: that update is handled again
after the restart (at least once, never lost).

An ``update_id`` that is not an integer in [0, 2^63) cannot be stored (the column is a signed
64-bit integer) and no Telegram update has one: it is refused here, logged once, and never reaches
the ledger (:func:`is_storable_update_id`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TypeGuard

from storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

UPDATE_ID_LIMIT = 1 << 63  # update_id is stored as a signed 64-bit integer
MAX_BODY_BYTES = 1 << 20  # a Telegram update is a few kilobytes; the webhook refuses bodies above this
PAGE = 500


def is_storable_update_id(value: object) -> TypeGuard[int]:
    """Whether ``value`` can be an update's id: an integer (not a bool) in [0, 2^63)."""
    return type(value) is int and 0 <= value < UPDATE_ID_LIMIT


async def record(uow_factory: UnitOfWorkFactory, *, channel: str, updates: Sequence[tuple[int, str]]) -> None:
    """Record ``(update_id, JSON)`` pairs with one statement, committed when this returns; an id already
    recorded is kept as it was."""
    if not updates:
        return
    async with uow_factory(one_statement=True) as uow:
        await uow.received.receive(channel, updates, uow.now())
        await uow.commit()


class IntakeBatcher:
    """Records webhook updates with a group commit: one statement for the requests that arrive together.

    :meth:`record` returns only once its row is committed (never before: the 200 it allows is a promise),
    and raises if the row could not be recorded. A request that finds no write under way writes at once,
    in its own task (no extra hop through the event loop for a lone update); those that arrive while a write
    is under way wait, and are written together by one writer task as soon as it ends, so a busy webhook
    writes once per database round, not once per update. A batch that fails is tried again row by row, so
    one row the database refuses fails only its own request.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, *, channel: str) -> None:
        self.uow_factory = uow_factory
        self.channel = channel
        self._waiting: list[tuple[int, str, asyncio.Future[None]]] = []
        self._writing = False
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # statements written (row-by-row retries included), for tests and benchmarks

    async def record(self, update_id: int, body: str) -> None:
        """Record one update; returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((update_id, body, done))
        if not self._writing:
            self._writing = True
            try:
                batch, self._waiting = self._waiting, []
                await self._write(batch)
            finally:
                self._hand_on()
        await done

    async def drain(self) -> None:
        """Wait until every update handed in so far has been written (or failed)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    def _hand_on(self) -> None:
        """After a write: the requests that arrived meanwhile go to the writer task, or nobody writes."""
        if self._waiting:
            self._writer = asyncio.create_task(self._write_while_waiting(), name="intake-writer")
        else:
            self._writing = False

    async def _write_while_waiting(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # one tick: the requests already in the loop's queue join this batch
                batch, self._waiting = self._waiting, []
                await self._write(batch)
        finally:
            self._writer, self._writing = None, False
            orphans, self._waiting = self._waiting, []  # only when cancelled: the loop ends with none waiting
            _settle(orphans, RuntimeError("the intake stopped before these updates were recorded"))

    async def _write(self, batch: list[tuple[int, str, asyncio.Future[None]]]) -> None:
        try:
            self.writes += 1
            await record(self.uow_factory, channel=self.channel, updates=[(i, body) for i, body, _ in batch])
        except asyncio.CancelledError:
            _settle(batch, RuntimeError("the intake stopped while recording these updates"))
            raise
        except Exception as error:
            if len(batch) == 1:
                _settle(batch, error)
                return
            logger.warning("a batch of %s updates could not be recorded (%s); trying each alone", len(batch), error)
            await asyncio.gather(*(self._write([item]) for item in batch))
            return
        _settle(batch, None)


def _settle(batch: Sequence[tuple[int, str, asyncio.Future[None]]], error: BaseException | None) -> None:
    """Tell each waiting request its row's outcome (a request that gave up waiting is skipped)."""
    for _, _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


async def record_batch(uow_factory: UnitOfWorkFactory, *, channel: str, items: Sequence[object]) -> int:
    """Record a ``getUpdates`` batch (decoded JSON) with one insert; returns how many were recorded.

    An item without a storable ``update_id`` is logged and left out (nothing could ever process it).
    """
    rows: list[tuple[int, str]] = []
    for item in items:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not is_storable_update_id(update_id):
            logger.error("fetched update with update_id %.40r refused: not an integer in [0, 2^63)", update_id)
            continue
        try:
            rows.append((update_id, json.dumps(item, separators=(",", ":"))))
        except (ValueError, TypeError, RecursionError):
            logger.error("fetched update %s cannot be stored as JSON; refused", update_id)
    await record(uow_factory, channel=channel, updates=rows)
    return len(rows)


async def waiting(uow_factory: UnitOfWorkFactory, *, channel: str, page: int = PAGE) -> AsyncIterator[tuple[int, str]]:
    """Every recorded update not yet processed, as ``(update_id, JSON)``, in update id order."""
    after: int | None = None
    while True:
        async with uow_factory(readonly=True) as uow:
            rows = await uow.received.waiting(channel, after=after, limit=page)
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = rows[-1][0]


async def prune(uow: UnitOfWork) -> int:
    """Delete recorded updates whose id is among the processed ones (the ledger normally deletes them
    itself as it records them; this catches any left behind)."""
    removed = await uow.received.forget_processed()
    await uow.commit()
    return removed
