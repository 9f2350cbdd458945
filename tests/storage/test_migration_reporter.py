"""Migration 0020 (issue 19; 003 三(四)): the plain reporter link of existing leads becomes ``reporter_ref`` (still
found by the reporter before ``keys encrypt-existing``), supervisors' names move into ``supervisor.name`` (the person
row of someone who is only a supervisor sealed), pseudonyms keep their uniqueness through the hash; ``keys
encrypt-existing`` then encrypts all of it, after which the database file holds no name and no plain link. The
downgrade brings the plain link back while nothing is encrypted yet."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from alembic import command

from services.leads import leads
from services.platform import column_keys, crypto
from storage import migrate
from storage.compact import compact_sqlite
from storage.models import SEALED_NAME
from tests.services.test_encryption_at_rest import _keyed_factory
from tests.services.test_leads import supervisor
from tests.storage.migration_db import fresh_url, run_sql

__all__ = ["fresh_url"]
STAMP = "'2026-01-01 00:00:00'"


def _before(url: str) -> None:
    migrate.upgrade(url, "0018")
    run_sql(url, [
        f"INSERT INTO org_unit (id, code, name, kind, created_at) VALUES (1, 'b', 'B', 'bureau', {STAMP})",
        f"INSERT INTO person (id, name, created_at) VALUES (1, '陈监督', {STAMP}), (2, '张双重', {STAMP})",
        f"INSERT INTO supervisor (person_id, org_unit_id, created_at, status, source, appointment_method, pseudonym) "
        f"VALUES (1, 1, {STAMP}, 'active', 'other', 'open_selection', 'S-AAAA'), "
        f"(2, 1, {STAMP}, 'active', 'other', 'open_selection', NULL)",
        f"INSERT INTO expert (person_id, org_unit_id, created_at) VALUES (2, 1, {STAMP})",  # also an expert
        "INSERT INTO lead (id, number, org_unit_id, reporter_person_id, reporter_pseudonym, category, what, happened, "
        "place, interest_declared, state, duplicate_candidates, extensions, reward_reminders_sent, created_at, "
        f"updated_at) VALUES (7, 'XS2026-00007', 1, 1, 'S-AAAA', 'other', 'w', '', '', false, 'received', '[]', "
        f"'[]', 0, {STAMP}, {STAMP})",
        "INSERT INTO outbox_message (id, channel, kind, person_id, message_key, params, buttons, status, attempts, "
        f"created_at, next_attempt_at, sent_address) VALUES (1, 'telegram', 'send', 1, 'lead.receipt', "
        f"'{{\"number\": \"XS2026-00007\"}}', '[]', 'sent', 0, {STAMP}, {STAMP}, '7001'), "
        f"(2, 'telegram', 'send', 1, 'lead.feedback.accepted', '{{}}', '[]', 'pending', 0, {STAMP}, {STAMP}, NULL), "
        f"(3, 'telegram', 'send', 2, 'binding.welcome', '{{\"name\": \"x\"}}', '[]', 'sent', 0, {STAMP}, {STAMP}, "
        "'7002')",
    ])


def test_0020_moves_the_link_and_the_names_then_encrypt_existing_leaves_none_in_clear(fresh_url: str) -> None:
    _before(fresh_url)
    migrate.upgrade(fresh_url)
    rows = run_sql(fresh_url, [
        "SELECT p.id, p.name, s.name, s.pseudonym FROM person p JOIN supervisor s ON s.person_id = p.id "
        "ORDER BY p.id"])
    assert rows == [(1, SEALED_NAME, "陈监督", "S-AAAA"), (2, "张双重", "张双重", None)]  # an expert's name stays
    assert run_sql(fresh_url, ["SELECT reporter_ref, reporter_ref_hmac FROM lead"]) == [("1", None)]
    outbox = run_sql(fresh_url, ["SELECT id, person_id, sent_address, params, sealed FROM outbox_message "
                                          "ORDER BY id"])
    assert [(i, p, a, json.loads(str(v)) if isinstance(v, str) else v, bool(s)) for i, p, a, v, s in outbox] == [
        (1, None, None, {}, True), (2, 1, None, {}, True), (3, 2, "7002", {"name": "x"}, False)]

    async def keyed_work() -> None:
        keyed, engine = await _keyed_factory(fresh_url, crypto.MasterKey(crypto.new_data_key()))
        try:
            async with keyed() as uow:  # the reporter still finds the lead, on the stored text
                assert [m.number for m in await leads.my_leads(uow, actor=supervisor(1))] == ["XS2026-00007"]
            assert await column_keys.encrypt_existing(keyed) == 4  # the link, two names, a pseudonym
            async with keyed() as uow:  # now through the keyed hash
                assert [m.number for m in await leads.my_leads(uow, actor=supervisor(1))] == ["XS2026-00007"]
                assert await uow.people.name_of(await uow.people.get(1)) == "陈监督"  # type: ignore[arg-type]
        finally:
            await engine.dispose()  # type: ignore[attr-defined]

    asyncio.run(keyed_work())
    [(link, hashed)] = run_sql(fresh_url, ["SELECT reporter_ref, reporter_ref_hmac FROM lead"])
    assert str(link).startswith(crypto.COLUMN_PREFIX) and hashed
    if fresh_url.startswith("sqlite"):
        assert compact_sqlite(fresh_url)
        path = Path(fresh_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert "陈监督".encode() not in raw and b"S-AAAA" in raw  # the lead's pseudonym stays, the supervisor's went


def test_0020_downgrades_to_the_plain_link_while_nothing_is_encrypted(fresh_url: str) -> None:
    _before(fresh_url)
    migrate.upgrade(fresh_url)
    command.downgrade(migrate.alembic_config(fresh_url), "0018")
    assert run_sql(fresh_url, ["SELECT name FROM person ORDER BY id"]) == [("陈监督",), ("张双重",)]
    assert run_sql(fresh_url, ["SELECT reporter_person_id FROM lead"]) == [(1,)]
