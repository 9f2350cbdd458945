"""Flood limits and failure injection of the Bot API emulator.

:class:`Limits` configures Telegram's three documented flood limits, :class:`RateLimiter` enforces
them for message-creating methods (a token bucket per private chat, a sliding 60-second window per
group, a sliding one-second window over all chats) and :class:`FailurePlan` holds the failures a
test asked for (the next N calls fail, every call fails for a while, the next N sends get a 429).
Everything here is O(1) amortised per request: dicts and deques only.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

logger = logging.getLogger(__name__)

FailureMode = Literal["5xx", "timeout"]
"""How :meth:`FailurePlan.fail_for` fails: answer 502 at once, or hang first and then answer 502."""

GROUP_WINDOW_SECONDS = 60.0
GLOBAL_WINDOW_SECONDS = 1.0


@dataclass
class Limits:
    """Flood limits applied to message-creating methods (sendMessage, sendPhoto, ...)."""

    enabled: bool = True
    per_chat_rate: float = 1.0
    per_chat_burst: int = 5
    group_per_minute: int = 20
    global_per_second: int = 30


@dataclass
class _Bucket:
    """Token bucket state of one private chat."""

    tokens: float
    updated: float


def retry_after_seconds(wait: float) -> int:
    """Whole seconds (at least 1) a client has to wait for ``wait`` seconds of capacity."""
    return max(1, math.ceil(wait - 1e-9))


class RateLimiter:
    """Enforces :class:`Limits`; a rejected request consumes no capacity."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with full buckets and empty windows."""
        self.limits = limits
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._groups: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()

    def reset(self) -> None:
        """Forget all consumed capacity."""
        self._buckets.clear()
        self._groups.clear()
        self._global.clear()

    def acquire(self, chat_id: int) -> int | None:
        """Consume capacity for one message to ``chat_id``; ``None`` if allowed, else retry_after."""
        limits = self.limits
        if not limits.enabled:
            return None
        now = self._clock()
        wait = 0.0

        window = self._global
        while window and window[0] <= now - GLOBAL_WINDOW_SECONDS:
            window.popleft()
        if 0 < limits.global_per_second <= len(window):
            wait = max(wait, window[len(window) - limits.global_per_second] + GLOBAL_WINDOW_SECONDS - now)

        bucket: _Bucket | None = None
        group: deque[float] | None = None
        if chat_id > 0:
            bucket = self._buckets.get(chat_id)
            if bucket is None:
                bucket = _Bucket(tokens=float(limits.per_chat_burst), updated=now)
                self._buckets[chat_id] = bucket
            else:
                refill = (now - bucket.updated) * limits.per_chat_rate
                bucket.tokens = min(float(limits.per_chat_burst), bucket.tokens + refill)
                bucket.updated = now
            if bucket.tokens < 1.0:
                rate = limits.per_chat_rate if limits.per_chat_rate > 0 else 1e-9
                wait = max(wait, (1.0 - bucket.tokens) / rate)
        else:
            group = self._groups.get(chat_id)
            if group is None:
                group = self._groups[chat_id] = deque()
            while group and group[0] <= now - GROUP_WINDOW_SECONDS:
                group.popleft()
            if 0 < limits.group_per_minute <= len(group):
                wait = max(wait, group[len(group) - limits.group_per_minute] + GROUP_WINDOW_SECONDS - now)

        if wait > 0:
            return retry_after_seconds(wait)
        window.append(now)
        if bucket is not None:
            bucket.tokens -= 1.0
        if group is not None:
            group.append(now)
        return None


class FailurePlan:
    """Failures requested by a test: consumed by the server before it runs a method."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """No failures planned."""
        self._clock = clock
        self.next_count = 0
        self.next_status = HTTPStatus.BAD_GATEWAY.value
        self.next_include_polling = False
        self.until = 0.0
        self.mode: FailureMode = "5xx"
        self.hang_seconds = 30.0
        self.inject_429_count = 0
        self.inject_429_retry_after = 1

    def clear(self) -> None:
        """Cancel every planned failure."""
        self.next_count = 0
        self.until = 0.0
        self.inject_429_count = 0

    def fail_next(self, count: int, status: int, include_polling: bool) -> None:
        """Plan that the next ``count`` calls answer ``status``."""
        self.next_count = max(0, count)
        self.next_status = status
        self.next_include_polling = include_polling

    def fail_for(self, seconds: float, mode: FailureMode, hang_seconds: float) -> None:
        """Plan that every call fails for ``seconds`` from now."""
        self.until = self._clock() + seconds
        self.mode = mode
        self.hang_seconds = hang_seconds

    def inject_429(self, count: int, retry_after: int) -> None:
        """Plan that the next ``count`` message-creating calls get a 429."""
        self.inject_429_count = max(0, count)
        self.inject_429_retry_after = max(1, retry_after)

    def take_next(self, *, polling: bool) -> int | None:
        """The status to fail this call with because of :meth:`fail_next`, or ``None``."""
        if self.next_count <= 0 or (polling and not self.next_include_polling):
            return None
        self.next_count -= 1
        return self.next_status

    def outage(self, *, get_updates: bool) -> FailureMode | None:
        """The mode of a running :meth:`fail_for` outage that applies to this call, or ``None``."""
        if get_updates or not self.until or self._clock() >= self.until:
            return None
        return self.mode

    def take_429(self) -> int | None:
        """The retry_after of an injected 429 for this message-creating call, or ``None``."""
        if self.inject_429_count <= 0:
            return None
        self.inject_429_count -= 1
        return self.inject_429_retry_after


def failure_description(status: int) -> str:
    """The description sent with an injected failure of HTTP ``status``."""
    if status == HTTPStatus.BAD_GATEWAY:
        return "Bad Gateway"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Bad Gateway"
