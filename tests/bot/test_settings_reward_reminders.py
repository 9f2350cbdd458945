"""The days on which a reporter is reminded to claim a reward come from the settings (REWARD_REMINDER_DAYS, default
14 and 3 days before the claim window's last day) and reach the lead rules the scheduler's sweep reads."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings
from services.platform.policy import LeadRules


def test_the_reward_reminder_days_and_the_other_lead_numbers_reach_the_policy() -> None:
    assert Settings().policy().leads == LeadRules()
    rules = Settings(reward_reminder_days="20,7,1", reward_claim_months=3, lead_remind_working_days=2).policy().leads
    assert rules.reward_reminder_days_before == (20, 7, 1)
    assert (rules.reward_claim_months, rules.remind_working_days_before) == (3, 2)


@pytest.mark.parametrize("value", ["3,14", "soon", "14,14", "400"])
def test_a_bad_reward_reminder_days_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("REWARD_REMINDER_DAYS", value)
    with pytest.raises(SettingsError, match="REWARD_REMINDER_DAYS"):
        load_settings()
