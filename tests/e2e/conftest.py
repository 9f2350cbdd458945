"""Fixtures for end-to-end tests: a started Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.emulator import BotApiEmulator
from tests.e2e.harness import TOKEN
from tests.plain_words import assert_plain


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A Bot API emulator on a free loopback port."""
    server = BotApiEmulator(token=TOKEN)
    await server.start()
    try:
        yield server
        assert_plain(server.all_messages())
    finally:
        await server.stop()
