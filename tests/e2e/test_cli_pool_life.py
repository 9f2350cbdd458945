"""The pool's life from the command line (issue 14): ``expert history <id> add``, ``expert extend <id> --until``,
``expert readmit <id>``; each runs ``bot.cli.main`` in a subprocess against a migrated database."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from storage.pool import ExpertEmployment
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org
from tests.e2e.test_cli_pool import _cli


async def test_history_add_records_a_period_and_lists_the_history(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    org = await build_org(uow_factory)
    hospital, = await add_institutions(uow_factory, ["第一师医院"])
    result = _cli(database_url, "expert", "history", str(org.expert_id), "add", "--institution", "第一师医院",
                  "--from", "2015-03", "--to", "2024-06", "--post", "主治医师")
    assert result.returncode == 0, result.stderr
    assert "2015-03-01 ~ 2024-06-30  第一师医院 (institution" in result.stdout
    async with uow_factory(readonly=True) as uow:
        rows = (await uow.session.exec(select(ExpertEmployment))).all()
    assert [(r.expert_id, r.institution_id, r.end_date) for r in rows] == [
        (org.expert_id, hospital, date(2024, 6, 30))]
    refused = _cli(database_url, "expert", "history", str(org.expert_id), "add", "--institution", "不存在医院",
                   "--from", "2015-03")
    assert refused.returncode == 1 and "not one institution of the directory" in refused.stderr


async def test_extend_until_grants_and_readmit_reopens(database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    from services.platform.roles import SYSTEM_CLI
    from services.pool.lifecycle import ExitReason, exit_pool
    from storage.models import Expert
    from tests.builders import add_pool

    org = await build_org(uow_factory)
    expert_id, = await add_pool(uow_factory, org.div1_id, [{"birth_date": date(1961, 1, 1)}])
    granted = _cli(database_url, "expert", "extend", str(expert_id), "--until", "2099-06-30")
    assert granted.returncode == 1 and "InvalidInput" in granted.stderr  # beyond a term from today
    granted = _cli(database_url, "expert", "extend", str(expert_id), "--until", "2027-06-30")
    assert granted.returncode == 0, granted.stderr
    assert "extended until 2027-06-30" in granted.stdout
    async with uow_factory() as uow:
        await exit_pool(uow, actor=SYSTEM_CLI, expert_id=expert_id, reason=ExitReason.VOLUNTARY)
    back = _cli(database_url, "expert", "readmit", str(expert_id))
    assert back.returncode == 0 and f"expert {expert_id}: applicant" in back.stdout
    async with uow_factory(readonly=True) as uow:
        record = await uow.session.get(Expert, expert_id)
    assert record is not None and record.extended_until is None


async def test_pools_parent_share_list_and_revoke(database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    assert "div1: draws from the parent's pool on" in _cli(database_url, "pools", "parent", "div1", "on").stdout
    shared = _cli(database_url, "pools", "share", "--lender", "div2", "--borrower", "div1", "--from", "2026-12-01",
                  "--to", "2099-12-31", "--note", "跨区域")
    assert shared.returncode == 0 and "pool share 1: div2 -> div1" in shared.stdout
    assert "第二师医保局 -> 第一师医保局" in _cli(database_url, "pools", "list").stdout
    assert "revoked" in _cli(database_url, "pools", "revoke", "1").stdout
    assert "(revoked)" in _cli(database_url, "pools", "list").stdout
