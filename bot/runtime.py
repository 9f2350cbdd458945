"""Running the bot: storage, application, outbox dispatcher, scheduler and HTTP server together,
in polling or webhook mode, with an orderly shutdown on SIGTERM/SIGINT.

Start-up feeds the updates recorded by the durable intake and never processed (a crash came first)
before it takes new ones (:func:`feed_received`).

Shutdown order: stop taking updates (updater or webhook route), let PTB finish the updates it
has, record their ids, stop the scheduler, flush the outbox dispatcher, close the HTTP server and
the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Update

from bot.app import BotApplication, build_application, publish_commands
from bot.context import CHANNEL, BotServices
from bot.dispatcher import OutboxDispatcher
from bot.metrics import Metrics
from bot.settings import BotMode, Settings, SettingsError
from bot.tolerant import parse_each
from bot.web import build_web_app
from services.platform import intake, outbox, policy
from services.platform.clock import Clock, SystemClock
from services.scheduler import Job, build_scheduler
from services.platform.updates import DeliveryLedger
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

    engine = create_engine(settings.database_url)
    clock = clock or SystemClock()
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
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

    runner: web.AppRunner | None = None
    try:
        async with application:
            services.bot_username = application.bot.username
            await publish_commands(application)
            await dispatcher.start()
            ledger.start()
            scheduler.start()
            await feed_received(application, services)  # before the webhook or polling brings anything new
            web_app = build_web_app(
                services, application=application if webhook_mode else None,
                webhook_secret=webhook_secret, refresh_metrics=refresh_metrics,
            )
            runner = web.AppRunner(web_app, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
            await site.start()
            port = _bound_port(runner) or settings.listen_port
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
            logger.info("bot @%s running in %s mode; HTTP on %s:%s",
                        services.bot_username, settings.bot_mode.value, settings.listen_host, port)
            if freeze_heap:
                settle_heap()
            if started is not None and not started.done():
                started.set_result(Running(services, application, dispatcher, port, scheduler))
            await stop.wait()
            logger.info("stopping: no new updates, finishing what is in hand")
            if application.updater is not None and application.updater.running:
                await _carry_on("stop polling", application.updater.stop())
            if runner is not None:
                await _carry_on("close the HTTP server", runner.cleanup())
                runner = None
            await _carry_on("finish the updates in hand", application.stop())
            await _carry_on("record the processed update ids", ledger.stop())
            logger.info("updates processed and recorded")
            scheduler.shutdown(wait=False)
            await _carry_on("stop the outbox dispatcher", dispatcher.stop())
            logger.info("outbox dispatcher stopped")
    finally:
        if runner is not None:
            await runner.cleanup()
        with contextlib.suppress(Exception):
            if scheduler.running:
                scheduler.shutdown(wait=False)
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        await engine.dispose()
    logger.info("stopped")


async def _carry_on(step: str, action: Awaitable[object]) -> None:
    """One step of the orderly stop: a failure is logged and the later steps still run (each one releases
    something: the dispatcher still finishes its sends when the ledger could not write, say)."""
    try:
        await action
    except Exception:
        logger.exception("stopping: could not %s; going on with the rest", step)


async def feed_received(application: BotApplication, services: BotServices) -> int:
    """Put every update the intake recorded and nobody processed on PTB's queue, in update id order;
    returns how many. Call it before new updates can arrive: they queue behind these."""
    fed = 0
    async for update_id, body in intake.waiting(services.uow, channel=CHANNEL):
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            logger.error("recorded update %s is not a JSON object; dropped", update_id)
            services.ledger.processed(update_id)
            continue
        (update,) = parse_each([payload], application.bot)
        await application.update_queue.put(update)
        fed += 1
    if fed:
        logger.warning("%s updates received before the last stop and never processed: processing them first", fed)
    return fed


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
