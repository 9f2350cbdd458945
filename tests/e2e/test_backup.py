"""Backup and restore (issue 19): an archive taken while presses and a fan-out of notifications are running holds
every row committed before it began and every evidence file those rows name; restored into a new database file and
an empty folder, the audit chain verifies and every evidence hash matches (``python -m bot restore``)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.leads import evidence, leads
from services.platform import notify
from services.platform.roles import Actor, Role
from storage import backup
from storage.models import OutboxMessage
from tests.builders import add_institutions, add_pool, build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import FAST, bind, emulator_without_limits  # noqa: F401 - this module's emulator

FILES = [b"\xff\xd8\xff" + bytes([i]) * 3000 for i in range(5)]


async def test_a_backup_taken_under_load_restores_every_committed_row_and_file(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the archive copies a SQLite database; PostgreSQL is backed up with pg_dump (README)")
    evidence_dir = tmp_path / "evidence"
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, **FAST) as bot:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["第一师医院"])
        reporter = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                         roles=frozenset({Role.SUPERVISOR}))
        for i, data in enumerate(FILES):
            stored = evidence.store(evidence_dir, data, max_bytes=1 << 20)
            async with bot.uow() as u:
                await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
                    category="over_charging", what=f"情况{i}", institution_id=hospital, evidence=[{
                        "kind": "photo", "file_name": f"{i}.jpg", "size": stored.size, "sha256": stored.sha256,
                        "stored_path": stored.stored_path}]))
        experts = await add_pool(bot.uow, org.div1_id, [{"name": f"专家{i}"} for i in range(40)])
        for offset, person_id in enumerate(experts[:20]):
            await bind(bot, emulator, person_id, 5000 + offset, "expert")
        async with bot.uow() as u:
            committed = len((await u.session.exec(select(OutboxMessage))).all())

        async def fan_out() -> None:  # 200 notifications queued while the backup runs
            for batch in range(10):
                async with bot.uow() as u:
                    for person_id in experts[:20]:
                        await notify.to_person(u, person_id=person_id, key="language.set")
                    await u.commit()
                await asyncio.sleep(0)
                del batch

        async def presses() -> None:  # people pressing /language meanwhile
            for offset in range(20):
                await emulator.user(5000 + offset).send_command("/language", "en")

        archive = tmp_path / "backup.tar.gz"
        made, _, _ = await asyncio.gather(
            asyncio.to_thread(backup.backup, bot.settings.database_url, evidence_dir, archive, now=datetime.now(UTC)),
            fan_out(), presses())
    assert made.evidence_count == len(FILES)

    restored_db, restored_files = tmp_path / "restored.db", tmp_path / "restored-evidence"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{restored_db}", "EVIDENCE_DIR": str(restored_files)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "restore", str(archive), env={**_env(), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, (out, err)
    assert b"audit chain intact" in out and b"5 file(s) checked, 0 missing" in out
    with sqlite3.connect(restored_db) as db:
        assert db.execute("SELECT count(*) FROM lead").fetchone()[0] == len(FILES)
        assert db.execute("SELECT count(*) FROM outbox_message").fetchone()[0] >= committed  # nothing lost
    again = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "restore", str(archive), env={**_env(), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await again.communicate()
    assert again.returncode != 0 and b"already exists" in err  # never over an existing database


def test_a_tampered_archive_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    stored = evidence.store(folder, b"photo bytes", max_bytes=1 << 20)
    database = tmp_path / "live.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.commit()
    archive = tmp_path / "a.tar.gz"
    backup.backup(f"sqlite:///{database}", folder, archive, now=datetime.now(UTC))
    import io
    import tarfile

    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith(stored.stored_path.split("/")[-1]):
                data = b"changed"
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    with pytest.raises(backup.BackupError, match="does not match"):
        backup.restore(tampered, f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "new-evidence")
    assert not (tmp_path / "new.db").exists() and not (tmp_path / "new-evidence").exists()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TELEGRAM_", "EVIDENCE_"))}
