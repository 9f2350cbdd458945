"""Working days in mainland China: official arrangements, local overrides, the fallback and deadlines."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.platform import workdays
from services.platform.workdays import COVERED_YEARS, WorkingCalendar, default_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date


@dataclass(frozen=True)
class Arrangement:
    """One festival's official arrangement: the holiday block, the adjusted working weekend days, and the
    first working day after the block."""

    first_off: date
    last_off: date
    adjusted_workdays: tuple[date, ...]
    resumes: date


# From the State Council General Office's yearly notices on holiday arrangements
# (国务院办公厅关于…部分节假日安排的通知).
# 2020 Spring Festival: the original notice gave 01-24..01-30 with Saturday 02-01 working; the State Council's
# 2020-01-27 notice (国办发明电〔2020〕1号) extended it to 02-02, which cancelled that working Saturday.
# 2020, 2023 and 2025 National Day include Mid-Autumn Festival (2023: from 09-29).
NATIONAL_DAY = {
    2020: Arrangement(D(2020, 10, 1), D(2020, 10, 8), (D(2020, 9, 27), D(2020, 10, 10)), D(2020, 10, 9)),
    2021: Arrangement(D(2021, 10, 1), D(2021, 10, 7), (D(2021, 9, 26), D(2021, 10, 9)), D(2021, 10, 8)),
    2022: Arrangement(D(2022, 10, 1), D(2022, 10, 7), (D(2022, 10, 8), D(2022, 10, 9)), D(2022, 10, 8)),
    2023: Arrangement(D(2023, 9, 29), D(2023, 10, 6), (D(2023, 10, 7), D(2023, 10, 8)), D(2023, 10, 7)),
    2024: Arrangement(D(2024, 10, 1), D(2024, 10, 7), (D(2024, 9, 29), D(2024, 10, 12)), D(2024, 10, 8)),
    2025: Arrangement(D(2025, 10, 1), D(2025, 10, 8), (D(2025, 9, 28), D(2025, 10, 11)), D(2025, 10, 9)),
    2026: Arrangement(D(2026, 10, 1), D(2026, 10, 7), (D(2026, 9, 20), D(2026, 10, 10)), D(2026, 10, 8)),
}
SPRING_FESTIVAL = {
    2020: Arrangement(D(2020, 1, 24), D(2020, 2, 2), (D(2020, 1, 19),), D(2020, 2, 3)),
    2021: Arrangement(D(2021, 2, 11), D(2021, 2, 17), (D(2021, 2, 7), D(2021, 2, 20)), D(2021, 2, 18)),
    2022: Arrangement(D(2022, 1, 31), D(2022, 2, 6), (D(2022, 1, 29), D(2022, 1, 30)), D(2022, 2, 7)),
    2023: Arrangement(D(2023, 1, 21), D(2023, 1, 27), (D(2023, 1, 28), D(2023, 1, 29)), D(2023, 1, 28)),
    2024: Arrangement(D(2024, 2, 10), D(2024, 2, 17), (D(2024, 2, 4), D(2024, 2, 18)), D(2024, 2, 18)),
    2025: Arrangement(D(2025, 1, 28), D(2025, 2, 4), (D(2025, 1, 26), D(2025, 2, 8)), D(2025, 2, 5)),
    2026: Arrangement(D(2026, 2, 15), D(2026, 2, 23), (D(2026, 2, 14), D(2026, 2, 28)), D(2026, 2, 24)),
}
FESTIVALS = {"national day": NATIONAL_DAY, "spring festival": SPRING_FESTIVAL}

# Every year the installed package covers from 2020 on: a newer package that adds a year fails below until that
# year's official arrangement is written into the tables above.
CHECKED_YEARS = [year for year in COVERED_YEARS if year >= 2020]
CASES = [pytest.param(name, year, id=f"{name}-{year}") for name in FESTIVALS for year in CHECKED_YEARS]


def _arrangement(festival: str, year: int) -> Arrangement:
    table = FESTIVALS[festival]
    if year not in table:
        pytest.fail(f"chinese_calendar covers {year}: add the official {festival} arrangement for it to this test")
    return table[year]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@pytest.fixture(autouse=True)
def _fresh_warning_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the module's once-per-year warning registry empty."""
    monkeypatch.setattr(workdays, "_warned_years", set())


