"""The result of an expert draw (``draw_rules`` points 10–15): the picks in order, the leader, the shortfalls, and
for the draw v2 the chances it gave (:class:`~services.activities.fair_draw.Chances`). Plain values, stored with
the record (``services.draws.running.result_json``) and compared by verification."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.activities.draw_rules import Role
from services.activities.fair_draw import Chances

__all__ = ["Chances", "DrawResult", "Pick", "Shortfall", "picks_of"]


@dataclass(frozen=True)
class Pick:
    """One drawn expert: for which requirement, as principal or backup, and their 1-based order in that role."""

    requirement_key: str
    person_id: int
    role: Role
    order: int


@dataclass(frozen=True)
class Shortfall:
    """A requirement the pool cannot meet: ``short`` of ``needed`` are missing; ``removed`` counts, among the
    ``matched`` candidates, how many each rule removed (a candidate may count under several exclusion codes)."""

    requirement_key: str
    needed: int
    short: int
    matched: int
    removed: Counter[str] = field(default_factory=Counter, hash=False)


@dataclass(frozen=True)
class DrawResult:
    """The outcome: ``picks`` in draw order (empty when any requirement falls short), leader per 000 §18(四);
    v2 adds each requirement's ``chances`` (the principals' marginals), or ``fallback`` when v2 drew as v1
    because its chances would not be exact (``fair_draw.common_case``)."""

    algorithm_version: str
    picks: tuple[Pick, ...] = ()
    leader: int | None = None
    needs_leader_choice: bool = False
    shortfalls: tuple[Shortfall, ...] = ()
    chances: tuple[Chances, ...] = ()
    fallback: bool = False

    @property
    def ok(self) -> bool:
        """True when every requirement was met."""
        return not self.shortfalls

    @property
    def principals(self) -> tuple[int, ...]:
        """Principal person ids, in draw order."""
        return tuple(pick.person_id for pick in self.picks if pick.role == Role.PRINCIPAL)

    @property
    def backups(self) -> tuple[int, ...]:
        """Backup person ids, in draw order."""
        return tuple(pick.person_id for pick in self.picks if pick.role == Role.BACKUP)


def picks_of(requirement_key: str, principals: Sequence[int], backups: Sequence[int]) -> list[Pick]:
    """The picks of one requirement: principals, then backups, each numbered from 1 in the order given."""
    return [*(Pick(requirement_key, person_id, Role.PRINCIPAL, order)
              for order, person_id in enumerate(principals, start=1)),
            *(Pick(requirement_key, person_id, Role.BACKUP, order)
              for order, person_id in enumerate(backups, start=1))]
