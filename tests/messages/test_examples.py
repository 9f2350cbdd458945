"""Every example the catalog gives passes the validator it illustrates (issue 20): an example ID number has a
right check digit, and the times the new-activity dialog suggests are computed from now and the answers so far and
pass 000 §19's checks (start after now, end not before the start, deadline after now and no later than the start).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messages import LANGUAGES, catalog
from services.activities import activities
from services.activities.new_activity_steps import example_moment
from services.platform.dialogs import format_local, parse_local_datetime
from services.platform.identifiers import validate_id_number

ZONE = ZoneInfo("Asia/Shanghai")
ID_NUMBER = re.compile(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_example_id_number_in_the_catalog_is_valid(language: str) -> None:
    found = [(key, number) for key, text in catalog(language).items() for number in ID_NUMBER.findall(text)]
    assert found, "the report dialog gives an example ID number"
    for key, number in found:
        assert validate_id_number(number, today=date(2026, 12, 7)).number == number, key  # raises if invalid


def test_no_time_example_is_a_fixed_date() -> None:
    """The dialog's time questions take their example from the code, never a date written into the text."""
    for language in LANGUAGES:
        for key in ("newact.ask.starts", "newact.ask.ends", "newact.ask.deadline", "newact.bad_moment"):
            text = catalog(language)[key]
            assert "{example}" in text and not re.search(r"20\d\d-\d\d-\d\d", text), (language, key)


NOWS = [datetime(2026, 12, 7, 7, 8, tzinfo=UTC), datetime(2026, 12, 31, 15, 59, tzinfo=UTC),
        datetime(2027, 2, 28, 23, 30, tzinfo=UTC), datetime(2026, 6, 13, 4, 0, tzinfo=UTC)]


@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("start_in", [None, timedelta(minutes=3), timedelta(hours=5), timedelta(days=1),
                                      timedelta(days=30)])
def test_time_examples_pass_the_checks_they_illustrate(now: datetime, start_in: timedelta | None) -> None:
    data: dict[str, str] = {}
    if start_in is not None:
        data["starts"] = (now + start_in).replace(second=0, microsecond=0).isoformat()
    else:
        starts = example_moment("starts", data, now=now, zone=ZONE)
        activities.check_time_answer("starts", _typed(starts, now), starts_at=None, now=now)
        data["starts"] = _typed(starts, now).isoformat()
    starts_at = datetime.fromisoformat(data["starts"])
    for which in ("ends", "deadline"):
        shown = _typed(example_moment(which, data, now=now, zone=ZONE), now)
        activities.check_time_answer(which, shown, starts_at=starts_at, now=now)  # raises if the example breaks 000 §19


def _typed(moment: datetime, now: datetime) -> datetime:
    """The example as the person would type it back: formatted as shown, then read by the dialog's parser."""
    return parse_local_datetime(format_local(moment, ZONE), zone=ZONE, now=now)
