"""The pure rules of leads (issue 8): working-day deadlines (002 §12(二)), duplicates, reward bounds (002 §12(四)),
masking and pseudonyms (003 三(四)), state transitions, and evidence storage by SHA-256."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.leads import evidence
from services.leads.lead_rules import (
    LeadRules,
    PastLead,
    RewardOutOfBounds,
    add_months,
    can_move,
    check_reward,
    deadline,
    institution_key,
    mask_name,
    new_pseudonym,
    parse_amount,
    parse_number,
    possible_duplicates,
    reminder_time,
    reward_reminder_step,
    tracking_number,
)
from services.platform.workdays import WorkingCalendar

ZONE = ZoneInfo("Asia/Shanghai")


def test_the_acceptance_deadline_is_fifteen_working_days_skipping_the_national_day_holiday() -> None:
    start = datetime(2024, 9, 27, 2, 0, tzinfo=UTC)  # Friday 27 September 2024, 10:00 in Shanghai
    due = deadline(WorkingCalendar(), start, LeadRules().accept_working_days, ZONE)
    # 29 Sep (Sunday, adjusted) and 30 Sep: 2; 1-7 Oct holidays; 8-12 Oct (12th an adjusted Saturday): 7;
    # 14-18 Oct: 12; 21-23 Oct: 15
    assert due.astimezone(ZONE).date() == date(2024, 10, 23)


def test_the_reminder_comes_three_working_days_before_the_deadline_and_never_before_the_start() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday
    due = deadline(calendar, start, 15, ZONE)
    remind = reminder_time(calendar, start, due, 3, ZONE)
    assert calendar.working_days_between(remind.astimezone(ZONE).date(), due.astimezone(ZONE).date()) == 3
    assert reminder_time(calendar, start, deadline(calendar, start, 1, ZONE), 3, ZONE) == start


def test_the_life_cycle_allows_only_the_documented_steps() -> None:
    assert can_move("received", "accepted") and can_move("received", "not_accepted")
    assert can_move("accepted", "investigating") and can_move("investigating", "substantiated")
    assert can_move("substantiated", "closed") and can_move("not_accepted", "closed")
    assert not can_move("received", "substantiated") and not can_move("closed", "received")
    assert not can_move("received", "nonsense")


def test_rewards_must_lie_within_the_configured_bounds() -> None:
    rules = LeadRules()
    assert check_reward(200, rules) == 200 and check_reward(200_000, rules) == 200_000
    for amount in (199, 200_001, 0):
        with pytest.raises(RewardOutOfBounds):
            check_reward(amount, rules)
    with pytest.raises(RewardOutOfBounds):
        check_reward(100, LeadRules(reward_min=500))
    assert parse_amount("２,０００元") == 2000 and parse_amount("两千") is None


def test_the_claim_window_is_two_months_clamped_to_the_month_end() -> None:
    assert add_months(date(2026, 3, 5), 2) == date(2026, 5, 5)
    assert add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)


def test_a_lead_on_the_same_institution_and_category_within_the_window_is_a_possible_duplicate() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    key = institution_key(7, None)
    earlier = [
        PastLead(1, key, "over_charging", datetime(2026, 5, 1, tzinfo=UTC)),
        PastLead(2, key, "swapping", datetime(2026, 5, 1, tzinfo=UTC)),  # other category
        PastLead(3, key, "over_charging", datetime(2025, 1, 1, tzinfo=UTC)),  # outside the window
        PastLead(4, institution_key(8, None), "over_charging", datetime(2026, 5, 1, tzinfo=UTC)),
    ]
    assert possible_duplicates(key, "over_charging", now, earlier, 90) == [1]
    assert institution_key(None, " 第一 诊所 ") == institution_key(None, "第一诊所")
    assert possible_duplicates(institution_key(None, ""), "other", now, [], 90) == []


def test_names_are_masked_and_pseudonyms_reveal_nothing() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("李") == "李*" and mask_name("") == ""
    pseudonym = new_pseudonym()
    assert pseudonym.startswith("S-") and len(pseudonym) == 6 and not set(pseudonym[2:]) & set("01IO")


def test_tracking_numbers_round_trip() -> None:
    number = tracking_number(42, date(2026, 3, 2))
    assert number == "XS2026-00042"
    assert parse_number(number) == 42 and parse_number("#42") == 42 and parse_number("xs2026-00042") == 42
    assert parse_number("abc") is None


def test_evidence_is_stored_once_by_its_sha256_and_checked_when_read(tmp_path: Path) -> None:
    data = b"%PDF-1.4 bill"
    stored = evidence.store(tmp_path, data, max_bytes=1000)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert evidence.store(tmp_path, data, max_bytes=1000) == stored
    assert evidence.read_verified(tmp_path, stored.stored_path, stored.sha256) == data
    (tmp_path / stored.stored_path).write_bytes(b"tampered")
    with pytest.raises(evidence.EvidenceCorrupted):
        evidence.read_verified(tmp_path, stored.stored_path, stored.sha256)


def test_files_are_refused_before_download_when_too_large_of_a_wrong_type_or_too_many() -> None:
    def reason(**kwargs: object) -> str:
        values: dict[str, object] = {"file_name": "a.pdf", "size": 10, "max_bytes": 100, "count_so_far": 0,
                                     "max_files": 3} | kwargs
        with pytest.raises(evidence.EvidenceRefused) as refused:
            evidence.check_file(**values)  # type: ignore[arg-type]
        return refused.value.reason

    assert reason(size=101) == "too_large"
    assert reason(file_name="run.exe") == "type"
    assert reason(count_so_far=3) == "too_many"
    evidence.check_file(file_name="x", size=10, max_bytes=100, count_so_far=0, max_files=3, is_photo=True)


def test_the_claim_reminders_are_due_14_then_3_days_before_the_last_day_and_none_after_it() -> None:
    assert LeadRules().reward_reminder_days_before == (14, 3)
    steps = [reward_reminder_step(days_left, (14, 3)) for days_left in (30, 15, 14, 10, 4, 3, 1, 0, -1)]
    assert steps == [0, 0, 1, 1, 1, 2, 2, 2, 0]
