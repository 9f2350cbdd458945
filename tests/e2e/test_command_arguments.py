"""End to end: a command's arguments are bounded (hardening issue). A malformed id, an id beyond the database's
integer and an over-long search each get a clear answer with the usage; no handler fails and no reply grows with
what was sent."""

from __future__ import annotations

from bot.arguments import SEARCH_CHARS
from bot.emulator import BotApiEmulator
from messages import translate
from services.people import accounts
from services.platform.actions import MAX_ID
from services.platform.roles import SYSTEM_CLI
from tests.builders import build_org
from tests.e2e.harness import BotHarness, running_bot

STAFF_USER = 90


async def _bind_staff(bot: BotHarness, emulator: BotApiEmulator) -> None:
    org = await build_org(bot.uow)
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=org.admin_id)
    await emulator.user(STAFF_USER, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(STAFF_USER, 1)


async def _answer(emulator: BotApiEmulator, command: str, args: str, count: int) -> str:
    await emulator.user(STAFF_USER).send_command(command, args)
    text = (await emulator.wait_for_messages(STAFF_USER, count))[-1].text
    assert text is not None
    return text


def _errors(bot: BotHarness) -> float:
    return float(bot.running.services.metrics.handler_errors._value.get())


async def test_an_expert_id_written_with_a_superscript_digit_gets_the_usage_not_an_error(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await _bind_staff(bot, emulator)
        text = await _answer(emulator, "/expert", "²", 2)
        assert text == "\n".join([translate("zh", "arguments.bad_id", value="²", largest=MAX_ID),
                                  translate("zh", "pool.expert_usage")])
        assert _errors(bot) == 0


async def test_an_expert_id_beyond_the_database_integer_gets_the_usage_not_an_error(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await _bind_staff(bot, emulator)
        text = await _answer(emulator, "/expert", "99999999999999999999999", 2)
        assert text.startswith(translate("zh", "arguments.bad_id", value="99999999999999999999999", largest=MAX_ID))
        assert text.endswith(translate("zh", "pool.expert_usage"))
        text = await _answer(emulator, "/pool", f"{MAX_ID + 1} approve", 3)
        assert "2147483648" in text and "/pool" in text
        assert _errors(bot) == 0


async def test_a_search_of_five_thousand_characters_is_refused_with_the_limit(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await _bind_staff(bot, emulator)
        text = await _answer(emulator, "/experts", "张" * 5000, 2)
        assert text == "\n".join([translate("zh", "arguments.too_long", limit=SEARCH_CHARS, length=5000),
                                  translate("zh", "pool.experts_usage")])
        text = await _answer(emulator, "/institutions", "医院" * 2500, 3)
        assert str(SEARCH_CHARS) in text and len(text) < 300
        assert _errors(bot) == 0


async def test_a_search_without_a_match_echoes_at_most_fifty_characters(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await _bind_staff(bot, emulator)
        words = "无此人" * 33  # 99 characters: within the limit, longer than the echo
        text = await _answer(emulator, "/experts", words, 2)
        assert text == translate("zh", "pool.search_empty_for", words=words[:49] + "…")
        text = await _answer(emulator, "/institutions", words, 3)
        assert text == translate("zh", "directory.empty_for", words=words[:49] + "…")
        assert _errors(bot) == 0