# --- the official arrangements -----------------------------------------------------------------------------------


def test_the_covered_years_run_from_2004_through_at_least_2026() -> None:
    assert COVERED_YEARS.start == 2004
    assert COVERED_YEARS.stop - 1 >= 2026


@pytest.mark.parametrize(("festival", "year"), CASES)
def test_every_day_of_the_festival_block_is_a_holiday(festival: str, year: int) -> None:
    arrangement = _arrangement(festival, year)
    calendar = WorkingCalendar()
    assert [d for d in _days(arrangement.first_off, arrangement.last_off) if calendar.is_working_day(d)] == []
    assert calendar.fallback_years_used() == set()


@pytest.mark.parametrize(("festival", "year"), CASES)
def test_the_adjusted_weekend_days_of_the_festival_are_working_days(festival: str, year: int) -> None:
    arrangement = _arrangement(festival, year)
    calendar = WorkingCalendar()
    for day in arrangement.adjusted_workdays:
        assert day.weekday() >= 5, f"{day} is not a weekend day, so it is no adjustment"
        assert calendar.is_working_day(day)


@pytest.mark.parametrize(("festival", "year"), CASES)
def test_one_working_day_after_the_eve_of_the_festival_is_the_day_work_resumes(festival: str, year: int) -> None:
    arrangement = _arrangement(festival, year)
    calendar = WorkingCalendar()
    eve = arrangement.first_off - timedelta(days=1)
    assert calendar.is_working_day(eve)
    assert calendar.is_working_day(arrangement.resumes)
    assert calendar.add_working_days(eve, 1) == arrangement.resumes
    assert calendar.working_days_between(eve, arrangement.resumes) == 1
    assert calendar.add_working_days(arrangement.first_off, 0) == arrangement.resumes


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # National Day 2024: October 1-7 off, Sunday 09-29 and Saturday 10-12 worked.
        *[(d, False) for d in _days(D(2024, 10, 1), D(2024, 10, 7))],
        (D(2024, 9, 29), True),
        (D(2024, 10, 12), True),
        (D(2024, 10, 8), True),
        # Spring Festival 2024: February 10-17 off, Sundays 02-04 and 02-18 worked; the eve (Friday 02-09) worked.
        *[(d, False) for d in _days(D(2024, 2, 10), D(2024, 2, 17))],
        (D(2024, 2, 4), True),
        (D(2024, 2, 18), True),
        (D(2024, 2, 9), True),
        # Spring Festival 2025: January 28 - February 4 off, Sunday 01-26 and Saturday 02-08 worked.
        *[(d, False) for d in _days(D(2025, 1, 28), D(2025, 2, 4))],
        (D(2025, 1, 26), True),
        (D(2025, 2, 8), True),
        # Ordinary weekends and weekdays.
        (D(2024, 10, 13), False),
        (D(2024, 10, 19), False),
        (D(2024, 10, 14), True),
    ],
    ids=str,
)
def test_known_days_of_2024_and_2025_are_classified_as_announced(day: date, working: bool) -> None:
    assert default_calendar().is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Tue-Fri 10-08..11 are 1-4, the adjusted Saturday 10-12 is 5.
        (D(2024, 9, 30), 5, D(2024, 10, 12)),
        (D(2024, 9, 30), 4, D(2024, 10, 11)),
        (D(2024, 9, 30), 6, D(2024, 10, 14)),
        # Sunday 09-29 is worked, Monday 09-30 too, then the holiday.
        (D(2024, 9, 27), 2, D(2024, 9, 30)),
        # Eve 02-09 (Fri) is 1, the adjusted Sunday 02-18 is 2, Mon-Wed 02-19..21 are 3-5.
        (D(2024, 2, 8), 5, D(2024, 2, 21)),
        # From Friday 2025-01-24 the adjusted Sunday 01-26 is 1 and Monday 01-27 is 2, then the holiday.
        (D(2025, 1, 24), 2, D(2025, 1, 27)),
        # From that Sunday: 01-27 is 1, Wed-Fri 02-05..07 are 2-4, the adjusted Saturday 02-08 is 5.
        (D(2025, 1, 26), 5, D(2025, 2, 8)),
        # Handling "within 15 working days" of a lead received on Friday 2024-09-20 (Mid-Autumn was 09-15..17):
        # 09-23..27 are 1-5, Sunday 09-29 is 6, 09-30 is 7, 10-08..12 are 8-12, 10-14..16 are 13-15.
        (D(2024, 9, 20), 15, D(2024, 10, 16)),
    ],
    ids=str,
)
def test_n_working_days_after_a_date_skip_holidays_and_count_adjusted_weekends(
    start: date, n: int, expected: date
) -> None:
    calendar = WorkingCalendar()
    assert calendar.add_working_days(start, n) == expected
    assert calendar.working_days_between(start, expected) == n


