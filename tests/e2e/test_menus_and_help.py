"""A bot for someone who never read the README (issue 20), end to end through the Bot API emulator: the "/" menu
of each chat lists its person's commands in their language (``setMyCommands`` with a chat scope, at binding and
after a language change); ``/help`` groups the commands by task and explains one task on request; the first
message after binding names the three things the role does most; ``/invite`` takes the role in Chinese, warns when
the person is already bound and the account that loses its binding is told; a refusal outside one's line says why.
"""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from messages import translate
from storage.uow import UnitOfWork
from tests.builders import build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits, zh  # noqa: F401 - this module's emulator


def _menu(emulator: BotApiEmulator, chat_id: int) -> dict[str, str]:
    return {c["command"]: c["description"] for c in emulator.commands.get((f"chat:{chat_id}", ""), [])}


async def test_each_bound_person_gets_the_menu_of_their_role_in_their_language(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.staff_id, 501, "staff")
        await bind(bot, emulator, org.expert_id, 502, "expert")
        await emulator.wait_for(lambda: bool(_menu(emulator, 501)) and bool(_menu(emulator, 502)))
        staff, expert = _menu(emulator, 501), _menu(emulator, 502)
        assert {"newactivity", "draw", "leads", "invite", "help"} <= set(staff)
        assert staff["newactivity"] == zh("cmd.newactivity")
        assert {"profile", "interest", "help"} <= set(expert) and "newactivity" not in expert
        assert "report" not in expert and "bindgroup" not in staff  # a supervisor's, an admin's
        assert len(staff) <= 100  # the Bot API's limit per menu

        chat = Chat(emulator, 502)
        await chat.command("/language", "en", expect="")
        await emulator.wait_for(lambda: _menu(emulator, 502).get("help") == translate("en", "cmd.help"))
        assert all(description.isascii() for description in _menu(emulator, 502).values())


async def test_help_groups_commands_by_task_and_explains_one_task(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.staff_id, 511, "staff")
        staff = Chat(emulator, 511)
        overview = await staff.command("/help", expect=zh("help.header_topics"))
        assert f"【{zh('help.topic.leads')}】" in (overview.text or "") and "/leads" in (overview.text or "")
        assert zh("cmd.newactivity") not in (overview.text or "")  # descriptions come with /help <task>
        leads = await staff.command("/help", zh("help.topic.leads"), expect=zh("cmd.leads"))
        assert "/newactivity" not in (leads.text or "")
        await staff.command("/help", "draws", expect=zh("cmd.newactivity"))
        await staff.command("/help", "不存在的任务", expect="不存在的任务")

        await bind(bot, emulator, org.supervisor_id, 512, "supervisor")
        supervisor = Chat(emulator, 512)
        short = await supervisor.command("/help", expect=zh("help.header"))
        assert zh("cmd.report") in (short.text or "")  # a short list comes with its descriptions


async def test_the_welcome_names_the_three_things_the_role_does_most(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.supervisor_id, 521, "supervisor")
        welcome = emulator.messages(521)[0].text or ""
        assert zh("binding.steps.supervisor").strip() in welcome and "/report" in welcome


async def test_invite_takes_the_role_in_chinese_and_warns_when_the_person_is_already_bound(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.staff_id, 531, "staff")
        await bind(bot, emulator, org.expert_id, 532, "expert")
        staff = Chat(emulator, 531)
        issued = await staff.command("/invite", f"专家 {org.expert_id}", expect=zh("invite.already_bound"))
        code = (issued.text or "").split("\n")[1].strip()

        new_phone = Chat(emulator, 533)
        await new_phone.command("/start", code, expect="绑定成功")
        await Chat(emulator, 532).received(zh("binding.moved"))  # the old account is told

        await staff.command("/invite", f"角色 {org.expert_id}", expect=zh("invite.usage"))


async def test_a_refusal_outside_ones_line_names_the_units(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.div1_staff_id, 541, "staff")
        div1 = Chat(emulator, 541)
        refused = await div1.command("/invite", f"expert {org.div2_expert_id}", expect="第二师医保局")
        assert "第一师医保局" in (refused.text or "")


async def test_a_restart_does_not_set_a_chats_menu_again_unless_it_changed(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """Issue 21: the menu each account's chat was given is recorded on the account, so the first update after a
    restart (an Accept, say) carries no ``setMyCommands``; a language changed meanwhile still gets the menu again."""
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.expert_id, 502, "expert")
        await bind(bot, emulator, org.staff_id, 501, "staff")
        await emulator.wait_for(lambda: bool(_menu(emulator, 501)) and bool(_menu(emulator, 502)))

    async with running_bot(emulator, database_url) as bot:
        given = emulator.stats.by_method.get("setMyCommands", 0)  # the default menus of a start included
        await Chat(emulator, 502).command("/help", expect="")
        assert emulator.stats.by_method.get("setMyCommands", 0) == given  # recorded: nothing changed

        async with bot.uow() as u:  # the staff member's language changed while the bot was away (the CLI)
            await u.accounts.set_language(await _account_of(u, org.staff_id), "en")
            await u.commit()
        await Chat(emulator, 501).command("/help", expect="")
        await emulator.wait_for(lambda: _menu(emulator, 501).get("help") == translate("en", "cmd.help"))
        assert emulator.stats.by_method.get("setMyCommands", 0) == given + 1


async def _account_of(uow: UnitOfWork, person_id: int) -> int:
    accounts = await uow.accounts.active_for_person(person_id)
    assert accounts and accounts[0].id is not None
    return accounts[0].id
