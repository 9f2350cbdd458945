"""Staff are warned once per uncovered year that deadlines fall back to Monday–Friday (issue 7, "Working days")."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from services.platform import calendar_watch
from services.platform.workdays import WorkingCalendar
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org


class Partial(WorkingCalendar):
    """A calendar that knows 2026 only (the fixed clock stands in 2026)."""

    def covers(self, day: date) -> bool:
        return day.year == 2026


async def test_an_uncovered_next_year_is_announced_once_to_the_bureau(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    assert await calendar_watch.warn_uncovered_years(uow_factory, Partial()) == [2027]
    assert await calendar_watch.warn_uncovered_years(uow_factory, Partial()) == []
    async with uow_factory() as u:
        query = select(OutboxMessage).where(OutboxMessage.message_key == "calendar.fallback")
        sent = (await u.session.exec(query)).all()
    assert sent and all(m.params == {"year": 2027} for m in sent)


async def test_a_covered_calendar_warns_nobody(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)

    class Full(WorkingCalendar):
        def covers(self, day: date) -> bool:
            return True

    assert await calendar_watch.warn_uncovered_years(uow_factory, Full()) == []
