"""Buttons of ``/stats``: the list behind a figure, page by page (``st:l:<figure>:<unit id>:<period>:<page>``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action, Index


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
