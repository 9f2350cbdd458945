"""The command line as an operator uses it: ids printed, clear errors, audit verification."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment.update(DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_every_command_has_help(database_url: str) -> None:
    for command in (["--help"], ["run", "--help"], ["db", "upgrade", "--help"], ["org", "add", "--help"],
                    ["staff", "add", "--help"], ["person", "add", "--help"], ["invite", "--help"],
                    ["unbind", "--help"], ["audit", "verify", "--help"]):
        result = _cli(database_url, *command)
        assert result.returncode == 0, (command, result.stderr)
        assert "usage:" in result.stdout


def test_org_and_staff_commands_print_the_new_ids(database_url: str) -> None:
    bureau = _cli(database_url, "org", "add", "--code", "bureau", "--name", "兵团医疗保障局", "--kind", "bureau")
    assert bureau.returncode == 0 and bureau.stdout.startswith("org unit 1 created")
    division = _cli(database_url, "org", "add", "--code", "div1", "--name", "第一师", "--parent", "bureau")
    assert division.stdout.startswith("org unit 2 created")
    staff = _cli(database_url, "staff", "add", "--name", "王管理", "--org", "div1", "--role", "admin")
    assert staff.returncode == 0 and staff.stdout.startswith("staff 1 created")
    invite = _cli(database_url, "invite", "staff", "1")
    assert invite.returncode == 0 and "code: " in invite.stdout and "BOT_USERNAME" in invite.stdout


def test_a_refused_request_exits_1_with_one_clear_line(database_url: str) -> None:
    result = _cli(database_url, "staff", "add", "--name", "x", "--org", "nowhere")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: OrgUnitNotFound: nowhere (org=nowhere)"]


def test_an_invalid_setting_stops_with_one_line_naming_the_variable(database_url: str) -> None:
    result = _cli(database_url, "org", "list", TIME_ZONE="Mars/Olympus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: TIME_ZONE: unknown time zone 'Mars/Olympus'"
    ]


def test_run_without_a_token_names_bot_token(database_url: str) -> None:
    result = _cli(database_url, "run")
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_audit_verify_detects_an_edited_row(database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    from tests.builders import build_org

    await build_org(uow_factory)
    ok = _cli(database_url, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.strip() == "audit chain intact: 9 entries"
    async with uow_factory() as u:
        await u.session.exec(update(AuditEntry).where(AuditEntry.id == 6).values(details={"role": "admin"}))  # type: ignore[call-overload,arg-type]
        await u.commit()
    broken = _cli(database_url, "audit", "verify")
    assert broken.returncode == 1
    assert broken.stdout.startswith("audit chain broken at entry 6: content does not match its hash")


def test_the_default_sqlite_database_is_created_and_upgraded_on_first_use(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                 environment.get("PYTHONPATH", "")])

    def cli(*args: str) -> subprocess.CompletedProcess[str]:  # in a fresh folder, DATABASE_URL not set
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=60, check=False)

    result = cli("org", "list")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "fundwatch.db").exists()  # ./var is the bot's own folder: created
    current = cli("db", "current")
    from storage.migrate import head_revision

    assert f"current: {head_revision()}" in current.stdout


def test_a_database_url_under_a_missing_folder_is_refused(tmp_path: Path) -> None:
    result = _cli(f"sqlite+aiosqlite:///{tmp_path}/var/new.db", "org", "list")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"cannot start: DATABASE_URL: missing folder for the SQLite file: {tmp_path}/var does not exist"
    ]
    assert not (tmp_path / "var").exists()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_db_upgrade_is_idempotent_on_postgresql(database_url: str) -> None:
    result = _cli(database_url, "db", "upgrade")
    assert result.returncode == 0 and "database at revision" in result.stdout


async def test_the_expert_life_cycle_from_the_command_line(database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    from tests.builders import build_org

    org = await build_org(uow_factory)
    refused = _cli(database_url, "expert", "appoint", str(org.expert_id))
    assert refused.returncode == 1 and "InvalidTransition" in refused.stderr
    missing = _cli(database_url, "expert", "remove", str(org.expert_id))
    assert missing.returncode == 1 and "needs --reason" in missing.stderr
    removed = _cli(database_url, "expert", "remove", str(org.expert_id), "--reason", "违反回避规定")
    assert removed.returncode == 0 and removed.stdout.startswith(f"expert {org.expert_id}: removed")
