"""Inline keyboards: rows of :class:`services.platform.notify.Button` (a label key and a typed action) rendered in
the reader's language. Callback data is only ever written by the actions' codec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from messages import LANGUAGES, translate
from services.people.actions import ChooseLanguage
from services.platform.notify import Button

Row = Sequence[Button]


def keyboard(language: str, rows: Sequence[Row]) -> InlineKeyboardMarkup:
    """The keyboard of ``rows`` with labels in ``language``."""
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(translate(language, b.text_key, **b.params), callback_data=b.data)
         for b in row]
        for row in rows
    ])


def language_keyboard(language: str) -> InlineKeyboardMarkup:
    """One button per catalog language."""
    return keyboard(language, [[Button(f"language.name.{code}", ChooseLanguage(code)) for code in LANGUAGES]])


def from_stored(language: str, rows: list[Any]) -> InlineKeyboardMarkup | None:
    """Build a keyboard from the outbox's stored buttons (see ``services.platform.notify.Button.to_json``)."""
    if not rows:
        return None
    return InlineKeyboardMarkup([
        [
            InlineKeyboardButton(
                translate(language, str(button["text_key"]), **dict(button.get("params") or {})),
                callback_data=str(button["action"]),
            )
            for button in row
        ]
        for row in rows
    ])
