"""End to end through the emulator (issue 19; PIPL art. 19 storage limitation, 000 §25, 003 三(四)): the staff of a
closed lead's line receive one warning in plain Chinese 30 days before its evidence is deleted, naming the lead by
number and never the reporter; at the due time the file is destroyed, the card offers no files, and a backup taken
afterwards restores with an intact audit chain and no evidence reported missing. The warning offers a hold: staff
postpone the deletion with /retention hold (a day or a reason), the sweep leaves it alone until released, then warns
again. The CLI previews and runs the same sweep, and holds and releases."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from services.leads import evidence, lead_triage, leads, retention
from services.leads.retention_rules import shift_months
from services.platform.roles import Actor, Role
from storage import backup
from storage.leads import Lead, LeadRetention
from storage.models import AuditEntry
from tests.builders import add_institutions, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import FAST, Chat, bind, emulator_without_limits  # noqa: F401 - this module's emulator

STAFF_ADMIN = 73401
PHOTO = b"\xff\xd8\xff" + b"evidence photo" * 400


async def _closed_lead(bot: BotHarness, supervisor_id: int, staff: Actor, evidence_dir: Path) -> tuple[Lead, str]:
    [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
    stored = evidence.store(evidence_dir, PHOTO, max_bytes=1 << 20)
    reporter = Actor(label=f"person:{supervisor_id}", person_id=supervisor_id, roles=frozenset({Role.SUPERVISOR}))
    async with bot.uow() as u:
        lead = await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
            category="over_charging", what="住院病人每天被重复收取护理费", institution_id=hospital, evidence=[{
                "kind": "photo", "file_name": "收费单.jpg", "size": stored.size, "sha256": stored.sha256,
                "stored_path": stored.stored_path}]))
    assert lead.id is not None
    async with bot.uow() as u:
        await lead_triage.accept(u, actor=staff, lead_id=lead.id)
    async with bot.uow() as u:
        await lead_triage.conclude(u, actor=staff, lead_id=lead.id, substantiated=False, summary="查无实据")
    async with bot.uow() as u:
        closed = await lead_triage.close(u, actor=staff, lead_id=lead.id)
    return closed, stored.stored_path


async def test_staff_are_warned_in_plain_chinese_before_the_evidence_goes_and_a_later_backup_restores_clean(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, **FAST) as bot:
        bot.running.scheduler.pause()  # the test runs the sweep itself, after moving the clock
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        admin = Chat(emulator, STAFF_ADMIN)
        lead, stored_path = await _closed_lead(bot, org.supervisor_id, staff_actor(org.admin_id, org.bureau_id,
                                                                                   admin=True), evidence_dir)
        assert lead.closed_at is not None
        due = shift_months(lead.closed_at, 60, ZoneInfo(bot.settings.time_zone))

        bot.clock.advance(due - timedelta(days=30) - bot.clock.now())  # the reporter link's clock ran out long ago
        assert (await retention.sweep(bot.uow))["warned"] == 2
        warning = await admin.received("保存期限提醒")  # one message for the unit, both clocks listed
        assert warning.text is not None
        assert f"{lead.number}：证据文件（办结后保存期满），{due:%Y-%m-%d} 删除" in warning.text
        assert f"{lead.number}：举报人与线索的关联（奖励领取期已过），{due:%Y-%m-%d} 删除" in warning.text
        assert "陈监督" not in warning.text and lead.reporter_pseudonym not in warning.text
        bot.clock.advance(timedelta(days=29))
        assert (await retention.sweep(bot.uow))["deleted"] == 0
        assert (evidence_dir / stored_path).read_bytes() == PHOTO

        bot.clock.advance(due + timedelta(minutes=1) - bot.clock.now())  # the bot's clock runs on: the next beat
        assert (await retention.sweep(bot.uow))["deleted"] == 2
        assert not (evidence_dir / stored_path).exists()
        card = await admin.command("/lead", lead.number, expect="状态：已办结")
        assert "ld:files" not in str(card.reply_markup)
        assert sum("保存期限提醒" in (m.text or "") for m in admin.messages()) == 1  # warned once
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL is backed up with pg_dump (README)
    archive = tmp_path / "after.tar.gz"
    backup.backup(database_url, evidence_dir, archive, now=datetime.now(UTC))
    restored = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}",
                "EVIDENCE_DIR": str(tmp_path / "restored-evidence")}
    status, out, err = await _cli(bot, restored, "restore", str(archive))
    assert status == 0, (out, err)
    assert "audit chain intact" in out and "0 file(s) checked, 0 missing" in out


async def test_the_cli_previews_what_is_due_and_runs_the_sweep(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, **FAST) as bot:
        bot.running.scheduler.pause()
        org = await build_org(bot.uow)
        lead, _ = await _closed_lead(bot, org.supervisor_id, staff_actor(org.div1_staff_id, org.div1_id),
                                     evidence_dir)
        async with bot.uow() as u:  # the CLI reads the real time: the lead's clocks as if it closed 6 years ago
            for clock_row in (await u.session.exec(select(LeadRetention))).all():
                clock_row.since = datetime.now(UTC) - timedelta(days=6 * 366)
                u.session.add(clock_row)
            await u.commit()
        env = {"EVIDENCE_DIR": str(evidence_dir)}
        status, out, err = await _cli(bot, env, "retention", "preview")
        assert status == 0, err
        lines = [row for row in out.splitlines() if lead.number in row]
        assert sorted(row.split()[2] for row in lines) == ["evidence", "reporter"]  # both clocks ran out
        assert all("div1" in row and row.endswith("warn now") for row in lines)
        status, out, err = await _cli(bot, env, "retention", "run")
        assert status == 0 and "2 warned, 0 deleted" in out, (out, err)  # the evidence and the reporter link
        status, out, _ = await _cli(bot, env, "retention", "preview", "--days", "0")
        waiting = [row for row in out.splitlines() if lead.number in row]
        assert len(waiting) == 2 and all(row.endswith("waiting") for row in waiting)
        status, _, err = await _cli(bot, env, "retention", "preview", "--days", "-1")
        assert status == 1 and "--days" in err
        status, out, err = await _cli(bot, env, "retention", "hold", lead.number, "--reason", "案件复查")
        assert status == 0 and "on hold until released" in out, (out, err)
        status, out, _ = await _cli(bot, env, "retention", "preview", "--days", "0")
        held = [row for row in out.splitlines() if lead.number in row]
        assert len(held) == 2 and all(row.endswith("on hold until released") for row in held), out
        status, out, err = await _cli(bot, env, "retention", "release", lead.number)
        assert status == 0 and "hold released" in out, (out, err)
        status, _, err = await _cli(bot, env, "retention", "release", lead.number)
        assert status == 1 and "LeadRefused" in err


async def test_staff_hold_a_deletion_from_the_chat_the_sweep_skips_it_and_warns_again_once_released(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    async with running_bot(emulator, database_url, evidence_dir=evidence_dir, **FAST) as bot:
        bot.running.scheduler.pause()
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        admin = Chat(emulator, STAFF_ADMIN)
        lead, stored_path = await _closed_lead(bot, org.supervisor_id, staff_actor(org.admin_id, org.bureau_id,
                                                                                   admin=True), evidence_dir)
        assert lead.closed_at is not None
        due = shift_months(lead.closed_at, 60, ZoneInfo(bot.settings.time_zone))
        bot.clock.advance(due - timedelta(days=30) - bot.clock.now())
        assert (await retention.sweep(bot.uow))["warned"] == 2
        warning = await admin.received("保存期限提醒")
        assert "/retention hold <编号> <日期或理由>" in (warning.text or "")  # the warning offers the hold

        await admin.command("/retention", "", expect="用法：/retention hold")
        await admin.command("/retention", f"hold {lead.number} 2020-01-01", expect="暂缓日期须在今天之后")
        await admin.command("/retention", f"hold {lead.number}", expect="用法：/retention hold")
        reply = await admin.command("/retention", f"暂缓 {lead.number} 涉嫌刑事案件，移送公安", expect="直至解除")
        assert "证据文件" in (reply.text or "") and "举报人与线索的关联" in (reply.text or "")

        bot.clock.advance(due + timedelta(days=10) - bot.clock.now())  # past the due time: kept
        counts = await retention.sweep(bot.uow)
        assert (counts["deleted"], counts["on_hold"]) == (0, 2)
        assert (evidence_dir / stored_path).read_bytes() == PHOTO

        await admin.command("/retention", f"release {lead.number}", expect="暂缓已解除")
        await admin.command("/retention", f"release {lead.number}", expect="没有正在暂缓的删除")
        assert (await retention.sweep(bot.uow))["warned"] == 2  # warned again with the whole notice
        await emulator.wait_for(lambda: sum("保存期限提醒" in (m.text or "") for m in admin.messages()) == 2)
        assert (evidence_dir / stored_path).exists()
        bot.clock.advance(timedelta(days=30))
        assert (await retention.sweep(bot.uow))["deleted"] == 2
        async with bot.uow(readonly=True) as u:
            actions = [e.action for e in (await u.session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()]
        assert actions.count("lead.retention_held") == 1 and actions.count("lead.retention_released") == 1


async def _cli(bot: BotHarness, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env={**bot.env(), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()

