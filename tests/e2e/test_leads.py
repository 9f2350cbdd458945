"""End to end through the emulator (issue 8): a social supervisor reports a lead with two photos (an album) and a PDF,
interrupted halfway and resumed after a bot restart (002 §9(二)); oversized and wrong-type files are explained; the
stored evidence matches the uploaded bytes (SHA-256); staff are alerted without the reporter's identity (003 三(四));
staff ask, the supervisor answers through the bot, staff accept, extend with a reason, substantiate and reward, and the
supervisor gets each feedback (002 §12(二), §12(四)); a custodian's reveal is audited and listed for admins; another
supervisor cannot see or act on the lead."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlmodel import select

from bot.emulator import BotApiEmulator, buttons
from services.leads import evidence, lead_privacy
from services.people import orgs
from services.platform.roles import SYSTEM_CLI
from storage.leads import IdentityReveal, Lead, LeadEvidence
from storage.models import AuditEntry
from tests.builders import add_institutions, build_org
from tests.e2e.harness import BotHarness, start_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)
from tests.e2e.talk import bind as _bind

REPORTER, STAFF_ADMIN, OTHER = 73101, 73102, 73103
PHOTO_1, PHOTO_2 = b"\xff\xd8\xff\xe0 first photo " * 50, b"\xff\xd8\xff\xe0 second photo " * 60
PDF = b"%PDF-1.4 hospital bill " * 100


async def _start(emulator: BotApiEmulator, database_url: str, evidence_dir: Path) -> BotHarness:
    return await start_bot(emulator, database_url, evidence_dir=evidence_dir, evidence_max_bytes=100_000, **FAST)


async def test_a_supervisor_reports_a_lead_that_staff_handle_to_a_reward_without_learning_who_reported_it(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    bot = await _start(emulator, database_url, evidence_dir)
    try:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        await _bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈", username="chen_jiandu")
        await _bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        reporter = Chat(emulator, REPORTER)

        question = await reporter.command("/report", expect=zh("report.ask_target"))
        results = await reporter.text("人民医院", zh("report.matches"))
        question = await reporter.press(results, f":{hospital}", zh("report.ask_insured"))
        bad = zh("import.code.id_number_check_digit")  # a wrong check digit: the same step again
        question = await reporter.text("张三丰 110105194912310022", bad)
        question = await reporter.press(reporter.last(zh("report.ask_insured")), ":skip", zh("report.ask_category"))
        question = await reporter.press(question, ":over_charging", zh("report.ask_what"))
        await reporter.text("住院病人每天被重复收取护理费", zh("report.ask_when"))
        question = await reporter.text("2026年3月上旬", zh("report.ask_where"))
        question = await reporter.press(question, ":skip", "4/6")
        live = [m.message_id for m in reporter.messages() if buttons(m)]
        assert live == [question.message_id], "one live keyboard: the open question's (issue 20)"
        await reporter.until(lambda: reporter.user.send_photo(PHOTO_1, media_group_id="album1"), "第 1 个文件")
        await reporter.user.send_photo(PHOTO_2, media_group_id="album1")
        await reporter.received("已收到 2 个文件")  # the album's one acknowledgement, edited in place
    finally:
        await bot.shutdown()

    bot = await _start(emulator, database_url, evidence_dir)  # the conversation survives the restart
    try:
        send = reporter.user.send_document
        await reporter.until(lambda: send(PDF, file_name="账单.pdf", mime_type="application/pdf"), "第 3 个文件")
        await reporter.until(lambda: send(b"MZ" * 10, file_name="tool.exe", mime_type="application/octet-stream"),
                             "类型不能作为证据")
        await reporter.until(lambda: send(b"%PDF" + b"x" * 150_000, file_name="big.pdf", mime_type="application/pdf"),
                             "太大")
        received = reporter.last("第 3 个文件")
        question = await reporter.press(received, ":done", "5/6")
        review = await reporter.press(question, ":ni", "6/6")
        for part in ("石河子市人民医院", "重复收费", "住院病人每天被重复收取护理费", "2026年3月上旬", "证据文件：3 个"):
            assert part in (review.text or ""), part
        receipt = await reporter.press(review, ":ok", "受理编号")

        async with bot.uow() as u:
            lead = (await u.session.exec(select(Lead))).one()
            files = (await u.session.exec(select(LeadEvidence).order_by(LeadEvidence.id))).all()  # type: ignore[arg-type]
        assert lead.number in (receipt.text or "") and lead.institution_id == hospital
        assert lead.category == "over_charging" and lead.state == "received" and lead.due_at is not None
        assert [f.sha256 for f in files] == [hashlib.sha256(b).hexdigest() for b in (PHOTO_1, PHOTO_2, PDF)]
        for stored, original in zip(files, (PHOTO_1, PHOTO_2, PDF), strict=True):
            keys = bot.running.services.keys
            kept = evidence.read_verified(evidence_dir, stored.stored_path, stored.sha256, keys=keys)
            assert kept == original  # encrypted at rest (issue 19), the same bytes once read with the key
        assert files[2].file_name == "账单.pdf" and files[2].kind == "document"

        # staff are alerted with the pseudonym only
        admin = Chat(emulator, STAFF_ADMIN)
        await emulator.wait_for(lambda: any(lead.number in (m.text or "") for m in emulator.messages(STAFF_ADMIN)))
        alert = admin.last(f"新线索 {lead.number}")
        assert f"社会监督员 {lead.reporter_pseudonym}" in (alert.text or "")

        card = await admin.command("/lead", lead.number, expect="状态：已收到")
        await admin.press(card, f"ld:ask:{lead.id}", zh("leadstaff.ask_prompt"))
        await admin.text("请问收费单据是哪一天的？", "已发送提问")
        question_to_reporter = await reporter.received("请问收费单据是哪一天的？")
        assert "王管理" not in (question_to_reporter.text or "")  # unsigned
        await reporter.press(question_to_reporter, f"lx:reply:{lead.id}", "请发送对线索")
        await reporter.text("是三月五日的单据", "已将您的补充")
        await admin.received("是三月五日的单据")
        await reporter.press(reporter.last("请发送对线索"), "lx:done", zh("report.more_done"))

        card = await admin.command("/lead", str(lead.id), expect="状态：已收到")
        await admin.press(card, f"ld:accept:{lead.id}", "已受理")
        await emulator.wait_for(lambda: any("已受理（已立案）" in (m.text or "") for m in emulator.messages(REPORTER)))
        card = await admin.received("状态：已受理")
        await admin.press(card, f"ld:extend:{lead.id}", "工作日数")
        await admin.text("10 需要调取医院半年的结算数据", "已延期")
        await emulator.wait_for(lambda: any("需要调取医院半年的结算数据" in (m.text or "")
                                            for m in emulator.messages(REPORTER)))
        card = await admin.command("/lead", str(lead.id), expect="状态：已受理")
        await admin.press(card, f"ld:yes:{lead.id}", "处理情况")
        await admin.text("查实重复收取护理费，已追回基金", "查证属实")
        await reporter.received("经查证属实。处理情况")
        card = await admin.command("/lead", str(lead.id), expect="状态：查证属实")
        await admin.press(card, f"ld:reward:{lead.id}", "奖励金额")
        await admin.text("100", "超出规定范围")  # below the 200 yuan minimum
        await admin.press(admin.last("状态：查证属实"), f"ld:reward:{lead.id}", "奖励金额")
        await admin.text("5000", "已登记奖励")
        await emulator.wait_for(lambda: any("奖励 5000 元" in (m.text or "") for m in emulator.messages(REPORTER)))

        # the custodian reveals, with a reason; audited and listed for admins
        async with bot.uow() as u:
            await lead_privacy.grant_custodian(u, actor=SYSTEM_CLI, person_id=org.admin_id, org="bureau")
        shown = await admin.command("/reveal", f"{lead.number} 核实奖励领取人身份", expect="本次查看已记录")
        assert "陈监督" in (shown.text or "")
        await admin.command("/reveals", expect="核实奖励领取人身份")
        async with bot.uow() as u:
            reveals = (await u.session.exec(select(IdentityReveal))).all()
            query = select(AuditEntry).where(AuditEntry.action == "lead.identity_revealed")
            audited = (await u.session.exec(query)).all()
        assert len(reveals) == 1 and reveals[0].custodian_person_id == org.admin_id
        assert len(audited) == 1 and audited[0].details["reason"] == "核实奖励领取人身份"

        # nothing staff saw before the reveal names the reporter
        staff_texts = [m.text or m.caption or "" for m in emulator.messages(STAFF_ADMIN)
                       if m.message_id < shown.message_id]
        for secret in ("陈监督", "chen_jiandu", str(REPORTER)):
            assert all(secret not in text for text in staff_texts), secret

        # another supervisor cannot see or act on the lead
        async with bot.uow() as u:
            other = await orgs.add_member(u, actor=SYSTEM_CLI, kind="supervisor", name="周监督", org="div1")
        assert other.id is not None
        await _bind(bot, emulator, other.id, OTHER, "supervisor")
        intruder = Chat(emulator, OTHER)
        await intruder.command("/myleads", expect=zh("report.mine_empty"))
        answer = await intruder.alert(question_to_reporter.message_id, f"lx:reply:{lead.id}")
        assert answer == zh("lead.error.not_found")
        await intruder.command("/lead", str(lead.id), expect=zh("auth.not_permitted"))
        question = await reporter.command("/report", expect=zh("report.ask_target"))
        await reporter.command("/cancel", expect=zh("report.cancelled"))  # cancellable at any step
        mine = await reporter.command("/myleads", expect=lead.number)
        assert "查证属实" in (mine.text or "")
    finally:
        await bot.shutdown()
