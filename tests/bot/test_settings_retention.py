"""Retention periods come from the settings (issue 19: "configurable retention per record kind"); the defaults are
the issue's; a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_the_defaults_are_the_issues_and_the_policy_follows_the_settings() -> None:
    kept = Settings().policy().retention
    assert (kept.evidence_months, kept.rejected_months, kept.reporter_days, kept.warning_days) == (60, 12, 0, 30)
    chosen = Settings(retention_evidence_months=0, retention_rejected_months=6, retention_reporter_days=10,
                      retention_warning_days=14, evidence_dir=Path("/srv/evidence")).policy().retention
    assert (chosen.evidence_months, chosen.rejected_months, chosen.reporter_days, chosen.warning_days) == (0, 6, 10, 14)
    assert chosen.evidence_dir == Path("/srv/evidence")  # the sweep destroys files where the bot keeps them


@pytest.mark.parametrize(("name", "value"), [("RETENTION_WARNING_DAYS", "0"), ("RETENTION_EVIDENCE_MONTHS", "-1"),
                                             ("RETENTION_REJECTED_MONTHS", "a year")])
def test_a_bad_retention_value_names_its_variable(name: str, value: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(tmp_path / "none.env")
