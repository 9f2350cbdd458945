"""Telegram's limits in everything the bot sends (hardening issue 4): a review card built from the longest answers
the report takes (4,000 characters of facts, 200 each for when and where) arrives in numbered parts with its buttons
under the last, and the report can be submitted from there."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import BotApiEmulator
from bot.limits import utf16_len
from tests.builders import add_institutions, build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

REPORTER = 73201


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
