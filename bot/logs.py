"""Logging for the whole process: one handler on the root logger whose filter keeps secrets and
personal data out of every line, and the one-line habit for failed Bot API requests.

The filter sits on the root logger's handlers, so it sees every record that is written, whoever logged
it (PTB logs the Bot API URL with the token and every request's parameters at DEBUG; aiohttp, httpx and
asyncio log URLs and exceptions; the project logs its own lines). It formats the record's message first
(``msg % args``), then replaces:

- the configured secrets exactly (the bot token, the webhook secret, the database password), also
  URL-encoded;
- anything shaped like a bot token (``123456789:AA...``, 30 or more characters after the colon);
- Chinese resident ID numbers (18 characters, the last may be X, and the old 15-digit form);
- mainland mobile numbers (11 digits from 13 to 19, optionally with +86 and spaces or hyphens).

The traceback (``exc_text``) and stack (``stack_info``) are rendered and redacted the same way.

A transient Bot API failure (network error, timeout, 5xx, 429) is ordinary weather: it is logged as one
line, with its traceback only at DEBUG (:func:`traceback_at_debug` where the project logs it,
:class:`TransientTracebackFilter` for what PTB logs with a traceback itself).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import IO
from urllib.parse import quote

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("httpx", "alembic", "apscheduler", "aiosqlite")  # chatty at INFO or DEBUG; warnings still show
MIN_SECRET_LENGTH = 8  # a shorter configured secret would blank out ordinary words: the patterns still apply

TOKEN_MARK = "[token]"  # noqa: S105 (what replaces a token, not one)
SECRET_MARK = "[secret]"  # noqa: S105 (what replaces a secret, not one)
ID_NUMBER_MARK = "[id number]"
MOBILE_MARK = "[mobile]"

_TOKEN = re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}")
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
_EXCEPTION_FORMATTER = logging.Formatter()


class Redactor:
    """Replaces secrets and personal data in a text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        exact: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                exact.update({secret, quote(secret, safe="")})
        # longest first, so a secret that contains another is replaced whole
        self._exact = sorted(exact, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every secret, token, ID number and mobile number replaced by a mark."""
        text = _TOKEN.sub(TOKEN_MARK, text)
        for secret in self._exact:
            if secret in text:
                text = text.replace(secret, SECRET_MARK)
        text = _ID_NUMBER.sub(ID_NUMBER_MARK, text)
        return _MOBILE.sub(MOBILE_MARK, text)


class RedactingFilter(logging.Filter):
    """A handler filter that formats each record's message and traceback and redacts them in place."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` (message, arguments, traceback, stack); it is always written."""
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep both, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class TransientTracebackFilter(logging.Filter):
    """Below DEBUG, a record carrying a transient Bot API error loses its traceback and names the error instead.

    PTB itself logs some failed requests with ``logger.exception`` (a ``getUpdates`` at shutdown, say);
    during an outage each would be a traceback that says nothing new.
    """

    def __init__(self, *, tracebacks: bool) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def filter(self, record: logging.LogRecord) -> bool:
        """Make ``record`` one line if its error is transient; it is always written."""
        error = record.exc_info[1] if record.exc_info else None
        if self.tracebacks or error is None or not is_transient(error):
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = f"{message} ({describe(error)})", ()
        record.exc_info, record.exc_text = None, None
        return True


def configure_logging(
    level: str, *, secrets: Iterable[str | None] = (), stream: IO[str] | None = None
) -> logging.Handler:
    """Log ``level`` and above to ``stream`` (stderr) through a redacting filter; returns the new handler.

    The filter is also put on any handler the root logger already has. ``level`` is a level name
    (``LOG_LEVEL``, checked by the settings).
    """
    filters = [TransientTracebackFilter(tracebacks=level.upper() == "DEBUG"), RedactingFilter(Redactor(secrets))]
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for each in [*root.handlers, handler]:
        for log_filter in filters:
            each.addFilter(log_filter)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def is_transient(error: BaseException) -> bool:
    """Whether a Bot API error is worth retrying: network trouble, a timeout, a 5xx, a 429.

    ``BadRequest`` derives from ``NetworkError`` in PTB but is the request's own fault: not transient.
    """
    if isinstance(error, TimedOut | RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def traceback_at_debug(logger: logging.Logger, error: BaseException) -> BaseException | None:
    """``exc_info`` for a one-line failure: the error when ``logger`` writes DEBUG, else nothing."""
    return error if logger.isEnabledFor(logging.DEBUG) else None


def describe(error: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
