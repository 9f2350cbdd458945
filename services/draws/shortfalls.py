"""A short draw explained in words (issue 13; 001 §11(二)): each short requirement by its line number and category,
never an internal key, with why the candidates of its category fell away: the draw's own exclusion counts, and the
experts of the category who are no longer in the pool (removed from it, exited), counted now from the pool."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import col, select

from services.activities.activities import ActivityView
from services.activities.expert_draw import DrawResult
from storage.models import Expert
from storage.uow import UnitOfWork

GONE = {"removed": "pool_removed", "exited": "pool_exited"}
"""An expert's pool state → the reason shown (``draw.reason.<code>``)."""


@dataclass(frozen=True)
class Explained:
    """One short requirement: its line and category, how many were needed and are missing, and the reasons with
    their counts, most frequent first."""

    position: int
    category: str
    subcategory: str | None
    tags: tuple[str, ...]
    needed: int
    short: int
    matched: int
    reasons: tuple[tuple[str, int], ...]


async def explain(uow: UnitOfWork, info: ActivityView, result: DrawResult) -> tuple[Explained, ...]:
    """The shortfalls of ``result`` in words (empty for a draw that was not short)."""
    if not result.shortfalls:
        return ()
    gone_rows = (await uow.session.exec(select(Expert.categories, Expert.clinical_subcategories, Expert.state)
                                        .where(col(Expert.state).in_(tuple(GONE))))).all()
    by_key = {f"r{r.id}": r for r in info.requirements}
    explained = []
    for shortfall in result.shortfalls:
        requirement = by_key.get(shortfall.requirement_key)
        if requirement is None:
            continue
        reasons: Counter[str] = Counter({code: n for code, n in shortfall.removed.items() if n})
        for categories, subcategories, state in gone_rows:
            if requirement.category in (categories or []) and (
                    requirement.subcategory is None or requirement.subcategory in (subcategories or [])):
                reasons[GONE[state]] += 1
        explained.append(Explained(
            requirement.position, requirement.category, requirement.subcategory, tuple(requirement.tags),
            shortfall.needed, shortfall.short, shortfall.matched,
            tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))))
    return tuple(explained)
