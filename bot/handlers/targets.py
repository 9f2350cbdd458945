"""Placeholder: registration hook filled in by the module's owner (this session)."""

from __future__ import annotations

from telegram.ext import Application


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's handlers (group 0, before the fallbacks; group -1 for dialog text)."""
