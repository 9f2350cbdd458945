"""Update processing: concurrent across chats, in order within a chat.

PTB's default processes one update at a time; its ``concurrent_updates`` loses per-chat order,
which conversations and "press a button, then type" flows depend on. This processor keeps a lock
per chat (or per user for updates without a chat), so different people are served in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs up to ``max_concurrent_updates`` updates at once, one at a time per chat."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's earlier updates, then process this one."""
        key = _key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
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
