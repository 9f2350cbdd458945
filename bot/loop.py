"""The event loop the bot runs on.

uvloop (libuv under asyncio's interface, by the authors of asyncpg) is the default where it is
installed: the bot is CPU-bound in one loop, and uvloop's sockets, timers and thread wake-ups (every
SQLite statement comes back from aiosqlite's thread through one) cost less than the pure-Python
loop's (0-20% of a button press's CPU in interleaved runs). ``EVENT_LOOP=asyncio`` selects the
standard loop; so does a platform without uvloop (Windows). The README's "Benchmarks" has the
measurement.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

UVLOOP = "uvloop"
ASYNCIO = "asyncio"
CHOICES = (UVLOOP, ASYNCIO)


def loop_factory(choice: str = UVLOOP) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the loop for ``choice``; ``None`` means asyncio's default."""
    if choice not in CHOICES:
        raise ValueError(f"unknown event loop {choice!r}: one of {', '.join(CHOICES)}")
    if choice == ASYNCIO:
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        logger.info("uvloop is not installed: running on asyncio's own event loop")
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which kind of loop this is."""
    return UVLOOP if type(loop).__module__.startswith("uvloop") else ASYNCIO


def run(main: Coroutine[Any, Any, T], *, choice: str = UVLOOP) -> T:
    """``asyncio.run(main)`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
