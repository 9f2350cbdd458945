"""Rate limiter for outgoing Bot API requests that follows Telegram's flood limits.

Telegram documents three limits for bots (https://core.telegram.org/bots/faq, "My bot is hitting
limits"):

- about **30 messages per second** overall (bulk notifications);
- about **20 messages per minute** in one group, supergroup or channel;
- about **one message per second** in one private chat (short bursts are tolerated).

python-telegram-bot's :class:`telegram.ext.AIORateLimiter` enforces only the first two, and a
single 429 ``RetryAfter`` in any chat halts *every* request of the bot. For a bot that sends a
notification to many experts at once that is too coarse: one chatty chat would stall all the
others, and button presses (``answerCallbackQuery``, edits) would queue up behind a broadcast.

:class:`TelegramRateLimiter` therefore:

- throttles only *message-creating* endpoints (:data:`MESSAGE_ENDPOINTS`: ``sendMessage``,
  ``sendPhoto``, ``copyMessage``, ``forwardMessage``, ...). Everything else — edits,
  ``answerCallbackQuery``, ``deleteMessage``, ``getMe`` ... — passes straight through, because
  Telegram's broadcast limits are about new messages and replies to button presses must stay fast;
- applies an overall limiter plus one limiter per chat: a bucket of ``group_per_minute`` drained over
  60 seconds for groups and channels (negative ``chat_id`` or an ``@username``/``-100…`` string) and
  a token bucket for private chats (positive ``chat_id``);
- scopes ``RetryAfter`` pauses: a 429 pauses only the chat it came from; if two or more different
  chats get a 429 within one second the bot has hit the overall limit, so all message-creating
  requests are paused. The failed request is retried after ``retry_after`` seconds, up to
  ``max_retries`` times, then the ``RetryAfter`` is re-raised to the caller.

Per-chat state is kept in an LRU-bounded :class:`~collections.OrderedDict`, so a bot that talks to
many users does not grow without bound.

Time comes from two injected callables, ``monotonic`` (default :func:`time.monotonic`) and an async
``sleep`` (default :func:`asyncio.sleep`), and from nowhere else: tests drive a fake clock and assert on
the waits it recorded, never on the wall clock.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import math
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any, Final

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
"""A JSON object as returned by the Bot API."""

ApiResult = bool | JSONDict | list[JSONDict]
"""What a Bot API request callback returns."""

ChatKey = int | str
"""A normalised ``chat_id``: an ``int``, or a lower-cased ``@username`` string."""

Monotonic = Callable[[], float]
"""A monotonic clock in seconds, like :func:`time.monotonic`."""

Sleep = Callable[[float], Awaitable[None]]
"""An async sleep for a number of seconds, like :func:`asyncio.sleep`."""

MESSAGE_ENDPOINTS: Final[frozenset[str]] = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    )
)
"""Lower-cased names of the endpoints that create messages; only these are throttled."""

OVERALL_ESCALATION_WINDOW: Final = 1.0
"""Seconds within which ``RetryAfter`` from two different chats counts as an overall limit."""


def retry_after_seconds(error: RetryAfter) -> float:
    """Return ``error.retry_after`` in seconds.

    Depending on the PTB version and the ``PTB_TIMEDELTA`` environment variable the attribute is an
    ``int`` (with a deprecation warning in PTB ≥ 22.2) or a :class:`datetime.timedelta`; both are
    accepted and the deprecation warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = error.retry_after
    if isinstance(value, dtm.timedelta):
        return max(value.total_seconds(), 0.0)
    if isinstance(value, int | float):
        return max(float(value), 0.0)
    raise TypeError(f"unexpected RetryAfter.retry_after: {value!r}")


