"""``python -m bot supervisor ...`` as a real subprocess (issue 8, 002 §3–§8): appoint, list (ID in full for the
CLI), export, terminate on a §8 ground, and grant the identity custodian role (003 三(四))."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import BotApiEmulator
from storage.leads import LeadCustodian
from tests.builders import build_org
from tests.e2e.harness import running_bot


async def test_the_registry_and_custodians_are_managed_from_the_command_line(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        status, out, err = await bot.cli("supervisor", "add", "--name", "刘代表", "--id-number", "11010519491231002X",
                                         "--org", "div1", "--source", "deputy", "--method", "special_invitation",
                                         "--certificate", "JD-1")
        assert status == 0, err
        person_id = int(out.split()[0])
        status, out, _ = await bot.cli("supervisor", "list", "--org", "div1")
        assert "刘代表\t11010519491231002X\tdiv1\tdeputy\tspecial_invitation\tJD-1" in out
        status, out, _ = await bot.cli("supervisor", "export", str(tmp_path / "r.xlsx"))
        assert status == 0 and (tmp_path / "r.xlsx").stat().st_size > 0
        status, out, err = await bot.cli("supervisor", "end", str(person_id), "--reason", "bogus")
        assert status == 2
        status, out, _ = await bot.cli("supervisor", "end", str(person_id), "--reason", "resigned")
        assert status == 0 and "002 §8(五)" in out
        status, _, err = await bot.cli("supervisor", "custodian", "grant", str(org.admin_id), "--org", "bureau")
        assert status == 0, err
        async with bot.uow() as uow:
            assert await uow.session.get(LeadCustodian, (org.admin_id, org.bureau_id)) is not None
        status, out, _ = await bot.cli("supervisor", "reveals")
        assert status == 0 and out == ""
