"""Migrations: they build exactly the tables the models describe, and upgrade data in place."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate
from tests.storage.migration_db import fresh_url, run_sql

__all__ = ["fresh_url"]  # the fixture, for the tests of later migrations that import it from here


def _diff(url: str) -> list[object]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def compare() -> list[object]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
                )
        finally:
            await engine.dispose()

    return asyncio.run(compare())


def test_the_migrations_build_exactly_the_models_tables(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    assert _diff(fresh_url) == []
    assert migrate.current_revision(fresh_url) == migrate.head_revision()


def test_upgrading_keeps_the_foundations_experts_as_active_pool_members(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0001")
    run_sql(fresh_url, [
        "INSERT INTO org_unit (id, code, name, kind, created_at) VALUES (1, 'b', 'B', 'bureau', '2026-01-01 00:00:00')",
        "INSERT INTO person (id, name, created_at) VALUES (1, '张专家', '2026-01-01 00:00:00')",
        "INSERT INTO expert (person_id, org_unit_id, created_at) VALUES (1, 1, '2026-01-01 00:00:00')",
    ])
    migrate.upgrade(fresh_url)
    rows = run_sql(fresh_url, ["SELECT state, categories, is_chief, full_civil_capacity FROM expert"])
    assert len(rows) == 1
    state, categories, is_chief, capacity = rows[0]
    assert state == "active" and categories in ("[]", []) and not is_chief and capacity


def test_upgrading_keeps_the_evidence_files_and_gives_them_no_caption(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0008")
    stamp = "'2026-01-01 00:00:00'"
    run_sql(fresh_url, [
        f"INSERT INTO org_unit (id, code, name, kind, created_at) VALUES (1, 'b', 'B', 'bureau', {stamp})",
        f"INSERT INTO person (id, name, created_at) VALUES (1, '陈监督', {stamp})",
        "INSERT INTO lead (id, number, org_unit_id, reporter_person_id, reporter_pseudonym, category, what, happened, "
        "place, interest_declared, state, duplicate_candidates, extensions, reward_reminders_sent, created_at, "
        f"updated_at) VALUES (1, 'X1', 1, 1, 'S-0001', 'other', 'w', '', '', false, 'received', '[]', '[]', 0, "
        f"{stamp}, {stamp})",
        "INSERT INTO lead_evidence (id, lead_id, kind, file_name, size, sha256, stored_path, added_at) "
        f"VALUES (1, 1, 'photo', 'photo-1.jpg', 10, 'ab', 'ab/ab', {stamp})",
    ])
    migrate.upgrade(fresh_url)
    rows = run_sql(fresh_url, ["SELECT file_name, caption FROM lead_evidence"])
    assert rows == [("photo-1.jpg", None)]
    run_sql(fresh_url, ["UPDATE lead_evidence SET caption = '" + "说" * 1024 + "' WHERE id = 1"])
    assert run_sql(fresh_url, ["SELECT length(caption) FROM lead_evidence"]) == [(1024,)]


def test_upgrading_keeps_an_old_chain_verifiable_and_new_entries_follow_it(fresh_url: str) -> None:
    """Issue 21: entries linked before the sequencer (their position was their id) verify after 0018, and a new
    entry gets the next id (PostgreSQL's sequence moved past the ids the chain used to hand out) and position."""
    import asyncio
    from datetime import UTC, datetime

    from sqlalchemy.ext.asyncio import create_async_engine

    from services.platform import audit
    from storage.db import create_engine, create_session_factory
    from storage.uow import UnitOfWorkFactory

    migrate.upgrade(fresh_url, "0017")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    prev = audit.GENESIS_HASH
    rows = []
    for entry_id in (1, 2, 3):
        digest = audit.entry_hash(entry_id=entry_id, at=at, actor="cli", action="old", object_type="t",
                                  object_id=str(entry_id), details={"n": entry_id}, prev_hash=prev)
        rows.append({"id": entry_id, "at": at, "actor": "cli", "action": "old", "object_type": "t",
                     "object_id": str(entry_id), "details": {"n": entry_id}, "prev_hash": prev, "hash": digest})
        prev = digest

    async def seed() -> None:
        from storage.models import AuditEntry, AuditHead

        engine = create_async_engine(fresh_url)
        try:
            async with engine.begin() as connection:
                table = AuditEntry.__table__  # type: ignore[attr-defined]
                await connection.execute(table.insert(), [{k: v for k, v in r.items()} for r in rows])
                await connection.execute(AuditHead.__table__.insert().values(  # type: ignore[attr-defined]
                    id=1, last_entry_id=3, last_hash=prev))
        finally:
            await engine.dispose()

    async def after() -> tuple[audit.ChainReport, int | None, audit.ChainReport]:
        engine = create_engine(fresh_url)
        try:
            uow = UnitOfWorkFactory(create_session_factory(engine))
            async with uow(readonly=True) as u:
                old = await audit.verify_chain(u)
            async with uow() as u:
                entry = await audit.record(u, at=at, actor="cli", action="new", object_type="t", object_id=4)
                await u.commit()
            await audit.chain_all(uow)
            async with uow(readonly=True) as u:
                return old, entry.id, await audit.verify_chain(u)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    migrate.upgrade(fresh_url)
    old, new_id, report = asyncio.run(after())
    assert old.ok and old.checked == 3
    assert new_id == 4 and report.ok and report.checked == 4