@dataclass
class RateLimiterStats:
    """Counters of :class:`TelegramRateLimiter`, for the metrics endpoint.

    Attributes:
        throttled_waits: requests that had to wait for a limiter or a ``RetryAfter`` pause before
            their first attempt (counted once per request).
        retry_after_hits: ``RetryAfter`` errors raised by Telegram.
        retries: attempts repeated after a ``RetryAfter``.
    """

    throttled_waits: int = 0
    retry_after_hits: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain ``dict``."""
        return asdict(self)


class _Bucket:
    """A leaky bucket on an injected clock: ``capacity`` requests at once, then one per ``1 / per_second``.

    The level rises by one per request and drains at ``per_second``; a request waits until the level
    leaves room for it. Waiters take turns in arrival order (an :class:`asyncio.Lock` is fair), and only
    the one at the front sleeps. It is :class:`aiolimiter.AsyncLimiter`'s algorithm, which reads the
    event loop's clock and so cannot be driven by a test.
    """

    __slots__ = ("_lock", "_monotonic", "_sleep", "capacity", "level", "per_second", "updated")

    def __init__(self, capacity: float, per_second: float, monotonic: Monotonic, sleep: Sleep) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self.level = 0.0
        self.updated = monotonic()

    def _leak(self) -> None:
        now = self._monotonic()
        self.level = max(self.level - (now - self.updated) * self.per_second, 0.0)
        self.updated = now

    async def acquire(self) -> bool:
        """Take room for one request, waiting for it if needed; return whether it waited."""
        waited = self._lock.locked()  # someone is already waiting for room
        async with self._lock:
            self._leak()
            wait = (self.level + 1 - self.capacity) / self.per_second
            if wait > 0:
                waited = True
                await self._sleep(wait)
                self._leak()
            # taken even if the sleep ended a hair early: the next request waits that much longer
            self.level += 1
        return waited


class _ChatState:
    """Limiter and ``RetryAfter`` pause of one chat."""

    __slots__ = ("limiter", "paused_until")

    def __init__(self, limiter: _Bucket | None) -> None:
        self.limiter = limiter
        self.paused_until = 0.0


def _chat_key(chat_id: object) -> ChatKey | None:
    """Normalise a ``chat_id`` (``int``, numeric string or ``@username``); ``None`` if absent."""
    if chat_id is None or isinstance(chat_id, bool):
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text.lower()


def _is_group(key: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids or are addressed by ``@username``."""
    return isinstance(key, str) or key < 0


