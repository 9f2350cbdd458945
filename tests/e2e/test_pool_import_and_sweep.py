"""End to end: staff send an expert table with good and bad rows and get the report and the rejected
rows back; an expert turning 65 is exited by the scheduler's pool job with notices sent
(issue: expert pool, "Done when")."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.emulator import BotApiEmulator
from messages import translate
from services.people import accounts
from services.platform.identifiers import id_check_char
from services.platform.roles import SYSTEM_CLI
from storage.models import Expert
from tests.builders import build_org
from tests.e2e.harness import BotHarness, running_bot

HEADERS = ["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
           "电话（手机）电子邮箱", "专业类型", "所属单位"]


def _id(birth: str, sequence: str) -> str:
    body = "650102" + birth + sequence
    return body + id_check_char(body)


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    sheet.append([1, "刘医生", "男", "第一师医院 科主任 主任医师", "硕士研究生", "新疆医科大学", "临床医学",
                  _id("19750304", "131"), "13800138000", "医药临床类", "div1"])
    sheet.append([2, "周会计", "女", "石河子大学 副处长 高级会计师", "大学本科", "石河子大学", "会计学",
                  _id("19800101", "242"), "13900139000 zhou@example.cn", "管理类", "div1"])
    sheet.append([3, "错号码", "男", "某医院", "大学本科", "某大学", "临床医学", "650102197501011234", "12345",
                  "医保监管类、医药临床类、管理类", "div1"])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


async def _bind(bot: BotHarness, emulator: BotApiEmulator, role: str, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def test_staff_send_an_xlsx_and_get_the_report_and_the_rejected_rows(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "staff", org.div1_staff_id, 90)
        staff = emulator.user(90)
        await staff.send_document(_workbook(), file_name="专家汇总表.xlsx",
                                  mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        messages = await emulator.wait_for_messages(90, 4, timeout=20)
        progress, rejections, attachment = messages[1], messages[2], messages[3]
        assert progress.text == translate("zh", "import.summary", total=3, created=2, updated=0, unchanged=0,
                                          rejected=1, valid=2, institutions=2)
        assert progress.edit_count >= 1  # the "importing" message was edited into the report
        assert rejections.text is not None and "第 4 行" in rejections.text
        assert "身份证号校验位不正确" in rejections.text and "专业类型须为一至两项" in rejections.text
        assert attachment.document is not None and attachment.document.file_name == "专家汇总表-rejected.xlsx"
        sheet = load_workbook(io.BytesIO(attachment.document.data)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "原因" and rows[1][3] == "错号码"

        await emulator.user(91, language_code="zh").send_document(b"x", file_name="a.xlsx", mime_type="x")
        assert (await emulator.wait_for_messages(91, 1))[0].text == translate("zh", "auth.unbound")


async def test_an_expert_turning_65_is_exited_by_the_scheduler_with_notices(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 95)
        await _bind(bot, emulator, "staff", org.admin_id, 96)
        today = bot.clock.now().date()
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
            assert record is not None
            record.birth_date = date(today.year - 65, today.month, today.day) + timedelta(days=3)
            u.session.add(record)
            await u.commit()
        job = bot.running.scheduler.get_job("expert_pool_daily")
        assert job is not None  # registered with the scheduler that runs hourly
        await job.func()
        async with bot.uow() as u:
            assert (await u.session.get(Expert, org.expert_id)).state == "active"  # type: ignore[union-attr]
        bot.clock.advance(timedelta(days=4))
        await job.func()
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
        assert record is not None and (record.state, record.end_reason) == ("exited", "age_limit")
        told = (await emulator.wait_for_messages(95, 2))[-1]
        assert told.text == translate("zh", "lifecycle.exited.age_limit")
        alert = (await emulator.wait_for_messages(96, 2))[-1]
        assert alert.text is not None and "张专家" in alert.text and "六十五" in alert.text


async def test_an_over_65_row_sent_by_staff_is_imported_under_review_and_listed_with_its_article(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "staff", org.div1_staff_id, 90)
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(HEADERS)
        sheet.append([1, "老专家", "男", "第一师医院 科主任 主任医师", "硕士研究生", "新疆医科大学", "临床医学",
                      _id("19500304", "131"), "13800138000", "医保监管类", "div1"])
        stream = io.BytesIO()
        book.save(stream)
        await emulator.user(90).send_document(stream.getvalue(), file_name="roster.xlsx", mime_type="x")
        messages = await emulator.wait_for_messages(90, 3, timeout=20)
        assert messages[1].text == translate("zh", "import.summary", total=1, created=1, updated=0, unchanged=0,
                                             rejected=0, valid=1, institutions=1)
        listed = messages[2].text
        assert listed is not None and listed.startswith(translate("zh", "import.ineligible_header", count=1))
        assert "第 2 行：身份证号码：年龄须在65周岁以下（000 §8(四)）" in listed
        async with bot.uow() as u:
            states = [(e.state, e.term_end) for e in (await u.session.exec(select(Expert))).all()
                      if e.id_number == _id("19500304", "131")]
        assert states == [("under_review", None)]
