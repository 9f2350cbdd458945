"""The partial unique indexes of active accounts and staff chats (issue 21): the models name PostgreSQL's predicate
only when the index is created there, so that importing the tables does not load SQLAlchemy's PostgreSQL dialect;
the DDL is the same partial index as the migrations create, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_mock_engine
from sqlalchemy.schema import CreateIndex
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables)

ROOT = Path(__file__).resolve().parents[2]
PARTIAL = ("uq_account_active_user", "uq_account_active_person", "uq_staff_chat_active")


def _index_ddl(url: str) -> dict[str, str]:
    statements: dict[str, str] = {}

    def executor(sql: Any, *_: Any, **__: Any) -> None:
        if isinstance(sql, CreateIndex) and sql.element.name in PARTIAL:
            statements[str(sql.element.name)] = str(sql.compile(dialect=engine.dialect))

    engine = create_mock_engine(url, executor)
    SQLModel.metadata.create_all(engine, checkfirst=False)  # type: ignore[arg-type]
    return statements


def test_the_indexes_are_partial_on_postgresql_and_sqlite() -> None:
    for url in ("postgresql+asyncpg://", "sqlite://"):
        ddl = _index_ddl(url)
        assert sorted(ddl) == sorted(PARTIAL)
        assert all(text.startswith("CREATE UNIQUE INDEX") and text.rstrip().endswith("WHERE unbound_at IS NULL")
                   for text in ddl.values()), (url, ddl)


def test_importing_the_tables_loads_no_postgresql_dialect() -> None:
    probe = ("import json, sys, storage.uow, services.platform.updates; "
             "print(json.dumps('sqlalchemy.dialects.postgresql' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) is False
