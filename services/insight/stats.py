"""The key figures of a unit and the units below it for a period (issue 17, ``/stats``), each one aggregate query
over indexed columns (``activity.starts_at``, ``activity_member.invited_at``, ``lead.created_at``,
``audit_entry.at``, ``expert.term_end``...), never a row-by-row walk:

- activities held and cancelled, draws that fell short (001 §11(二));
- invitations sent in the period and how they ended (accepted, declined, recused, no answer), backups called
  (000 §19) and the median time to answer;
- leads received (002 §12) by state, category and unit, those overdue now, the median days to the acceptance
  decision (15 working days, 002 §12(二)), rewards offered and claimed (002 §12(四));
- the pool now by state, category, age band and unit; terms ending within 60 days (000 §10(七), §21).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from services.insight.period import Period
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform.errors import PermissionDenied
from services.platform.roles import Actor, Role
from storage.activities import Activity, ActivityMember, DrawRecord
from storage.leads import Lead
from storage.models import AuditEntry, Expert, OrgUnit
from storage.uow import UnitOfWork

ENDING_DAYS = 60  # terms and extensions ending within this many days are listed
AGE_BANDS = ((0, 40, "under_40"), (40, 50, "40_49"), (50, 60, "50_59"), (60, 200, "60_plus"))
ANSWERED = {"accepted": "accepted", "signed": "accepted", "declined": "declined", "refused": "declined",
            "recused": "recused", "expired": "no_answer"}
DECISIONS = ("lead.accepted", "lead.not_accepted")  # the first decision on a received lead (002 §12(二))


@dataclass(frozen=True)
class Activities:
    """Activities whose start falls in the period, and the draws made in it."""

    held: int = 0
    cancelled: int = 0
    short_draws: int = 0


@dataclass(frozen=True)
class Invitations:
    """Invitations sent in the period, by how they ended so far."""

    invited: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # accepted | declined | recused | no_answer | open
    backups_called: int = 0
    median_hours: float | None = None


@dataclass(frozen=True)
class Leads:
    """Leads received in the period (their state today), and the decisions and rewards of the period."""

    received: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_unit: dict[str, int] = field(default_factory=dict)
    overdue_now: int = 0
    median_days_to_decision: float | None = None
    rewards_offered: int = 0
    rewards_claimed: int = 0


@dataclass(frozen=True)
class Pool:
    """The pool today: states, and the active experts by category, age band and unit."""

    by_state: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_age: dict[str, int] = field(default_factory=dict)
    by_unit: dict[str, int] = field(default_factory=dict)
    terms_ending: int = 0


@dataclass(frozen=True)
class Stats:
    """The figures of ``unit_name`` (and the units below it) for ``period``, with the period before it."""

    unit_id: int
    unit_name: str
    period: Period
    activities: Activities
    invitations: Invitations
    leads: Leads
    before: tuple[Activities, Invitations, Leads]
    pool: Pool


async def scope(uow: UnitOfWork, actor: Actor, unit: str | None) -> tuple[OrgUnit, set[int]]:
    """The unit asked for (default: the caller's own) and every unit below it; staff only, within their line."""
    if actor.staff_org_unit_id is None or not actor.has_any(frozenset({Role.STAFF, Role.ADMIN})):
        raise PermissionDenied("only staff may see the figures")
    found = await get_unit(uow, unit if unit else actor.staff_org_unit_id)
    assert found.id is not None
    await require_scope_over_units(uow, actor, {found.id})
    return found, await subtree(uow, found.id)


async def unit_stats(uow: UnitOfWork, *, actor: Actor, period: Period, unit: str | None = None) -> Stats:
    """Every figure of ``/stats``."""
    found, units = await scope(uow, actor, unit)
    assert found.id is not None
    names: dict[int | None, str] = {u.id: u.name for u in await uow.org_units.all() if u.id in units}
    earlier = period.before()
    return Stats(found.id, found.name, period, await activities(uow, units, period),
                 await invitations(uow, units, period), await leads(uow, units, period, names),
                 (await activities(uow, units, earlier), await invitations(uow, units, earlier),
                  await leads(uow, units, earlier, names)),
                 await pool(uow, units, names, today=uow.today()))


async def activities(uow: UnitOfWork, units: set[int], period: Period) -> Activities:
    """Held and cancelled activities starting in the period; draws that fell short."""
    start, end = period.bounds(uow.zone)
    rows = await uow.session.exec(
        select(Activity.status, func.count()).where(col(Activity.org_unit_id).in_(units),
                                                     col(Activity.starts_at) >= start, col(Activity.starts_at) < end)
        .group_by(col(Activity.status)))
    counts = dict(rows.all())
    short = (await uow.session.exec(
        select(func.count()).select_from(DrawRecord).where(
            col(DrawRecord.org_unit_id).in_(units), col(DrawRecord.drawn_at) >= start, col(DrawRecord.drawn_at) < end,
            DrawRecord.outcome == "short"))).one()
    cancelled = counts.pop("cancelled", 0)
    return Activities(held=sum(counts.values()), cancelled=cancelled, short_draws=int(short))


async def invitations(uow: UnitOfWork, units: set[int], period: Period) -> Invitations:
    """Invitations sent in the period and how they ended; backups called; the median time to answer."""
    start, end = period.bounds(uow.zone)
    sent = (select(ActivityMember.status, ActivityMember.role, ActivityMember.invited_at, ActivityMember.answered_at)
            .join(Activity, col(Activity.id) == col(ActivityMember.activity_id))
            .where(col(Activity.org_unit_id).in_(units), col(ActivityMember.invited_at) >= start,
                   col(ActivityMember.invited_at) < end))
    rows = (await uow.session.exec(sent)).all()
    outcomes = Counter(ANSWERED.get(status, "open") for status, _, _, _ in rows)
    waits = [(answered - invited).total_seconds() / 3600 for status, _, invited, answered in rows
             if answered is not None and invited is not None and status != "expired"]
    return Invitations(invited=len(rows), outcomes=dict(outcomes),
                       backups_called=sum(1 for _, role, _, _ in rows if role == "backup"),
                       median_hours=round(statistics.median(waits), 1) if waits else None)


async def leads(uow: UnitOfWork, units: set[int], period: Period, names: dict[int | None, str]) -> Leads:
    """Leads received in the period by state, category and unit; overdue now; decisions; rewards."""
    start, end = period.bounds(uow.zone)
    received = (await uow.session.exec(
        select(Lead.state, Lead.category, Lead.org_unit_id, Lead.reward_state)
        .where(col(Lead.org_unit_id).in_(units), col(Lead.created_at) >= start, col(Lead.created_at) < end))).all()
    overdue = (await uow.session.exec(
        select(func.count()).select_from(Lead).where(
            col(Lead.org_unit_id).in_(units), col(Lead.due_at) < uow.now(),
            col(Lead.state).in_(("received", "accepted", "investigating"))))).one()
    return Leads(received=len(received), by_state=dict(Counter(r[0] for r in received)),
                 by_category=dict(Counter(r[1] for r in received)),
                 by_unit=dict(Counter(names.get(r[2], "—") for r in received)), overdue_now=int(overdue),
                 median_days_to_decision=await _decision_days(uow, units, start, end),
                 rewards_offered=sum(1 for r in received if r[3] in ("offered", "claimed", "lapsed")),
                 rewards_claimed=sum(1 for r in received if r[3] == "claimed"))


async def _decision_days(uow: UnitOfWork, units: set[int], start: datetime, end: datetime) -> float | None:
    """The median days from a lead's arrival to its acceptance decision, over the decisions made in the period."""
    decided = dict((await uow.session.exec(
        select(AuditEntry.object_id, AuditEntry.at).where(
            col(AuditEntry.action).in_(DECISIONS), col(AuditEntry.at) >= start, col(AuditEntry.at) < end,
            AuditEntry.object_type == "lead"))).all())
    ids = [int(i) for i in decided if i.isdigit()]
    arrived = (await uow.session.exec(select(Lead.id, Lead.created_at).where(
        col(Lead.id).in_(ids), col(Lead.org_unit_id).in_(units)))).all() if ids else []
    days = [(decided[str(lead_id)] - created).total_seconds() / 86400 for lead_id, created in arrived]
    return round(statistics.median(days), 1) if days else None


async def pool(uow: UnitOfWork, units: set[int], names: dict[int | None, str], *, today: date) -> Pool:
    """The pool today."""
    states = dict((await uow.session.exec(
        select(Expert.state, func.count()).where(col(Expert.org_unit_id).in_(units))
        .group_by(col(Expert.state)))).all())
    active = (await uow.session.exec(
        select(Expert.categories, col(Expert.birth_date), Expert.org_unit_id)
        .where(col(Expert.org_unit_id).in_(units), Expert.state == "active"))).all()
    ending = (await uow.session.exec(
        select(func.count()).select_from(Expert).where(
            col(Expert.org_unit_id).in_(units), Expert.state == "active", col(Expert.term_end) >= today,
            col(Expert.term_end) <= today + timedelta(days=ENDING_DAYS)))).one()
    return Pool(by_state=states, by_category=dict(Counter(c for cats, _, _ in active for c in cats or [])),
                by_age=dict(Counter(age_band(born, today) for _, born, _ in active)),
                by_unit=dict(Counter(names.get(unit, "—") for _, _, unit in active)), terms_ending=int(ending))


def age_band(born: date | None, today: date) -> str:
    """The age band of a birth date (``unknown`` without one)."""
    if born is None:
        return "unknown"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return next(name for low, high, name in AGE_BANDS if low <= age < high)


def change(now: int, before: int) -> str:
    """``+3``, ``-1``, ``±0``: the change against the period before."""
    delta = now - before
    return f"+{delta}" if delta > 0 else str(delta) if delta < 0 else "±0"


__all__: Sequence[str] = ["Activities", "Invitations", "Leads", "Pool", "Stats", "age_band", "change", "unit_stats"]
