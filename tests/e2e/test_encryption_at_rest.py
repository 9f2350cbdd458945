"""Encryption at rest through the product (issue 19; 002 §11, 003 三(四), PIPL): a supervisor's photo reported in the
emulator is stored encrypted and staff still receive it scrubbed; the supervisor's mobile and name are not in the
database file and the lead's reporter link is stored encrypted; ``python -m bot keys rotate`` keeps everything
readable under the new key; start-up refuses to run without the key once encrypted data exists, in one line;
``keys encrypt-existing`` encrypts what was stored before."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from bot.settings import StartupError
from services.leads import evidence
from services.platform import crypto
from storage.db import create_engine, create_session_factory
from storage.leads import Lead
from storage.models import Supervisor
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org
from tests.e2e.harness import BotHarness, running_bot, start_bot
from tests.e2e.talk import FAST, Chat, data_of, zh
from tests.e2e.talk import bind as _bind
from tests.services.test_evidence_scrub import EXIF_APP1, PHONE, jpeg

REPORTER, STAFF_ADMIN = 73401, 73402
MOBILE = "13955554444"
ROOT = Path(__file__).resolve().parents[2]


async def _report_a_photo(bot: BotHarness, emulator: BotApiEmulator, photo: bytes) -> None:
    org = await build_org(bot.uow)
    [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
    async with bot.uow() as uow:
        supervisor = await uow.session.get(Supervisor, org.supervisor_id)
        assert supervisor is not None
        supervisor.mobile = MOBILE
        uow.session.add(supervisor)
        await uow.commit()
    await _bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈")
    await _bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
    reporter = Chat(emulator, REPORTER)
    await reporter.command("/report", expect=zh("report.ask_target"))
    results = await reporter.text("人民医院", zh("report.matches"))
    question = await reporter.press(results, f":{hospital}", zh("report.ask_insured"))
    question = await reporter.press(question, ":skip", zh("report.ask_category"))
    question = await reporter.press(question, ":over_charging", zh("report.ask_what"))
    await reporter.text("住院病人每天被重复收取护理费", zh("report.ask_when"))
    question = await reporter.text("2026年3月上旬", zh("report.ask_where"))
    await reporter.press(question, ":skip", "4/6")
    send = reporter.user.send_document
    await reporter.until(lambda: send(photo, file_name="IMG_0001.jpg", mime_type="image/jpeg"), "第 1 个文件")
    question = await reporter.press(reporter.last("第 1 个文件"), ":done", "5/6")
    review = await reporter.press(question, ":ni", "6/6")
    await reporter.press(review, ":ok", "受理编号")


async def _staff_receive(bot: BotHarness, emulator: BotApiEmulator) -> SentMessage:
    async with bot.uow(readonly=True) as uow:
        lead = (await uow.session.exec(select(Lead))).one()
    admin = Chat(emulator, STAFF_ADMIN)
    card = await admin.command("/lead", lead.number, expect="状态")
    before = len(emulator.messages(STAFF_ADMIN))
    await admin.user.press(card.message_id, data_of(card, f"ld:files:{lead.id}"))

    def documents() -> list[SentMessage]:
        return [m for m in emulator.messages(STAFF_ADMIN)[before:] if m.document is not None]

    await emulator.wait_for(lambda: len(documents()) == 1)
    return documents()[0]


def _raw(*folders_or_files: Path) -> bytes:
    paths: list[Path] = []
    for item in folders_or_files:
        paths += sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item]
    return b"".join(p.read_bytes() for p in paths if p.exists())


async def _stored_reporter(database_url: str) -> tuple[str, list[str]]:
    """The lead's stored reporter link and the supervisors' stored pseudonyms, read without the key."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            link = (await connection.execute(text("SELECT reporter_ref FROM lead"))).scalar_one()
            pseudonyms = (await connection.execute(text(
                "SELECT pseudonym FROM supervisor WHERE pseudonym IS NOT NULL"))).scalars().all()
    finally:
        await engine.dispose()
    return str(link), [str(p) for p in pseudonyms]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EVIDENCE_", "NEW_EVIDENCE_"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


