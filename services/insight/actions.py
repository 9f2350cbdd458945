"""Buttons of ``/stats``: the list behind a figure, page by page (``st:l:<figure>:<unit id>:<period>:<page>``), the
charts; and the pages of a search over leads or activities (``sr:p``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from services.platform.actions import Action, Index, OptionalToken


@dataclass(frozen=True)
class StatsList(Action):
    """Show the records behind one figure of a unit's period (``period``: 202611 for a month, 2026 for a year)."""

    prefix: ClassVar[str] = "st:l"
    figure: str
    unit_id: int
    period: int
    page: Index


@dataclass(frozen=True)
class StatsPage(StatsList):
    """Previous / Next in a figure's list (the list's message is redrawn in place)."""

    prefix: ClassVar[str] = "st:p"


@dataclass(frozen=True)
class StatsChart(Action):
    """Draw one chart of a unit's figures (``kind``: leads | invitations | answers | pool) for the period."""

    prefix: ClassVar[str] = "st:c"
    kind: str
    unit_id: int
    period: int


class SearchWhat(StrEnum):
    """What a search looks through."""

    LEADS = "l"
    ACTIVITIES = "a"


@dataclass(frozen=True)
class SearchPage(Action):
    """Previous / Next in the results of ``/leads search`` or ``/activities search`` (redrawn in place): the page
    and the words, packed over two tokens by :func:`pack_words` (``sr:p:l:<page>:<words>:<more words>``)."""

    prefix: ClassVar[str] = "sr:p"
    what: SearchWhat
    page: Index
    words: str
    more: OptionalToken


WORDS_FIRST = 32  # a token's most
WORDS_MORE = 19  # what is left of Telegram's 64 bytes after "sr:p:l:9999:" and the first token
_UTF8, _UTF16 = "u", "w"


def pack_words(words: str) -> tuple[str, str] | None:
    """The search words as a button's two tokens (URL-safe base64, unpadded, of UTF-8 or of UTF-16 whichever is
    shorter: about 37 Latin letters or 18 Chinese characters), or None when they do not fit."""
    text = " ".join(words.split())
    packed = min((_UTF8 + _b64(text.encode("utf-8")), _UTF16 + _b64(text.encode("utf-16-be"))), key=len)
    if not text or len(packed) > WORDS_FIRST + WORDS_MORE:
        return None
    return packed[:WORDS_FIRST], packed[WORDS_FIRST:]


def unpack_words(first: str, more: str) -> str | None:
    """The words of :func:`pack_words`, or None for tokens no button of ours wrote."""
    packed = first + more
    encoding = {_UTF8: "utf-8", _UTF16: "utf-16-be"}.get(packed[:1])
    try:
        data = base64.urlsafe_b64decode(packed[1:] + "=" * (-len(packed[1:]) % 4))
        return data.decode(encoding) if encoding else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
