"""Webhook delivery over several connections at once, as Telegram does (``max_connections``, default 40).

The emulator posts one update at a time unless :attr:`BotApiEmulator.webhook_parallel` is set; then
:func:`deliver_in_parallel` keeps up to the webhook's ``max_connections`` requests in flight, one at a time
per chat (an update waits while an earlier one of its chat is being delivered), so a bot's webhook sees the
concurrent requests a busy bot gets from Telegram. Each request is retried as in sequential delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from bot.emulator.state import PendingUpdate


class _Source(Protocol):
    """What delivery needs of the emulator."""

    webhook: Any

    def next_pending(self) -> PendingUpdate | None: ...

    def enqueue(self, entry: PendingUpdate, *, front: bool = False) -> None: ...


def chat_of(update: dict[str, Any]) -> object:
    """The chat (or, without one, the user) an update belongs to; ``None`` when it names neither."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        inner = value.get("message")
        message: dict[str, Any] = inner if isinstance(inner, dict) else value
        chat = message.get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return ("user", sender["id"])
    return None


async def deliver_in_parallel(
    source: _Source,
    post: Callable[[dict[str, Any]], Coroutine[Any, Any, bool]],
    update_event: Callable[[], asyncio.Event],
    stopping: asyncio.Event,
) -> None:
    """Deliver pending updates with up to ``max_connections`` requests in flight, in order within a chat.

    The loop sleeps on one event, set when a request ends or an update is queued, so each delivery costs a
    constant amount of work however many requests are in flight.
    """
    in_flight: dict[asyncio.Task[bool], tuple[PendingUpdate, object]] = {}
    busy: set[object] = set()  # chats with a request in flight
    held: list[PendingUpdate] = []  # behind an earlier update of the same chat, in arrival order
    wake = asyncio.Event()

    def finished(task: asyncio.Task[bool]) -> None:
        _, chat = in_flight.pop(task, (None, None))
        busy.discard(chat)
        wake.set()

    async def watch_updates() -> None:
        while True:
            await update_event().wait()
            wake.set()

    watcher = asyncio.create_task(watch_updates(), name="emulator-webhook-watch")
    try:
        while source.webhook is not None and not stopping.is_set():
            wake.clear()
            limit = max(1, int(source.webhook.max_connections))
            while len(in_flight) < limit:
                entry = _next_ready(source, held, busy)
                if entry is None:
                    break
                chat = chat_of(entry.update)
                if chat is not None:
                    busy.add(chat)
                task = asyncio.create_task(post(entry.update), name="emulator-webhook-request")
                in_flight[task] = (entry, chat)
                task.add_done_callback(finished)
            await wake.wait()
    finally:
        watcher.cancel()
        for task, (entry, _) in list(in_flight.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            source.enqueue(entry, front=True)  # stopped mid-delivery: keep it
        for entry in reversed(held):
            source.enqueue(entry, front=True)


def _next_ready(source: _Source, held: list[PendingUpdate], busy: set[object]) -> PendingUpdate | None:
    """The first held update whose chat is free, else the next pending one whose chat is free (others held)."""
    for position, waiting in enumerate(held):
        if chat_of(waiting.update) not in busy:
            del held[position]
            return waiting
    while (entry := source.next_pending()) is not None:
        chat = chat_of(entry.update)
        if chat is None or chat not in busy:
            return entry
        held.append(entry)
    return None
