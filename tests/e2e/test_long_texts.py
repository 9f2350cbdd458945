"""Telegram's limits in everything the bot sends (hardening issue 4): a review card built from the longest answers
the report takes (4,000 characters of facts, 200 each for when and where) arrives in numbered parts with its buttons
under the last, and the report can be submitted from there; a longer answer is refused with the limit stated; a
reporter's reply as long as a Telegram message reaches staff whole and is stored whole."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from bot.limits import utf16_len
from services.leads import leads
from services.platform.roles import Actor, Role
from storage.leads import LeadMessage
from tests.builders import add_institutions, build_org, staff_actor
from tests.e2e.harness import running_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

REPORTER, STAFF = 73201, 73202


async def test_a_review_card_longer_than_a_message_arrives_in_parts_and_the_report_goes_through(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    facts = ("住院病人每天被重复收取护理费，" * 300)[:4000]
    async with running_bot(emulator, database_url, evidence_dir=tmp_path, **FAST) as bot:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        await bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor")
        reporter = Chat(emulator, REPORTER)
        await reporter.command("/report", expect=zh("report.ask_target"))
        results = await reporter.text("人民医院", zh("report.matches"))
        await reporter.press(results, f":{hospital}", zh("report.ask_insured"))
        question = await reporter.press(reporter.last(zh("report.ask_insured")), ":skip", zh("report.ask_category"))
        await reporter.press(question, ":over_charging", zh("report.ask_what"))
        await reporter.text(facts + "多", zh("report.too_long", limit=4000, length=4001))  # stated, not cut
        await reporter.text(facts, zh("report.ask_when"))
        await reporter.text("2026年3月上旬" + "，每天" * 60, zh("report.ask_where"))  # 200 characters each
        question = await reporter.text("住院部三楼" + "，护士站" * 45, "4/6")
        question = await reporter.press(question, ":done", "5/6")
        last_part = await reporter.press(question, ":ni", "（2/2）")
        parts = [m for m in reporter.messages() if (m.text or "").startswith(("（1/2）", "（2/2）"))]
        assert len(parts) == 2 and all(utf16_len(m.text or "") <= 4096 for m in parts)
        assert facts[:200] in (parts[0].text or "")
        await reporter.press(last_part, ":ok", "受理编号")


async def test_a_reporters_reply_of_a_whole_telegram_message_reaches_staff_whole(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    reply = ("三月五日的单据显示护理费重复收取。" * 300)[:4096]  # as long as a Telegram message can be
    async with running_bot(emulator, database_url, evidence_dir=tmp_path, **FAST) as bot:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        await bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor")
        await bind(bot, emulator, org.admin_id, STAFF, "staff")
        reporter, admin = Chat(emulator, REPORTER), Chat(emulator, STAFF)
        supervisor = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                           roles=frozenset({Role.SUPERVISOR}))
        async with bot.uow() as uow:
            lead = await leads.submit(uow, actor=supervisor, draft=leads.LeadDraft(
                category="over_charging", what="重复收取护理费", institution_id=hospital))
        assert lead.id is not None
        async with bot.uow() as uow:
            await leads.ask_reporter(uow, actor=staff_actor(org.admin_id, org.bureau_id, admin=True), lead_id=lead.id,
                                     text="请问是哪一天的单据？")
        question = await reporter.received("请问是哪一天的单据？")
        await reporter.press(question, f"lx:reply:{lead.id}", "请发送对线索")
        await reporter.text(reply, "已将您的补充")
        await emulator.wait_for(lambda: reply[-300:] in "".join(m.text or "" for m in admin.messages()))
        relayed = "".join((m.text or "").split("\n", 1)[-1] for m in admin.messages() if lead.number in (m.text or "")
                          or (m.text or "").startswith("（2/"))
        assert reply[:300] in relayed and all(utf16_len(m.text or "") <= 4096 for m in admin.messages())
        async with bot.uow() as uow:
            stored = "".join(m.text for m in (await uow.session.exec(
                select(LeadMessage).where(LeadMessage.direction == "from_reporter").order_by(col(LeadMessage.id)))))
        assert stored == reply  # kept whole, nothing cut
