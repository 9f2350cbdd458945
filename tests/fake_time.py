"""A fake monotonic clock and async sleep, for code that takes ``monotonic`` and ``sleep`` callables.

Time stands still until the test moves it, so nothing a test asserts depends on how fast the machine is:

- :meth:`FakeTime.run` awaits something and, whenever every task is waiting, jumps straight to the next
  wake-up (a virtual-time event loop: a 20-second wait takes no real time);
- :meth:`FakeTime.advance` moves time forward by a given amount, waking the sleepers due on the way.

Every requested sleep is recorded in :attr:`FakeTime.sleeps`, and :attr:`FakeTime.now` is exact, so tests
assert on the waits and on virtual times with ``==``/``pytest.approx`` rather than on the wall clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

SETTLE_ROUNDS = 50
"""Event-loop turns :func:`settle` gives: far more than any chain of wake-ups in the code under test."""


async def settle(rounds: int = SETTLE_ROUNDS) -> None:
    """Let every task that can run do so, until each waits on something (the fake clock, a lock, I/O)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class FakeTime:
    """A clock (:meth:`monotonic`) and a sleep (:meth:`sleep`) on virtual time, starting at ``start``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        """Every delay passed to :meth:`sleep`, in call order."""
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        """The current virtual time."""
        return self.now

    async def sleep(self, delay: float) -> None:
        """Wait until virtual time has moved ``delay`` seconds on (only yields if ``delay <= 0``)."""
        self.sleeps.append(delay)
        if delay <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), future))
        await future

    @property
    def waiting(self) -> int:
        """How many sleeps are waiting for time to move."""
        return sum(not future.done() for _, _, future in self._sleepers)

    def _next_wake_up(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def _wake_next(self) -> None:
        when, _, future = heapq.heappop(self._sleepers)
        self.now = max(self.now, when)
        future.set_result(None)

    async def advance(self, seconds: float) -> None:
        """Move time ``seconds`` on, waking the sleepers due on the way in order, each in its own turn."""
        target = self.now + seconds
        await settle()
        while (when := self._next_wake_up()) is not None and when <= target:
            self._wake_next()
            await settle()
        self.now = max(self.now, target)

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``, jumping to the next wake-up whenever every task waits; its result.

        Raises:
            RuntimeError: nothing sleeps and ``awaitable`` is still not done (it would never finish).
        """
        task = asyncio.ensure_future(awaitable)
        try:
            while True:
                await settle()
                if task.done():
                    return task.result()
                if self._next_wake_up() is None:
                    raise RuntimeError("deadlock: the awaitable waits, but not on the fake clock")
                self._wake_next()
        finally:
            if not task.done():
                task.cancel()
