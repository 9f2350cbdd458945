"""Search over leads and activities (issue 17): every word must match (the tracking number, the institution, the
facts, the category's code or the title, place and kind), within the caller's line; newest first, a page of
:data:`LIMIT` rows at a time with the total (the bot pages with Previous / Next: :class:`services.insight.actions
.SearchPage` carries the words). Reporter identities are never searched or shown (003 三(四))."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from services.insight.stats import scope
from services.platform.roles import Actor
from storage.activities import Activity
from storage.leads import Lead
from storage.pool import Institution
from storage.uow import UnitOfWork

LIMIT = 20
MAX_WORDS = 5


@dataclass(frozen=True)
class Found:
    """One page of a search (plain values): how many matched in all, and where the page is (0-based)."""

    total: int
    rows: list[dict[str, Any]]
    page: int = 0

    @property
    def pages(self) -> int:
        """How many pages the results fill (at least one)."""
        return max(1, -(-self.total // LIMIT))


def words(text: str) -> list[str]:
    """The words searched for: at most :data:`MAX_WORDS`, each at most 50 characters, without LIKE's wildcards."""
    return [w for w in (w.replace("%", "").replace("_", "")[:50] for w in text.split()) if w][:MAX_WORDS]


def _page(total: int, page: int) -> int:
    """``page`` within the results (a page past the end shows the last one: results change between presses)."""
    return max(0, min(page, -(-total // LIMIT) - 1))


def _like(word: str) -> str:
    return f"%{word.lower()}%"


async def leads(uow: UnitOfWork, *, actor: Actor, text: str, page: int = 0) -> Found:
    """Page ``page`` of the leads of the caller's line matching every word."""
    _, units = await scope(uow, actor, None)
    conditions: list[Any] = [col(Lead.org_unit_id).in_(units)]
    for word in words(text):
        conditions.append(or_(func.lower(Lead.number).like(_like(word)), func.lower(Lead.what).like(_like(word)),
                              func.lower(Lead.category).like(_like(word)),
                              func.lower(func.coalesce(Lead.institution_text, "")).like(_like(word)),
                              func.lower(func.coalesce(Institution.name, "")).like(_like(word))))
    joined = select(Lead.id, Lead.number, Lead.state, Lead.category).outerjoin(
        Institution, col(Institution.id) == col(Lead.institution_id)).where(*conditions)
    total = int((await uow.session.exec(select(func.count()).select_from(joined.subquery()))).one())
    page = _page(total, page)
    rows = (await uow.session.exec(joined.order_by(col(Lead.id).desc()).offset(page * LIMIT).limit(LIMIT))).all()
    return Found(total, [{"id": i, "number": n, "state_key": f"lead.state.{s}", "category_key":
                          f"lead.category.{c}"} for i, n, s, c in rows], page)


async def activities(uow: UnitOfWork, *, actor: Actor, text: str, page: int = 0) -> Found:
    """Page ``page`` of the activities of the caller's line matching every word (title, place, kind)."""
    _, units = await scope(uow, actor, None)
    conditions: list[Any] = [col(Activity.org_unit_id).in_(units)]
    for word in words(text):
        conditions.append(or_(func.lower(Activity.title).like(_like(word)),
                              func.lower(Activity.place).like(_like(word)),
                              func.lower(Activity.kind).like(_like(word))))
    query = select(Activity.id, Activity.title, Activity.kind, Activity.starts_at).where(*conditions)
    total = int((await uow.session.exec(select(func.count()).select_from(query.subquery()))).one())
    page = _page(total, page)
    rows = (await uow.session.exec(query.order_by(col(Activity.starts_at).desc(), col(Activity.id).desc())
                                   .offset(page * LIMIT).limit(LIMIT))).all()
    return Found(total, [{"id": i, "title": t, "kind_key": f"newact.kind.{k}", "starts": s}
                         for i, t, k, s in rows], page)


__all__: Sequence[str] = ["Found", "activities", "leads", "words"]
