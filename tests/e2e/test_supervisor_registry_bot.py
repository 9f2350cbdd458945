"""End to end through the emulator: staff manage the social supervisor registry in the bot (002 §3–§8) — list it for
their own line only, open a card, an admin ends an appointment on a 002 §8 ground (audited; the supervisor can no
longer report), everyone else is refused; an admin imports a table with a bad row (report edited in place, rejected
rows as a file) and the registry is exported and read back."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from services.platform.identifiers import id_check_char, mask_id_number
from services.platform.roles import SYSTEM_CLI
from services.platform.tables import read_cells, text_of
from services.supervisors import supervisor_io, supervisors
from services.supervisors.supervisors import SupervisorInput
from storage.models import AuditEntry, Supervisor
from tests.builders import Org, build_org
from tests.e2e.harness import BotHarness, start_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    data_of,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

ADMIN, STAFF, DIV1_STAFF, SUPERVISOR, EXPERT = 74101, 74102, 74103, 74104, 74105
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _id(birth: str, sequence: str) -> str:
    body = "650102" + birth + sequence
    return body + id_check_char(body)


async def _appoint(bot: BotHarness, name: str, id_number: str, org: str, source: str = "deputy") -> int:
    async with bot.uow() as uow:
        person_id, _ = await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput(
            name=name, id_number=id_number, org=org, source=source, certificate_number="JD-" + name))
    return person_id


async def _setup(emulator: BotApiEmulator, database_url: str) -> tuple[BotHarness, Org, int, int]:
    bot = await start_bot(emulator, database_url, **FAST)
    org = await build_org(bot.uow)
    in_div1 = await _appoint(bot, "刘代表", _id("19700101", "111"), "div1")
    in_div2 = await _appoint(bot, "周委员", _id("19710202", "222"), "div2", source="cppcc")
    await bind(bot, emulator, org.admin_id, ADMIN, "staff", first_name="王")
    await bind(bot, emulator, org.staff_id, STAFF, "staff", first_name="李")
    await bind(bot, emulator, org.div1_staff_id, DIV1_STAFF, "staff", first_name="赵")
    await bind(bot, emulator, org.supervisor_id, SUPERVISOR, "supervisor", first_name="陈")
    await bind(bot, emulator, org.expert_id, EXPERT, "expert", first_name="张")
    return bot, org, in_div1, in_div2


async def _keyboard_changes(emulator: BotApiEmulator, chat: Chat, message_id: int, ending: str) -> SentMessage:
    """Wait until the message shown as ``message_id`` carries a button whose data ends with ``ending``."""
    def current() -> SentMessage:
        return next(m for m in chat.messages() if m.message_id == message_id)

    await emulator.wait_for(lambda: any(data.endswith(ending) for row in buttons(current()) for _, data in row))
    return current()


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号码", "手机", "所属单位", "来源", "聘任方式", "聘书编号", "工作证编号", "聘期开始"])
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


async def test_staff_see_their_own_line_and_open_a_card_while_others_are_refused(
    emulator: BotApiEmulator, database_url: str
) -> None:
    bot, _, in_div1, in_div2 = await _setup(emulator, database_url)
    try:
        div1 = Chat(emulator, DIV1_STAFF)
        listing = await div1.command("/supervisors", expect="社会监督员名册")
        assert "刘代表" in (listing.text or "") and "陈监督" in (listing.text or "")
        assert "周委员" not in (listing.text or "")  # div2 is outside div1's line
        assert zh("registry.source.deputy") in (listing.text or "")
        narrowed = await div1.command("/supervisors", "刘", expect="社会监督员名册")
        assert "刘代表" in (narrowed.text or "") and "陈监督" not in (narrowed.text or "")
        await div1.command("/supervisors", "div2", expect="不在您所在单位")  # refused, and told why
        await div1.command("/supervisor", str(in_div2), expect="不在您所在单位")
        await div1.command("/supervisor", "abc", expect=zh("registry.usage"))

        card = await div1.command("/supervisor", str(in_div1), expect="社会监督员 刘代表")
        assert mask_id_number(_id("19700101", "111")) in (card.text or "")
        assert zh("registry.state.active") in (card.text or "") and "JD-刘代表" in (card.text or "")
        assert buttons(card) == []  # the End appointment button is an admin's
        answer = await div1.alert(card.message_id, f"sv:end:{in_div1}")  # a crafted press by a non-admin
        assert answer == zh("auth.not_permitted")

        everything = await Chat(emulator, STAFF).command("/supervisors", expect="社会监督员名册")
        assert "周委员" in (everything.text or "") and "刘代表" in (everything.text or "")
        only_div2 = await Chat(emulator, ADMIN).command("/supervisors", "div2", expect="div2 及下级单位")
        assert "周委员" in (only_div2.text or "") and "刘代表" not in (only_div2.text or "")

        await Chat(emulator, SUPERVISOR).command("/supervisors", expect=zh("auth.not_permitted"))
        await Chat(emulator, EXPERT).command("/supervisors", expect=zh("auth.not_permitted"))
        await Chat(emulator, EXPERT).command("/supervisor", str(in_div1), expect=zh("auth.not_permitted"))

        staff_help = await div1.command("/help", expect="/supervisors_export")
        assert "/supervisor " in (staff_help.text or "") and "/supervisors_import" not in (staff_help.text or "")
        admin_help = await Chat(emulator, ADMIN).command("/help", expect="/supervisors_import")
        assert "/supervisors " in (admin_help.text or "")
        supervisor_help = await Chat(emulator, SUPERVISOR).command("/help", expect="/report")
        assert "/supervisors" not in (supervisor_help.text or "")
    finally:
        await bot.shutdown()


async def test_a_long_registry_is_cut_with_a_count_of_the_rest_to_narrow_with_words(
    emulator: BotApiEmulator, database_url: str
) -> None:
    bot, _, _, _ = await _setup(emulator, database_url)
    try:
        async with bot.uow() as uow:
            for n in range(supervisors.LIST_LIMIT):
                await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, commit=False, data=SupervisorInput(
                    name=f"群众{n:02d}", id_number=_id("19900101", f"{n:03d}"), org="div1", source="insured"))
            await uow.commit()
        listing = await Chat(emulator, DIV1_STAFF).command("/supervisors", expect="社会监督员名册")
        text = listing.text or ""
        assert "共 32 人" in text and zh("registry.more", count=2) in text
        assert len(text.splitlines()) == 1 + supervisors.LIST_LIMIT + 1
        narrowed = await Chat(emulator, DIV1_STAFF).command("/supervisors", "群众0", expect="社会监督员名册")
        assert "共 10 人" in (narrowed.text or "") and "另有" not in (narrowed.text or "")
    finally:
        await bot.shutdown()


async def test_an_admin_ends_an_appointment_on_a_ground_and_the_supervisor_can_no_longer_report(
    emulator: BotApiEmulator, database_url: str
) -> None:
    bot, org, _, _ = await _setup(emulator, database_url)
    try:
        admin, person_id = Chat(emulator, ADMIN), org.supervisor_id
        card = await admin.command("/supervisor", str(person_id), expect="社会监督员 陈监督")
        assert zh("registry.button.end") in [text for row in buttons(card) for text, _ in row]

        for crafted in (f"sv:g:{person_id}:bogus", "sv:zap:1", f"sv:ok:{person_id}", "sv:end:x"):
            assert await admin.alert(card.message_id, crafted) == zh("button.stale")

        answer = await admin.alert(card.message_id, data_of(card, f"end:{person_id}"))
        assert answer == zh("registry.choose_ground")
        grounds = await _keyboard_changes(emulator, admin, card.message_id, f"g:{person_id}:resigned")
        assert len(buttons(grounds)) == 8  # the seven grounds of 002 §8 and Back
        answer = await admin.alert(card.message_id, data_of(grounds, ":resigned"))
        assert answer == zh("registry.confirm_prompt", reason_key="registry.reason.resigned", article="002 §8(五)",
                            name="陈监督")
        confirm = await _keyboard_changes(emulator, admin, card.message_id, f"ok:{person_id}:resigned")
        assert await Chat(emulator, STAFF).alert(card.message_id, data_of(confirm, ":resigned")) == zh(
            "auth.not_permitted")  # a staff member (not admin) pressing is refused

        answer = await admin.alert(card.message_id, data_of(confirm, f"ok:{person_id}:resigned"))
        assert answer == zh("registry.ended_done", name="陈监督", article="002 §8(五)")
        ended = zh("registry.state.ended", reason_key="registry.reason.resigned", article="002 §8(五)")
        await emulator.wait_for(lambda: ended in (admin.messages()[-1].text or ""))
        assert buttons(admin.messages()[-1]) == []

        async with bot.uow() as uow:
            row = await uow.people.supervisor(person_id)
            assert row is not None and row.status == "ended" and row.end_reason == "resigned"
            entries = (await uow.session.exec(select(AuditEntry).where(
                AuditEntry.action == "supervisor.terminated", AuditEntry.object_id == str(person_id)))).all()
            assert len(entries) == 1 and entries[0].actor == f"person:{org.admin_id}"

        assert await admin.alert(card.message_id, f"sv:ok:{person_id}:resigned") == zh("button.stale")
        await Chat(emulator, SUPERVISOR).command("/report", expect=zh("lead.error.not_supervisor"))
        listing = await Chat(emulator, ADMIN).command("/supervisors", "ended", expect="社会监督员名册")
        assert "陈监督" in (listing.text or "") and "刘代表" not in (listing.text or "")
    finally:
        await bot.shutdown()


async def test_an_admin_imports_a_table_with_a_bad_row_and_the_registry_exports_and_reads_back(
    emulator: BotApiEmulator, database_url: str
) -> None:
    bot, _, _, _ = await _setup(emulator, database_url)
    try:
        admin = Chat(emulator, ADMIN)
        await admin.command("/supervisors_import", expect=zh("registry.import.send_file"))
        table = _workbook([
            ["吴代表", _id("19800303", "333"), "13800138000", "div1", "deputy", "open_selection", "JD-9", "", ""],
            ["郑群众", _id("19810404", "444"), "", "div2", "insured", "self_recommendation", "", "W-2", "2026-01-01"],
            ["错号码", "650102198001011235", "", "div1", "media", "", "", "", ""],
        ])
        before = len(admin.messages())
        await admin.user.send_document(table, file_name="监督员名册.xlsx", mime_type=XLSX)
        await emulator.wait_for(lambda: len(admin.messages()) >= before + 3)
        progress, rejections, attachment = admin.messages()[before:before + 3]
        summary = zh("registry.import.summary", total=3, created=2, updated=0, rejected=1, valid=2)
        await emulator.wait_for(lambda: progress.text == summary)
        assert progress.edit_count >= 1  # the "importing" message became the report
        assert rejections.text is not None and "第 4 行" in rejections.text and "身份证号码" in rejections.text
        assert attachment.document is not None and attachment.document.file_name == "监督员名册-rejected.xlsx"
        rejected = list(load_workbook(io.BytesIO(attachment.document.data)).active.iter_rows(values_only=True))
        assert rejected[0][:3] == ("原因", "原行号", "姓名") and rejected[1][2] == "错号码" and rejected[1][1] == 4

        again = await admin.until(lambda: admin.user.send_document(
            table, file_name="名册.xlsx", mime_type=XLSX, caption="/supervisors_import strict"), "严格模式")
        assert again.text == zh("registry.import.refused", rejected=1, total=3, valid=2)
        await emulator.wait_for(lambda: any(m.document is not None and m.document.file_name == "名册-rejected.xlsx"
                                            for m in admin.messages()))
        refused = await Chat(emulator, STAFF).until(lambda: emulator.user(STAFF).send_document(
            table, file_name="名册.xlsx", mime_type=XLSX, caption="/supervisors_import"), zh("auth.not_permitted"))
        assert refused.text == zh("auth.not_permitted")
        async with bot.uow() as uow:
            person_ids = set((await uow.session.exec(select(Supervisor.person_id))).all())
            assert len(person_ids) == 5  # two imported once, besides the three appointed before; strict added nothing

        before = len(admin.messages())
        await admin.user.send_command("/supervisors_export")
        await emulator.wait_for(lambda: any(m.document is not None for m in admin.messages()[before:]))
        exported = next(m for m in reversed(admin.messages()) if m.document is not None)
        assert exported.document is not None and exported.document.file_name == "supervisors.xlsx"
        rows = read_cells(exported.document.data, "supervisors.xlsx")
        headers = [text_of(cell) for cell in rows[1][1]]
        assert tuple(headers) == supervisor_io.EXPORT_HEADERS
        by_name = {text_of(cells[0]): cells for _, cells in rows[2:]}
        assert {"吴代表", "郑群众", "刘代表", "周委员", "陈监督"} == set(by_name)
        assert text_of(by_name["吴代表"][1]) == _id("19800303", "333")  # in full for an admin
        assert exported.caption == zh("registry.export.caption", count=5)

        div1 = Chat(emulator, DIV1_STAFF)
        await div1.user.send_command("/supervisors_export", "csv")
        await emulator.wait_for(lambda: any(m.document is not None for m in div1.messages()))
        mine = next(m for m in div1.messages() if m.document is not None)
        assert mine.document is not None and mine.document.file_name == "supervisors.csv"
        csv_rows = read_cells(mine.document.data, "supervisors.csv")
        names_in_csv = {text_of(cells[0]) for _, cells in csv_rows[1:]}
        assert names_in_csv == {"吴代表", "刘代表", "陈监督"}  # div1's line only
        masked = {text_of(cells[0]): text_of(cells[1]) for _, cells in csv_rows[1:]}
        assert masked["吴代表"] == mask_id_number(_id("19800303", "333"))
    finally:
        await bot.shutdown()
