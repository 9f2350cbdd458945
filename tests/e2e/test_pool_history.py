"""End to end: a roster with annex 1's work history, sent by staff to the bot, recuses from a draw someone who left
the inspected hospital 23 months before the activity and not someone who left 25 months before; an expert adds a
period with /history and staff approve it in /changes (issue 14, "Dated work history"; 000 §15(一))."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook
from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.identifiers import id_check_char
from services.platform.roles import SYSTEM_CLI
from storage.activities import ActivityMember
from storage.models import Expert
from storage.pool import ExpertEmployment
from tests.builders import add_institutions, build_org, staff_actor
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, data_of, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]

HEADERS = ["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
           "电话（手机）电子邮箱", "专业类型", "所属单位", "工作经历及专业特长"]


def _id(birth: str, sequence: str) -> str:
    body = "650102" + birth + sequence
    return body + id_check_char(body)


def _months_before(day: date, months: int) -> str:
    index = day.year * 12 + day.month - 1 - months
    return f"{index // 12}.{index % 12 + 1:02d}"


def _roster(start: date) -> bytes:
    """甲 left the hospital 23 months before ``start``, 乙 25 months before; 丙 has an unmatched period."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    rows = [("甲专家", "19750304", "131", f"2010.07–{_months_before(start, 23)} 第一师医院 主治医师"),
            ("乙专家", "19760304", "151", f"2010.07—{_months_before(start, 25)} 第一师医院 主治医师"),
            ("丙专家", "19770304", "171", "2001.07-2010.06 某县医院 医师"),
            ("丁专家", "19780304", "191", "")]
    for n, (name, birth, sequence, history) in enumerate(rows, 1):
        sheet.append([n, name, "男", f"单位{n} 副教授", "硕士研究生", "新疆医科大学", "临床医学",
                      _id(birth, sequence), f"1380013800{n}", "医保监管类", "bureau", history])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


async def test_an_imported_history_recuses_by_the_real_end_date_in_a_draw(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, _ = await add_institutions(bot.uow, ["第一师医院", "石河子大学"])
        await bind(bot, emulator, org.staff_id, 90, "staff")
        staff = Chat(emulator, 90)
        start = bot.clock.now() + timedelta(days=10)
        roster = _roster(start.date())
        listed = await staff.until(lambda: staff.user.send_document(roster, file_name="roster.xlsx",
                                                                    mime_type="x"),
                                   zh("import.history_header", count=1))
        assert "第 4 行：某县医院（机构目录中没有该单位，或有多个同名单位）" in (listed.text or "")
        async with bot.uow() as u:
            experts = {e.id_number: e.person_id for e in (await u.session.exec(select(Expert))).all()}
            activity = await activities.create_activity(u, actor=staff_actor(org.staff_id, org.bureau_id),
                                                        data=ActivityInput(
                org="bureau", kind="routine_inspection", title="第一师医院检查", starts_at=start,
                ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("supervision", 3, 0),), institution_ids=(hospital,)))
            await draws.set_approval(u, actor=SYSTEM_CLI, org="bureau", enabled=False)
        await staff.command("/draw", str(activity.id), expect="乙专家")
        async with bot.uow() as u:
            drawn = {m.person_id for m in (await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == activity.id))).all()}
        assert drawn == {experts[_id("19760304", "151")], experts[_id("19770304", "171")],
                         experts[_id("19780304", "191")]}  # 甲 left 23 months before: recused


async def test_an_expert_adds_a_period_and_staff_approve_it(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, = await add_institutions(bot.uow, ["第一师医院"])
        await bind(bot, emulator, org.expert_id, 70, "expert")
        await bind(bot, emulator, org.admin_id, 71, "staff")
        expert, admin = Chat(emulator, 70), Chat(emulator, 71)
        await expert.command("/history", expect=zh("history.none"))
        await expert.command("/history", f"2015-03 2024-13 {hospital}", expect="2024-13")  # no such month
        await expert.command("/history", f"2015-03 2024-06 {hospital} 主治医师",
                             expect="第一师医院 2015-03-01 ~ 2024-06-30 主治医师")
        item = await admin.command("/changes", expect="工作经历")
        await admin.alert(item.message_id, data_of(item, ":a"))
        await expert.received(zh("pool.change_approved", field_key="pool.field.history"))
        shown = await expert.command("/history", expect=zh("history.header"))
        assert "2015-03-01 ~ 2024-06-30　第一师医院　主治医师" in (shown.text or "")
        async with bot.uow() as u:
            rows = (await u.session.exec(select(ExpertEmployment).where(
                ExpertEmployment.expert_id == org.expert_id))).all()
        assert [(r.institution_id, r.start_date, r.end_date) for r in rows] == [
            (hospital, date(2015, 3, 1), date(2024, 6, 30))]
