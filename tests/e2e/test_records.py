"""End to end through the emulator, with the clock advanced by the test (issue 7 "Done when"):

- an activity ends → the scheduler's sweep reminds the organizer's staff → staff file the work record in the bot one
  expert at a time, correct an answer from the summary, submit → the annex-4 DOCX export is read back (000 §25,
  annex 4; 001 §16);
- a third unexcused absence within 12 months → a removal proposal with its evidence → staff confirm with the button →
  the expert is removed, barred for 5 years and no longer drawn (001 §22(三), 000 §25).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docx import Document
from sqlmodel import select

from bot.emulator import BotApiEmulator, buttons
from bot.emulator.state import SentMessage
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from services.records import work_records
from storage.activities import ActivityMember
from storage.models import Expert, Person
from storage.records import SanctionProposal
from tests.builders import add_pool, build_org
from tests.e2e.harness import BotHarness, running_bot
from tests.services.test_work_records import answers, signed_activity

ADMIN = 95


def zh(key: str, **params: Any) -> str:
    return translate("zh", key, **params)


def _short(data: str) -> str:
    """A work record button without the dialog's stamp: ``wr-v:<token>:<seq>:attended`` is ``v:attended``,
    ``wr-s:<token>:<seq>`` is ``s``."""
    prefix, _token, _seq, *fields = data.split(":")
    return ":".join([*prefix.split("-")[1:], *fields])


class Clerk:
    """The organizer's staff member talking to the bot, waiting for each answer."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.user = emulator.user(ADMIN)

    async def after(self, act: Callable[[], Awaitable[Any]], expect: str) -> SentMessage:
        before = len(self.emulator.messages(ADMIN))
        await act()

        def arrived() -> bool:
            return any(expect in (m.text or m.caption or "") for m in self.emulator.messages(ADMIN)[before:])

        await self.emulator.wait_for(arrived, timeout=20)
        return [m for m in self.emulator.messages(ADMIN)[before:] if expect in (m.text or m.caption or "")][-1]

    async def press(self, message: SentMessage, action: str, expect: str) -> SentMessage:
        (data,) = [d for row in buttons(message) for _, d in row if _short(d) == action]
        return await self.after(lambda: self.user.press(message.message_id, data), expect)