async def test_a_reported_photo_is_stored_encrypted_staff_receive_it_and_rotation_keeps_it_readable(
        emulator: BotApiEmulator, database_url: str, tmp_path: Path) -> None:
    photo = jpeg(EXIF_APP1)
    evidence_dir, key_file = tmp_path / "evidence", tmp_path / "first.key"
    crypto.create_key_file(key_file)
    settings = {"evidence_dir": evidence_dir, "evidence_max_bytes": 100_000, "evidence_key_file": key_file, **FAST}
    bot = await start_bot(emulator, database_url, **settings)
    try:
        await _report_a_photo(bot, emulator, photo)
        # on disk: neither the photo nor its EXIF (the reporter's phone) in clear
        on_disk = _raw(evidence_dir)
        assert photo[:200] not in on_disk and photo[-200:] not in on_disk and PHONE not in on_disk
        sent = await _staff_receive(bot, emulator)
        assert sent.document is not None and sent.document.data == jpeg()  # decrypted, then scrubbed as before
        assert hashlib.sha256(photo).hexdigest() in (sent.caption or "")  # the plaintext's SHA-256, as before
        link, pseudonyms = await _stored_reporter(database_url)
        assert link.startswith(crypto.COLUMN_PREFIX)  # who reported the lead: not readable next to it
        assert pseudonyms and all(p.startswith(crypto.COLUMN_PREFIX) for p in pseudonyms)  # no join to the person
        if database_url.startswith("sqlite"):
            database = Path(database_url.split("///", 1)[1])
            stored = _raw(*database.parent.glob(database.name + "*"))
            assert MOBILE.encode() not in stored and "陈监督".encode() not in stored  # nor the reporter's name
    finally:
        await bot.shutdown()

    new_key = tmp_path / "second.key"
    env = {"DATABASE_URL": database_url, "EVIDENCE_DIR": str(evidence_dir), "EVIDENCE_KEY_FILE": str(key_file)}
    assert _cli(env, "keys", "new", "--out", str(new_key)).returncode == 0
    rotated = await asyncio.to_thread(_cli, env, "keys", "rotate", "--new-key-file", str(new_key))
    assert rotated.returncode == 0, rotated.stderr
    assert "1 data key(s) re-wrapped" in rotated.stdout and "columns: data key re-wrapped" in rotated.stdout
    again = await asyncio.to_thread(_cli, env, "keys", "rotate", "--new-key-file", str(new_key))
    assert again.returncode != 0  # the old key no longer opens the database: refused in one line
    assert again.stderr.strip().count("\n") == 0 and "does not open" in again.stderr

    with pytest.raises(StartupError, match="does not open"):
        await start_bot(emulator, database_url, **settings)  # the old key
    bot = await start_bot(emulator, database_url, **{**settings, "evidence_key_file": new_key})
    try:
        sent = await _staff_receive(bot, emulator)
        assert sent.document is not None and sent.document.data == jpeg()
        async with bot.uow(readonly=True) as uow:
            assert (await uow.session.exec(select(Supervisor.mobile).where(Supervisor.mobile_hmac == MOBILE))).all() \
                == [MOBILE]  # the keyed hash survives the rotation
    finally:
        await bot.shutdown()


async def test_start_up_refuses_without_the_key_once_encrypted_data_exists(
        emulator: BotApiEmulator, database_url: str, tmp_path: Path) -> None:
    key = SecretStr(crypto.new_key_text())
    bot = await start_bot(emulator, database_url, evidence_dir=tmp_path / "evidence", evidence_key=key, **FAST)
    await bot.shutdown()
    # the default key file (beside the SQLite database, or ./var for PostgreSQL) is never the configured one here
    missing = tmp_path / "nowhere.key"
    with pytest.raises(StartupError, match="EVIDENCE_KEY_FILE: cannot read"):
        await start_bot(emulator, database_url, evidence_key_file=missing, **FAST)
    if database_url.startswith("sqlite"):
        result = await asyncio.to_thread(_cli, {"DATABASE_URL": database_url, "BOT_TOKEN": "1:x"}, "run")
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("cannot start: EVIDENCE_KEY: this database holds encrypted data and no key")


async def test_encrypt_existing_encrypts_files_and_mobiles_stored_before_encryption(
        emulator: BotApiEmulator, database_url: str, tmp_path: Path) -> None:
    evidence_dir, key_file = tmp_path / "evidence", tmp_path / "k.key"
    crypto.create_key_file(key_file)
    stored = evidence.store(evidence_dir, jpeg(EXIF_APP1), max_bytes=1 << 20)  # a file from before: in clear
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, evidence_key_file=key_file,
                           **FAST) as bot:
        org = await build_org(bot.uow)
    engine = create_engine(database_url)  # an engine without the key writes as before encryption: in clear
    try:
        async with UnitOfWorkFactory(create_session_factory(engine), clock=bot.clock)() as uow:
            supervisor = await uow.session.get(Supervisor, org.supervisor_id)
            assert supervisor is not None
            supervisor.mobile = MOBILE
            uow.session.add(supervisor)
            await uow.commit()
    finally:
        await engine.dispose()
    env = {"DATABASE_URL": database_url, "EVIDENCE_DIR": str(evidence_dir), "EVIDENCE_KEY_FILE": str(key_file)}
    status = await asyncio.to_thread(_cli, env, "keys", "status")
    assert "1 file(s), 1 not encrypted" in status.stdout and "columns: 1 value(s) not encrypted" in status.stdout

    done = await asyncio.to_thread(_cli, env, "keys", "encrypt-existing")
    assert done.returncode == 0, done.stderr
    assert "columns: 1 value(s) encrypted" in done.stdout and "evidence: 1 file(s) encrypted" in done.stdout
    assert PHONE not in _raw(evidence_dir)
    if database_url.startswith("sqlite"):
        database = Path(database_url.split("///", 1)[1])
        assert MOBILE.encode() not in _raw(*database.parent.glob(database.name + "*"))
    master = crypto.read_key_file(key_file, source="test")
    assert evidence.read_verified(evidence_dir, stored.stored_path, stored.sha256, keys=master) == jpeg(EXIF_APP1)
    again = await asyncio.to_thread(_cli, env, "keys", "encrypt-existing")
    assert "columns: 0 value(s) encrypted" in again.stdout and "0 file(s) encrypted, 1 already were" in again.stdout
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, evidence_key_file=key_file,
                           **FAST) as bot, bot.uow(readonly=True) as uow:
        assert (await uow.session.get(Supervisor, org.supervisor_id)).mobile == MOBILE  # type: ignore[union-attr]
