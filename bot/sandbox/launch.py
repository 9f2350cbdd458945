"""Starting the sandbox: the Bot API emulator, the bot polling it, and the page, all on 127.0.0.1.

Start-up order: the emulator; the sandbox database (migrated, demo data added when empty); an
emulated Telegram user for every bound account (and the unbound demo account) and an emulated
group for every staff chat, so everything the outbox sends has somewhere to arrive; the bot
(:func:`bot.runtime.serve`, polling, on an :class:`OffsetClock`); the page. Shutdown runs backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot import keys
from bot.emulator import BotApiEmulator
from bot.runtime import Running, prepare_database, serve
from bot.sandbox.clock_store import SavedOffsetClock
from bot.sandbox.server import HOST, NEW_USER_NAME, SandboxBackend, build_app
from bot.settings import DEFAULT_SANDBOX_DB, BotMode, Settings
from services.demo import demo
from services.platform.clock import OffsetClock
from services.platform.errors import Conflict
from storage.db import create_engine, create_session_factory, ensure_sqlite_directory
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "7000000:SANDBOX-not-a-real-token"  # noqa: S105 (the emulator's token, not a secret)
SANDBOX_BOT_USERNAME = "fundwatch_sandbox_bot"
START_TIMEOUT = 60.0


class SandboxError(Exception):
    """The sandbox cannot start (its port is taken, the bot did not come up); the message is one line."""


@dataclass
class Sandbox:
    """A running sandbox: the emulator, the bot, its clock and the page's address."""

    emulator: BotApiEmulator
    running: Running
    clock: OffsetClock
    settings: Settings
    database: Path
    port: int
    demo_created: bool

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{HOST}:{self.port}/"

    @property
    def uow(self) -> UnitOfWorkFactory:
        """The bot's unit-of-work factory (the sandbox database, the sandbox clock)."""
        return self.running.services.uow


def sandbox_settings(base: Settings, emulator: BotApiEmulator, database: Path) -> Settings:
    """``base`` aimed at the emulator and the sandbox database: polling, loopback, a fake token."""
    overrides = {
        "bot_token": SecretStr(SANDBOX_TOKEN),
        "bot_username": SANDBOX_BOT_USERNAME,
        "database_url": f"sqlite+aiosqlite:///{database.resolve()}",
        "telegram_api_base_url": emulator.base_url,
        "telegram_file_base_url": emulator.file_base_url,
        "bot_mode": BotMode.POLLING,
        "webhook_url": None,
        "webhook_secret": None,
        "listen_host": HOST,
        "listen_port": 0,
    }
    return Settings(_env_file=None, **(base.model_dump() | overrides))


def remove_database(database: Path) -> None:
    """Delete a SQLite file and its WAL companions."""
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def open_sandbox(
    base: Settings, *, database: Path, port: int = 8080, reset: bool = False
) -> AsyncIterator[Sandbox]:
    """Run a sandbox for the duration of the block (``port`` 0: any free port)."""
    if port:
        _require_free_port(port)
    if reset:
        remove_database(database)
    emulator = BotApiEmulator(token=SANDBOX_TOKEN, bot_username=SANDBOX_BOT_USERNAME)
    await emulator.start(HOST, 0)
    try:
        settings = sandbox_settings(base, emulator, database)
        clock = SavedOffsetClock(database)  # the sandbox keeps its time across restarts
        created, users, groups = await _prepare(settings, clock)
        for user_id, name in users.items():
            emulator.user(user_id, first_name=name, language_code=settings.default_language)
        for chat_id, title in groups.items():
            emulator.group(chat_id, title)
        async with _running_bot(settings, clock) as running:
            backend = SandboxBackend(emulator, running, clock, settings, users, groups)
            runner = web.AppRunner(build_app(backend), access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            try:
                try:
                    await web.TCPSite(runner, HOST, port).start()
                except OSError as error:
                    raise SandboxError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
                bound = runner.addresses[0][1] if runner.addresses else port
                yield Sandbox(emulator, running, clock, settings, database, int(bound), created)
            finally:
                backend.close()
                await runner.cleanup()
    finally:
        await emulator.stop()


def _require_free_port(port: int) -> None:
    """Fail before starting anything when the page's port is taken (e.g. by another sandbox)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise SandboxError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None


async def _prepare(settings: Settings, clock: OffsetClock) -> tuple[bool, dict[int, str], dict[int, str]]:
    """Migrate, add demo data to an empty database; who to emulate: (created, users, groups)."""
    ensure_sqlite_directory(settings.database_url)  # the sandbox's own data folder (./var by default)
    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    try:
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), clock=clock)
        await keys.unlock(settings, engine, uow_factory)  # demo mobiles are written encrypted, as the bot writes
        created = False
        try:
            created = (await demo.generate(uow_factory)).created
        except Conflict:
            logger.warning("the sandbox database holds other data; no demo data added")
        async with uow_factory() as uow:
            playable, _ = await demo.personas(uow)
            chats = await demo.staff_chats(uow)
    finally:
        await engine.dispose()
    users = {demo.NEW_USER_ID: NEW_USER_NAME}
    users.update({int(p.user_id): p.name for p in playable if p.user_id.isdigit() and int(p.user_id) > 0})
    groups = {int(c.chat_id): c.title for c in chats if c.chat_id.lstrip("-").isdigit() and int(c.chat_id) < 0}
    return created, users, groups


@contextlib.asynccontextmanager
async def _running_bot(settings: Settings, clock: OffsetClock) -> AsyncIterator[Running]:
    """The bot exactly as ``python -m bot run`` runs it, on the sandbox clock."""
    stop = asyncio.Event()
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop=stop, clock=clock, started=started, handle_signals=False,
                                     key_warning=False))  # the sandbox is a trial: its key file beside its database
    try:
        waiting: set[asyncio.Future[Any]] = {task, started}
        done, _ = await asyncio.wait(waiting, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if started not in done:
            if task.done():
                task.result()  # raises the start-up error
            raise SandboxError(f"the bot did not start within {START_TIMEOUT:.0f} s")
        yield started.result()
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 30)


def cli_hint(database: Path) -> str:
    """How to run ``python -m bot`` on this sandbox (its database and its clock)."""
    default = Path(DEFAULT_SANDBOX_DB)
    same = database.resolve() == default.resolve()
    return "python -m bot --sandbox" if same else f"python -m bot --sandbox-db {database}"


async def run_sandbox(base: Settings, *, port: int, database: Path, reset: bool) -> None:
    """``python -m bot sandbox``: run until Ctrl+C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"starting the sandbox (database {database}{', reset' if reset else ''})...", flush=True)
        async with open_sandbox(base, database=database, port=port, reset=reset) as sandbox:
            if sandbox.demo_created:
                print("demo data created", flush=True)
            print(f"sandbox ready: open {sandbox.url} in a browser", flush=True)
            print(f"command line on this sandbox's data and clock: {cli_hint(database)} <command>, "
                  f"e.g. {cli_hint(database)} draw verify 1", flush=True)
            print("press Ctrl+C to stop", flush=True)
            await stop.wait()
            print("stopping the sandbox...", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print("sandbox stopped", flush=True)