OVERALL_MARGIN = 0.985  # stay just under the overall rate, so timer jitter never makes 31 in a second
OVERALL_WAIT_NOTICE = 0.002  # seconds: a shorter wait for the overall slot is not counted as throttling
MIN_MARGIN = 0.5  # the adaptive margin never paces below half the overall rate
MARGIN_CUT = 0.85  # each 429 on a message (at most one cut per second) multiplies the margin by this
MARGIN_RECOVERY = 0.01  # added back for each RECOVERY_PERIOD without a 429, up to OVERALL_MARGIN
RECOVERY_PERIOD = 10.0  # seconds
WINDOW = 1.0  # seconds: Telegram counts the overall limit in a sliding window of this length


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Throttles message-creating Bot API requests per chat and overall; scopes ``RetryAfter``.

    See the module docstring for the limits. Pass an instance to
    ``ApplicationBuilder().rate_limiter(...)``. The ``rate_limit_args`` of a request (an ``int``)
    overrides ``max_retries`` for that request.

    **Private chats** use a leaky bucket of capacity ``private_burst`` that drains at
    ``private_per_second``, which is exactly a token bucket of ``private_burst`` tokens refilled at
    ``private_per_second``: a burst of ``private_burst`` messages goes out at once, later ones are
    spaced ``1 / private_per_second`` apart.

    **Groups** use a bucket of ``group_per_minute`` drained over 60 seconds. The **overall** limiter
    has no burst: one message every ``1 / (overall_per_second * OVERALL_MARGIN)`` seconds. A bucket of
    30 would let 30 go at once and 30 more within the same second as it drains, which Telegram's
    30-per-second window answers with 429s (bench/invitations.py measured 174 of them for 1,000
    invitations; none without the burst). A request first takes its chat's limiter, then the overall
    one, so a request waiting for a busy chat does not hold overall capacity.

    **RetryAfter**: the chat of the failed request is paused for ``retry_after`` seconds (later
    requests to that chat, of any endpoint, wait until the pause ends); if a different chat also got
    a ``RetryAfter`` within :data:`OVERALL_ESCALATION_WINDOW`, all message-creating requests are
    paused. The request itself is retried after ``retry_after`` seconds, going through the limiters
    again. Other exceptions are never caught.

    Args:
        overall_per_second: message-creating requests per second for the whole bot.
        group_per_minute: messages per 60 seconds to one group or channel.
        private_per_second: refill rate of a private chat's token bucket.
        private_burst: capacity of a private chat's token bucket.
        max_retries: retries after a ``RetryAfter`` before it is re-raised (``0``: none).
        max_tracked_chats: per-chat states kept; the least recently used are evicted beyond this.
        monotonic: the clock every limit and pause is measured on.
        sleep: how a request waits (tests pass a fake that advances a fake ``monotonic``).
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 30.0,
        group_per_minute: float = 20.0,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        max_retries: int = 3,
        max_tracked_chats: int = 10_000,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if overall_per_second <= 0 or group_per_minute <= 0 or private_per_second <= 0:
            raise ValueError("rates must be positive")
        if private_burst < 1:
            raise ValueError("private_burst must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        if max_tracked_chats < 1:
            raise ValueError("max_tracked_chats must be at least 1")
        self.overall_per_second = overall_per_second
        self.group_per_minute = group_per_minute
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.max_retries = max_retries
        self.max_tracked_chats = max_tracked_chats
        self._monotonic = monotonic
        self._sleep = sleep
        self.stats = RateLimiterStats()
        self.margin = OVERALL_MARGIN
        self._margin_changed = monotonic()
        self._overall_interval = 1.0 / (overall_per_second * OVERALL_MARGIN)
        self._window: list[list[float]] = []  # when each recent message went, moved to when it was answered
        self._overall_next = 0.0  # time (on ``monotonic``) before which no message-creating request may go
        self._overall_lock = asyncio.Lock()
        self._chats: OrderedDict[ChatKey, _ChatState] = OrderedDict()
        self._overall_paused_until = 0.0
        self._recent_retry_after: deque[tuple[float, ChatKey]] = deque()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    @property
    def tracked_chats(self) -> int:
        """Number of chats whose limiter or pause is currently kept."""
        return len(self._chats)

    def _new_limiter(self, key: ChatKey) -> _Bucket:
        if _is_group(key):
            return _Bucket(self.group_per_minute, self.group_per_minute / 60.0, self._monotonic, self._sleep)
        return _Bucket(self.private_burst, self.private_per_second, self._monotonic, self._sleep)

    def _chat_state(self, key: ChatKey, *, with_limiter: bool) -> _ChatState:
        """The state of chat ``key`` (created if missing), marked as most recently used."""
        state = self._chats.get(key)
        if state is None:
            state = _ChatState(self._new_limiter(key) if with_limiter else None)
            self._chats[key] = state
            while len(self._chats) > self.max_tracked_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(key)
            if with_limiter and state.limiter is None:
                state.limiter = self._new_limiter(key)
        return state

    async def _wait_for_pauses(self, key: ChatKey | None, limited: bool, not_before: float) -> bool:
        """Sleep until ``not_before`` and any pause on this chat (or overall) has ended.

        Returns whether it slept. Pauses can be extended while sleeping, hence the loop.
        """
        waited = False
        while True:
            until = not_before
            if limited:
                until = max(until, self._overall_paused_until)
            if key is not None and (state := self._chats.get(key)) is not None:
                until = max(until, state.paused_until)
            delay = until - self._monotonic()
            if delay <= 0:
                return waited
            waited = True
            await self._sleep(delay)

    def _adapt(self, now: float, *, cut: bool) -> None:
        """The margin under the overall rate adapts to what Telegram answers: each 429 on a message cuts it (at
        most once per :data:`WINDOW`: one crowded second answers several), each quiet :data:`RECOVERY_PERIOD`
        gives a little back, so a busy machine whose sends bunch up paces itself lower (issue 21)."""
        if cut:
            if now - self._margin_changed >= WINDOW or self.margin >= OVERALL_MARGIN:
                self.margin = max(MIN_MARGIN, self.margin * MARGIN_CUT)
                self._margin_changed = now
                logger.info("429 on a message: pacing at %.0f%% of the overall rate", self.margin * 100)
        elif self.margin < OVERALL_MARGIN and (periods := int((now - self._margin_changed) / RECOVERY_PERIOD)):
            self.margin = min(OVERALL_MARGIN, self.margin + periods * MARGIN_RECOVERY)
            self._margin_changed = now
        self._overall_interval = 1.0 / (self.overall_per_second * self.margin)

    async def _fit_window(self) -> list[float]:
        """Wait until Telegram's sliding window has room, then take a place in it: the messages of the last
        :data:`WINDOW` seconds, each counted until a window after it was *answered* (Telegram saw it between
        our send and its answer), so a stall that bunches sends up, before or during the request, cannot put
        more than the paced rate into one window. Returns the place, to be moved to the answer's time."""
        while True:
            now = self._monotonic()
            self._window = [stamp for stamp in self._window if stamp[0] > now - WINDOW]
            room = max(1, math.ceil(self.overall_per_second * self.margin * WINDOW))
            if len(self._window) < room:
                stamp = [now]
                self._window.append(stamp)
                return stamp
            await self._sleep(min(stamp[0] for stamp in self._window) + WINDOW - now)

    async def _acquire(self, key: ChatKey | None) -> bool:
        """Take the chat's limiter, then the overall one; return whether either made us wait."""
        waited = False
        if key is not None:
            limiter = self._chat_state(key, with_limiter=True).limiter
            if limiter is not None:
                waited = await limiter.acquire()
        async with self._overall_lock:  # one at a time, in order: each waits for the previous one's spacing
            now = self._monotonic()
            self._adapt(now, cut=False)
            if self._overall_next - now > OVERALL_WAIT_NOTICE:
                waited = True
            if self._overall_next > now:
                await self._sleep(self._overall_next - now)
                now = self._monotonic()
            # Spaced from when this one really goes: after a stalled event loop, the waiters do not all go at
            # once (a burst Telegram's 30-per-second window would answer with 429s).
            self._overall_next = now + self._overall_interval
        return waited

    def _record_retry_after(self, key: ChatKey | None, limited: bool, delay: float) -> None:
        """Pause the chat of a failed request, or everything if several chats failed at once."""
        if key is None:
            return
        now = self._monotonic()
        state = self._chat_state(key, with_limiter=False)
        state.paused_until = max(state.paused_until, now + delay)
        recent = self._recent_retry_after
        while recent and now - recent[0][0] > OVERALL_ESCALATION_WINDOW:
            recent.popleft()
        several_chats = any(other != key for _, other in recent)
        recent.append((now, key))
        if limited and several_chats:
            self._overall_paused_until = max(self._overall_paused_until, now + delay)
            logger.info(
                "RetryAfter from several chats within %.1f s: pausing all messages for %.1f s",
                OVERALL_ESCALATION_WINDOW,
                delay,
            )

    async def process_request(  # noqa: PLR0917 - signature fixed by BaseRateLimiter
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        """Run ``callback(*args, **kwargs)`` within the limits and retry after ``RetryAfter``.

        Args:
            callback: coroutine function making the request.
            args: its positional arguments.
            kwargs: its keyword arguments.
            endpoint: Bot API method name, e.g. ``"sendMessage"`` (compared case-insensitively).
            data: the request parameters; ``chat_id`` selects the per-chat limiter.
            rate_limit_args: overrides ``max_retries`` for this request if not ``None``.

        Returns:
            Whatever ``callback`` returns.

        Raises:
            telegram.error.RetryAfter: still rate limited after the allowed retries.
        """
        max_retries = self.max_retries if rate_limit_args is None else max(rate_limit_args, 0)
        limited = endpoint.lower() in MESSAGE_ENDPOINTS
        key = _chat_key(data.get("chat_id"))
        not_before = 0.0
        attempt = 0
        while True:
            waited = await self._wait_for_pauses(key, limited, not_before)
            if limited:
                waited = await self._acquire(key) or waited
                # a pause may have started while we waited for capacity
                waited = await self._wait_for_pauses(key, limited, not_before) or waited
            stamp = await self._fit_window() if limited else None
            if waited and attempt == 0:
                self.stats.throttled_waits += 1
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self.stats.retry_after_hits += 1
                delay = retry_after_seconds(error)
                self._record_retry_after(key, limited, delay)
                if limited:
                    self._adapt(self._monotonic(), cut=True)
                if attempt >= max_retries:
                    logger.info(
                        "RetryAfter %.1f s on %s to chat %s: giving up after %d retries",
                        delay,
                        endpoint,
                        key,
                        attempt,
                    )
                    raise
                attempt += 1
                self.stats.retries += 1
                logger.info(
                    "RetryAfter %.1f s on %s to chat %s: retry %d of %d",
                    delay,
                    endpoint,
                    key,
                    attempt,
                    max_retries,
                )
                not_before = self._monotonic() + delay
            finally:
                if stamp is not None:  # Telegram saw it by now: count it in the window until a window after this
                    stamp[0] = max(stamp[0], self._monotonic())