# --- n = 0 and invalid input -------------------------------------------------------------------------------------


def test_zero_working_days_after_a_working_day_is_that_day() -> None:
    assert WorkingCalendar().add_working_days(D(2024, 9, 29), 0) == D(2024, 9, 29)  # an adjusted Sunday


def test_zero_working_days_after_a_holiday_is_the_next_working_day() -> None:
    calendar = WorkingCalendar()
    assert calendar.add_working_days(D(2024, 10, 3), 0) == D(2024, 10, 8)
    assert calendar.add_working_days(D(2024, 10, 13), 0) == D(2024, 10, 14)  # an ordinary Sunday


def test_a_negative_number_of_working_days_is_rejected() -> None:
    calendar = WorkingCalendar()
    with pytest.raises(ValueError, match="n must be >= 0"):
        calendar.add_working_days(D(2024, 9, 30), -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        calendar.deadline(datetime(2024, 9, 30, tzinfo=UTC), -1, SHANGHAI)


def test_a_datetime_is_not_accepted_where_a_local_date_is_meant() -> None:
    calendar = WorkingCalendar()
    with pytest.raises(TypeError, match="must be a date"):
        calendar.is_working_day(datetime(2024, 9, 30, 20, tzinfo=UTC))
    with pytest.raises(TypeError, match="must be a date"):
        calendar.add_working_days(datetime(2024, 9, 30, 20, tzinfo=UTC), 1)


def test_working_days_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    calendar = WorkingCalendar()
    assert calendar.working_days_between(D(2024, 10, 14), D(2024, 10, 14)) == 0
    assert calendar.working_days_between(D(2024, 10, 14), D(2024, 10, 1)) == 0


def test_working_days_between_excludes_the_start_and_includes_the_end() -> None:
    calendar = WorkingCalendar()
    # Mon 10-14 .. Fri 10-18: the Monday does not count, Tuesday to Friday do.
    assert calendar.working_days_between(D(2024, 10, 14), D(2024, 10, 18)) == 4
    # 2024 as a whole: 366 days minus weekends and holidays, plus adjusted days.
    assert calendar.working_days_between(D(2023, 12, 31), D(2024, 12, 31)) == 251


# --- local overrides ---------------------------------------------------------------------------------------------


def test_an_extra_holiday_makes_an_ordinary_weekday_a_day_off() -> None:
    calendar = WorkingCalendar(extra_holidays=[D(2024, 10, 9)])
    assert not calendar.is_working_day(D(2024, 10, 9))
    assert calendar.add_working_days(D(2024, 9, 30), 5) == D(2024, 10, 14)
    assert default_calendar().is_working_day(D(2024, 10, 9))


def test_an_extra_workday_makes_a_weekend_or_holiday_a_working_day() -> None:
    calendar = WorkingCalendar(extra_workdays=[D(2024, 10, 13), D(2024, 10, 2)])
    assert calendar.is_working_day(D(2024, 10, 13))
    assert calendar.is_working_day(D(2024, 10, 2))
    assert calendar.add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 2)


