"""The monthly statistical tables and the yearly written report (issue 17; 000 §4 "指导、监督", 002 §12(三) the
yearly meeting, 003 四 "全过程记录"): the figures of ``/stats`` per unit of a line, with totals, one table per
topic; the year's figures, excellent experts (000 §20), removals (000 §23) and reprimands (000 §27) with their
articles. A monthly report goes to each unit's staff chat on the first working day of the month (once: marked by an
audit entry ``report.monthly_sent``). Labels come from the front end (``label``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from services.insight import period as periods
from services.insight import stats
from services.people.orgs import subtree
from services.platform import audit
from services.platform.roles import Actor
from services.platform.workdays import default_calendar
from services.records.sanctions import ARTICLES
from storage.models import AuditEntry, Expert, OrgUnit, Person, StaffChat
from storage.records import ExcellenceList, SanctionProposal
from storage.uow import UnitOfWork

Label = Callable[..., str]
Cell = str | int | float | None
OUTCOMES = ("accepted", "declined", "recused", "no_answer", "open")
LEAD_STATES = ("received", "accepted", "not_accepted", "investigating", "substantiated", "unsubstantiated", "closed")
SENT = "report.monthly_sent"


@dataclass(frozen=True)
class Sheet:
    """One table: its title, headers, one row per unit and the total row (the sum of the unit rows)."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    total: list[Cell]


async def _units(uow: UnitOfWork, root: int) -> list[OrgUnit]:
    ids = await subtree(uow, root)
    return sorted((u for u in await uow.org_units.all() if u.id in ids), key=lambda u: (u.id != root, u.code))


def _total(label: Label, rows: list[list[Cell]]) -> list[Cell]:
    return [label("reports.total"), *[sum(int(r[i] or 0) for r in rows) for i in range(1, len(rows[0]))]] \
        if rows else [label("reports.total")]


async def monthly_sheets(uow: UnitOfWork, *, unit_id: int, period: periods.Period, label: Label) -> list[Sheet]:
    """The tables of ``period`` for the unit and each unit below it (each row the unit's own records)."""
    units = await _units(uow, unit_id)
    acts: list[list[Cell]] = []
    invs: list[list[Cell]] = []
    leads: list[list[Cell]] = []
    pools: list[list[Cell]] = []
    for unit in units:
        assert unit.id is not None
        own = {unit.id}
        a = await stats.activities(uow, own, period)
        i = await stats.invitations(uow, own, period)
        ld = await stats.leads(uow, own, period, {unit.id: unit.name})
        p = await stats.pool(uow, own, {unit.id: unit.name}, today=uow.today())
        acts.append([unit.name, a.held, a.cancelled, a.short_draws])
        invs.append([unit.name, i.invited, *[i.outcomes.get(o, 0) for o in OUTCOMES], i.backups_called])
        leads.append([unit.name, ld.received, *[ld.by_state.get(s, 0) for s in LEAD_STATES], ld.overdue_now,
                      ld.rewards_offered, ld.rewards_claimed])
        pools.append([unit.name, p.by_state.get("active", 0), *[p.by_category.get(c, 0) for c in CATEGORIES],
                      p.terms_ending])
    return [
        Sheet(label("reports.sheet.activities"), [label("reports.unit"), *[label(f"reports.col.{c}") for c in
                                                 ("held", "cancelled", "short")]], acts, _total(label, acts)),
        Sheet(label("reports.sheet.invitations"), [label("reports.unit"), label("reports.col.invited"),
                                                  *[label(f"stats.outcome.{o}") for o in OUTCOMES],
                                                  label("reports.col.backups")], invs, _total(label, invs)),
        Sheet(label("reports.sheet.leads"), [label("reports.unit"), label("reports.col.received"),
                                            *[label(f"lead.state.{s}") for s in LEAD_STATES],
                                            label("reports.col.overdue"), label("reports.col.offered"),
                                            label("reports.col.claimed")], leads, _total(label, leads)),
        Sheet(label("reports.sheet.pool"), [label("reports.unit"), label("reports.col.active"),
                                           *[label(f"category.{c}") for c in CATEGORIES],
                                           label("reports.col.ending")], pools, _total(label, pools)),
    ]


CATEGORIES = ("supervision", "clinical", "informatics", "management")


async def monthly(uow: UnitOfWork, *, actor: Actor, period: periods.Period, label: Label,
                  unit: str | None = None) -> tuple[str, list[Sheet]]:
    """The monthly tables of a unit of the caller's line (default: their own): the unit's name and the sheets."""
    found, _ = await stats.scope(uow, actor, unit)
    assert found.id is not None
    return found.name, await monthly_sheets(uow, unit_id=found.id, period=period, label=label)


