"""End to end through the emulator: staff create an activity through the guided conversation, read it with
/activity and /activities, cancel, waive the odd-group rule with a reason (000 §18(一)), press stale buttons,
and continue a conversation after the bot restarts (issue "Activities and draws")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.activities import Activity, ActivityInstitution, ActivityRequirement, Dialog
from storage.pool import Institution
from tests.builders import add_institutions, build_org
from tests.e2e.harness import BotHarness
from tests.e2e.harness import running_bot as _running_bot
from tests.e2e.harness import start_bot as _start_bot
from tests.e2e.talk import FAST, emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator

# A conversation is many short messages; Telegram's per-chat pace (tested elsewhere) would only slow these down.


def running_bot(emulator: BotApiEmulator, database_url: str) -> Any:
    return _running_bot(emulator, database_url, **FAST)


async def start_bot(emulator: BotApiEmulator, database_url: str) -> BotHarness:
    return await _start_bot(emulator, database_url, **FAST)


async def _bind(bot: BotHarness, emulator: BotApiEmulator, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


class Staff:
    """A staff member talking to the bot, waiting for each answer."""

    def __init__(self, emulator: BotApiEmulator, user_id: int) -> None:
        self.emulator, self.user_id = emulator, user_id
        self.user = emulator.user(user_id)

    async def _after(self, act: Callable[[], Awaitable[Any]], predicate: Callable[[SentMessage], bool],
                     ) -> SentMessage:
        before = len(self.emulator.messages(self.user_id))
        await act()

        def arrived() -> bool:
            return any(predicate(m) for m in self.emulator.messages(self.user_id)[before:])

        await self.emulator.wait_for(arrived)
        return [m for m in self.emulator.messages(self.user_id)[before:] if predicate(m)][-1]

    async def ask(self, act: Callable[[], Awaitable[Any]]) -> SentMessage:
        """Do ``act`` and return the next question (a message with buttons)."""
        return await self._after(act, lambda m: m.reply_markup is not None)

    async def text(self, text: str) -> SentMessage:
        return await self.ask(lambda: self.user.send_text(text))

    async def command(self, command: str, args: str = "", *, expect: str = "") -> SentMessage:
        if not expect:
            return await self.ask(lambda: self.user.send_command(command, args))
        return await self._after(lambda: self.user.send_command(command, args), lambda m: expect in (m.text or ""))

    async def press(self, message: SentMessage, action: str, *, expect: str = "") -> SentMessage:
        data = action_data(message, action)
        if expect:
            return await self._after(lambda: self.user.press(message.message_id, data),
                                     lambda m: expect in (m.text or ""))
        return await self.ask(lambda: self.user.press(message.message_id, data))

    async def press_stale(self, message_id: int, data: str) -> str:
        """Press a button and return the alert it was answered with."""
        update = await self.user.press(message_id, data)
        query_id = update["callback_query"]["id"]
        await self.emulator.wait_for(lambda: query_id in self.emulator.callback_answers)
        return str(self.emulator.callback_answers[query_id]["text"])


def action_data(message: SentMessage, action: str) -> str:
    """The callback data of the button of ``message`` whose action is ``action``: the prefix's part after ``na-``
    and the fields after the dialog's ``token:seq`` (``na-k:<token>:<seq>:consultation`` is ``k:consultation``,
    ``na:<token>:<seq>:done`` is ``done``)."""
    for row in buttons(message):
        for _, data in row:
            prefix, _token, _seq, *fields = data.split(":")
            if ":".join([*prefix.split("-")[1:], *fields]) == action:
                return data
    raise AssertionError(f"no button {action!r} in {buttons(message)!r}")


def _example(bot: BotHarness, which: str) -> str:
    """The example the dialog shows for a time question now (services/activities/new_activity_steps.py)."""
    from zoneinfo import ZoneInfo

    from services.activities.new_activity_steps import example_moment
    from services.platform.dialogs import format_local

    zone = ZoneInfo("Asia/Shanghai")
    return format_local(example_moment(which, {}, now=bot.clock.now(), zone=zone), zone)


def _fresh(emulator: BotApiEmulator, chat_id: int, message_id: int) -> SentMessage:
    return next(m for m in emulator.messages(chat_id) if m.message_id == message_id)


async def _until_deadline(staff: Staff, *, kind: str, title: str) -> SentMessage:
    """Kind, title, own unit, start, end, deadline: returns the institutions question."""
    question = await staff.command("/newactivity")
    assert question.text == zh("newact.ask.kind")
    question = await staff.press(question, f"k:{kind}")
    question = await staff.text(title)
    question = await staff.press(question, "org")
    question = await staff.text("2099-12-01 09:00")
    question = await staff.text("2099/12/03 17:30")
    return await staff.text("2099-11-28 18:00")


async def test_staff_create_an_activity_step_by_step_and_read_its_card(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, _other = await add_institutions(bot.uow, ["石河子市人民医院", "第一师医院"])
        await _bind(bot, emulator, org.staff_id, 90)
        staff = Staff(emulator, 90)

        question = await staff.command("/newactivity")
        question = await staff.press(question, "k:flight_inspection")
        assert question.text == zh("newact.ask.title")
        question = await staff.text("  第一师  飞行检查 ")
        assert "兵团医疗保障局（bureau）" in (question.text or "")
        question = await staff.press(question, "org")
        example = _example(bot, "starts")  # computed from now (issue 20): a week ahead at 09:00
        assert question.text == zh("newact.ask.starts", zone="Asia/Shanghai", example=example)

        question = await staff.text("2099-13-01 9点半")  # unreadable: explained, same step
        notes = emulator.messages(90)[-2:]
        assert (notes[0].text or "").startswith(zh("newact.bad_moment", text="2099-13-01 9点半", zone="Asia/Shanghai",
                                                   example=example, short="", slashed="").split("（")[0])
        assert example in (notes[0].text or "")
        assert question.text == zh("newact.ask.starts", zone="Asia/Shanghai", example=example)
        question = await staff.text("2099-12-01 09:00")
        question = await staff.text("2099-11-30 09:00")  # before the start: refused
        assert emulator.messages(90)[-2].text == zh("activity.invalid.ends_before_start")
        question = await staff.text("2099/12/03 17:30")
        question = await staff.text("12-20 18:00")  # this or next year's 20 December: long before 2099
        assert "人民医院" not in (question.text or "") and question.text is not None
        assert question.text.startswith("被检查机构")

        results = await staff.text("人民医院")  # the matches and the question's own buttons: one keyboard
        assert [row[0][0] for row in buttons(results)][:2] == ["＋ 石河子市人民医院", "✅ 完成"]
        question = await staff.press(results, f"i:{hospital}")
        assert "已添加：石河子市人民医院" in (emulator.messages(90)[-2].text or "")
        assert "石河子市人民医院" in (question.text or "")
        question = await staff.press(question, "done")
        assert question.text == zh("newact.ask.place")
        question = await staff.text("石河子市")

        assert question.text == zh("newact.ask.category", n=1)
        question = await staff.press(question, "c:clinical")
        question = await staff.press(question, "s:medicine")
        question = await staff.text("心血管内科、医保审计")
        question = await staff.text("3")
        question = await staff.press(question, "n:2")
        assert "正式 3 人，备选 2 人" in (question.text or "")
        summary = await staff.press(question, "done")
        live = [m.message_id for m in emulator.messages(90) if buttons(m)]
        assert live == [summary.message_id], "one live keyboard: the open question's (issue 20)"
        text = summary.text or ""
        for part in ("飞行检查", "第一师 飞行检查", "2099-12-01 09:00", "2099-12-03 17:30", "石河子市人民医院",
                     "石河子市", "医药临床类（医学），专业：心血管内科、医保审计：正式 3 人，备选 2 人"):
            assert part in text, part
        assert "双盲" in text

        created = await staff.press(summary, "ok", expect="已创建活动")
        async with bot.uow() as u:
            activity = (await u.session.exec(select(Activity))).one()
            inspected = (await u.session.exec(select(ActivityInstitution))).all()
            lines = (await u.session.exec(select(ActivityRequirement))).all()
            left = (await u.session.exec(select(Dialog))).all()
        assert activity.id is not None
        assert created.text is not None and f"#{activity.id}" in created.text and f"/draw {activity.id}" in created.text
        assert (activity.kind, activity.title, activity.place, activity.org_unit_id) == (
            "flight_inspection", "第一师 飞行检查", "石河子市", org.bureau_id)
        assert activity.starts_at.isoformat() == "2099-12-01T01:00:00+00:00"
        assert activity.ends_at.isoformat() == "2099-12-03T09:30:00+00:00"
        assert activity.response_deadline.astimezone().month == 12 and not activity.allow_even_group
        assert [i.institution_id for i in inspected] == [hospital]
        assert [(r.category, r.subcategory, r.tags, r.count, r.backups) for r in lines] == [
            ("clinical", "medicine", ["心血管内科", "医保审计"], 3, 2)]
        assert left == []

        card = await staff.command("/activity", str(activity.id), expect="组织单位")
        for part in (f"活动 #{activity.id}【飞行检查】第一师 飞行检查", "兵团医疗保障局（bureau）",
                     "开始：2099-12-01 09:00", "结束：2099-12-03 17:30", "Asia/Shanghai", "石河子市人民医院",
                     "正式 3 人，备选 2 人", "三人以上单数", "双盲评审：否", "状态：待抽取"):
            assert part in (card.text or ""), part
        listing = await staff.command("/activities", expect="第一师 飞行检查")
        assert f"#{activity.id}　2099-12-01 09:00　飞行检查" in (listing.text or "")


async def test_cancel_ends_the_dialog_at_any_step_and_its_buttons_go_stale(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, org.div1_staff_id, 91)
        staff = Staff(emulator, 91)
        kind = await staff.command("/newactivity")
        consultation = action_data(kind, "k:consultation")
        question = await staff.press(kind, "k:routine_inspection")
        assert await staff.press_stale(kind.message_id, consultation) == zh("newact.stale")  # an older step
        question = await staff.text("日常检查")
        assert buttons(_fresh(emulator, 91, kind.message_id)) == []  # answered: its buttons are gone (issue 20)
        async with bot.uow() as u:
            dialog = (await u.session.exec(select(Dialog))).one()
        assert (dialog.step, dialog.data["kind"], dialog.data["title"]) == ("org", "routine_inspection", "日常检查")
        org_button = action_data(question, "org")
        await staff.command("/cancel", expect=zh("newact.cancelled"))
        assert buttons(_fresh(emulator, 91, question.message_id)) == []  # /cancel takes the open question's off
        async with bot.uow() as u:
            assert (await u.session.exec(select(Dialog))).all() == []

        answer = await staff.press_stale(question.message_id, org_button)
        assert answer == zh("newact.stale")
        await staff.command("/cancel", expect=zh("newact.nothing_to_cancel"))
        await staff.user.send_text("第二师")  # no dialog: the fallback answers
        await emulator.wait_for(lambda: emulator.messages(91)[-1].text == zh("fallback.not_understood"))

        question = await staff.command("/newactivity")  # the Cancel button works too
        await staff.press(question, "x", expect=zh("newact.cancelled"))
        async with bot.uow() as u:
            assert (await u.session.exec(select(Activity))).all() == []


async def test_an_even_group_is_waived_with_a_reason_and_a_confirmed_summary_is_stale(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, org.div1_staff_id, 92)
        staff = Staff(emulator, 92)
        question = await _until_deadline(staff, kind="project_review", title="DRG 付费方案评审")
        question = await staff.press(question, "done")
        question = await staff.press(question, "skip")
        question = await staff.press(question, "c:management")
        question = await staff.press(question, "skip")
        question = await staff.press(question, "n:2")
        question = await staff.press(question, "n:0")
        group = await staff.press(question, "done")
        assert group.text == zh("newact.ask.group", total=2)

        question = await staff.press(group, "chg")  # back to the counts of the last line
        assert question.text == zh("newact.ask.principals", max=25)
        question = await staff.press(question, "n:4")
        question = await staff.press(question, "n:1")
        group = await staff.press(question, "done")
        assert group.text == zh("newact.ask.group", total=4)
        question = await staff.press(group, "wv")
        question = await staff.text("两两对评，不组成检查组")
        assert question.text == zh("newact.ask.double_blind")
        summary = await staff.press(question, "db:1")
        assert "已放宽单数要求" in (summary.text or "") and "两两对评" in (summary.text or "")

        confirm = action_data(summary, "ok")
        await staff.press(summary, "ok", expect="已创建活动")
        assert buttons(summary) == []  # the summary's buttons are taken away; pressing the old one anyway:
        answer = await staff.press_stale(summary.message_id, confirm)
        assert answer == zh("newact.stale")
        async with bot.uow() as u:
            activity = (await u.session.exec(select(Activity))).one()
        assert activity.allow_even_group and activity.even_group_reason == "两两对评，不组成检查组"
        assert activity.double_blind and activity.org_unit_id == org.div1_id


async def test_a_refusal_at_confirmation_sends_staff_back_to_the_step_with_the_other_answers_kept(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        (gone,) = await add_institutions(bot.uow, ["即将撤销的药店"])
        await _bind(bot, emulator, org.staff_id, 93)
        staff = Staff(emulator, 93)
        question = await _until_deadline(staff, kind="special_inspection", title="药店专项检查")
        results = await staff.text("药店")
        question = await staff.press(results, f"i:{gone}")
        question = await staff.press(question, "done")
        question = await staff.press(question, "skip")
        question = await staff.press(question, "c:supervision")
        question = await staff.press(question, "skip")
        question = await staff.press(question, "n:3")
        question = await staff.press(question, "n:1")
        summary = await staff.press(question, "done")
        async with bot.uow() as u:  # the institution leaves the directory before confirmation
            row = await u.session.get(Institution, gone)
            await u.session.delete(row)
            await u.commit()

        question = await staff.press(summary, "ok")
        assert emulator.messages(93)[-2].text == zh("newact.refused", reason=zh("error.institution_not_found"))
        assert (question.text or "").startswith("被检查机构")
        assert "即将撤销的药店" not in (question.text or "")  # the missing one is dropped from the list
        summary = await staff.press(question, "done")  # straight back to the summary
        assert "药店专项检查" in (summary.text or "") and "正式 3 人，备选 1 人" in (summary.text or "")
        question = await staff.press(summary, "e:title")  # edit one step from the summary
        summary = await staff.text("药店专项检查（第二批）")
        question = await staff.press(summary, "back")  # back one step from the summary: the composition
        assert question.text is not None and question.text.startswith("已设置的抽取条件")
        summary = await staff.press(question, "done")
        await staff.press(summary, "ok", expect="已创建活动")
        async with bot.uow() as u:
            activity = (await u.session.exec(select(Activity))).one()
            inspected = (await u.session.exec(select(ActivityInstitution))).all()
        assert activity.title == "药店专项检查（第二批）" and inspected == []


async def test_the_dialog_resumes_after_the_bot_restarts(emulator: BotApiEmulator, database_url: str) -> None:
    bot = await start_bot(emulator, database_url)
    try:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, org.div1_staff_id, 94)
        staff = Staff(emulator, 94)
        question = await _until_deadline(staff, kind="consultation", title="耗材价格咨询")
        assert (question.text or "").startswith("被检查机构")
    finally:
        await bot.shutdown()

    async with running_bot(emulator, database_url) as again:
        question = await staff.press(question, "done")  # a button sent by the previous process
        assert question.text == zh("newact.ask.place")
        question = await staff.text("师医保局三楼会议室")
        question = await staff.press(question, "c:clinical")
        question = await staff.press(question, "s:any")
        question = await staff.press(question, "skip")
        question = await staff.text("1")
        question = await staff.text("0")
        group = await staff.press(question, "done")
        question = await staff.press(group, "wv")
        summary = await staff.text("单人咨询")
        await staff.press(summary, "ok", expect="已创建活动")
        async with again.uow() as u:
            activity = (await u.session.exec(select(Activity))).one()
        assert (activity.title, activity.place, activity.even_group_reason) == (
            "耗材价格咨询", "师医保局三楼会议室", "单人咨询")


async def test_an_activity_created_in_the_bot_is_drawn_approved_verified_and_tampering_is_caught(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """The draws issue's "Done when": staff creates an activity in the bot, files the draw, a second staff
    member approves it, the result card appears; `draw verify` confirms it; tampering makes it fail."""
    from datetime import date

    from sqlalchemy import update
    from sqlmodel import col

    from storage.activities import DrawRecord
    from tests.builders import add_pool

    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        # the dialog's dates are in 2099: experts young enough then (000 §8(四))
        await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}", "birth_date": date(2050, 1, 1)}
                                                for i in range(9)])
        await _bind(bot, emulator, org.staff_id, 95)
        await _bind(bot, emulator, org.admin_id, 96)
        staff, admin = Staff(emulator, 95), Staff(emulator, 96)
        question = await _until_deadline(staff, kind="routine_inspection", title="年度日常检查")
        question = await staff.press(question, "done")  # no inspected institution
        question = await staff.press(question, "skip")  # no place
        question = await staff.press(question, "c:supervision")
        question = await staff.press(question, "skip")  # no tags
        question = await staff.press(question, "n:3")
        question = await staff.press(question, "n:1")
        summary = await staff.press(question, "done")
        await staff.press(summary, "ok", expect="已创建活动")
        async with bot.uow() as u:
            activity = (await u.session.exec(select(Activity))).one()

        await staff.command("/draw", str(activity.id), expect="已提交抽取申请")
        await emulator.wait_for(lambda: any("抽取申请" in (m.text or "") for m in emulator.messages(96)))
        alert = next(m for m in emulator.messages(96) if "抽取申请" in (m.text or ""))
        (approve, _reject), = buttons(alert)
        card_link = await staff._after(lambda: admin.user.press(alert.message_id, approve[1]),
                                       lambda m: "已完成抽取" in (m.text or ""))
        card = await staff._after(lambda: staff.user.press(card_link.message_id, buttons(card_link)[0][0][1]),
                                  lambda m: "抽取记录" in (m.text or ""))
        assert card.text is not None and card.text.count("（#") == 4 and "王管理" in card.text

        async with bot.uow() as u:
            record = (await u.session.exec(select(DrawRecord))).one()
        assert record.id is not None
        code, out, _ = await bot.cli("draw", "verify", str(record.id))
        assert code == 0, out
        result = dict(record.result)
        result["picks"] = list(reversed(result["picks"]))
        async with bot.uow() as u:
            await u.session.exec(update(DrawRecord).where(col(DrawRecord.id) == record.id)  # type: ignore[call-overload]
                                 .values(result=result))
            await u.commit()
        code, out, _ = await bot.cli("draw", "verify", str(record.id))
        assert code == 1 and "result" in out
