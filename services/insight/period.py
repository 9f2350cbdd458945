"""The period a figure covers: a calendar month (``2026-11``) or year (``2026``) in the bureau's time zone, as the
bureau reports (monthly statistical tables, a yearly report), with the period before it for comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.platform.errors import InvalidInput

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    """``first`` to ``last`` inclusive (dates in the bureau's zone); ``code`` is 202611 for a month, 2026 for a year
    (the form a button carries)."""

    first: date
    last: date

    @property
    def is_year(self) -> bool:
        """Whether the period is a whole year."""
        return self.first.month == 1 and self.last.month == 12 and self.first.day == 1 and self.last.day == 31

    @property
    def code(self) -> int:
        """``2026`` for a year, ``202611`` for a month."""
        return self.first.year if self.is_year else self.first.year * 100 + self.first.month

    @property
    def label(self) -> str:
        """``2026`` or ``2026-11``."""
        return str(self.first.year) if self.is_year else f"{self.first.year}-{self.first.month:02d}"

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware datetimes: [start, end)."""
        after = self.last + timedelta(days=1)
        return datetime.combine(self.first, time(), zone), datetime.combine(after, time(), zone)

    def before(self) -> Period:
        """The period of the same length just before (last month, last year)."""
        if self.is_year:
            return year(self.first.year - 1)
        return month(self.first.year - 1, 12) if self.first.month == 1 else month(self.first.year, self.first.month - 1)


def month(year_: int, month_: int) -> Period:
    """One calendar month."""
    if not (2000 <= year_ <= 2999 and 1 <= month_ <= 12):
        raise InvalidInput("no such month", field="period")
    last = date(year_ + 1, 1, 1) if month_ == 12 else date(year_, month_ + 1, 1)
    return Period(date(year_, month_, 1), date.fromordinal(last.toordinal() - 1))


def year(year_: int) -> Period:
    """One calendar year."""
    if not 2000 <= year_ <= 2999:
        raise InvalidInput("no such year", field="period")
    return Period(date(year_, 1, 1), date(year_, 12, 31))


def parse(text: str | None, *, today: date) -> Period:
    """``2026-11`` or ``2026`` (None or empty: this month)."""
    if not text:
        return month(today.year, today.month)
    if found := _MONTH.match(text.strip()):
        return month(int(found[1]), int(found[2]))
    if found := _YEAR.match(text.strip()):
        return year(int(found[1]))
    raise InvalidInput("a period is written 2026-11 or 2026", field="period")


def from_code(code: int) -> Period:
    """The period a button carries (:attr:`Period.code`)."""
    return year(code) if code < 10_000 else month(code // 100, code % 100)