@dataclass(frozen=True)
class YearFacts:
    """What the yearly report lists besides the figures."""

    excellent: list[str]
    removals: list[tuple[str, str, str]]  # name, date, reason
    reprimands: list[tuple[str, str, str]]  # name, date, article


async def year_facts(uow: UnitOfWork, *, unit_id: int, year: int) -> YearFacts:
    """The year's excellent experts (published, 000 §20), removals (000 §23) and confirmed reprimands (000 §27)."""
    units = await subtree(uow, unit_id)
    listed = (await uow.session.exec(select(ExcellenceList).where(
        col(ExcellenceList.org_unit_id).in_(units), ExcellenceList.year == year,
        ExcellenceList.status == "published"))).all()
    excellent = [str(e.get("name", e["person_id"])) for found in listed for e in found.entries]
    removed = (await uow.session.exec(select(col(Person.name), col(Expert.ended_on), col(Expert.end_reason))
                                      .join(Person, col(Person.id) == col(Expert.person_id))
                                      .where(col(Expert.org_unit_id).in_(units), Expert.state == "removed",
                                             col(Expert.ended_on) >= date(year, 1, 1),
                                             col(Expert.ended_on) <= date(year, 12, 31)))).all()
    start, end = periods.year(year).bounds(uow.zone)
    reprimanded = (await uow.session.exec(
        select(col(Person.name), col(SanctionProposal.decided_at), col(SanctionProposal.rule))
        .join(Person, col(Person.id) == col(SanctionProposal.person_id))
        .where(col(SanctionProposal.org_unit_id).in_(units), SanctionProposal.status == "confirmed",
               SanctionProposal.sanction == "reprimand", col(SanctionProposal.decided_at) >= start,
               col(SanctionProposal.decided_at) < end))).all()
    return YearFacts(excellent, [(n, d.isoformat() if d else "", r or "") for n, d, r in removed],
                     [(n, d.astimezone(uow.zone).date().isoformat() if d else "", ARTICLES.get(rule, rule))
                      for n, d, rule in reprimanded])


@dataclass(frozen=True)
class Due:
    """A monthly report to send: the unit, the month it covers, and its staff chats."""

    unit_id: int
    period: periods.Period
    chat_ids: list[str]


async def due_monthly(uow: UnitOfWork) -> list[Due]:
    """On the first working day of a month, the units with a staff chat whose report on the month before has not
    been sent yet."""
    today = uow.today()
    calendar = default_calendar()
    first = next(date(today.year, today.month, d) for d in range(1, 29)
                 if calendar.is_working_day(date(today.year, today.month, d)))
    if today != first:
        return []
    covered = periods.month(today.year, today.month).before()
    chats: dict[int, list[str]] = {}
    for chat in (await uow.session.exec(select(StaffChat).where(col(StaffChat.unbound_at).is_(None)))).all():
        chats.setdefault(chat.org_unit_id, []).append(chat.chat_id)
    sent = set((await uow.session.exec(select(AuditEntry.object_id).where(AuditEntry.action == SENT))).all())
    return [Due(unit, covered, ids) for unit, ids in sorted(chats.items()) if f"{unit}:{covered.code}" not in sent]


async def mark_sent(uow: UnitOfWork, due: Due) -> None:
    """Record that the report went out (commits)."""
    await audit.record(uow, at=uow.now(), actor="system:reports", action=SENT, object_type="org_unit",
                       object_id=f"{due.unit_id}:{due.period.code}", details={"chats": len(due.chat_ids)})
    await uow.commit()


@dataclass(frozen=True)
class Yearly:
    """The yearly report's content: the unit, the year's tables, the leads of each month (for the chart) and the
    lists of excellent experts, removals and reprimands."""

    unit_name: str
    year: int
    sheets: list[Sheet]
    leads_by_month: list[int]
    facts: YearFacts


async def yearly(uow: UnitOfWork, *, unit_id: int, year: int, label: Label) -> Yearly:
    """Everything the yearly report says about ``unit_id`` and the units below it."""
    unit = await uow.org_units.get(unit_id)
    asked = periods.year(year)
    sheets = await monthly_sheets(uow, unit_id=unit_id, period=asked, label=label)
    units = await subtree(uow, unit_id)
    months = []
    for number in range(1, 13):
        found = await stats.leads(uow, units, periods.month(year, number), {})
        months.append(found.received)
    return Yearly(unit.name if unit else "", year, sheets, months, await year_facts(uow, unit_id=unit_id, year=year))


async def scoped_unit(uow: UnitOfWork, actor: Actor, unit: str | None) -> int:
    """The id of the unit asked for within the caller's line (default: their own)."""
    found, _ = await stats.scope(uow, actor, unit)
    assert found.id is not None
    return found.id
