"""Migration 0017 (issue 19): ID numbers stored before it stay readable in clear, the columns take a ciphertext, and
the uniqueness of the experts' and supervisors' ID numbers moves to the keyed hash columns."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from storage import migrate
from tests.storage.migration_db import fresh_url, run_sql

__all__ = ["fresh_url"]
STAMP = "'2026-01-01 00:00:00'"
NUMBER = "11010519491231002X"


def test_0017_keeps_the_numbers_widens_the_columns_and_moves_uniqueness_to_the_hash(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0016")
    run_sql(fresh_url, [
        f"INSERT INTO org_unit (id, code, name, kind, created_at) VALUES (1, 'b', 'B', 'bureau', {STAMP})",
        f"INSERT INTO person (id, name, created_at) VALUES (1, '张专家', {STAMP}), (2, '李专家', {STAMP})",
        f"INSERT INTO expert (person_id, org_unit_id, created_at, id_number) VALUES (1, 1, {STAMP}, '{NUMBER}')",
    ])
    migrate.upgrade(fresh_url)
    cipher_text = "fw1:" + "A" * 120  # a ciphertext is longer than the 18 characters of old
    rows = run_sql(fresh_url, [
        # the same stored text twice is no longer refused by the column (ciphertexts all differ)...
        f"INSERT INTO expert (person_id, org_unit_id, created_at, id_number, id_number_hmac) "
        f"VALUES (2, 1, {STAMP}, '{cipher_text}', 'h1')",
        "SELECT person_id, id_number, id_number_hmac FROM expert ORDER BY person_id",
    ])
    assert rows == [(1, NUMBER, None), (2, cipher_text, "h1")]
    with pytest.raises(IntegrityError):  # ...but the same keyed hash is
        run_sql(fresh_url, [
            f"INSERT INTO person (id, name, created_at) VALUES (3, '冒名', {STAMP})",
            f"INSERT INTO expert (person_id, org_unit_id, created_at, id_number, id_number_hmac) "
            f"VALUES (3, 1, {STAMP}, 'x', 'h1')"])
