"""Command arguments, read in one place and bounded.

A command wraps what follows its name in :class:`Arguments` together with its usage message key, and reads each
argument with a typed method: a record id (ASCII digits, positive, fitting the database's integer, see
:func:`services.platform.actions.parse_id`), a word out of a fixed set, a date, or free text of at most a stated
number of characters. A missing or malformed argument raises :class:`UsageError`; the global error handler
(:mod:`bot.errors`) answers it with what was wrong (when it can say) and the command's usage, never a traceback.

Any argument text shown back to the user is cut to :data:`ECHO_CHARS` characters (:func:`echo`), so a reply never
grows with what was sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, Final

from services.platform.actions import MAX_ID, parse_id
from services.platform.identifiers import mask_personal

ECHO_CHARS: Final = 50
SEARCH_CHARS: Final = 100  # search words, all together
NOTE_CHARS: Final = 500  # a reason or a note
VALUE_CHARS: Final = 300  # one value: a phone number, an e-mail address, a title, an employer id...


class UsageError(Exception):
    """A command's arguments do not fit: ``problem_key`` (with ``problem_params``) says what is wrong, or is None
    when the usage says it all; ``usage_key`` (with ``usage_params``) is the command's usage."""

    def __init__(self, usage_key: str, usage_params: dict[str, Any] | None = None,
                 problem_key: str | None = None, **problem_params: Any) -> None:
        super().__init__(problem_key or usage_key)
        self.usage_key = usage_key
        self.usage_params = usage_params or {}
        self.problem_key = problem_key
        self.problem_params = problem_params


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` as it may be shown back: identity numbers and mobiles masked, at most ``limit`` characters, an
    ellipsis marking a cut."""
    text = mask_personal(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Arguments:
    """The arguments of one command, with its usage message key (and that key's parameters)."""

    def __init__(self, values: Sequence[str] | None, usage: str, **usage_params: Any) -> None:
        self.values = list(values or [])
        self.usage = usage
        self.usage_params = usage_params

    def __len__(self) -> int:
        return len(self.values)

    def refuse(self, problem_key: str | None = None, **params: Any) -> UsageError:
        """The error to raise: ``problem_key`` (or only the usage when None)."""
        return UsageError(self.usage, self.usage_params, problem_key, **params)

    def expect(self, minimum: int, maximum: int | None = None) -> None:
        """At least ``minimum`` and at most ``maximum`` (None: any number of) arguments."""
        if len(self.values) < minimum or (maximum is not None and len(self.values) > maximum):
            raise self.refuse()

    def _at(self, index: int) -> str:
        if index >= len(self.values):
            raise self.refuse()
        return self.values[index]

    def record_id(self, index: int) -> int:
        """Argument ``index`` as a record id (a number from 1 to the database's largest)."""
        raw = self._at(index)
        value = parse_id(raw)
        if value is None:
            raise self.refuse("arguments.bad_id", value=echo(raw), largest=MAX_ID)
        return value

    def word(self, index: int, choices: Collection[str], *, aliases: Mapping[str, str] | None = None) -> str:
        """Argument ``index``, lower-cased, one of ``choices`` (or a word of ``aliases`` standing for one)."""
        raw = self._at(index)
        if aliases and raw.strip() in aliases:
            return aliases[raw.strip()]
        if raw.lower() not in choices:
            raise self.refuse("arguments.bad_choice", value=echo(raw), choices=" | ".join(choices))
        return raw.lower()

    def day(self, index: int) -> date:
        """Argument ``index`` as a date written 2026-04-01 (or 2026/04/01)."""
        raw = self._at(index)
        try:
            return date.fromisoformat(raw.strip().replace("/", "-"))
        except ValueError:
            raise self.refuse("arguments.bad_date", value=echo(raw)) from None

    def text(self, start: int, max_chars: int, *, required: bool = False) -> str:
        """The arguments from ``start`` on, joined by spaces: at most ``max_chars`` characters, and not empty
        when ``required``."""
        joined = " ".join(self.values[start:]).strip()
        if required and not joined:
            raise self.refuse()
        if len(joined) > max_chars:
            raise self.refuse("arguments.too_long", limit=max_chars, length=len(joined))
        return joined
