"""``python -m bot db copy --to postgresql://…`` (issue 19): an SQLite installation with leads, experts and audit
entries moves to an empty PostgreSQL database; the row counts and the audit chain are checked on the target
(000 §25), its sequences continue after the copied ids, and a target holding rows is refused."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, func, select

from bot import keys
from bot.settings import Settings
from services.leads import leads
from services.people import orgs
from services.platform import audit
from services.platform.clock import FixedClock
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.db import create_engine, create_session_factory
from storage.leads import Lead
from storage.models import AuditEntry, Expert, OrgUnit
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, add_pool, build_org
from tests.conftest import T0

PG = os.environ.get("TEST_DATABASE_URL")
ID_NUMBERS = ["11010519491231002X", "110105194912310038", "110105194912310046", "110105194912310054",
              "110105194912310062"]
SEALED = "SELECT person_id, mobile, mobile_hmac, id_number, id_number_hmac FROM expert ORDER BY person_id"


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _installation(path: Path, template: Path) -> str:
    """An SQLite database with an org tree, experts, institutions, three leads and their audit entries."""
    shutil.copyfile(template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    uow = UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(T0))
    try:
        await keys.unlock(Settings(_env_file=None, database_url=url), engine, uow)  # type: ignore[call-arg]
        org = await build_org(uow)  # mobiles and ID numbers below are written encrypted, with their keyed hashes
        await add_pool(uow, org.div1_id, [{"name": f"专家{n}", "mobile": f"1380013800{n}",
                                           "id_number": ID_NUMBERS[n]} for n in range(5)])
        (hospital,) = await add_institutions(uow, ["第一人民医院"])
        reporter = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                         roles=frozenset({Role.SUPERVISOR}))
        for what in ("重复收取护理费", "虚记药品", "挂床住院"):
            async with uow() as u:
                await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
                    category="over_charging", what=what, institution_id=hospital))
        async with uow() as u:  # a reference to a later row of the same table: written once that row exists
            await u.session.exec(text("UPDATE lead SET linked_to_id = (SELECT MAX(id) FROM lead) WHERE id = "  # type: ignore[call-overload]
                                      "(SELECT MIN(id) FROM lead)"))
            await u.commit()
    finally:
        await engine.dispose()
    return url


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_db_copy_moves_everything_checks_counts_and_the_audit_chain_and_refuses_a_filled_target(
    tmp_path: Path, sqlite_template: Path, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    source = await _installation(tmp_path / "fundwatch.db", sqlite_template)
    target = "postgresql://" + database_url.split("://", 1)[1]

    status, out, err = await _cli(source, "db", "copy", "--to", target, "--batch", "2")

    assert (status, err) == (0, ""), out + err
    assert "  audit_entry: 2/" in out and "  lead: 3/3" in out  # progress, batch by batch
    assert "row counts: all equal" in out
    assert "audit chain on the target intact" in out
    async with uow_factory(readonly=True) as u:
        lead_rows = (await u.session.exec(select(Lead).order_by(col(Lead.id)))).all()
        experts = (await u.session.exec(select(func.count()).select_from(Expert))).one()
        entries = (await u.session.exec(select(func.count()).select_from(AuditEntry))).one()
        chain = await audit.verify_chain(u)
    assert [lead.what for lead in lead_rows] == ["重复收取护理费", "虚记药品", "挂床住院"]
    async with uow_factory(readonly=True) as u:  # ciphertexts and keyed hashes as stored, never opened or rehashed
        copied = [tuple(row) for row in (await u.session.exec(text(SEALED))).all()]  # type: ignore[call-overload]
    engine = create_engine(source)
    try:
        async with engine.connect() as connection:
            stored = [tuple(row) for row in (await connection.execute(text(SEALED))).all()]
    finally:
        await engine.dispose()
    sealed = [row for row in stored if row[1] is not None]
    assert len(sealed) == 5 and all(str(row[1]).startswith("fw1:") and row[2] and row[4] for row in sealed)
    assert copied == stored
    assert lead_rows[0].linked_to_id == lead_rows[2].id
    assert experts == 7 and entries > 10
    assert chain.ok and chain.checked == entries
    assert f"audit chain on the target intact: {entries} of {entries}" in out

    async with uow_factory() as u:  # the sequences continue after the copied ids
        added = await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="div3", name="第三师医保局", kind="division",
                                        parent_code="bureau")
    async with uow_factory(readonly=True) as u:
        highest = (await u.session.exec(select(func.max(OrgUnit.id)))).one()
        assert (await audit.verify_chain(u)).ok
    assert added.id == highest == 4

    status, out, err = await _cli(source, "db", "copy", "--to", target)
    assert status == 1
    assert "error: the target database is not empty: " in err and "lead (3)" in err
    async with uow_factory(readonly=True) as u:
        assert (await u.session.exec(select(func.count()).select_from(Lead))).one() == 3  # nothing added


async def test_db_copy_refuses_a_target_that_is_not_postgresql_and_a_source_that_is_not_sqlite(
    tmp_path: Path, sqlite_template: Path
) -> None:
    source = tmp_path / "fundwatch.db"
    shutil.copyfile(sqlite_template, source)
    status, _, err = await _cli(f"sqlite:///{source}", "db", "copy", "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert (status, err.strip()) == (1, "error: --to must be a postgresql:// URL")
    status, _, err = await _cli("postgresql://postgres@127.0.0.1:1/x", "db", "copy", "--to", "postgresql://h/x")
    assert (status, err.strip()) == (1, "error: db copy reads an SQLite database: DATABASE_URL is not one")
