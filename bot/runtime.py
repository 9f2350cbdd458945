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
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot import keys
from bot.app import BotApplication, build_application, load_handlers, publish_commands
from bot.audit_sequencer import AuditSequencer
from bot.context import CHANNEL, BotServices
from bot.dispatcher import OutboxDispatcher
from bot.feeder import Feeder
from bot.logs import describe, is_transient, traceback_at_debug
from bot.metrics import Metrics
from bot.settings import DEFAULT_DATABASE_URL, BotMode, Settings, SettingsError, StartupError
from bot.standby import AdvisoryLock, Keeper, Role
from bot.tolerant import parse_each
from bot.web import build_web_app
from services.platform import intake, outbox, policy
from services.platform.clock import Clock, SystemClock
from services.platform.updates import DeliveryLedger
from services.scheduler import Job, build_scheduler
from storage import migrate
from storage.db import (
    DatabaseUnavailable,
    create_engine,
    create_session_factory,
    ensure_sqlite_directory,
    is_sqlite,
    probe,
)
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
    keeper: Keeper | None = None

    @property
    def role(self) -> Role:
        """Active, or standby behind another process (PostgreSQL only; SQLite is always active)."""
        return Role.ACTIVE if self.keeper is None else self.keeper.role


async def check_database(settings: Settings) -> None:
    """Check that the database answers, or raise :class:`StartupError` naming why not.

    The folder of a SQLite file named in ``DATABASE_URL`` must exist; only the default one (``./var``,
    the bot's own data folder) is created.
    """
    url = settings.database_url
    if url == DEFAULT_DATABASE_URL:
        ensure_sqlite_directory(url)
    try:
        await probe(url)
    except DatabaseUnavailable as error:
        raise StartupError(f"DATABASE_URL: {error}") from None


async def prepare_database(settings: Settings) -> None:
    """Check the database, then upgrade SQLite automatically; on PostgreSQL refuse to start on an
    outdated schema."""
    await check_database(settings)
    url = settings.database_url
    current = await asyncio.to_thread(migrate.current_revision, url)
    head = migrate.head_revision()
    if is_sqlite(url):
        if current != head:  # Alembic is loaded only when there is something to migrate (start-up, issue 21)
            await asyncio.to_thread(migrate.upgrade, url)
        return
    if current != head:
        raise SettingsError(
            f"DATABASE_URL: schema is at {current or 'nothing'}, code needs {head}; run: python -m bot db upgrade"
        )


