"""Working days in mainland China: the one place the product asks "is this a working day".

Rules
-----
A day is a working day when, in this order:

1. it is one of the calendar's ``extra_workdays`` (a local override, e.g. a regional make-up day) → working;
2. it is one of the calendar's ``extra_holidays`` (a local override, e.g. a regional holiday) → not working;
3. its year is covered by the ``chinese_calendar`` package (``COVERED_YEARS``, taken from the installed
   package's data) → the State Council's arrangement: Monday–Friday are working days except official
   holidays, and some Saturdays/Sundays are adjusted working days (调休, e.g. the Sunday before National Day);
4. otherwise (a year the package has no data for) → **fallback**: Monday–Friday are working days, Saturday and
   Sunday are not. The fallback ignores holidays, so it is only an estimate; every year answered this way is
   recorded in ``WorkingCalendar.fallback_years_used()`` so the caller can warn staff, and the module logs one
   warning per year per process.

Counting convention
-------------------
Periods follow the Civil Code (民法典 art. 201/203): the day on which the period starts does not count, counting
begins the next day, and the period ends at 24:00 of its last day. So "within 5 working days after the activity
ends on D" ends on ``add_working_days(D, 5)``, and ``deadline`` gives the instant that day ends.

Example: an activity ends on Monday 2024-09-30. October 1–7 are the National Day holiday, Tuesday to Friday
October 8–11 are working days 1–4, and Saturday October 12 is an adjusted working day, number 5::

    >>> default_calendar().add_working_days(date(2024, 9, 30), 5)
    datetime.date(2024, 10, 12)

Dates are local (China) calendar dates; pass ``date`` objects, never ``datetime`` (which date a UTC instant falls
on depends on the zone — ``deadline`` does that conversion explicitly).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)

#: The years the installed ``chinese_calendar`` has holiday data for (it raises NotImplementedError outside them).
COVERED_YEARS = range(
    min(d.year for d in chinese_calendar.holidays),
    max(d.year for d in chinese_calendar.holidays) + 1,
)

# Years for which the fallback warning has been logged in this process (one warning per year).
_warned_years: set[int] = set()
_warned_lock = threading.Lock()


@lru_cache(maxsize=8192)
def _official(day: date) -> bool | None:
    """The State Council arrangement for ``day``: working or not, or None if the package has no data."""
    if day.year not in COVERED_YEARS:
        return None
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # pragma: no cover - COVERED_YEARS mirrors the package's own check
        return None


def _warn_fallback(year: int) -> None:
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "no official holiday data for %d (chinese_calendar covers %d-%d); treating Monday-Friday as working days",
        year,
        COVERED_YEARS.start,
        COVERED_YEARS.stop - 1,
    )


def _check_date(day: date, name: str) -> None:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"{name} must be a date, not {type(day).__name__}")


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")


class WorkingCalendar:
    """Mainland China's working days, with optional local overrides (see the module docstring for the rules)."""

    def __init__(self, *, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        for day in self._extra_holidays | self._extra_workdays:
            _check_date(day, "an override")
        both = self._extra_holidays & self._extra_workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both extra holidays and extra workdays: {listed}")
        self._fallback_years: set[int] = set()
        self._memo: dict[date, bool] = {}

    def covers(self, day: date) -> bool:
        """Whether the official arrangement for ``day``'s year is known (outside it: Monday–Friday fallback)."""
        _check_date(day, "day")
        return day.year in COVERED_YEARS

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a local date) is a working day."""
        _check_date(day, "day")
        return self._is_working(day)

    def _is_working(self, day: date) -> bool:
        known = self._memo.get(day)
        if known is not None:
            return known
        if day in self._extra_workdays:
            answer = True
        elif day in self._extra_holidays:
            answer = False
        else:
            official = _official(day)
            if official is None:
                self._fallback_years.add(day.year)
                _warn_fallback(day.year)
                answer = day.weekday() < 5
            else:
                answer = official
        self._memo[day] = answer
        return answer

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts for n ≥ 1).

        ``n = 0`` gives ``start`` if it is a working day, else the next working day. "Within 5 working days after
        the activity ends on D" means "by the end of ``add_working_days(D, 5)``": for D = 2024-09-30 (Monday,
        before the October 1–7 holiday) that is 2024-10-12, an adjusted working Saturday. Raises ValueError for
        a negative ``n``.
        """
        _check_date(start, "start")
        _check_n(n)
        day = start
        if n == 0:
            while not self._is_working(day):
                day += _ONE_DAY
            return day
        counted = 0
        while counted < n:
            day += _ONE_DAY
            if self._is_working(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days in (start, end]: after ``start``, up to and including ``end``.

        0 if ``end <= start``. For n ≥ 1, ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        _check_date(start, "start")
        _check_date(end, "end")
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self._is_working(day):
                count += 1
            day += _ONE_DAY
        return count

    def deadline(self, start: datetime, n: int, zone: ZoneInfo) -> datetime:
        """The end of the ``n``-th working day after ``start``'s local date in ``zone``, as an aware UTC datetime.

        The end of a day is 23:59:59.999999 local time. E.g. an activity ending 2024-09-30 18:00 in Shanghai with
        a 5-working-day limit has its deadline at 2024-10-12 23:59:59.999999+08:00 = 15:59:59.999999 UTC.
        """
        if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("deadline needs an aware datetime")
        _check_n(n)
        local_day = start.astimezone(zone).date()
        due = self.add_working_days(local_day, n)
        return datetime.combine(due, time.max, tzinfo=zone).astimezone(UTC)

    def fallback_years_used(self) -> set[int]:
        """The years for which this calendar answered with the Monday–Friday fallback since it was created."""
        return set(self._fallback_years)


@cache
def default_calendar() -> WorkingCalendar:
    """The shared calendar without local overrides."""
    return WorkingCalendar()