def test_a_date_cannot_be_both_an_extra_holiday_and_an_extra_workday() -> None:
    with pytest.raises(ValueError, match="2024-10-09"):
        WorkingCalendar(extra_holidays=[D(2024, 10, 9)], extra_workdays=[D(2024, 10, 9)])


def test_overrides_outside_the_covered_years_answer_without_the_fallback() -> None:
    year = COVERED_YEARS.stop + 5
    monday = next(D(year, 1, d) for d in range(1, 8) if D(year, 1, d).weekday() == 0)
    calendar = WorkingCalendar(extra_holidays=[monday])
    assert not calendar.is_working_day(monday)
    assert calendar.fallback_years_used() == set()


# --- the fallback ------------------------------------------------------------------------------------------------


def test_covers_is_true_inside_the_package_data_and_false_outside() -> None:
    calendar = WorkingCalendar()
    assert calendar.covers(D(2024, 6, 1))
    assert calendar.covers(D(COVERED_YEARS.start, 1, 1))
    assert not calendar.covers(D(COVERED_YEARS.start - 1, 12, 31))
    assert not calendar.covers(D(COVERED_YEARS.stop, 1, 1))


def test_outside_the_covered_years_monday_to_friday_are_working_days(caplog: pytest.LogCaptureFixture) -> None:
    year = COVERED_YEARS.stop + 3
    first_monday = next(D(year, 1, d) for d in range(1, 8) if D(year, 1, d).weekday() == 0)
    week = _days(first_monday, first_monday + timedelta(days=6))
    calendar = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger="services.platform.workdays"):
        assert [calendar.is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert calendar.add_working_days(week[4], 1) == first_monday + timedelta(days=7)
    assert calendar.fallback_years_used() == {year}


def test_the_fallback_is_logged_once_per_year(caplog: pytest.LogCaptureFixture) -> None:
    late, early = COVERED_YEARS.stop + 1, COVERED_YEARS.start - 1
    with caplog.at_level(logging.WARNING, logger="services.platform.workdays"):
        first = WorkingCalendar()
        first.add_working_days(D(late, 1, 1), 200)
        first.is_working_day(D(early, 6, 1))
        WorkingCalendar().working_days_between(D(late, 1, 1), D(late, 3, 1))
    messages = [r.getMessage() for r in caplog.records if r.name == "services.platform.workdays"]
    assert len(messages) == 2
    assert any(str(late) in m for m in messages) and any(str(early) in m for m in messages)
    assert first.fallback_years_used() == {late, early}


def test_fallback_years_are_recorded_per_calendar_since_its_construction() -> None:
    year = COVERED_YEARS.stop + 2
    used = WorkingCalendar()
    used.is_working_day(D(year, 5, 5))
    fresh = WorkingCalendar()
    fresh.is_working_day(D(2024, 5, 5))
    assert used.fallback_years_used() == {year}
    assert fresh.fallback_years_used() == set()
    used.fallback_years_used().clear()
    assert used.fallback_years_used() == {year}


def test_covered_years_never_fall_back() -> None:
    calendar = WorkingCalendar()
    calendar.working_days_between(D(COVERED_YEARS.start, 1, 1), D(COVERED_YEARS.stop - 1, 12, 30))
    assert calendar.fallback_years_used() == set()


# --- deadlines ---------------------------------------------------------------------------------------------------


def test_the_deadline_is_the_end_of_the_last_working_day_in_shanghai_as_utc() -> None:
    ended = datetime(2024, 9, 30, 18, 0, tzinfo=SHANGHAI)
    due = WorkingCalendar().deadline(ended, 5, SHANGHAI)
    assert due == datetime(2024, 10, 12, 15, 59, 59, 999999, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert due.astimezone(SHANGHAI).date() == D(2024, 10, 12)


def test_the_deadline_counts_from_the_local_date_not_the_utc_date() -> None:
    calendar = WorkingCalendar()
    # 2024-09-30 17:00 UTC is already Tuesday 10-01 01:00 in Shanghai, a holiday: counting starts from 10-01.
    late_evening = datetime(2024, 9, 30, 17, 0, tzinfo=UTC)
    assert calendar.deadline(late_evening, 1, SHANGHAI) == datetime(2024, 10, 8, 15, 59, 59, 999999, tzinfo=UTC)
    # 2024-09-30 15:59 UTC is still Monday 09-30 23:59 in Shanghai.
    before_midnight = datetime(2024, 9, 30, 15, 59, tzinfo=UTC)
    assert calendar.deadline(before_midnight, 1, SHANGHAI) == datetime(2024, 10, 8, 15, 59, 59, 999999, tzinfo=UTC)
    assert calendar.deadline(before_midnight, 0, SHANGHAI) == datetime(2024, 9, 30, 15, 59, 59, 999999, tzinfo=UTC)
    assert calendar.deadline(late_evening, 0, SHANGHAI) == datetime(2024, 10, 8, 15, 59, 59, 999999, tzinfo=UTC)


def test_the_deadline_of_a_start_given_in_another_zone_is_the_same_instant() -> None:
    calendar = WorkingCalendar()
    in_shanghai = datetime(2025, 1, 27, 9, 0, tzinfo=SHANGHAI)
    in_new_york = in_shanghai.astimezone(ZoneInfo("America/New_York"))  # still Sunday 01-26 there
    # Counted from Monday 01-27 (Shanghai): 02-05..08 are 1-4 (02-08 an adjusted Saturday), Monday 02-10 is 5.
    expected = datetime(2025, 2, 10, 15, 59, 59, 999999, tzinfo=UTC)
    assert calendar.deadline(in_shanghai, 5, SHANGHAI) == expected
    assert calendar.deadline(in_new_york, 5, SHANGHAI) == expected


def test_a_naive_start_is_rejected_by_deadline() -> None:
    with pytest.raises(ValueError, match="aware"):
        WorkingCalendar().deadline(datetime(2024, 9, 30, 18, 0), 5, SHANGHAI)


# --- the shared instance and speed --------------------------------------------------------------------------------


def test_default_calendar_is_one_shared_instance() -> None:
    assert default_calendar() is default_calendar()


def test_250_working_days_are_found_quickly() -> None:
    calendar = WorkingCalendar()
    for offset in range(0, 365, 7):
        start = D(2024, 1, 1) + timedelta(days=offset)
        end = calendar.add_working_days(start, 250)
        assert calendar.working_days_between(start, end) == 250


# --- properties --------------------------------------------------------------------------------------------------

# 2000-2030 spans both sides of the covered years, so the fallback is exercised too.
dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2030, 12, 31))
overrides = st.sets(st.dates(min_value=D(2023, 1, 1), max_value=D(2025, 12, 31)), max_size=10)