class _Bot:
    """Everything :func:`serve` runs, wired together (nothing started), and the steps that start and stop it."""

    def __init__(self, settings: Settings, clock: Clock, *, webhook_mode: bool) -> None:
        self.settings, self.webhook_mode = settings, webhook_mode
        self.engine = create_engine(settings.database_url)
        uow = UnitOfWorkFactory(create_session_factory(self.engine), clock=clock, zone=settings.zone)
        self.metrics = Metrics()
        self.ledger = DeliveryLedger(uow, channel=CHANNEL)
        self.services = BotServices(settings=settings, uow=uow, clock=clock, metrics=self.metrics, ledger=self.ledger)
        self.application = build_application(self.services, webhook=webhook_mode, deferred=True)
        self.loading: asyncio.Task[None] | None = None
        self.dispatcher = OutboxDispatcher(
            self.application.bot, uow, self.metrics,
            default_language=settings.default_language, max_in_flight=settings.outbox_max_in_flight,
            claim_spacing=settings.outbox_claim_spacing, record_spacing=settings.outbox_record_spacing,
        )
        self.services.wake_dispatcher = self.dispatcher.wake
        self.sequencer = AuditSequencer(uow, spacing=settings.audit_link_spacing)
        uow.on_outbox_commit(self.dispatcher.wake)
        self.scheduler = build_scheduler(
            uow, extra=[Job("refresh_outbox_metrics", timedelta(seconds=15), self._refresh_job),
                        Job("monthly_reports", timedelta(hours=1), self._monthly_reports_job),
                        *([Job("daily_backup", timedelta(days=1), self._backup_job)] if settings.backup_dir else [])])
        self.runner: web.AppRunner | None = None
        self.port = settings.listen_port
        self.webhook: tuple[str | None, str | None] = (None, None)
        self.keeper, self.feeder = self._pair(settings)
        if self.keeper is None:
            self.metrics.set_role(Role.ACTIVE)  # on PostgreSQL the keeper's first try sets it

    def load_handlers(self, stop: asyncio.Event, *, freeze_heap: bool) -> None:
        """Start loading the handler modules (issue 21: off the start-up path, updates held meanwhile); once loaded,
        with ``freeze_heap``, they join the frozen start-up heap (:func:`settle_heap`); should it fail, the bot
        stops."""

        def loaded(task: asyncio.Task[None]) -> None:
            if task.cancelled():
                return
            if task.exception() is not None:
                logger.critical("the handlers could not be loaded; stopping", exc_info=task.exception())
                stop.set()
            elif freeze_heap:
                settle_heap()

        self.loading = asyncio.create_task(load_handlers(self.application), name="load handlers")
        self.loading.add_done_callback(loaded)

    def _pair(self, settings: Settings) -> tuple[Keeper | None, Feeder | None]:
        """On PostgreSQL, the keeper of the active role and the feeder of recorded updates (bot/standby.py)."""
        if is_sqlite(settings.database_url):
            return None, None
        lock = AdvisoryLock(settings.database_url, timeout=settings.standby_check_seconds)
        keeper = Keeper(lock, activate=self.activate, step_down=self.step_down,
                        retry_every=settings.standby_retry_seconds, check_every=settings.standby_check_seconds,
                        on_role=self.metrics.set_role)
        return keeper, Feeder(self.application, self.services)

    async def refresh_metrics(self) -> None:
        """The outbox gauges of ``/metrics``."""
        async with self.services.uow(readonly=True) as unit:
            for status, count in (await outbox.counts(unit)).items():
                self.metrics.outbox_messages.labels(status=status).set(count)

    async def _refresh_job(self, _: UnitOfWorkFactory) -> None:
        await self.refresh_metrics()

    async def _backup_job(self, _: UnitOfWorkFactory) -> None:
        """Issue 19: a daily archive of the database and the evidence, the oldest beyond BACKUP_KEEP deleted."""
        from bot.cli_backup import daily

        removed = await asyncio.to_thread(daily, self.settings, now=datetime.now(UTC))
        logger.info("daily backup written; %d old backup(s) removed", len(removed))

    async def _monthly_reports_job(self, uow: UnitOfWorkFactory) -> None:
        """Issue 17: each unit's staff chat gets last month's tables on the first working day of the month."""
        from bot.reports import send_due_monthly  # openpyxl and the report code load when a report is due

        await send_due_monthly(self.application.bot, uow, self.settings.default_language)

    async def start(self, webhook_url: str | None, webhook_secret: str | None) -> None:
        """Inside the initialised application: services, the replay of recorded updates, HTTP, then updates.

        On PostgreSQL only HTTP starts here; the rest starts when this process holds the active role
        (:meth:`activate`, at once or when it takes over from another process)."""
        self.services.bot_username = self.application.bot.username
        self.webhook = (webhook_url, webhook_secret)
        if self.keeper is None:
            await self._start_work()
            await self._listen()
            await self._take_updates()
            return
        self.scheduler.start(paused=True)
        await self._listen()
        await self.keeper.first_try()
        self.keeper.start()

    async def activate(self) -> None:
        """Take on the active role's work: the dispatcher, the scheduler, the recorded updates, polling."""
        await self._start_work()
        await self._take_updates()

    async def step_down(self) -> None:
        """Give the active role's work up (the lock is lost): no updates, no sends, no jobs until taken again."""
        await self._stop_work()

    async def _start_work(self) -> None:
        await publish_commands(self.application)
        await self.dispatcher.start()  # releases the claims of the process that had the role before
        await self.sequencer.start()  # links the audit entries a previous run committed and did not link
        self.ledger.start()
        if self.feeder is None:
            self.scheduler.start()
            await feed_received(self.application, self.services)  # before the webhook or polling brings anything
        else:
            self.scheduler.resume()
            await self.feeder.start()

    async def _listen(self) -> None:
        feed = None if self.feeder is None else self.feeder.offer
        web_app = build_web_app(self.services, application=self.application if self.webhook_mode else None,
                                webhook_secret=self.webhook[1], refresh_metrics=self.refresh_metrics, feed=feed,
                                role=lambda: self.running().role.value)
        self.runner = web.AppRunner(web_app, handle_signals=False)
        await self.runner.setup()
        await _listen(self.runner, self.settings)
        self.port = _bound_port(self.runner) or self.settings.listen_port

    async def _take_updates(self) -> None:
        application = self.application
        await application.start()
        webhook_url, webhook_secret = self.webhook
        if self.webhook_mode:
            assert webhook_url is not None
            await application.bot.set_webhook(webhook_url, secret_token=webhook_secret,
                                              allowed_updates=Update.ALL_TYPES)
        else:
            assert application.updater is not None
            await application.bot.delete_webhook()
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=10,
                                                    error_callback=_polling_failed)

    async def stop(self) -> None:
        """Stop taking updates, finish what is in hand, stop the rest (whatever of it had started); a step that
        fails is logged and the later ones still run. A standby only closes its HTTP server."""
        if self.keeper is not None:
            await _carry_on("stop the active role's keeper", self.keeper.stop())
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()  # the updates it held go unprocessed: the intake feeds them at the next start
        await self._stop_work(close_http=True)

    async def _stop_work(self, *, close_http: bool = False) -> None:
        application = self.application
        if application.updater is not None and application.updater.running:
            await _carry_on("stop polling", application.updater.stop())
        if close_http and self.runner is not None:
            await _carry_on("close the HTTP server", self.runner.cleanup())
            self.runner = None
        if self.feeder is not None:
            await _carry_on("stop feeding recorded updates", self.feeder.stop())
        if application.running:
            await _carry_on("finish the updates in hand", application.stop())
        await _carry_on("record the processed update ids", self.ledger.stop())
        logger.info("updates processed and recorded")
        if self.scheduler.running:
            if close_http:
                self.scheduler.shutdown(wait=False)
            else:
                self.scheduler.pause()
        await _carry_on("stop the outbox dispatcher", self.dispatcher.stop())
        logger.info("outbox dispatcher stopped")
        await _carry_on("link the last audit entries", self.sequencer.stop())

    async def release(self) -> None:
        """Whatever is left after a stop or a failed start: the HTTP server, the bot's sessions, the database."""
        if self.loading is not None and not self.loading.done():
            self.loading.cancel()
        if self.runner is not None:
            await self.runner.cleanup()
        with contextlib.suppress(Exception):
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
        with contextlib.suppress(Exception):
            await self.application.bot.shutdown()  # its HTTP sessions, also when initialising it failed half-way
        if self.keeper is not None:  # the lock goes last: a standby takes over once this one has stopped
            await self.keeper.release()
        await self.engine.dispose()

    def running(self) -> Running:
        """Handles for tests and the sandbox."""
        return Running(self.services, self.application, self.dispatcher, self.port, self.scheduler, self.keeper)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    clock: Clock | None = None,
    started: asyncio.Future[Running] | None = None,
    handle_signals: bool = True,
    freeze_heap: bool = True,
    key_warning: bool = True,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT arrives).

    Whatever keeps the bot from starting (the database, the Bot API, the listening port) raises
    :class:`StartupError` or :class:`SettingsError` with one line naming it, after what had started is
    stopped again.

    With ``freeze_heap`` (a process that runs one bot) what start-up built is frozen out of the garbage
    collector's way once the bot runs (:func:`settle_heap`); tests that start many bots in one process
    leave it off. ``key_warning``: warn when the master key is the default file beside the database (the sandbox,
    a trial by design, leaves it off).
    """
    stop = stop or asyncio.Event()
    settings.token()
    policy.configure(settings.policy())  # the rule numbers the services read
    webhook_mode = settings.bot_mode is BotMode.WEBHOOK
    webhook_url, webhook_secret = settings.require_webhook() if webhook_mode else (None, None)
    phase = _Phase()
    with _start_up_errors(settings, phase):
        await prepare_database(settings)
    bot = _Bot(settings, clock or SystemClock(), webhook_mode=webhook_mode)
    bot.load_handlers(stop, freeze_heap=freeze_heap)  # overlaps getMe, the HTTP server and the first getUpdates
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    try:
        with _start_up_errors(settings, phase):
            bot.services.keys = await keys.unlock(settings, bot.engine, bot.services.uow)  # issue 19
            async with bot.application:
                try:
                    await bot.start(webhook_url, webhook_secret)
                except BaseException:
                    with contextlib.suppress(Exception):  # the error that stopped start-up is the one to report
                        await bot.stop()
                    raise
                phase.running = True
                if key_warning:
                    keys.warn_if_default(settings)
                logger.info("bot @%s running in %s mode (%s); HTTP on %s:%s", bot.services.bot_username,
                            settings.bot_mode.value, bot.running().role.value, settings.listen_host, bot.port)
                if freeze_heap:
                    settle_heap()
                if started is not None and not started.done():
                    started.set_result(bot.running())
                await stop.wait()
                logger.info("stopping: no new updates, finishing what is in hand")
                await bot.stop()
    finally:
        await bot.release()
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
    logger.info("stopped")


@dataclass
class _Phase:
    """Whether the bot got as far as running (errors before that are start-up errors)."""

    running: bool = False


@contextlib.contextmanager
def _start_up_errors(settings: Settings, phase: _Phase) -> Iterator[None]:
    """Turn an error that keeps the bot from starting into a one-line :class:`StartupError`."""
    try:
        yield
    except (StartupError, SettingsError):
        raise
    except Exception as error:
        if phase.running:
            raise
        logger.debug("start-up failed", exc_info=error)
        raise StartupError(_start_up_cause(settings, error)) from error


def _start_up_cause(settings: Settings, error: Exception) -> str:
    """One line naming why start-up failed (never the token: PTB's InvalidToken message holds it)."""
    api = urlsplit(settings.telegram_api_base_url).netloc or settings.telegram_api_base_url
    if isinstance(error, InvalidToken):
        return f"BOT_TOKEN: the Bot API ({api}) rejected the token"
    if isinstance(error, TelegramError):
        if is_transient(error):
            return f"Bot API unreachable ({api}): {describe(error)}"
        return f"the Bot API ({api}) refused a start-up request: {describe(error)}"
    return f"start-up failed: {describe(error)} (LOG_LEVEL=DEBUG shows the traceback)"


async def _listen(runner: web.AppRunner, settings: Settings) -> None:
    """Start the HTTP server (webhook, /healthz, /metrics)."""
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    except OSError as error:
        raise StartupError(
            f"LISTEN_HOST/LISTEN_PORT: cannot listen on {settings.listen_host}:{settings.listen_port}: "
            f"{error.strerror or error}"
        ) from None


def _polling_failed(error: TelegramError) -> None:
    """One line per failed ``getUpdates`` (PTB polls again, backing off up to 30 s); a traceback only at DEBUG."""
    logger.warning("Bot API getUpdates failed (%s); polling again shortly", describe(error),
                   exc_info=traceback_at_debug(logger, error))


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
