"""Group commit for the webhook's intake (issue 21): every update is recorded before Telegram is told it arrived
(``services.platform.intake.record``), and on SQLite every write transaction holds the others back, so concurrent
webhook requests share one. A request whose update arrives while a write is running waits for the next one, which
takes every update that arrived meanwhile; an idle bot writes each update at once (no timer, no added wait).

Each request still gets its own answer: recorded (200), or the write failed (503, Telegram sends it again).
"""

from __future__ import annotations

import asyncio

from services.platform import intake
from storage.uow import UnitOfWorkFactory


class GroupedIntake:
    """Records webhook updates, concurrent ones in one transaction."""

    def __init__(self, uow: UnitOfWorkFactory, *, channel: str) -> None:
        self.uow, self.channel = uow, channel
        self._waiting: list[tuple[int, str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # transactions written (for tests and the bench)

    async def record(self, update_id: int, body: str) -> None:
        """Return once the update is recorded; raise what the write raised if it could not be."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((update_id, body, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all(), name="intake-group")
        await asyncio.shield(done)  # a request given up on does not stop the write the others wait for

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await intake.record(self.uow, channel=self.channel, updates=[(u, b) for u, b, _ in batch])
                except Exception as error:  # each request answers 503 with it
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(error)
                else:
                    for *_, done in batch:
                        if not done.done():
                            done.set_result(None)
                self.writes += 1
        finally:
            self._writer = None
