"""Inline keyboards and the callback-data formats they use (each ≤64 bytes, trusted for nothing)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from messages import LANGUAGES, translate

LANGUAGE_PREFIX = "lang:"
CHANGE_PREFIX = "chg:"  # chg:<request id>:a|r  (approve / reject a profile change)


def language_keyboard(language: str) -> InlineKeyboardMarkup:
    """One button per catalog language."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(translate(language, f"language.name.{code}"), callback_data=f"{LANGUAGE_PREFIX}{code}")
          for code in LANGUAGES]]
    )


def change_keyboard(language: str, request_id: int) -> InlineKeyboardMarkup:
    """Approve / reject buttons for a profile change request."""
    data = f"{CHANGE_PREFIX}{request_id}"
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(translate(language, "pool.action.approve"), callback_data=f"{data}:a"),
        InlineKeyboardButton(translate(language, "pool.action.reject"), callback_data=f"{data}:r"),
    ]])


def from_stored(language: str, rows: list[Any]) -> InlineKeyboardMarkup | None:
    """Build a keyboard from the outbox's stored buttons (see ``services.notify.Button``)."""
    if not rows:
        return None
    keyboard = [
        [
            InlineKeyboardButton(
                translate(language, str(button["text_key"]), **dict(button.get("params") or {})),
                callback_data=str(button["action"]),
            )
            for button in row
        ]
        for row in rows
    ]
    return InlineKeyboardMarkup(keyboard)
