"""Buttons of the expert pool."""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action, Index, OptionalToken


class Verdict(enum.StrEnum):
    """A staff decision on a request."""

    APPROVE = "a"
    REJECT = "r"


@dataclass(frozen=True)
class DecideChange(Action):
    """Staff approve or reject an expert's profile change (000 §13(五))."""

    prefix: ClassVar[str] = "chg"
    request_id: int
    verdict: Verdict


@dataclass(frozen=True)
class GrantExtension(Action):
    """Staff grant an expert's request to stay past 65 (000 §22) until ``until``, written ``yyyymmdd``."""

    prefix: ClassVar[str] = "extg"
    expert_id: int
    until: int


@dataclass(frozen=True)
class RefuseExtension(Action):
    """Staff refuse an expert's request to stay past 65 (000 §22)."""

    prefix: ClassVar[str] = "extr"
    expert_id: int


@dataclass(frozen=True)
class ExpertsPage(Action):
    """Another page of ``/experts``: the page (0-based) and the search words, packed by :func:`pack_words`."""

    prefix: ClassVar[str] = "xp"
    page: Index
    words: OptionalToken


def pack_words(text: str) -> str | None:
    """Search words as a button token (URL-safe base64 of UTF-8, unpadded), or None when they do not fit one."""
    token = base64.urlsafe_b64encode(" ".join(text.split()).encode()).decode().rstrip("=")
    return token if len(token) <= 32 else None


def unpack_words(token: str) -> str | None:
    """The words of :func:`pack_words`, or None for a token no button of ours wrote."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
