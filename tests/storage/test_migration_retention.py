"""Migration 0016 (issue 19, retention): leads decided before it get their retention clocks, so old records are
not kept forever by accident; the reporter link becomes nullable."""

from __future__ import annotations

from storage import migrate
from tests.storage.migration_db import fresh_url, run_sql  # noqa: F401 - the fixture

STAMP = "'2026-01-01 00:00:00'"


def _lead(lead_id: int, state: str, closed_at: str) -> str:
    return ("INSERT INTO lead (id, number, org_unit_id, reporter_person_id, reporter_pseudonym, category, what, "
            "happened, place, interest_declared, state, duplicate_candidates, extensions, reward_reminders_sent, "
            f"created_at, updated_at, closed_at) VALUES ({lead_id}, 'X{lead_id}', 1, 1, 'S-0001', 'other', 'w', '', "
            f"'', false, '{state}', '[]', '[]', 0, {STAMP}, {STAMP}, {closed_at})")


def test_leads_decided_before_the_upgrade_get_their_clocks(fresh_url: str) -> None:  # noqa: F811
    migrate.upgrade(fresh_url, "0014")
    run_sql(fresh_url, [
        f"INSERT INTO org_unit (id, code, name, kind, created_at) VALUES (1, 'b', 'B', 'bureau', {STAMP})",
        f"INSERT INTO person (id, name, created_at) VALUES (1, '陈监督', {STAMP})",
        _lead(1, "closed", "'2026-02-01 00:00:00'"), _lead(2, "not_accepted", "NULL"),
        _lead(3, "investigating", "NULL"),
    ])
    migrate.upgrade(fresh_url)
    rows = run_sql(fresh_url, ["SELECT lead_id, kind, warned_at, done_at FROM lead_retention ORDER BY lead_id, kind"])
    assert rows == [(1, "evidence", None, None), (1, "reporter", None, None), (2, "rejected", None, None)]
    run_sql(fresh_url, ["UPDATE lead SET reporter_ref = NULL WHERE id = 1"])
