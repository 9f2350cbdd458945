"""End to end through the emulator: a draw request reaches the approver privately as well as the unit's staff
chat, with how many pool experts have no bound account; the first press wins and every other copy is edited to show
who decided and when, without buttons; a press on a copy that kept its buttons is told the request was decided, in
words (issue 13, "The approver is told"; 000 §17 four-eyes)."""

from __future__ import annotations

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.activities.activities import RequirementInput
from tests.builders import add_pool, build_org
from tests.e2e.talk import bind, emulator_without_limits  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_draw_flow import _activity
from tests.e2e.test_invitations import running_bot

CLERK, ADMIN, GROUP = 81, 82, -1001


async def test_the_approver_gets_the_request_privately_and_the_group_copy_shows_who_decided(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}"} for i in range(6)])  # + 2 of build_org
        await bind(bot, emulator, org.staff_id, CLERK, "staff")
        await bind(bot, emulator, org.admin_id, ADMIN, "staff")
        group = emulator.group(GROUP, "医保局工作群")
        await group.add_bot(emulator.user(ADMIN))
        await group.send_command(emulator.user(ADMIN), "/bindgroup", "bureau")
        await emulator.wait_for(lambda: any("工作群" in (m.text or "") for m in emulator.messages(GROUP)))
        activity_id = await _activity(bot, org.staff_id, org.bureau_id, (RequirementInput("supervision", 3, 1),))

        await emulator.user(CLERK).send_command("/draw", str(activity_id))
        await emulator.wait_for(lambda: any("抽取申请" in (m.text or "") for m in emulator.messages(GROUP))
                                and any("抽取申请" in (m.text or "") for m in emulator.messages(ADMIN)))
        private = next(m for m in emulator.messages(ADMIN) if "抽取申请" in (m.text or ""))
        in_group = next(m for m in emulator.messages(GROUP) if "抽取申请" in (m.text or ""))
        assert "在库专家中 8 人未绑定账号" in (private.text or "") and buttons(in_group)
        assert not any(buttons(m) for m in emulator.messages(CLERK))  # the filer gets no copy to approve

        (approve, _), = buttons(private)
        await emulator.user(ADMIN).press(private.message_id, approve[1])

        def decided(chat: int, message_id: int) -> bool:
            m = next(m for m in emulator.messages(chat) if m.message_id == message_id)
            return m.reply_markup is None and "王管理" in (m.text or "") and "已抽取" in (m.text or "")

        await emulator.wait_for(lambda: decided(ADMIN, private.message_id) and decided(GROUP, in_group.message_id))
        late = await emulator.user(ADMIN).press(in_group.message_id, approve[1], chat_id=GROUP)
        query = late["callback_query"]["id"]
        await emulator.wait_for(lambda: query in emulator.callback_answers)
        assert emulator.callback_answers[query]["text"] == translate(
            "zh", "error.draw_refused", reason_key="draw.refused.not_pending", status_key="draw.status.drawn")
