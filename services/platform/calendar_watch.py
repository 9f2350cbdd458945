"""Telling staff, once per year, that the working-day calendar has no official holidays for a year the product
is about to count in (issue 7: "Outside the years the library covers, fall back to Monday–Friday and warn staff
once"). Deadlines reach into next year, so this year and the next are checked; "once" is kept in the audit trail
(an entry ``calendar.fallback_warned`` per year), so a restart does not warn again.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from services.platform import audit, notify
from services.platform.workdays import WorkingCalendar, default_calendar
from storage.models import AuditEntry, OrgUnit
from storage.uow import UnitOfWorkFactory


async def warn_uncovered_years(uow_factory: UnitOfWorkFactory, calendar: WorkingCalendar | None = None) -> list[int]:
    """Warn the root units' staff about each uncovered year (this one and the next) not warned before."""
    calendar = calendar or default_calendar()
    warned: list[int] = []
    async with uow_factory() as uow:
        today = uow.today()
        for year in (today.year, today.year + 1):
            if calendar.covers(date(year, 6, 1)):
                continue
            done = (await uow.session.exec(select(AuditEntry.id).where(
                AuditEntry.action == "calendar.fallback_warned", AuditEntry.object_id == str(year)))).first()
            if done is not None:
                continue
            roots = (await uow.session.exec(select(OrgUnit.id).where(col(OrgUnit.parent_id).is_(None)))).all()
            for root in roots:
                if root is not None:
                    await notify.to_org_unit(uow, org_unit_id=root, key="calendar.fallback", params={"year": year})
            await audit.record(uow, at=uow.now(), actor="scheduler", action="calendar.fallback_warned",
                               object_type="calendar", object_id=year, details={"year": year})
            warned.append(year)
        if warned:
            await uow.commit()
    return warned
