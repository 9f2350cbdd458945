"""End to end through the emulator: a message the user edits after sending it (Telegram sends an
``edited_message``) is not read as a new message. PTB's handlers take edited messages by default, so without this an
edited "/whoami" ran again and an answer corrected after a dialog moved on answered the question asked now."""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from tests.builders import build_org
from tests.e2e.talk import Chat, bind, zh
from tests.e2e.test_invitations import running_bot

EXPERT, GROUP = 71, -2001


async def test_an_edited_command_is_not_run_again_and_the_user_is_told_once(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.expert_id, EXPERT, "expert")
        chat = Chat(emulator, EXPERT)
        sent = await chat.user.send_command("/help")
        await chat.until(lambda: chat.user.send_command("/whoami"), "张专家")
        before = len(chat.messages())
        hint = await chat.until(lambda: chat.user.edit_text(sent["message"]["message_id"], "/whoami"),
                                zh("fallback.edited"))
        assert chat.messages()[before:] == [hint]  # the hint alone: /whoami did not run again
        await chat.until(lambda: chat.user.send_command("/whoami"), "张专家")  # a new message is read as before


async def test_an_edit_in_a_group_is_ignored_without_a_word(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.expert_id, EXPERT, "expert")
        group = emulator.group(GROUP, "讨论群")
        await group.add_bot(emulator.user(EXPERT))
        update = await group.send_text(emulator.user(EXPERT), "大家好")
        await emulator.user(EXPERT).edit_text(update["message"]["message_id"], "大家好！", chat_id=GROUP)
        chat = Chat(emulator, EXPERT)
        await chat.until(lambda: chat.user.send_command("/whoami"), "张专家")  # processed after the edit
        assert emulator.messages(GROUP) == []