@settings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=250), m=st.integers(min_value=0, max_value=250))
def test_adding_more_working_days_never_gives_an_earlier_date(start: date, n: int, m: int) -> None:
    calendar = default_calendar()
    low, high = sorted((n, m))
    assert calendar.add_working_days(start, low) <= calendar.add_working_days(start, high)
    if 1 <= low < high:
        assert calendar.add_working_days(start, low) < calendar.add_working_days(start, high)


@settings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=250), holidays=overrides, extra=overrides)
def test_the_result_of_adding_working_days_is_always_a_working_day(
    start: date, n: int, holidays: set[date], extra: set[date]
) -> None:
    calendar = WorkingCalendar(extra_holidays=holidays - extra, extra_workdays=extra)
    result = calendar.add_working_days(start, n)
    assert result >= start
    assert calendar.is_working_day(result)


@settings(max_examples=200, deadline=None)
@given(start=dates, n=st.integers(min_value=1, max_value=250))
def test_counting_working_days_undoes_adding_them_from_a_working_day(start: date, n: int) -> None:
    calendar = default_calendar()
    start = calendar.add_working_days(start, 0)  # the first working day on or after the drawn date
    assert calendar.is_working_day(start)
    assert calendar.working_days_between(start, calendar.add_working_days(start, n)) == n
