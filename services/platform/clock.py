"""Clocks. Every rule and service takes the current time from a clock, never from ``datetime.now``.

``SystemClock`` is production; ``OffsetClock`` is production time shifted by an adjustable offset
(the sandbox's "advance time" control); ``FixedClock`` is for tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time (aware, UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)


class OffsetClock:
    """The machine's clock plus an offset that only grows (time never runs backwards)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta``."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self.offset += delta

    def now(self) -> datetime:
        """The shifted current time."""
        return datetime.now(UTC) + self.offset


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def advance(self, delta: timedelta) -> None:
        """Move time forward by ``delta``."""
        self.at += delta

    def now(self) -> datetime:
        """The frozen time."""
        return self.at
