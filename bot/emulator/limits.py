"""Every reason the emulated Bot API refuses a request, and the error it answers with.

:class:`ApiError` is a Bot API error answer. Content limits (:func:`check_text`,
:func:`check_caption`, :func:`check_reply_markup`, :func:`plain_text` for HTML entities) reproduce
Telegram's 400 errors. :class:`Limits` configures Telegram's three documented flood limits and
:class:`RateLimiter` enforces them for message-creating methods (a token bucket per private chat, a
sliding 60-second window per group, a sliding one-second window over all chats). :class:`FailurePlan`
holds the failures a test asked for (the next N calls fail, every call fails for a while, the next N
sends get a 429). Everything here is O(1) amortised per request: dicts and deques only.
"""

from __future__ import annotations

import html
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
"""A JSON object as exchanged with the Bot API."""

FailureMode = Literal["5xx", "timeout"]
"""How :meth:`FailurePlan.fail_for` fails: answer 502 at once, or hang first and then answer 502."""

GROUP_WINDOW_SECONDS = 60.0
GLOBAL_WINDOW_SECONDS = 1.0
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji", "tg-time"}
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*>")
_MD_ESCAPE_RE = re.compile(r"\\(.)")


class ApiError(Exception):
    """A Bot API error answer: HTTP status ``code`` with ``description`` (and ``parameters``)."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        """Remember the answer to send."""
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        """The JSON body of the error answer."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    """A 400 ``Bad Request: <what>`` error."""
    return ApiError(400, f"Bad Request: {what}")


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram shows for ``text`` in ``parse_mode``; HTML is checked like Telegram does."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        stack: list[str] = []
        for match in _TAG_RE.finditer(text):
            name = match.group(2).lower()
            offset = len(text[: match.start()].encode())
            if name not in HTML_TAGS:
                raise bad_request(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
            if not match.group(1):
                stack.append(name)
            elif not stack or stack[-1] != name:
                expected = f'"</{stack[-1]}>"' if stack else "nothing"
                raise bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, expected {expected}, "
                    f'found "</{name}>"'
                )
            else:
                stack.pop()
        if stack:
            raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
        return html.unescape(_TAG_RE.sub("", text))
    if mode == "markdownv2":
        return _MD_ESCAPE_RE.sub(r"\1", text)
    return text


def check_text(text: str | None, parse_mode: str | None) -> str:
    """``text`` if Telegram accepts it as a message text, else the ApiError Telegram answers."""
    shown = plain_text(text or "", parse_mode).strip()
    if not shown:
        raise bad_request("message text is empty")
    if len(shown) > MAX_TEXT:
        raise bad_request("message is too long")
    return text or ""


def check_caption(caption: str | None, parse_mode: str | None) -> None:
    """Raise the ApiError Telegram answers for a too long caption."""
    if caption is not None and len(plain_text(caption, parse_mode).strip()) > MAX_CAPTION:
        raise bad_request("message caption is too long")


def check_reply_markup(markup: Any) -> JSONDict | None:
    """``markup`` if Telegram accepts it (inline buttons: callback_data of 1-64 bytes), else ApiError."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data or len(data.encode()) > MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
    return markup


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
        if not self.limits.enabled:
            return None
        now = self._clock()
        wait = self._global_wait(now)
        bucket: _Bucket | None = None
        group: deque[float] | None = None
        if chat_id > 0:
            bucket = self._bucket(chat_id, now)
            wait = max(wait, self._bucket_wait(bucket))
        else:
            group = self._group(chat_id, now)
            wait = max(wait, self._group_wait(group, now))
        if wait > 0:
            return retry_after_seconds(wait)
        self._global.append(now)
        if bucket is not None:
            bucket.tokens -= 1.0
        if group is not None:
            group.append(now)
        return None

    def _global_wait(self, now: float) -> float:
        """Seconds until the global window has room (0 when it has), after dropping what left it."""
        window, limit = self._global, self.limits.global_per_second
        while window and window[0] <= now - GLOBAL_WINDOW_SECONDS:
            window.popleft()
        if 0 < limit <= len(window):
            return max(0.0, window[len(window) - limit] + GLOBAL_WINDOW_SECONDS - now)
        return 0.0

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        """A private chat's token bucket, refilled up to now (full for a new chat)."""
        limits = self.limits
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = _Bucket(tokens=float(limits.per_chat_burst), updated=now)
            self._buckets[chat_id] = bucket
        else:
            refill = (now - bucket.updated) * limits.per_chat_rate
            bucket.tokens = min(float(limits.per_chat_burst), bucket.tokens + refill)
            bucket.updated = now
        return bucket

    def _bucket_wait(self, bucket: _Bucket) -> float:
        if bucket.tokens < 1.0:
            rate = self.limits.per_chat_rate if self.limits.per_chat_rate > 0 else 1e-9
            return (1.0 - bucket.tokens) / rate
        return 0.0

    def _group(self, chat_id: int, now: float) -> deque[float]:
        """A group's window of sends, without those that left it."""
        group = self._groups.get(chat_id)
        if group is None:
            group = self._groups[chat_id] = deque()
        while group and group[0] <= now - GROUP_WINDOW_SECONDS:
            group.popleft()
        return group

    def _group_wait(self, group: deque[float], now: float) -> float:
        limit = self.limits.group_per_minute
        if 0 < limit <= len(group):
            return max(0.0, group[len(group) - limit] + GROUP_WINDOW_SECONDS - now)
        return 0.0


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
