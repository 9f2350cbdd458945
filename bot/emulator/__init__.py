"""Bot API emulator: a fake Telegram server (aiohttp) for end-to-end tests, benchmarks and a sandbox.

It imports nothing from the rest of the project. Start a :class:`BotApiEmulator`, point
``telegram.Bot(token, base_url=emulator.base_url, base_file_url=emulator.file_base_url)`` at it, act
as users with :meth:`BotApiEmulator.user` and read what the bot sent with
:meth:`BotApiEmulator.messages`.
"""

from bot.emulator.limits import ApiError, FailureMode, JSONDict, Limits, RateLimiter
from bot.emulator.server import BotApiEmulator
from bot.emulator.state import (
    EmulatorState,
    FakeGroup,
    FakeUser,
    SentFile,
    SentMessage,
    Stats,
    StoredFile,
    buttons,
)

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "EmulatorState",
    "FailureMode",
    "FakeGroup",
    "FakeUser",
    "JSONDict",
    "Limits",
    "RateLimiter",
    "SentFile",
    "SentMessage",
    "Stats",
    "StoredFile",
    "buttons",
]
