"""End to end through the Bot API emulator: invites from the CLI, binding, help by role, refusals,
and the webhook's secret and duplicate handling (issue: foundation, "Done when")."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.emulator import BotApiEmulator
from bot.settings import BotMode
from messages import translate
from tests.builders import build_org
from tests.e2e.harness import WEBHOOK_SECRET, running_bot


def _code(cli_output: str) -> str:
    match = re.search(r"^code: (\S+)$", cli_output, re.M)
    assert match, cli_output
    return match.group(1)


async def test_an_invite_from_the_cli_binds_through_start_and_help_lists_the_roles_commands(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        status, out, err = await bot.cli("invite", "staff", str(org.staff_id))
        assert status == 0, err
        assert "https://t.me/fundwatch_bot?start=" in out
        code = _code(out)

        user = emulator.user(1001, first_name="李", language_code="zh")
        await user.send_command("/start", code)
        (welcome,) = await emulator.wait_for_messages(1001, 1)
        assert welcome.text is not None and "绑定成功" in welcome.text and "工作人员" in welcome.text

        await user.send_command("/help")
        help_message = (await emulator.wait_for_messages(1001, 2))[-1]
        assert help_message.text is not None
        for command in ("/invite", "/unbind", "/alerts", "/whoami"):
            assert command in help_message.text
        assert "/bindgroup" not in help_message.text  # admins only


async def test_an_expert_sees_only_the_commands_for_everyone(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        _, out, _ = await bot.cli("invite", "expert", str(org.expert_id))
        user = emulator.user(2002, language_code="en")
        await user.send_text(_code(out))  # a code sent as plain text works too
        await emulator.wait_for_messages(2002, 1)
        await user.send_command("/help")
        text = (await emulator.wait_for_messages(2002, 2))[-1].text or ""
        assert "You can use these commands" in text and "/invite" not in text and "/language" in text


async def test_used_expired_and_garbage_codes_each_get_their_own_answer(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        _, out, _ = await bot.cli("invite", "expert", str(org.expert_id))
        used = _code(out)
        await emulator.user(1, language_code="en").send_command("/start", used)
        await emulator.wait_for_messages(1, 1)

        _, out, _ = await bot.cli("invite", "supervisor", str(org.supervisor_id), "--days", "1")
        expiring = _code(out)

        stranger = emulator.user(2, language_code="en")
        await stranger.send_command("/start", used)
        await stranger.send_command("/start", "this-is-not-a-code-at-all")
        bot.clock.advance(timedelta(days=1, minutes=1))
        await stranger.send_command("/start", expiring)
        answers = [m.text for m in await emulator.wait_for_messages(2, 3)]
        assert answers == [
            translate("en", "binding.code_used"),
            translate("en", "binding.code_invalid"),
            translate("en", "binding.code_expired"),
        ]


async def test_an_unbound_user_gets_the_explanation_and_nothing_else(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await build_org(bot.uow)
        user = emulator.user(3, language_code="zh")
        await user.send_command("/start")
        await user.send_command("/invite", "staff 1")
        await user.send_text("hello")
        answers = [m.text for m in await emulator.wait_for_messages(3, 3)]
        assert answers == [translate("zh", "auth.unbound")] * 3


async def test_staff_can_unbind_a_lost_phone_and_the_new_phone_binds_with_a_new_invite(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        _, out, _ = await bot.cli("invite", "staff", str(org.admin_id))
        admin = emulator.user(10, language_code="en")
        await admin.send_command("/start", _code(out))
        _, out, _ = await bot.cli("invite", "expert", str(org.expert_id))
        old_phone = emulator.user(11, language_code="en")
        await old_phone.send_command("/start", _code(out))
        await emulator.wait_for_messages(11, 1)

        await admin.send_command("/unbind", f"{org.expert_id} lost phone")
        await admin.send_command("/invite", f"expert {org.expert_id}")
        replies = await emulator.wait_for_messages(10, 3)
        assert "Unbound 1 account" in (replies[1].text or "")
        new_code = re.search(r"\n(\S{22})\n", replies[2].text or "")
        assert new_code, replies[2].text

        await old_phone.send_command("/whoami")
        assert "not bound" in ((await emulator.wait_for_messages(11, 2))[-1].text or "")
        new_phone = emulator.user(12, language_code="en")
        await new_phone.send_command("/start", new_code.group(1))
        assert "You are bound" in ((await emulator.wait_for_messages(12, 1))[0].text or "")


async def test_a_webhook_request_without_the_secret_is_refused_and_not_processed(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        user = emulator.user(5, language_code="en")
        update = {
            "update_id": 999_001,
            "message": {
                "message_id": 1, "date": 1_700_000_000, "text": "/whoami",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
                "chat": {"id": 5, "type": "private", "first_name": "x"},
                "from": {"id": 5, "is_bot": False, "first_name": "x", "language_code": "en"},
            },
        }
        assert await emulator.deliver_to_webhook_raw(update, secret=None) == 403
        assert await emulator.deliver_to_webhook_raw(update, secret="wrong") == 403
        assert await emulator.deliver_to_webhook_raw(update, secret=WEBHOOK_SECRET) == 200
        await emulator.wait_for_messages(5, 1)
        await user.send_command("/help")  # a normal update through the emulator's webhook delivery
        messages = await emulator.wait_for_messages(5, 2)
        assert len(messages) == 2
        assert bot.running.services.metrics.updates_handled.labels(kind="message")._value.get() == 2


async def test_an_update_delivered_twice_is_handled_once(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        user = emulator.user(6, language_code="en")
        update = await user.send_command("/whoami")
        await emulator.wait_for_messages(6, 1)
        await emulator.redeliver(update["update_id"])
        await user.send_command("/help")  # handled after the duplicate, so the duplicate had its chance
        await emulator.wait_for_messages(6, 2)
        assert next(m.text or "" for m in emulator.messages(6)).startswith("Your account is not bound")
        assert len(emulator.messages(6)) == 2
        assert bot.running.services.metrics.updates_duplicate._value.get() == 1
