"""Buttons of the social supervisor registry: an admin ends an appointment from the card (002 §8).

Wire formats kept from before the codec: ``sv:end:<person>`` shows the grounds, ``sv:g:<person>:<ground>`` asks
for confirmation, ``sv:ok:<person>:<ground>`` ends the appointment, ``sv:back:<person>`` restores the card's button.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action
from services.supervisors.supervisors import EndReason


@dataclass(frozen=True)
class ChooseEndGround(Action):
    """Show the grounds of 002 §8 to end this supervisor's appointment."""

    prefix: ClassVar[str] = "sv:end"
    person_id: int


@dataclass(frozen=True)
class BackToCard(Action):
    """Put the card's own button back."""

    prefix: ClassVar[str] = "sv:back"
    person_id: int


@dataclass(frozen=True)
class PickEndGround(Action):
    """A ground was chosen: ask for confirmation."""

    prefix: ClassVar[str] = "sv:g"
    person_id: int
    ground: EndReason


@dataclass(frozen=True)
class ConfirmEnd(Action):
    """End the appointment on this ground."""

    prefix: ClassVar[str] = "sv:ok"
    person_id: int
    ground: EndReason
