"""Buttons of accounts and people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action


@dataclass(frozen=True)
class ChooseLanguage(Action):
    """Answer in this catalog language from now on."""

    prefix: ClassVar[str] = "lang"
    language: str
