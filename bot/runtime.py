"""Running the bot: storage, application, outbox dispatcher, scheduler and HTTP server together,
in polling or webhook mode, with an orderly shutdown on SIGTERM/SIGINT.

Shutdown order: stop taking updates (updater or webhook route), let PTB finish the updates it
has, stop the scheduler, flush the outbox dispatcher, close the HTTP server and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.app import BotApplication, build_application, publish_commands
from bot.context import CHANNEL, BotServices
from bot.dispatcher import OutboxDispatcher
from bot.metrics import Metrics
from bot.settings import BotMode, Settings, SettingsError
from bot.web import build_web_app
from services.platform import outbox, policy
from services.platform.clock import Clock, SystemClock
from services.platform.updates import DeliveryLedger
from services.scheduler import Job, build_scheduler
from storage import migrate
from storage.db import create_engine, create_session_factory, is_sqlite
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)


@dataclass
class Running:
    """Handles on a running bot, for tests and the sandbox."""

    services: BotServices
    application: BotApplication
    dispatcher: OutboxDispatcher
    port: int
    scheduler: AsyncIOScheduler


async def prepare_database(settings: Settings) -> None:
    """Upgrade SQLite automatically; on PostgreSQL refuse to start on an outdated schema."""
    url = settings.database_url
    if is_sqlite(url):
        await asyncio.to_thread(migrate.upgrade, url)
        return
    current = await asyncio.to_thread(migrate.current_revision, url)
    head = migrate.head_revision()
    if current != head:
        raise SettingsError(
            f"DATABASE_URL: schema is at {current or 'nothing'}, code needs {head}; run: python -m bot db upgrade"
        )


@dataclass
class _Parts:
    """What :func:`serve` starts and stops, built before anything runs."""

    engine: AsyncEngine
    services: BotServices
    application: BotApplication
    dispatcher: OutboxDispatcher
    ledger: DeliveryLedger
    scheduler: AsyncIOScheduler
    refresh_metrics: Callable[[], Awaitable[None]]


def _build(settings: Settings, clock: Clock, *, webhook_mode: bool) -> _Parts:
    """Storage, services, application, outbox dispatcher and scheduler, wired together (nothing started)."""
    engine = create_engine(settings.database_url)
    uow = UnitOfWorkFactory(create_session_factory(engine), clock=clock, zone=settings.zone)
    metrics = Metrics()
    ledger = DeliveryLedger(uow, channel=CHANNEL)
    services = BotServices(settings=settings, uow=uow, clock=clock, metrics=metrics, ledger=ledger)
    application = build_application(services, webhook=webhook_mode)
    dispatcher = OutboxDispatcher(
        application.bot, uow, metrics,
        default_language=settings.default_language, max_in_flight=settings.outbox_max_in_flight,
    )
    services.wake_dispatcher = dispatcher.wake
    uow.on_outbox_commit(dispatcher.wake)

    async def refresh_metrics() -> None:
        async with uow(readonly=True) as unit:
            for status, count in (await outbox.counts(unit)).items():
                metrics.outbox_messages.labels(status=status).set(count)

    async def refresh_job(_: UnitOfWorkFactory) -> None:
        await refresh_metrics()

    scheduler = build_scheduler(uow, extra=[Job("refresh_outbox_metrics", timedelta(seconds=15), refresh_job)])
    return _Parts(engine, services, application, dispatcher, ledger, scheduler, refresh_metrics)


async def _start_services(parts: _Parts) -> None:
    """Inside the started application: the bot's commands, the outbox dispatcher, the ledger, the scheduler."""
    parts.services.bot_username = parts.application.bot.username
    await publish_commands(parts.application)
    await parts.dispatcher.start()
    parts.ledger.start()
    parts.scheduler.start()


async def _listen(runner: web.AppRunner, settings: Settings) -> int:
    """Serve HTTP on the configured address; the port actually bound."""
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
    await site.start()
    return _bound_port(runner) or settings.listen_port


async def _start_receiving(application: BotApplication, *, webhook_mode: bool, webhook_url: str | None,
                           webhook_secret: str | None) -> None:
    """Start the application and take updates: set the webhook, or delete it and poll."""
    await application.start()
    if webhook_mode:
        assert webhook_url is not None
        await application.bot.set_webhook(
            webhook_url, secret_token=webhook_secret, allowed_updates=Update.ALL_TYPES
        )
    else:
        assert application.updater is not None
        await application.bot.delete_webhook()
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=10)


async def _stop_services(parts: _Parts) -> None:
    """After the HTTP server is closed: the application, the ledger, the scheduler, the outbox dispatcher."""
    await parts.application.stop()
    await parts.ledger.stop()
    parts.scheduler.shutdown(wait=False)
    await parts.dispatcher.stop()


def _signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event | None) -> None:
    """SIGTERM and SIGINT set ``stop``; with None they are handed back."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        if stop is not None:
            loop.add_signal_handler(signum, stop.set)
        else:
            loop.remove_signal_handler(signum)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    started: asyncio.Future[Running] | None = None,
    handle_signals: bool = True,
    freeze_heap: bool = True,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT arrives).

    With ``freeze_heap`` (a process that runs one bot) what start-up built is frozen out of the garbage
    collector's way once the bot runs (:func:`settle_heap`); tests that start many bots in one process
    leave it off.
    """
    stop = stop or asyncio.Event()
    settings.token()
    policy.configure(settings.policy())  # the rule numbers the services read
    webhook_mode = settings.bot_mode is BotMode.WEBHOOK
    webhook_url, webhook_secret = settings.require_webhook() if webhook_mode else (None, None)
    await prepare_database(settings)
    parts = _build(settings, clock or SystemClock(), webhook_mode=webhook_mode)
    application = parts.application
    loop = asyncio.get_running_loop()
    if handle_signals:
        _signals(loop, stop)

    runner: web.AppRunner | None = None
    try:
        async with application:
            await _start_services(parts)
            web_app = build_web_app(
                parts.services, application=application if webhook_mode else None,
                webhook_secret=webhook_secret, refresh_metrics=parts.refresh_metrics,
            )
            runner = web.AppRunner(web_app, handle_signals=False)
            port = await _listen(runner, settings)
            await _start_receiving(application, webhook_mode=webhook_mode, webhook_url=webhook_url,
                                   webhook_secret=webhook_secret)
            logger.info("bot @%s running in %s mode; HTTP on %s:%s",
                        parts.services.bot_username, settings.bot_mode.value, settings.listen_host, port)
            if freeze_heap:
                settle_heap()
            if started is not None and not started.done():
                started.set_result(Running(parts.services, application, parts.dispatcher, port, parts.scheduler))
            await stop.wait()
            logger.info("stopping: no new updates, finishing what is in hand")
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await runner.cleanup()
            runner = None
            await _stop_services(parts)
    finally:
        if runner is not None:
            await runner.cleanup()
        with contextlib.suppress(Exception):
            if parts.scheduler.running:
                parts.scheduler.shutdown(wait=False)
        if handle_signals:
            _signals(loop, None)
        await parts.engine.dispose()
    logger.info("stopped")


def settle_heap() -> None:
    """Collect start-up's garbage, then freeze what is left (modules, handlers, compiled statements,
    catalogs) into the collector's permanent generation.

    A full collection walks every tracked object; without this, each one walked the whole start-up heap
    and stalled the event loop for about 130 ms (a p99 of every press in flight at that moment). After
    it, full collections only walk what the running bot itself keeps (README, "Benchmarks").
    """
    gc.collect()
    gc.freeze()


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
