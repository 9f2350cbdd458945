"""``python -m bot run`` that cannot start says why in one line on stderr and exits with 2: the database
unreachable or missing, the SQLite file's folder missing, a bad log level, a missing or invalid setting,
the Bot API unreachable."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.db import DatabaseUnavailable, probe

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHk3vQx-Zr9LmP0_sT2uVwXyZaBcDeFgHi"
PG_SERVER = os.environ.get("TEST_DATABASE_URL") or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot run`` (or ``args``) from the project root with only the given settings."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_", "LOG_", "TELEGRAM_", "LISTEN_", "TIME_"))}
    environment.update(BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path}/fundwatch.db",
                       TELEGRAM_API_BASE_URL="http://127.0.0.1:1/bot", LISTEN_PORT="0")
    environment.update(env)
    environment = {k: v for k, v in environment.items() if v != "<unset>"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *(args or ("run",))], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=60, check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single non-empty line on stderr (exit status 2), or the test fails showing all of it."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def _pg_answers() -> bool:
    try:
        asyncio.run(probe(PG_SERVER, connect_timeout=3))
    except DatabaseUnavailable:
        return False
    return True


def test_an_unreachable_postgresql_is_named_with_its_host_and_port(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, DATABASE_URL="postgresql://fundwatch@127.0.0.1:1/fundwatch"))
    assert line.startswith("cannot start: DATABASE_URL: database unreachable (127.0.0.1:1)")


def test_a_missing_postgresql_database_is_named(tmp_path: Path) -> None:
    if not _pg_answers():
        pytest.skip("needs PostgreSQL")
    name = f"fundwatch_missing_{secrets.token_hex(4)}"
    url = make_url(PG_SERVER).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    line = _one_line(_run(tmp_path, DATABASE_URL=url))
    assert line.startswith("cannot start: DATABASE_URL: database missing:") and name in line


def test_an_unknown_log_level_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, LOG_LEVEL="LOUD"))
    assert line == ("configuration error: LOG_LEVEL: unknown log level 'LOUD': "
                    "one of DEBUG, INFO, WARNING, ERROR, CRITICAL")


def test_a_sqlite_file_under_a_missing_folder_is_refused_and_the_folder_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    line = _one_line(_run(tmp_path, DATABASE_URL=f"sqlite:///{folder}/fundwatch.db"))
    assert line == f"cannot start: DATABASE_URL: missing folder for the SQLite file: {folder} does not exist"
    assert not (tmp_path / "no").exists()


def test_a_missing_token_is_named(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, BOT_TOKEN="<unset>"))
    assert line.startswith("configuration error: BOT_TOKEN is not set")


def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, LISTEN_PORT="eighty"))
    assert line.startswith("configuration error: LISTEN_PORT:")


def test_an_unreachable_bot_api_is_named_without_the_token(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path))  # the database is fine; TELEGRAM_API_BASE_URL points at a closed port
    assert line.startswith("cannot start: Bot API unreachable (127.0.0.1:1):")
    assert TOKEN.split(":")[1] not in line


def test_other_commands_name_the_database_the_same_way(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, "db", "upgrade", DATABASE_URL="postgresql://fundwatch@127.0.0.1:1/fundwatch"))
    assert line.startswith("cannot start: DATABASE_URL: database unreachable (127.0.0.1:1)")
