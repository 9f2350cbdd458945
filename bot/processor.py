"""Update processing: concurrent across chats, in order within a chat.

PTB's default processes one update at a time; its ``concurrent_updates`` loses per-chat order,
which conversations and "press a button, then type" flows depend on. This processor keeps a lock
per chat (or per user for updates without a chat), so different people are served in parallel.
Once PTB has run an update through its handlers, ``on_processed`` is told its id (the delivery
ledger records it, which ends the update's durable intake); an update interrupted by cancellation
is not reported, so a restart feeds it again.

While :meth:`PerChatUpdateProcessor.hold` is in force (the handler modules still loading after start-up, issue 21)
updates wait in their chat's order; :meth:`~PerChatUpdateProcessor.release` lets them through, and
:meth:`~PerChatUpdateProcessor.abandon` drops them unprocessed (not reported: the durable intake feeds them again
on the next start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs up to ``max_concurrent_updates`` updates at once, one at a time per chat."""

    def __init__(
        self, max_concurrent_updates: int = 64, *, on_processed: Callable[[int], None] | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._on_processed = on_processed
        self._held: asyncio.Event | None = None
        self._abandoned = False

    def hold(self) -> None:
        """Keep updates waiting (in order) until :meth:`release` or :meth:`abandon`."""
        self._held, self._abandoned = asyncio.Event(), False

    def release(self) -> None:
        """Let the held updates and every later one through."""
        if self._held is not None:
            self._held.set()
            self._held = None

    def abandon(self) -> None:
        """Drop the held updates and every later one unprocessed (not reported as processed)."""
        self._abandoned = True
        self.release()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's earlier updates (and a hold), then process this one."""
        key = _key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                if self._held is not None:
                    await self._held.wait()
                if self._abandoned:
                    if asyncio.iscoroutine(coroutine):
                        coroutine.close()
                    return
                await coroutine  # PTB's process_update: handler errors go to the error handler, not here
            if self._on_processed is not None and isinstance(update, Update):
                self._on_processed(update.update_id)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _key(update: object) -> str:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return f"chat:{update.effective_chat.id}"
        if update.effective_user is not None:
            return f"user:{update.effective_user.id}"
    return "other"
