"""Talking to the bot in end-to-end tests: an emulator without flood limits, binding a person through an invite
as ``/start <code>`` does, and a chat driver whose every step waits for the bot's answer.

A test module takes the unlimited emulator by importing ``emulator_without_limits`` (it is the ``emulator``
fixture of that module).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.emulator import BotApiEmulator, Limits, SentMessage, buttons
from messages import translate
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from tests.e2e.harness import TOKEN, BotHarness
from tests.plain_words import assert_plain

FAST: dict[str, Any] = {"rate_private_per_second": 1000.0, "rate_private_burst": 1000}  # settings: no waiting


@pytest.fixture(name="emulator")
async def emulator_without_limits() -> AsyncIterator[BotApiEmulator]:
    """A Bot API emulator without flood limits."""
    server = BotApiEmulator(token=TOKEN, limits=Limits(enabled=False))
    await server.start()
    try:
        yield server
        assert_plain(server.all_messages())
    finally:
        await server.stop()


def zh(key: str, **params: Any) -> str:
    """A text of the Chinese catalog."""
    return translate("zh", key, **params)


async def bind(bot: BotHarness, emulator: BotApiEmulator, person_id: int, user_id: int, role: str,
               **user: Any) -> None:
    """Invite ``person_id`` as ``role`` and redeem the code from Telegram user ``user_id`` (Chinese client)."""
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    emulator.user(user_id, language_code="zh", **user)
    await emulator.user(user_id).send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


def data_of(message: SentMessage, ending: str) -> str:
    """The callback data of the button of ``message`` whose data ends with ``ending``."""
    for row in buttons(message):
        for _, data in row:
            if data.endswith(ending):
                return data
    raise AssertionError(f"no button ending {ending!r} in {buttons(message)!r}")


class Chat:
    """One person talking to the bot; each call waits for what the bot answers."""

    def __init__(self, emulator: BotApiEmulator, user_id: int) -> None:
        self.emulator, self.user_id, self.user = emulator, user_id, emulator.user(user_id)

    def messages(self) -> list[SentMessage]:
        """Everything the bot has shown in this chat, in order (edits in place)."""
        return self.emulator.messages(self.user_id)

    async def until(self, act: Any, expect: str) -> SentMessage:
        """Do ``act`` and wait for a new message containing ``expect``; the last such."""
        before = len(self.messages())
        await act()

        def arrived() -> bool:
            return any(expect in (m.text or "") for m in self.messages()[before:])

        await self.emulator.wait_for(arrived)
        return [m for m in self.messages()[before:] if expect in (m.text or "")][-1]

    async def text(self, text: str, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.send_text(text), expect)

    async def command(self, command: str, args: str = "", *, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.send_command(command, args), expect)

    async def press(self, message: SentMessage, ending: str, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.press(message.message_id, data_of(message, ending)), expect)

    async def alert(self, message_id: int, data: str) -> str:
        """Press a button and return the text of the callback answer."""
        update = await self.user.press(message_id, data)
        query_id = update["callback_query"]["id"]
        await self.emulator.wait_for(lambda: query_id in self.emulator.callback_answers)
        return str(self.emulator.callback_answers[query_id].get("text", ""))

    async def received(self, expect: str) -> SentMessage:
        """Wait for a message (new or edited in place) containing ``expect`` and return the last such."""
        await self.emulator.wait_for(lambda: any(expect in (m.text or "") for m in self.messages()))
        return self.last(expect)

    def last(self, expect: str) -> SentMessage:
        return [m for m in self.messages() if expect in (m.text or "")][-1]
