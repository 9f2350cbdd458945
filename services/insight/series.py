"""The data behind the charts of ``/stats`` (issue 17): twelve months of leads by state and of invitations by
outcome, the distribution of the time experts take to answer, and the pool by category. Plain values; the front end
labels them and :mod:`services.documents.charts` draws them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from services.insight import period as periods
from services.insight.stats import ANSWERED, Pool, pool, scope
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.leads import Lead
from storage.uow import UnitOfWork

MONTHS = 12
ANSWER_BUCKETS = ((0, 2, "under_2h"), (2, 6, "2_6h"), (6, 24, "6_24h"), (24, 72, "1_3d"), (72, 10**9, "over_3d"))


@dataclass(frozen=True)
class Monthly:
    """Counts per month (``months``: ``2026-01``… oldest first) and per key."""

    unit_name: str
    months: list[str]
    counts: dict[str, list[int]]  # key -> one count per month


def _months(last: periods.Period) -> list[periods.Period]:
    found = [periods.month(last.last.year, last.last.month)]
    while len(found) < MONTHS:
        found.insert(0, found[0].before())
    return found


def _bucket(rows: list[tuple[datetime, str]], months: list[periods.Period], uow: UnitOfWork) -> dict[str, list[int]]:
    index = {m.label: i for i, m in enumerate(months)}
    counts: dict[str, list[int]] = {}
    for moment, key in rows:
        local = moment.astimezone(uow.zone)
        at = index.get(f"{local.year}-{local.month:02d}")
        if at is not None:
            counts.setdefault(key, [0] * len(months))[at] += 1
    return counts


async def leads_by_month(uow: UnitOfWork, *, actor: Actor, unit: str | None, last: periods.Period) -> Monthly:
    """Leads received in each of the twelve months up to ``last``, by their state today."""
    found, units = await scope(uow, actor, unit)
    months = _months(last)
    start, end = months[0].bounds(uow.zone)[0], months[-1].bounds(uow.zone)[1]
    rows = (await uow.session.exec(select(Lead.created_at, Lead.state).where(
        col(Lead.org_unit_id).in_(units), col(Lead.created_at) >= start, col(Lead.created_at) < end))).all()
    return Monthly(found.name, [m.label for m in months], _bucket(list(rows), months, uow))


async def invitations_by_month(uow: UnitOfWork, *, actor: Actor, unit: str | None, last: periods.Period) -> Monthly:
    """Invitations sent in each of the twelve months up to ``last``, by how they ended."""
    found, units = await scope(uow, actor, unit)
    months = _months(last)
    start, end = months[0].bounds(uow.zone)[0], months[-1].bounds(uow.zone)[1]
    rows = (await uow.session.exec(
        select(ActivityMember.invited_at, ActivityMember.status)
        .join(Activity, col(Activity.id) == col(ActivityMember.activity_id))
        .where(col(Activity.org_unit_id).in_(units), col(ActivityMember.invited_at) >= start,
               col(ActivityMember.invited_at) < end))).all()
    keyed = [(at, ANSWERED.get(status, "open")) for at, status in rows if at is not None]
    return Monthly(found.name, [m.label for m in months], _bucket(keyed, months, uow))


async def answer_times(uow: UnitOfWork, *, actor: Actor, unit: str | None,
                       asked: periods.Period) -> tuple[str, dict[str, int]]:
    """How long experts took to answer the invitations sent in the period, in buckets (``under_2h``…)."""
    found, units = await scope(uow, actor, unit)
    start, end = asked.bounds(uow.zone)
    rows = (await uow.session.exec(
        select(ActivityMember.invited_at, ActivityMember.answered_at)
        .join(Activity, col(Activity.id) == col(ActivityMember.activity_id))
        .where(col(Activity.org_unit_id).in_(units), col(ActivityMember.invited_at) >= start,
               col(ActivityMember.invited_at) < end, col(ActivityMember.answered_at).is_not(None),
               ActivityMember.status != "expired"))).all()
    counts = Counter(next(name for low, high, name in ANSWER_BUCKETS
                          if low <= (answered - invited).total_seconds() / 3600 < high)
                     for invited, answered in rows if invited is not None and answered is not None)
    return found.name, {name: counts.get(name, 0) for _, _, name in ANSWER_BUCKETS}


async def pool_now(uow: UnitOfWork, *, actor: Actor, unit: str | None) -> tuple[str, Pool]:
    """The pool today (the figures of ``/stats``)."""
    found, units = await scope(uow, actor, unit)
    names: dict[int | None, str] = {u.id: u.name for u in await uow.org_units.all() if u.id in units}
    return found.name, await pool(uow, units, names, today=uow.today())
