"""Registers exported to XLSX (issue 17), through the bot and the command line: a unit's export never holds another
unit's records, a lead export has no reporter identity (003 三(四)), the audit trail is for an admin of the top
unit only, a credit file lists its events in words."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot import limits
from bot.emulator import BotApiEmulator
from messages import translate
from services.leads import leads
from services.platform.roles import Actor, Role
from tests.builders import add_institutions, build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits  # noqa: F401 - this module's emulator
from tests.e2e.test_stats import _month_start, _seed


def _cells(data: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]


async def _sent(emulator: BotApiEmulator, chat_id: int, count: int) -> bytes:
    await emulator.wait_for(lambda: len([m for m in emulator.messages(chat_id) if m.document]) >= count)
    document = [m for m in emulator.messages(chat_id) if m.document][-1].document
    assert document is not None and (document.file_name or "").endswith(".xlsx")
    return document.data


async def test_exports_respect_the_line_and_never_name_the_reporter(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        start = await _month_start(bot)
        experts = await _seed(bot, start, org.div1_id, org.div2_id, org.staff_id)
        [hospital] = await add_institutions(bot.uow, ["第一师医院"])
        reporter = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                         roles=frozenset({Role.SUPERVISOR}))
        async with bot.uow() as u:
            await leads.submit(u, actor=reporter, draft=leads.LeadDraft(category="over_charging", what="重复收费",
                                                                        institution_id=hospital))
        await bind(bot, emulator, org.div1_staff_id, 801, "staff")
        await bind(bot, emulator, org.admin_id, 802, "staff")
        division, admin = Chat(emulator, 801), Chat(emulator, 802)

        await division.user.send_command("/export", "leads")
        rows = _cells(await _sent(emulator, 801, 1))
        assert "共 1 行" in ([m for m in emulator.messages(801) if m.document][-1].caption or "")
        flat = "\n".join("\t".join(r) for r in rows)
        assert "重复收费" in flat and "第一师医院" in flat and "陈监督" not in flat  # never the reporter's name
        assert rows[1][0] == "受理编号"

        await division.user.send_command("/export", "activities")
        activity_rows = _cells(await _sent(emulator, 801, 2))
        titles = {r[1] for r in activity_rows[2:]}
        assert "活动3" in titles and "活动5" not in titles  # div2's activity is not in div1's export

        await division.command("/export", "audit", expect="抱歉")  # a division's staff: refused
        await admin.user.send_command("/export", "audit")
        audit_rows = _cells(await _sent(emulator, 802, 1))
        assert any("lead.submitted" in r for r in audit_rows)

        await admin.user.send_command("/export", f"credit {experts[0]}")
        assert "信用档案" in _cells(await _sent(emulator, 802, 2))[0][0]

        out = tmp_path / "leads.csv"
        status, printed, err = await bot.cli("export", "leads", str(out), "--as", str(org.div1_staff_id),
                                             "--period", f"{start.year}-{start.month:02d}")
        assert status == 0, err
        assert "1 row(s)" in printed and "重复收费" in out.read_text(encoding="utf-8-sig")


async def test_a_file_over_the_bots_upload_limit_is_not_sent_and_the_user_is_told_how_to_narrow_it(
    emulator: BotApiEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram refuses a bot's upload over 50 MB with a bare 413 after the whole upload; the bot checks first and
    says how big the file was and what to do (the limit is lowered here so a small export is over it)."""
    monkeypatch.setattr(limits, "UPLOAD_LIMIT", 1024)
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.admin_id, 802, "staff")
        admin = Chat(emulator, 802)
        told = await admin.until(lambda: admin.user.send_command("/export", "audit"), "上限")
        assert told.text is not None and "MB" in told.text and "python -m bot export" in told.text
        assert translate("zh", "error.internal") not in (told.text or "")
        assert not [m for m in emulator.messages(802) if m.document]
        assert not any(name == "sendDocument" for name, *_ in emulator.request_log)
