"""The rule numbers come from the settings (issue: draws "configurable window", invitations "configurable
offsets"); a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_the_policy_follows_the_settings() -> None:
    settings = Settings(draw_rotation_window_days=90, draw_rotation_max=3, draw_rotation_gap_days=14,
                        invite_reminder_hours="1,4.5", quiet_hours="21:30-07:00")
    policy = settings.policy()
    assert (policy.draw.rotation_window_days, policy.draw.rotation_max, policy.draw.rotation_gap_days) == (90, 3, 14)
    assert policy.chase.reminder_offsets == (timedelta(hours=1), timedelta(hours=4.5))
    assert (policy.chase.quiet_start, policy.chase.quiet_end) == (time(21, 30), time(7, 0))


def test_the_defaults_are_the_issues() -> None:
    policy = Settings().policy()
    assert policy.chase.reminder_offsets == (timedelta(hours=2), timedelta(hours=6))
    assert (policy.chase.quiet_start, policy.chase.quiet_end) == (time(22), time(8))
    assert (policy.draw.rotation_window_days, policy.draw.rotation_max) == (180, 2)


@pytest.mark.parametrize(("name", "value"), [("QUIET_HOURS", "late"), ("INVITE_REMINDER_HOURS", "6,2"),
                                             ("INVITE_REMINDER_HOURS", "soon"), ("DRAW_ROTATION_MAX", "0")])
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
