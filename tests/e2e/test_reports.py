"""The monthly statistical tables and the yearly report (issue 17), end to end: asked for in the bot, and sent by
the monthly job to each unit's staff chat on the first working day of the month, once."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from bot.emulator import BotApiEmulator
from bot.reports import send_due_monthly
from services.people import groups
from services.platform.workdays import default_calendar
from storage.records import ExcellenceList
from tests.builders import build_org, staff_actor
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits  # noqa: F401 - this module's emulator
from tests.e2e.test_stats import _leads, _month_start, _seed


async def _document(emulator: BotApiEmulator, chat_id: int, count: int) -> bytes:
    await emulator.wait_for(lambda: len([m for m in emulator.messages(chat_id) if m.document]) >= count, timeout=60)
    document = [m for m in emulator.messages(chat_id) if m.document][-1].document
    assert document is not None
    return document.data


async def test_the_monthly_tables_add_up_and_the_yearly_report_has_its_parts(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        start = await _month_start(bot)
        await _seed(bot, start, org.div1_id, org.div2_id, org.staff_id)
        await _leads(bot, org.supervisor_id, staff_actor(org.staff_id, org.bureau_id))
        async with bot.uow() as u:
            u.session.add(ExcellenceList(org_unit_id=org.bureau_id, year=start.year, status="published",
                                         entries=[{"person_id": org.expert_id, "name": "张专家"}],
                                         created_at=u.now(), published_at=u.now()))
            await u.commit()
        await bind(bot, emulator, org.staff_id, 901, "staff")
        staff = Chat(emulator, 901)
        month = f"{start.year}-{start.month:02d}"

        await staff.user.send_command("/report_monthly", month)
        book = load_workbook(io.BytesIO(await _document(emulator, 901, 1)), read_only=True)
        assert [s.title for s in book.worksheets] == ["活动", "专家邀请", "线索", "专家库"]
        for sheet in book.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            units, total = rows[2:-1], rows[-1]
            assert total[0] == "合计" and len(units) == 3  # the bureau and its two divisions
            for column in range(1, len(total)):  # 000 §4: the totals are the sums of the unit rows
                assert total[column] == sum(int(row[column] or 0) for row in units), (sheet.title, column)
        invitations = {row[0]: row for row in book["专家邀请"].iter_rows(values_only=True)}
        assert invitations["第一师医保局"][1] == 5 and invitations["第二师医保局"][1] == 1

        await staff.user.send_command("/report_yearly", str(start.year))
        report = Document(io.BytesIO(await _document(emulator, 901, 2)))
        text = "\n".join(p.text for p in report.paragraphs)
        assert f"{start.year}年度医疗保障基金监管工作报告" in text and "张专家" in text and "第二十条" in text
        assert len(report.inline_shapes) == 1 and len(report.tables) == 4  # the chart, the four tables


async def test_each_units_staff_chat_gets_last_months_tables_on_the_first_working_day_once(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        emulator.group(-5001, "一师工作群")
        async with bot.uow() as u:
            await groups.bind_group(u, actor=staff_actor(org.admin_id, org.bureau_id, admin=True),
                                    channel="telegram", chat_id="-5001", title="一师工作群", org="div1")
        now = bot.clock.now()
        year, month = (now.year + (now.month + 1) // 12, (now.month + 1) % 12 + 1)  # the month after next
        calendar = default_calendar()
        first = next(date(year, month, d) for d in range(1, 29) if calendar.is_working_day(date(year, month, d)))
        bot.clock.advance(datetime(first.year, first.month, first.day, 2, 0, tzinfo=UTC) - timedelta(days=1) - now)
        telegram = bot.running.application.bot
        assert await send_due_monthly(telegram, bot.uow, "zh") == 0  # the day before: nothing due
        bot.clock.advance(timedelta(days=1))
        assert await send_due_monthly(telegram, bot.uow, "zh") == 1
        assert await send_due_monthly(telegram, bot.uow, "zh") == 0  # once
        sent = [m for m in emulator.messages(-5001) if m.document]
        assert len(sent) == 1 and "月度统计表" in (sent[0].caption or "")


async def test_the_command_line_writes_both_reports(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path
    async with running_bot(emulator, database_url) as bot:
        await build_org(bot.uow)
        status, _, err = await bot.cli("report", "monthly", "--unit", "bureau", "--month", "2026-11",
                                         "--out", str(folder / "m.xlsx"))
        assert status == 0, err
        monthly = load_workbook(folder / "m.xlsx", read_only=True)  # keeps its file open until closed
        try:
            assert monthly.sheetnames == ["活动", "专家邀请", "线索", "专家库"]
        finally:
            monthly.close()
        status, _, err = await bot.cli("report", "yearly", "--unit", "div1", "--year", "2026",
                                         "--out", str(folder / "y.docx"))
        assert status == 0, err
        assert "第一师医保局2026年度" in "\n".join(p.text for p in Document(str(folder / "y.docx")).paragraphs)
