"""Feeding recorded updates to the handlers when two processes share the database (:mod:`bot.standby`).

Either process may receive a webhook update; each records it (the durable intake) before answering 200. Only
the active process runs handlers, so it must also take the updates the standby recorded. While active, the
:class:`Feeder` reads the intake's waiting rows every ``every`` seconds and puts on PTB's queue, in update id
order, each one it has not fed yet. Its own webhook hands updates over through :meth:`Feeder.offer` (fed at
once, and remembered so the next read skips them); a standby's :meth:`offer` only records (the webhook route
did) and feeds nothing.

An id is remembered until it has left the intake (the delivery ledger deletes the row with the processed
id) and ``FORGET_AFTER`` has passed, so a row read between its processing and the ledger's write is not fed
twice; one that is anyway is stopped by the gate (the ledger knows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.app import BotApplication
from bot.context import CHANNEL, BotServices
from bot.tolerant import parse_each
from services.platform import intake

logger = logging.getLogger(__name__)

FEED_EVERY = 0.5  # seconds between reads of the intake while active
FORGET_AFTER = 60.0  # seconds an id fed and gone from the intake is still remembered


class Feeder:
    """Puts recorded updates on the application's queue, once each, while the process is active."""

    def __init__(
        self, application: BotApplication, services: BotServices, *, every: float = FEED_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.application, self.services, self.every = application, services, every
        self._fed: dict[int, float] = {}  # update id -> when it was fed (monotonic)
        self._monotonic = monotonic
        self._open = False
        self._task: asyncio.Task[None] | None = None

    @property
    def open(self) -> bool:
        """Whether updates are being fed (the process is active and the backlog was fed)."""
        return self._open

    async def start(self) -> int:
        """Feed the backlog (everything recorded and not processed), then keep feeding; returns the backlog's size."""
        fed = await self.feed_waiting()
        if fed:
            logger.warning("%s recorded updates were waiting: processing them first", fed)
        self._open = True
        self._task = asyncio.create_task(self._loop(), name="intake-feeder")
        return fed

    async def stop(self) -> None:
        """Stop feeding (what is on the queue stays there for the application's stop to finish)."""
        self._open = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._fed.clear()

    async def offer(self, update_id: int, payload: dict[str, Any]) -> None:
        """An update the webhook just recorded: fed now if active and not fed before, else left to the reads. One
        fed already is Telegram sending it again: counted as a duplicate, as the gate counts those it stops."""
        if not self._open:
            return
        if not self._take(update_id):
            self.services.metrics.updates_duplicate.inc()
            return
        (update,) = parse_each([payload], self.application.bot)
        await self.application.update_queue.put(update)

    async def feed_waiting(self) -> int:
        """One read of the intake: put every waiting row not fed yet on the queue; returns how many."""
        fed, waiting = 0, set()
        async for update_id, body in intake.waiting(self.services.uow, channel=CHANNEL):
            waiting.add(update_id)
            if not self._take(update_id):
                continue
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                payload = None
            if not isinstance(payload, dict):
                logger.error("recorded update %s is not a JSON object; dropped", update_id)
                self.services.ledger.processed(update_id)
                continue
            (update,) = parse_each([payload], self.application.bot)
            await self.application.update_queue.put(update)
            fed += 1
        self._forget(waiting)
        return fed

    def _take(self, update_id: int) -> bool:
        """Remember ``update_id`` as fed; False when it was fed already."""
        if update_id in self._fed:
            return False
        self._fed[update_id] = self._monotonic()
        return True

    def _forget(self, waiting: set[int]) -> None:
        horizon = self._monotonic() - FORGET_AFTER
        for update_id in [i for i, at in self._fed.items() if at < horizon and i not in waiting]:
            del self._fed[update_id]

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.feed_waiting()
            except Exception:
                logger.exception("could not read the recorded updates; trying again")
