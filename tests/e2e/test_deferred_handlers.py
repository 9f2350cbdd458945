"""Handlers loaded after start-up (issue 21): the bot takes updates before its handler modules are loaded; those
updates wait and are answered once the handlers are registered. Should the load fail, the bot stops and the waiting
updates stay recorded, unprocessed, for the next start."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from bot import app
from bot.context import CHANNEL
from bot.emulator import BotApiEmulator
from services.platform import intake
from storage.db import create_engine, create_session_factory
from storage.uow import UnitOfWorkFactory
from tests.e2e.harness import running_bot, start_bot


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The handler load waits (in its thread) until the test sets the event."""
    opened = threading.Event()
    real = app.import_handler_modules

    def slow() -> None:
        opened.wait(timeout=30)
        real()

    monkeypatch.setattr(app, "import_handler_modules", slow)
    yield opened
    opened.set()


async def test_updates_before_the_handlers_load_wait_and_are_then_answered(
    emulator: BotApiEmulator, database_url: str, gate: threading.Event
) -> None:
    async with running_bot(emulator, database_url):
        user = emulator.user(41, language_code="en")
        await user.send_command("/help")
        await user.send_command("/whoami")
        await asyncio.sleep(0.3)
        assert emulator.messages(41) == []  # taken (the polling runs) but held
        gate.set()
        answers = await emulator.wait_for_messages(41, 2)
        assert "Hello!" in (answers[0].text or "")  # /help, then /whoami: in the order sent
        assert "Your Telegram id is 41" in (answers[1].text or "")


async def test_a_failed_load_stops_the_bot_and_loses_no_update(
    emulator: BotApiEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = threading.Event()

    def broken() -> None:
        held.wait(timeout=30)
        raise ImportError("a handler module is broken")

    monkeypatch.setattr(app, "import_handler_modules", broken)
    bot = await start_bot(emulator, database_url)
    try:
        await emulator.user(42).send_command("/help")
        for _ in range(500):  # until the bot has fetched (and so recorded) it
            if await _waiting(bot.uow):
                break
            await asyncio.sleep(0.02)
        held.set()
        await asyncio.wait_for(bot.task, timeout=30)  # serve returns: the bot stopped itself
    finally:
        held.set()
        if not bot.task.done():
            await bot.shutdown()
    assert emulator.messages(42) == []
    engine = create_engine(database_url)  # the bot's own is closed
    try:
        uow = UnitOfWorkFactory(create_session_factory(engine), clock=bot.clock)
        assert len(await _waiting(uow)) == 1  # recorded, never processed: the next start feeds it
    finally:
        await engine.dispose()


async def _waiting(uow: UnitOfWorkFactory) -> list[int]:
    return [update_id async for update_id, _ in intake.waiting(uow, channel=CHANNEL)]
