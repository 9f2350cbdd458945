"""When an invitation is chased (issue: invitations and chasing): reminders at the offsets, never in quiet hours
(22:00–08:00 local) unless the deadline falls inside them, and never after the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.invitations.invitations import in_quiet_hours, next_due, quiet_end_after
from services.platform.policy import ChaseSettings
from storage.activities import ActivityMember

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = ChaseSettings()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def slot(invited: str, respond_by: str, reminders: int = 0) -> ActivityMember:
    return ActivityMember(activity_id=1, requirement_id=1, draw_id=1, person_id=1, role="principal", position=1,
                          status="invited", invited_at=local(invited), respond_by=local(respond_by),
                          reminders_sent=reminders)


@pytest.mark.parametrize(("moment", "quiet"), [
    ("2026-03-02 21:59", False), ("2026-03-02 22:00", True), ("2026-03-03 03:00", True),
    ("2026-03-03 07:59", True), ("2026-03-03 08:00", False), ("2026-03-03 12:00", False)])
def test_quiet_hours_wrap_past_midnight(moment: str, quiet: bool) -> None:
    assert in_quiet_hours(local(moment), ZONE, SETTINGS) is quiet


def test_the_quiet_window_ends_at_eight_the_next_morning() -> None:
    assert quiet_end_after(local("2026-03-02 23:30"), ZONE, SETTINGS) == local("2026-03-03 08:00")
    assert quiet_end_after(local("2026-03-03 01:00"), ZONE, SETTINGS) == local("2026-03-03 08:00")


def test_reminders_come_at_the_offsets_after_the_invitation() -> None:
    assert next_due(slot("2026-03-02 09:00", "2026-03-05 18:00"), ZONE, SETTINGS) == local("2026-03-02 11:00")
    assert next_due(slot("2026-03-02 09:00", "2026-03-05 18:00", 1), ZONE, SETTINGS) == local("2026-03-02 15:00")
    assert next_due(slot("2026-03-02 09:00", "2026-03-05 18:00", 2), ZONE, SETTINGS) == local("2026-03-05 18:00")


def test_a_reminder_falling_in_quiet_hours_waits_for_the_morning() -> None:
    assert next_due(slot("2026-03-02 20:30", "2026-03-05 18:00"), ZONE, SETTINGS) == local("2026-03-03 08:00")


def test_when_the_deadline_falls_inside_the_quiet_hours_the_reminder_is_not_held_back() -> None:
    assert next_due(slot("2026-03-02 20:30", "2026-03-03 07:00"), ZONE, SETTINGS) == local("2026-03-02 22:30")


def test_nothing_is_due_after_the_deadline_but_the_expiry_itself() -> None:
    assert next_due(slot("2026-03-02 09:00", "2026-03-02 10:00"), ZONE, SETTINGS) == local("2026-03-02 10:00")


def test_only_invited_slots_are_chased_by_next_due() -> None:
    done = slot("2026-03-02 09:00", "2026-03-05 18:00")
    done.status = "accepted"
    assert next_due(done, ZONE, SETTINGS) is None


def test_the_offsets_are_configurable() -> None:
    custom = ChaseSettings(reminder_offsets=(timedelta(hours=1),))
    assert next_due(slot("2026-03-02 09:00", "2026-03-05 18:00"), ZONE, custom) == local("2026-03-02 10:00")
    assert next_due(slot("2026-03-02 09:00", "2026-03-05 18:00", 1), ZONE, custom) == local("2026-03-05 18:00")


def test_a_slot_to_contact_by_phone_has_no_chat_reminders_only_its_deadline_and_expires_as_unreachable() -> None:
    from services.invitations.slots import expiry_reason

    member = slot("2026-03-02 10:00", "2026-03-04 18:00")
    assert next_due(member, ZONE, SETTINGS) == local("2026-03-02 12:00")
    assert expiry_reason(member) == "no_response"
    member.contact = "phone"  # issue 13: the invitation could not be delivered, staff call
    assert next_due(member, ZONE, SETTINGS) == local("2026-03-04 18:00")
    assert expiry_reason(member) == "unreachable"
