"""End to end: an expert finds an institution, declares and withdraws an interest, asks to leave the
pool and staff confirm it; staff see who is due and move an expert through the life cycle, with
refusals explained (issue: expert pool, "In the bot")."""

from __future__ import annotations

from datetime import timedelta

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.institutions import institutions
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.models import Expert
from tests.builders import build_org, make_eligible
from tests.e2e.harness import BotHarness, running_bot


async def _bind(bot: BotHarness, emulator: BotApiEmulator, role: str, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def _last(emulator: BotApiEmulator, chat: int, count: int) -> str:
    return (await emulator.wait_for_messages(chat, count))[-1].text or ""


async def test_an_expert_declares_and_withdraws_an_interest_and_leaves_the_pool_once_staff_confirm(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        async with bot.uow() as u:
            hospital = await institutions.add_institution(u, actor=SYSTEM_CLI, name="石河子市人民医院", kind="hospital")
        await _bind(bot, emulator, "expert", org.expert_id, 100)
        await _bind(bot, emulator, "staff", org.admin_id, 101)
        expert, admin = emulator.user(100), emulator.user(101)

        await expert.send_command("/institutions", "人民医院")
        assert f"{hospital.id}　石河子市人民医院" in await _last(emulator, 100, 2)
        await expert.send_command("/interest", f"{hospital.id} dispute 配偶与该院有医疗纠纷")
        assert "已登记" in await _last(emulator, 100, 3)
        await expert.send_command("/interests")
        listing = await _last(emulator, 100, 4)
        assert "石河子市人民医院" in listing and "法律纠纷" in listing
        await expert.send_command("/withdraw", "1")
        assert await _last(emulator, 100, 5) == translate("zh", "interest.withdrawn", id=1)
        await expert.send_command("/withdraw", "1")
        assert "不能执行" in await _last(emulator, 100, 6)

        await expert.send_command("/extend")
        assert await _last(emulator, 100, 7) == translate("zh", "pool.extension_requested")
        async with bot.uow() as u:
            extended = await u.session.get(Expert, org.expert_id)
        assert extended is not None and extended.extension_requested
        await expert.send_command("/quit", "工作调动，无法继续参加")
        assert await _last(emulator, 100, 8) == translate("zh", "pool.quit_requested")
        alerts = await emulator.wait_for_messages(101, 3)  # the extension request and the exit request (000 §22, §21)
        assert "/extensions" in (alerts[1].text or "")
        await admin.send_command("/changes")
        item = (await emulator.wait_for_messages(101, 4))[-1]
        assert "退出专家库" in (item.text or "")
        await admin.press(item.message_id, buttons(item)[0][0][1])
        assert await _last(emulator, 100, 9) == translate("zh", "pool.change_approved", field_key="pool.field.exit")
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
        assert record is not None and record.state == "exited" and record.end_reason is not None
        assert record.end_reason.startswith("voluntary")


async def test_staff_see_who_is_due_and_move_an_expert_with_refusals_explained(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await make_eligible(bot.uow, org.expert_id)
        await _bind(bot, emulator, "staff", org.div1_staff_id, 110)
        staff = emulator.user(110)
        await staff.send_command("/due")
        assert await _last(emulator, 110, 2) == translate("zh", "due.none")
        bot.clock.advance(timedelta(days=3 * 365 - 10))
        await staff.send_command("/due")
        due = await _last(emulator, 110, 3)
        assert "张专家" in due and "孙专家" not in due  # div2 is outside div1

        await staff.send_command("/pool", f"{org.expert_id} renew")
        assert await _last(emulator, 110, 4) == translate("zh", "move.done", person_id=org.expert_id,
                                                          state_key="lifecycle.state.active")
        await staff.send_command("/pool", f"{org.expert_id} appoint")
        assert await _last(emulator, 110, 5) == translate("zh", "error.invalid_transition",
                                                          action_key="lifecycle.action.appoint",
                                                          state_key="lifecycle.state.active")
        await staff.send_command("/pool", f"{org.expert_id} remove")
        assert await _last(emulator, 110, 6) == translate("zh", "error.invalid_input")
        await staff.send_command("/pool", f"{org.expert_id} remove 泄露检查信息")
        assert "已解聘清退" in await _last(emulator, 110, 7)
        await staff.send_command("/pool", f"{org.div2_expert_id} exit 调离")
        assert "不在您所在单位" in await _last(emulator, 110, 8)  # refused, and told why
