"""Run the real application against the Bot API emulator, in-process, over HTTP.

``start_bot`` starts :func:`bot.runtime.serve` in a task with settings pointing at the emulator
and returns once the bot is polling (or has set its webhook). The CLI is run as a real
subprocess with the same environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bot.emulator import BotApiEmulator
from bot.runtime import Running, serve
from bot.settings import BotMode, Settings
from services.platform.clock import OffsetClock
from storage.uow import UnitOfWorkFactory

TOKEN = "123456:TEST-TOKEN"
WEBHOOK_SECRET = "s3cr3t-token_for-tests"


@dataclass
class BotHarness:
    """A running bot, the emulator it talks to, and its clock."""

    emulator: BotApiEmulator
    settings: Settings
    running: Running
    clock: OffsetClock
    stop: asyncio.Event
    task: asyncio.Task[None]

    @property
    def uow(self) -> UnitOfWorkFactory:
        """The bot's own unit-of-work factory (same database, same clock)."""
        return self.running.services.uow

    def env(self) -> dict[str, str]:
        """Environment for a CLI subprocess aimed at the same database and emulator."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "DATABASE_"))}
        env.update(
            BOT_TOKEN=TOKEN,
            DATABASE_URL=self.settings.database_url,
            TELEGRAM_API_BASE_URL=self.emulator.base_url,
            TELEGRAM_FILE_BASE_URL=self.emulator.file_base_url,
        )
        return env

    async def cli(self, *args: str) -> tuple[int, str, str]:
        """Run ``python -m bot <args>`` and return (status, stdout, stderr)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=self.env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def shutdown(self) -> None:
        """Stop the bot as SIGTERM would, and wait for it."""
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


def free_port() -> int:
    """A TCP port free right now on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(emulator: BotApiEmulator, database_url: str, **overrides: Any) -> Settings:
    """Settings for a bot under test (no environment or .env file is read)."""
    values: dict[str, Any] = dict(
        bot_token=SecretStr(TOKEN),
        database_url=database_url,
        telegram_api_base_url=emulator.base_url,
        telegram_file_base_url=emulator.file_base_url,
        listen_host="127.0.0.1",
        listen_port=0,
        request_timeout=5.0,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def start_bot(
    emulator: BotApiEmulator,
    database_url: str,
    *,
    mode: BotMode = BotMode.POLLING,
    freeze_heap: bool = False,
    **overrides: Any,
) -> BotHarness:
    """Start the bot and wait until it is taking updates (``freeze_heap``: as ``python -m bot run`` does, for
    a process that runs one bot, like a benchmark)."""
    if mode is BotMode.WEBHOOK:
        port = free_port()
        overrides.setdefault("listen_port", port)
        overrides.setdefault("webhook_url", f"http://127.0.0.1:{port}/telegram/webhook")
        overrides.setdefault("webhook_secret", SecretStr(WEBHOOK_SECRET))
    settings = make_settings(emulator, database_url, bot_mode=mode, **overrides)
    clock = OffsetClock()
    stop = asyncio.Event()
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(settings, stop=stop, clock=clock, started=started, handle_signals=False, freeze_heap=freeze_heap)
    )
    done, _ = await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if started not in done:
        if task.done():
            task.result()  # raises the start-up error
        raise TimeoutError("the bot did not start")
    return BotHarness(emulator, settings, started.result(), clock, stop, task)


@contextlib.asynccontextmanager
async def running_bot(
    emulator: BotApiEmulator, database_url: str, **kwargs: Any
) -> AsyncIterator[BotHarness]:
    """``start_bot`` as a context manager that always shuts the bot down."""
    harness = await start_bot(emulator, database_url, **kwargs)
    try:
        yield harness
    finally:
        if not harness.task.done():
            await harness.shutdown()
