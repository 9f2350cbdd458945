"""Buttons of draws and target draws. Draw requests and results are sent through the outbox, so the prefixes
reproduce the callback data the bot has always written (``draw:ok:<request>``, ``draw:show:<draw>``,
``tgt:v:<draw>``…). The top-up button sent when backups run out is declared with the invitations
(:class:`services.invitations.actions.FileTopUp`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.activities.activities import Relaxation
from services.platform.actions import Action


@dataclass(frozen=True)
class ApproveDrawRequest(Action):
    """A second person approves a draw request (four-eyes, 000 §17)."""

    prefix: ClassVar[str] = "draw:ok"
    request_id: int


@dataclass(frozen=True)
class RejectDrawRequest(Action):
    """A second person rejects a draw request."""

    prefix: ClassVar[str] = "draw:no"
    request_id: int


@dataclass(frozen=True)
class ShowDraw(Action):
    """Show a draw's result card (or its shortfall)."""

    prefix: ClassVar[str] = "draw:show"
    draw_id: int


@dataclass(frozen=True)
class RelaxRequirement(Action):
    """Relax one requirement after a shortfall."""

    prefix: ClassVar[str] = "draw:rx"
    requirement_id: int
    what: Relaxation


@dataclass(frozen=True)
class DrawAgain(Action):
    """File the activity's draw again (after relaxing)."""

    prefix: ClassVar[str] = "draw:re"
    activity_id: int


@dataclass(frozen=True)
class VerifyTargetDraw(Action):
    """Recompute a stored target draw (003 三(一))."""

    prefix: ClassVar[str] = "tgt:v"
    draw_id: int
