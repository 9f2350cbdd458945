"""Buttons of the expert pool."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action


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