async def _bind_admin(bot: BotHarness, emulator: BotApiEmulator, admin_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=admin_id)
    await emulator.user(ADMIN, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(ADMIN, 1)


def _morning(bot: BotHarness, days: int) -> datetime:
    now = bot.clock.now()
    return datetime(now.year, now.month, now.day, 1, 0, tzinfo=UTC) + timedelta(days=days)


async def test_an_ended_activity_is_reminded_then_its_record_is_filed_in_the_bot_and_exported(
        emulator: BotApiEmulator, database_url: str, tmp_path: Path) -> None:
    async with running_bot(emulator, database_url) as bot:
        bot.running.scheduler.pause()  # the test runs the sweep itself, after moving the clock
        org = await build_org(bot.uow)
        await _bind_admin(bot, emulator, org.admin_id)
        ended = await signed_activity(bot.uow, org=org, start=_morning(bot, 10), names=["甲专家", "乙专家", "丙专家"])
        names = {}
        async with bot.uow() as u:
            for slot in ended.slots:
                names[slot.id] = (await u.people.get(slot.person_id)).name  # type: ignore[union-attr]
        first, second, third = (names[s.id] for s in ended.slots)

        bot.clock.advance(_morning(bot, 12) + timedelta(hours=1) - bot.clock.now())  # the day after the end
        assert (await work_records.sweep(bot.uow)) == {"opened": 1, "reminded": 1, "escalated": 0}
        assert (await work_records.sweep(bot.uow))["reminded"] == 0  # once a day
        clerk = Clerk(emulator)
        await emulator.wait_for(lambda: any(f"/workrecord {ended.activity_id}" in (m.text or "")
                                            for m in emulator.messages(ADMIN)), timeout=20)

        head = zh("workrecord.head", activity_id=ended.activity_id, title="定点医院专项检查")
        q = await clerk.after(lambda: clerk.user.send_command("/workrecord", str(ended.activity_id)), head)
        assert first in (q.text or "")
        for action in ("v:attended", "v:good", "v:none_needed", "v:good"):
            q = await clerk.press(q, action, head)
        q = await clerk.press(q, "v:", head)  # no credit opinion
        assert second in (q.text or "")
        for action in ("v:absent_without_notice", "v:poor", "v:none_needed", "v:breach"):
            q = await clerk.press(q, action, head)
        q = await clerk.after(lambda: clerk.user.send_text("私自联系被检查单位"), head)
        q = await clerk.after(lambda: clerk.user.send_text("记入不良信用"), head)
        assert third in (q.text or "")
        for action in ("v:attended", "v:excellent", "v:declared", "v:good", "v:"):
            q = await clerk.press(q, action, head)
        q = await clerk.after(lambda: clerk.user.send_text("检查发现的问题属实"), head)
        q = await clerk.press(q, "v:majority", zh("workrecord.review"))
        assert "私自联系被检查单位" in (q.text or "") and "检查发现的问题属实" in (q.text or "")

        # correct the first expert from the summary: the previous answer is shown
        q = await clerk.press(q, "e:0", head)
        assert zh("workrecord.ask.attendance", current=zh("workrecord.attendance.attended")) in (q.text or "")
        q = await clerk.press(q, "v:attended", head)
        assert zh("workrecord.ask.performance", current=zh("workrecord.performance.good")) in (q.text or "")
        for action in ("v:excellent", "v:none_needed", "v:good"):
            q = await clerk.press(q, action, head)
        q = await clerk.press(q, "v:", zh("workrecord.review"))
        await clerk.press(q, "s", zh("workrecord.done", activity_id=ended.activity_id))

        doc_message = await clerk.after(lambda: clerk.user.send_command("/workrecordexport", str(ended.activity_id)),
                                        zh("workrecord.export_caption", activity_id=ended.activity_id))
        assert doc_message.document is not None
        assert doc_message.document.file_name == f"work-record-{ended.activity_id}.docx"
        doc = Document(io.BytesIO(doc_message.document.data))
        text = "\n".join(cell.text for row in doc.tables[0].rows for cell in row.cells)
        assert doc.paragraphs[0].text == "兵团医疗保障局监管专家工作登记表"
        assert f"{first}：按时参加，履职评价优秀" in text and f"{second}：无故缺席（未告知），履职评价较差" in text
        assert f"{third}：已主动申明回避" in text and "按少数服从多数原则表决" in text
        assert f"{second}：有违纪情况（私自联系被检查单位）；信用记录意见：记入不良信用" in text
        assert (await work_records.sweep(bot.uow))["reminded"] == 0

        out = tmp_path / "record.docx"  # the same export from the command line
        code, printed, _ = await bot.cli("records", "export", str(ended.activity_id), "--as", str(org.admin_id),
                                         "--out", str(out))
        assert code == 0 and "written" in printed
        cli_doc = Document(str(out))
        assert cli_doc.tables[0].rows[0].cells[1].text == "定点医院专项检查"


async def test_a_third_unexcused_absence_proposes_removal_and_the_confirmed_expert_is_no_longer_drawn(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        bot.running.scheduler.pause()
        org = await build_org(bot.uow)
        await _bind_admin(bot, emulator, org.admin_id)
        experts = await add_pool(bot.uow, org.bureau_id, [{"name": n} for n in ("缺席专家", "乙专家", "丙专家")])
        absentee = experts[0]
        rounds = [await signed_activity(bot.uow, org=org, experts=experts, start=_morning(bot, 10 + 3 * n))
                  for n in range(3)]
        bot.clock.advance(_morning(bot, 20) - bot.clock.now())
        for ended in rounds:
            index = next(i for i, s in enumerate(ended.slots) if s.person_id == absentee)
            async with bot.uow() as u:
                await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(
                    ended, **{f"s{index}": {"attendance": "absent_without_notice"}}),
                    final_opinion="意见", decision="consensus")
        async with bot.uow() as u:
            (proposal,) = (await u.session.exec(select(SanctionProposal).where(
                SanctionProposal.sanction == "removal"))).all()
        assert proposal.rule == "absences" and len(proposal.evidence) == 3

        clerk = Clerk(emulator)
        await emulator.wait_for(lambda: any(f"处理建议#{proposal.id}：" in (m.text or "")
                                            for m in emulator.messages(ADMIN)), timeout=20)
        alert = next(m for m in emulator.messages(ADMIN) if f"处理建议#{proposal.id}：" in (m.text or ""))
        assert "001 §22(三)" in (alert.text or "") and (alert.text or "").count("无故缺席") == 3
        (data,) = [d for row in buttons(alert) for _, d in row]
        # irreversible (issue 13): the first press names the expert and the consequence and asks again
        await clerk.user.press(alert.message_id, data)

        def fresh() -> SentMessage:
            return next(m for m in emulator.messages(ADMIN) if m.message_id == alert.message_id)

        await emulator.wait_for(lambda: "五年内不得再聘任" in (fresh().text or ""))
        async with bot.uow() as u:
            assert (await u.session.get(Expert, absentee)).state == "active"  # type: ignore[union-attr]
            name = (await u.session.get(Person, absentee)).name  # type: ignore[union-attr]
        (really,), _ = buttons(fresh())
        assert name in really[0] and name in (fresh().text or "")
        await clerk.after(lambda: clerk.user.press(alert.message_id, really[1]),
                          zh("sanction.confirmed.removal", proposal_id=proposal.id, person_id=absentee))
        async with bot.uow() as u:
            removed = await u.session.get(Expert, absentee)
        assert removed is not None and removed.state == "removed" and removed.barred_until is not None
        await emulator.wait_for(lambda: "已由" in (fresh().text or "") and fresh().reply_markup is None)

        admin = rounds[0].admin
        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=rounds[0].clerk, data=ActivityInput(
                org="bureau", kind="routine_inspection", title="复查", starts_at=start,
                ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("supervision", 2),), allow_even_group=True, even_group_reason="复查"))
        async with bot.uow() as u:
            filed = await draws.file_request(u, actor=rounds[0].clerk, activity_id=activity.id or 0)
        async with bot.uow() as u:
            await draws.approve(u, actor=admin, request_id=filed.request.id or 0)
        async with bot.uow() as u:
            drawn = {m.person_id for m in (await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == activity.id))).all()}
        assert drawn == set(experts[1:])  # the blacklisted expert is never drawn (000 §25)
