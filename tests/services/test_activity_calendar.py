"""The iCalendar text of an activity (RFC 5545 §3.1 folding, §3.3.11 escaping) and when the eve reminder is due
(issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from services.invitations.calendar import escape, fold
from services.invitations.eve import eve_due
from services.platform.policy import ChaseSettings
from storage.activities import Activity


def test_text_values_are_escaped() -> None:
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_long_lines_fold_at_75_octets_never_inside_a_character() -> None:
    line = "SUMMARY:" + "医保基金监管专项检查" * 10
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


class _Uow:
    zone = ZoneInfo("Asia/Shanghai")


def test_the_eve_reminder_is_due_the_day_before_at_the_configured_local_hour() -> None:
    start = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    activity = Activity(org_unit_id=1, kind="k", title="t", starts_at=start, ends_at=start, response_deadline=start,
                        created_by=1, created_at=start, updated_at=start)
    uow: Any = _Uow()
    assert eve_due(activity, uow, ChaseSettings()) == datetime(2026, 12, 9, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert eve_due(activity, uow, ChaseSettings(eve_reminder_at=time(9, 30))).hour == 9
