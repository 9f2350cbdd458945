"""What the draw services return: the outcome of a request, the record as staff see it, the verification report."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.activities.activities import ActivityView
from services.activities.expert_draw import Chances, DrawResult
from services.draws.shortfalls import Explained
from services.platform.errors import DrawRefused
from storage.activities import (
    DrawRecord,
    DrawRequest,
)


@dataclass(frozen=True)
class DrawOutcome:
    """What a filed or approved request led to: still pending, or the draw record with its result."""

    request: DrawRequest
    record: DrawRecord | None = None
    result: DrawResult | None = None


@dataclass(frozen=True)
class VerifyReport:
    """Whether a stored draw is what its inputs and seed give, with what was found wrong."""

    draw_id: int
    ok: bool
    problems: tuple[str, ...] = ()
    algorithm_version: str = ""
    candidates: int = 0
    picks: int = 0
    chances: tuple[Chances, ...] = ()  # as recomputed (equal to the stored ones when ``ok``)
    fallback: bool = False


@dataclass(frozen=True)
class DrawView:
    """A draw record for someone allowed to see it, with names and the activity."""

    record: DrawRecord
    result: DrawResult
    info: ActivityView | None
    names: dict[int, str] = field(default_factory=dict)
    operator: str = ""
    approver: str | None = None
    shortfalls: tuple[Explained, ...] = ()  # a short draw in words (issue 13)
    employers: dict[int, str] = field(default_factory=dict)  # names of the employers the chances name
    lenders: tuple[str, ...] = ()  # names of the units whose lent pools the draw took from (003 三(八))


def _refused(reason: str, **params: object) -> DrawRefused:
    return DrawRefused(reason, reason_key=f"draw.refused.{reason}", **params)
