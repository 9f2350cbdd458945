"""The records behind a figure of ``/stats`` (issue 17: "each figure links to the list behind it"), paged: the
invitations left unanswered in the period (000 §19), the leads overdue now (002 §12(二)), the terms ending within
60 days (000 §21) and the draws that fell short (001 §11(二)). Each row is plain values for the front end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from services.insight.period import Period
from services.insight.stats import ENDING_DAYS, scope
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember, DrawRecord
from storage.leads import Lead
from storage.models import Expert, Person
from storage.uow import UnitOfWork

PAGE_SIZE = 20
OPEN_LEADS = ("received", "accepted", "investigating")


class Figure(StrEnum):
    """The figures with a list behind them."""

    NO_ANSWER = "no_answer"
    OVERDUE = "overdue"
    TERMS = "terms"
    SHORT = "short"


@dataclass(frozen=True)
class FigureList:
    """One page of a figure's records: ``rows`` of plain values (``key`` names the row's catalog line)."""

    figure: Figure
    unit_id: int
    unit_name: str
    period: Period
    page: int
    total: int
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
        return max(1, -(-self.total // PAGE_SIZE))


async def figure_list(uow: UnitOfWork, *, actor: Actor, figure: str, unit_id: int, period: Period,
                      page: int = 0) -> FigureList:
    """Page ``page`` of the records behind ``figure`` for the unit (within the caller's line) and its children."""
    try:
        chosen = Figure(figure)
    except ValueError:
        raise InvalidInput(f"no list for {figure}", field="figure") from None
    unit, units = await scope(uow, actor, str(unit_id))
    assert unit.id is not None
    query, count = _queries(uow, chosen, units, period)
    total = int((await uow.session.exec(count)).one())
    found = (await uow.session.exec(query.offset(page * PAGE_SIZE).limit(PAGE_SIZE))).all()
    rows = [_row(chosen, values, uow) for values in found]
    return FigureList(chosen, unit.id, unit.name, period, page, total, rows)


def _queries(uow: UnitOfWork, figure: Figure, units: set[int], period: Period) -> tuple[Any, Any]:
    start, end = period.bounds(uow.zone)
    if figure is Figure.NO_ANSWER:
        where: tuple[Any, ...] = (col(Activity.org_unit_id).in_(units), ActivityMember.status == "expired",
                 col(ActivityMember.invited_at) >= start, col(ActivityMember.invited_at) < end)
        joined = (select(col(Person.name), col(ActivityMember.person_id), col(Activity.id),
                         col(ActivityMember.invited_at))
                  .join(Activity, col(Activity.id) == col(ActivityMember.activity_id))
                  .join(Person, col(Person.id) == col(ActivityMember.person_id)))
        counted = (select(func.count()).select_from(ActivityMember)
                   .join(Activity, col(Activity.id) == col(ActivityMember.activity_id)))
        return joined.where(*where).order_by(col(ActivityMember.invited_at)), counted.where(*where)
    if figure is Figure.OVERDUE:
        where = (col(Lead.org_unit_id).in_(units), col(Lead.due_at) < uow.now(), col(Lead.state).in_(OPEN_LEADS))
        return (select(Lead.number, Lead.id, Lead.state, Lead.due_at).where(*where).order_by(col(Lead.due_at)),
                select(func.count()).select_from(Lead).where(*where))
    if figure is Figure.TERMS:
        today = uow.today()
        where = (col(Expert.org_unit_id).in_(units), Expert.state == "active", col(Expert.term_end) >= today,
                 col(Expert.term_end) <= today + timedelta(days=ENDING_DAYS))
        return (select(col(Person.name), col(Expert.person_id), col(Expert.term_end))
                .join(Person, col(Person.id) == col(Expert.person_id)).where(*where).order_by(col(Expert.term_end)),
                select(func.count()).select_from(Expert).where(*where))
    where = (col(DrawRecord.org_unit_id).in_(units), DrawRecord.outcome == "short",
             col(DrawRecord.drawn_at) >= start, col(DrawRecord.drawn_at) < end)
    return (select(DrawRecord.id, DrawRecord.activity_id, DrawRecord.drawn_at).where(*where)
            .order_by(col(DrawRecord.drawn_at)), select(func.count()).select_from(DrawRecord).where(*where))


def _row(figure: Figure, values: Any, uow: UnitOfWork) -> dict[str, Any]:
    def day(moment: Any) -> str:
        return moment.astimezone(uow.zone).strftime("%Y-%m-%d") if moment is not None else "—"

    if figure is Figure.NO_ANSWER:
        name, person_id, activity_id, invited = values
        return {"name": name, "person_id": person_id, "activity_id": activity_id, "on": day(invited)}
    if figure is Figure.OVERDUE:
        number, lead_id, state, due = values
        return {"number": number, "id": lead_id, "state_key": f"lead.state.{state}", "on": day(due)}
    if figure is Figure.TERMS:
        name, person_id, term_end = values
        return {"name": name, "person_id": person_id, "on": term_end.isoformat()}
    draw_id, activity_id, drawn = values
    return {"id": draw_id, "activity_id": activity_id or "—", "on": day(drawn)}
