"""Button presses per second, end to end, next to a bare python-telegram-bot baseline.

What one press is, for the product: the Bot API emulator (a fake Telegram over HTTP, on loopback)
queues a ``callback_query`` update for a ``lang:en``/``lang:zh`` button, POSTs it to the bot's
webhook; the real bot (``bot.runtime.serve`` in webhook mode) runs its gate (dedupe, identify), the
language handler commits the choice plus an outbox "edit" row, answers the callback query, and the
outbox dispatcher edits the message in place with ``editMessageText``. The press is done when that
``editMessageText`` request reaches the emulator.

The baseline is a bare PTB application in the same process: ``Application.builder()...updater(None)
.concurrent_updates(64)``, one ``CallbackQueryHandler`` that answers the query and edits the message
(no database), fed by a minimal aiohttp webhook route (PTB's custom-webhook pattern). It gets its own
emulator, the same users and the same presses.

Latency of a press: from the moment the emulator has queued the update to the moment the emulator
receives the matching ``editMessageText`` request (taken when the emulator's HTTP handler starts,
with ``time.perf_counter``; see :class:`TimedEmulator`).

Run from the repository root::

    .venv/bin/python -m bench.button_presses            # full size: 100 users, 50 at once, 2,000 presses
    .venv/bin/python -m bench.button_presses --quick    # smoke test, well under 20 s

See ``bench/README.md`` for every option.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import cProfile
import hashlib
import hmac
import importlib.metadata
import io
import json
import logging
import math
import os
import platform
import pstats
import secrets
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.emulator import BotApiEmulator, FakeUser, SentMessage, buttons
from bot.emulator.server import Params
from bot.loop import CHOICES, UVLOOP, loop_name, run
from bot.runtime import settle_heap
from bot.settings import BotMode
from messages import translate
from services.people import accounts, orgs
from services.platform.roles import SYSTEM_CLI
from storage import migrate
from tests.e2e.harness import TOKEN, WEBHOOK_SECRET, BotHarness, free_port, start_bot

RESULTS = Path(__file__).parent / "results"
TARGET_PRESSES_PER_S = 200.0
TARGET_P99_MS = 100.0
BUSY_OTHERS = 0.2  # CPUs used by other processes above which the machine is not quiet
FIRST_USER_ID = 10_001
LANGUAGES = ("en", "zh")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


class BenchError(Exception):
    """The run cannot produce a meaningful number (a press was lost, a wrong edit arrived...)."""


# ---- measuring at the emulator ---------------------------------------------------------------

PARALLEL_WEBHOOK_ENV = "BENCH_PARALLEL_WEBHOOK"
_RECEIVED_AT: contextvars.ContextVar[float] = contextvars.ContextVar("received_at")


class TimedEmulator(BotApiEmulator):
    """The Bot API emulator, noting when each ``editMessageText`` request arrived.

    ``_handle_api`` (the aiohttp handler of every Bot API call) stamps ``time.perf_counter()``
    before it reads the body; a successful ``editMessageText`` then resolves the future that
    :meth:`expect_edit` handed out for its (chat, message) with (that stamp, the new text).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # --parallel-webhook (an environment variable, so the --emulator-process child sees it too)
        self.webhook_parallel = os.environ.get(PARALLEL_WEBHOOK_ENV) == "1"
        self.webhook_answer_ms: list[float] = []  # each webhook request: from the POST to the bot's answer
        self._edit_waiters: dict[tuple[int, int], asyncio.Future[tuple[float, str]]] = {}

    def expect_edit(self, chat_id: int, message_id: int) -> asyncio.Future[tuple[float, str]]:
        """A future resolved by the next successful edit of ``message_id`` in ``chat_id``."""
        waiter: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        self._edit_waiters[(chat_id, message_id)] = waiter
        return waiter

    async def _post(self, url: str, update: dict[str, Any], secret: str | None) -> int:
        """Deliver one update to the webhook, noting how long the bot took to answer it."""
        started = time.perf_counter()
        try:
            return await super()._post(url, update, secret)
        finally:
            self.webhook_answer_ms.append((time.perf_counter() - started) * 1000.0)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        _RECEIVED_AT.set(time.perf_counter())
        return await super()._handle_api(request)

    async def _edit_message_text(self, p: Params) -> dict[str, Any]:
        received = _RECEIVED_AT.get(time.perf_counter())
        result = await super()._edit_message_text(p)
        key = (int(p.values["chat_id"]), int(p.values["message_id"]))
        waiter = self._edit_waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result((received, str(result.get("text", ""))))
        return result


# ---- the workload ----------------------------------------------------------------------------


@dataclass
class Keyboard:
    """A user's message with the language buttons, and the button they press next."""

    user: FakeUser
    message_id: int
    next_choice: str = "en"


@dataclass
class Workload:
    """What both bots are put through."""

    users: int
    concurrency: int
    presses: int
    timeout: float = 30.0
    rate: float | None = None  # open loop: presses started at this rate (per second), whatever the answers


@dataclass
class Phase:
    """The measured phase of one bot."""

    presses: int
    wall_s: float
    latencies_ms: list[float]
    requests: dict[str, int] = field(default_factory=dict)
    callback_answers: int = 0
    cpu_s: float = 0.0
    loop_lag_ms: list[float] = field(default_factory=list)
    others_cpu_s: float = 0.0
    bot_cpu_s: float | None = None  # with --emulator-process: the bot's process alone
    emulator_cpu_s: float | None = None  # with --emulator-process: the emulator and load driver's process
    webhook_answer_ms: list[float] = field(default_factory=list)  # how long the bot took to answer each update


async def press_phase(
    emulator: TimedEmulator, keyboards: list[Keyboard], work: Workload, *, probe_lag: bool = True
) -> Phase:
    """``work.concurrency`` workers press until ``work.presses`` presses were reflected by an edit.

    Worker ``w`` owns the keyboards ``w, w + C, w + 2C, ...`` and presses them in turn, each time
    waiting for the edit before the next press, so at most C presses are in flight and a user never
    has two. Each user alternates ``lang:en`` / ``lang:zh`` so every edit changes the text.
    """
    concurrency = min(work.concurrency, len(keyboards))
    expected = {choice: translate(choice, "language.set") for choice in LANGUAGES}
    latencies: list[float] = []
    before = dict(emulator.stats.by_method)
    answers_before = len(emulator.callback_answers)
    emulator.webhook_answer_ms.clear()

    async def press(keyboard: Keyboard, n: int, since: float | None = None) -> None:
        """One press, done when its edit arrives; latency from ``since`` (default: when it was queued)."""
        choice = keyboard.next_choice
        keyboard.next_choice = "zh" if choice == "en" else "en"
        user, message_id = keyboard.user, keyboard.message_id
        waiter = emulator.expect_edit(user.id, message_id)
        await user.press(message_id, f"lang:{choice}")  # queues the update; never yields
        queued = time.perf_counter()
        try:
            received, new_text = await asyncio.wait_for(waiter, work.timeout)
        except TimeoutError:
            raise BenchError(
                f"press {n + 1} of user {user.id} (lang:{choice}) was not reflected within {work.timeout} s"
            ) from None
        if new_text != expected[choice]:
            raise BenchError(f"user {user.id} pressed lang:{choice} but the message became {new_text!r}")
        latencies.append((received - (queued if since is None else since)) * 1000.0)

    async def open_loop(rate: float) -> None:
        """Press ``n`` is due ``n / rate`` s after the start, answered or not; latency counts from when it was
        due, so a press the driver could only start late (every user busy) is not flattered."""
        idle, free = deque(keyboards), asyncio.Event()
        pending: set[asyncio.Task[None]] = set()

        async def one(keyboard: Keyboard, n: int, due: float) -> None:
            try:
                await press(keyboard, n, since=due)
            finally:
                idle.append(keyboard)
                free.set()

        start = time.perf_counter()
        for n in range(work.presses):
            due = start + n / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            while not idle:
                free.clear()
                await free.wait()
            task = asyncio.create_task(one(idle.popleft(), n, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)

    async def worker(index: int) -> None:
        mine = keyboards[index::concurrency]
        count = work.presses // concurrency + (1 if index < work.presses % concurrency else 0)
        for n in range(count):
            await press(mine[n % len(mine)], n)

    lags: list[float] = []
    probe = asyncio.create_task(loop_lag_probe(lags) if probe_lag else asyncio.sleep(0))
    started, cpu_started, system_started = time.perf_counter(), time.process_time(), system_busy_seconds()
    try:
        if work.rate is not None:
            await open_loop(work.rate)
        else:
            await asyncio.gather(*(worker(i) for i in range(concurrency)))
    finally:
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        others = max(0.0, system_busy_seconds() - system_started - cpu)
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe
    # Answers are sent by the handler, not awaited by the users: make sure none was lost.
    wanted = answers_before + work.presses
    with contextlib.suppress(TimeoutError):
        await emulator.wait_for(lambda: len(emulator.callback_answers) >= wanted, timeout=10)
    after = emulator.stats.by_method
    requests = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    return Phase(
        presses=len(latencies), wall_s=wall, latencies_ms=latencies,
        requests={k: v for k, v in sorted(requests.items()) if v},
        callback_answers=len(emulator.callback_answers) - answers_before, cpu_s=cpu, loop_lag_ms=lags,
        others_cpu_s=others, webhook_answer_ms=list(emulator.webhook_answer_ms),
    )


async def loop_lag_probe(lags: list[float], interval: float = 0.005) -> None:
    """How late the event loop runs a 5 ms timer: a busy loop delays every await in every task."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        lags.append((loop.time() - before - interval) * 1000.0)


async def remote_phase(emulator: Any, work: Workload) -> Phase:
    """The measured phase run by the emulator's own process; this process (the bot) is measured alongside."""
    lags: list[float] = []
    probe = asyncio.create_task(loop_lag_probe(lags))
    cpu_started, system_started = time.process_time(), system_busy_seconds()
    try:
        phase: Phase = await emulator.phase(work)
    finally:
        bot_cpu, system = time.process_time() - cpu_started, system_busy_seconds() - system_started
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe
    phase.bot_cpu_s, phase.emulator_cpu_s = bot_cpu, phase.cpu_s
    phase.cpu_s = bot_cpu + phase.cpu_s  # both processes, comparable with the one-process set-up
    phase.others_cpu_s = max(0.0, system - phase.cpu_s)
    phase.loop_lag_ms = lags  # the bot's event loop
    return phase


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used so far (``/proc/stat``; 0 where unknown)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


async def others_busy(seconds: float = 1.0) -> float:
    """CPUs used by other processes during ``seconds`` (this process is idle meanwhile)."""
    busy, cpu, started = system_busy_seconds(), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    return max(0.0, (system_busy_seconds() - busy) - (time.process_time() - cpu)) / elapsed


def user_ids(count: int) -> list[int]:
    """The Telegram ids of the benchmark's users."""
    return list(range(FIRST_USER_ID, FIRST_USER_ID + count))


# ---- database statistics ---------------------------------------------------------------------


class DbCounters:
    """Transactions and statements the product runs, from SQLAlchemy engine events.

    Statement time is wall time seen by the caller (the hop to the driver's thread and any wait for
    SQLite's write lock in its busy handler included). "Transaction open" runs from the end of BEGIN
    to COMMIT/ROLLBACK: on SQLite the write lock is held all that time. A wait for a lock taken
    before BEGIN (e.g. an in-process asyncio lock) or for a pool connection is not seen here.
    """

    def __init__(self, sync_engine: Any) -> None:
        self.active = True
        self.transactions = 0
        self.autocommits = 0
        self.connects = 0
        self.checkouts = 0
        self.commits = 0
        self.rollbacks = 0
        self.statements: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.max_seconds: dict[str, float] = {}
        self.open_seconds: dict[str, list[float]] = {}
        self._hooks: list[tuple[str, Callable[..., None]]] = [
            ("begin", self._on_begin),
            ("commit", self._on_commit),
            ("rollback", self._on_rollback),
            ("before_cursor_execute", self._before),
            ("after_cursor_execute", self._after),
            ("connect", self._on_connect),
            ("checkout", self._on_checkout),
        ]
        for name, hook in self._hooks:
            event.listen(sync_engine, name, hook)

    def detach(self) -> None:
        """Stop counting (the listeners stay: removing one while the engine dispatches an event fails)."""
        self.active = False

    def _on_begin(self, conn: Any) -> None:
        # Runs after the product's own "begin" listener, which has already waited for BEGIN IMMEDIATE.
        if not self.active:
            return
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            # PostgreSQL autocommit: each statement is its own transaction on the server; no BEGIN/COMMIT sent
            self.autocommits += 1
            conn.info["bench_autocommit"] = True
            return
        self.transactions += 1
        conn.info["bench_began"] = time.perf_counter()

    def _on_connect(self, *_args: Any) -> None:
        if self.active:
            self.connects += 1  # a new database connection (the pool had none free, or dropped one)

    def _on_checkout(self, *_args: Any) -> None:
        if self.active:
            self.checkouts += 1

    def _on_commit(self, conn: Any) -> None:
        if self.active and not conn.info.pop("bench_autocommit", False):
            self.commits += 1
            self._closed(conn)

    def _on_rollback(self, conn: Any) -> None:
        if self.active and not conn.info.pop("bench_autocommit", False):
            self.rollbacks += 1
            self._closed(conn)

    def _closed(self, conn: Any) -> None:
        began = conn.info.pop("bench_began", None)
        kind = conn.info.pop("bench_begin_kind", "transaction")  # no BEGIN statement seen (asyncpg)
        if began is not None:
            self.open_seconds.setdefault(kind, []).append(time.perf_counter() - began)

    def _before(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self.active:
            return
        elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        words = statement.split(None, 2)
        kind = " ".join(words[:2]) if words and words[0].upper() == "BEGIN" else (words[0].upper() if words else "?")
        if kind.startswith("BEGIN"):
            conn.info["bench_begin_kind"] = kind
        self.statements[kind] += 1
        self.seconds[kind] += elapsed
        self.max_seconds[kind] = max(self.max_seconds.get(kind, 0.0), elapsed)

    def per_press(self, presses: int) -> dict[str, Any]:
        """The counts divided by ``presses``; statement times in ms per statement."""
        n = max(presses, 1)
        open_ms = {}
        for kind, values in sorted(self.open_seconds.items()):
            held = sorted(values)
            open_ms[kind] = {
                "per_press": round(len(held) / n, 2),
                "mean": round(sum(held) / len(held) * 1000, 2),
                "p50": round(percentile(held, 50) * 1000, 2),
                "p99": round(percentile(held, 99) * 1000, 2),
                "max": round(held[-1] * 1000, 2),
            }
        return {
            # BEGIN done -> COMMIT/ROLLBACK, by how the transaction began; on SQLite a BEGIN IMMEDIATE
            # transaction holds the database's write lock all along.
            "transaction_open_ms": open_ms,
            "transactions_per_press": round(self.transactions / n, 2),
            "autocommit_units_per_press": round(self.autocommits / n, 2),
            "connections_opened_per_press": round(self.connects / n, 3),
            "pool_checkouts_per_press": round(self.checkouts / n, 2),
            "commits_per_press": round(self.commits / n, 2),
            "rollbacks_per_press": round(self.rollbacks / n, 2),
            "statements_per_press": {k: round(v / n, 2) for k, v in self.statements.most_common()},
            "statement_mean_ms": {
                k: round(self.seconds[k] / v * 1000, 3) for k, v in self.statements.most_common()
            },
            "statement_max_ms": {k: round(v * 1000, 1) for k, v in sorted(self.max_seconds.items())},
            "statement_ms_per_press": {
                k: round(self.seconds[k] / n * 1000, 2) for k, _ in self.statements.most_common()
            },
        }


# ---- the product -----------------------------------------------------------------------------


def keyboard_message(emulator: BotApiEmulator, chat_id: int) -> SentMessage | None:
    """The latest message in ``chat_id`` carrying the ``lang:en`` button."""
    for msg in reversed(emulator.messages(chat_id)):
        if any(data == "lang:en" for row in buttons(msg) for _label, data in row):
            return msg
    return None


async def bind_users(harness: BotHarness, emulator: BotApiEmulator | None, ids: list[int]) -> None:
    """An org unit and one expert per user, each bound with an invite (as ``/start <code>`` would)."""
    uow = harness.uow
    async with uow() as unit:
        await orgs.add_org_unit(unit, actor=SYSTEM_CLI, code="bureau", name="兵团医疗保障局", kind="bureau")
    async with uow() as unit:
        await orgs.add_org_unit(
            unit, actor=SYSTEM_CLI, code="div1", name="第一师医保局", kind="division", parent_code="bureau"
        )
    for n, uid in enumerate(ids):
        if emulator is not None:  # with --emulator-process the child has created the users
            emulator.user(uid, first_name=f"Expert{n}", language_code="zh")
        async with uow() as unit:
            person = await orgs.add_member(unit, actor=SYSTEM_CLI, kind="expert", name=f"专家{n:04d}", org="div1")
        assert person.id is not None
        async with uow() as unit:
            issued = await accounts.create_invite(unit, actor=SYSTEM_CLI, role="expert", person_id=person.id)
        async with uow() as unit:
            await accounts.redeem_invite(
                unit, channel="telegram", external_user_id=str(uid), chat_id=str(uid), code=issued.code, language="zh"
            )


async def open_keyboards(emulator: BotApiEmulator, ids: list[int]) -> list[Keyboard]:
    """Each user sends ``/language`` once; returns their keyboard messages."""
    for uid in ids:
        await emulator.user(uid).send_command("/language")
    # Replies are new messages: the emulator's and the bot's flood limits (30/s) pace them.
    await emulator.wait_for(
        lambda: all(keyboard_message(emulator, uid) is not None for uid in ids), timeout=30 + len(ids) / 5
    )
    keyboards = []
    for uid in ids:
        msg = keyboard_message(emulator, uid)
        assert msg is not None
        keyboards.append(Keyboard(emulator.user(uid), msg.message_id))
    return keyboards


async def run_product(
    work: Workload, database_url: str, *, profile_to: Path | None = None, emulator_process: bool = False
) -> dict[str, Any]:
    """The real bot in webhook mode: bind, open keyboards, then the measured phase."""
    from bench.emulator_process import EmulatorProcess

    remote = EmulatorProcess() if emulator_process else None
    local = None if emulator_process else TimedEmulator(token=TOKEN)  # default flood limits
    emulator: Any = remote or local
    await emulator.start()
    harness: BotHarness | None = None
    keyboards: list[Keyboard] = []
    try:
        harness = await start_bot(emulator, database_url, mode=BotMode.WEBHOOK, freeze_heap=True)
        ids = user_ids(work.users)
        setup_started = time.perf_counter()
        if remote is not None:
            await remote.users(ids)
        await bind_users(harness, local, ids)
        if remote is not None:
            await remote.open_keyboards(ids)
        else:
            assert local is not None
            keyboards = await open_keyboards(local, ids)
        setup_s = time.perf_counter() - setup_started
        await _settle_outbox(harness)

        engine = _product_engine(harness)
        server = ServerCpu(database_url) if make_url(database_url).get_backend_name() == "postgresql" else None
        if server is not None:
            await server.start()
        counters = DbCounters(engine.sync_engine) if engine is not None else None
        profiler = cProfile.Profile() if profile_to is not None else None
        if profiler is not None:
            profiler.enable()
        try:
            phase = await (remote_phase(remote, work) if remote is not None else press_phase(emulator, keyboards, work))
        finally:
            if profiler is not None:
                profiler.disable()
            if counters is not None:
                counters.detach()
        if profiler is not None and profile_to is not None:
            _write_profile(profiler, profile_to)
        server_s = await server.seconds() if server is not None else None
        row = summarize(phase)
        row["setup_s"] = round(setup_s, 2)
        if server_s is not None:
            row["server_cpu_ms_per_press"] = round(server_s * 1000 / max(phase.presses, 1), 2)
        if counters is not None:
            row["db"] = counters.per_press(phase.presses)
        return row
    finally:
        if harness is not None and not harness.task.done():
            await harness.shutdown()
        await emulator.stop()


class ServerCpu:
    """CPU time of the PostgreSQL server processes serving the bench's database (PostgreSQL on this machine only).

    The backends connected to the database (``pg_stat_activity``), read from ``/proc/<pid>/stat`` at the start
    and the end of the phase; a backend that started during the phase counts whole, one that ended during it is
    missed (the pool keeps its connections, so few do). The server's shared processes (WAL writer, checkpointer)
    serve every database on the server and are left out.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._start: dict[int, float] = {}

    async def _backends(self) -> dict[int, float]:
        engine = create_async_engine(self.url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ))
                pids = [int(pid) for (pid,) in rows]
        finally:
            await engine.dispose()
        return _process_cpu_seconds(pids)

    async def start(self) -> None:
        """Note the backends' CPU time now."""
        self._start = await self._backends()

    async def seconds(self) -> float | None:
        """CPU seconds the backends used since :meth:`start` (None when none could be read)."""
        end = await self._backends()
        if not end:
            return None
        return sum(used - self._start.get(pid, 0.0) for pid, used in end.items())


def _process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each of ``pids`` has used, from /proc; a pid that cannot be read is left out."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile, or the server is on another machine
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return seconds


def _product_engine(harness: BotHarness) -> Any | None:
    """The bot's SQLAlchemy engine, for the database counters (None if the wiring changed)."""
    try:
        return harness.running.services.uow.session_factory.kw["bind"]
    except (AttributeError, KeyError):
        print("note: the bot's engine was not found; no database statistics", flush=True)
        return None


async def _settle_outbox(harness: BotHarness, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the dispatcher has nothing in flight (the setup's messages are all recorded)."""
    dispatcher = harness.running.dispatcher
    for _ in range(int(timeout / 0.05)):
        if not getattr(dispatcher, "in_flight", 0):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)


def _write_profile(profiler: cProfile.Profile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(path))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write("==== by own time (tottime) ====\n")
    stats.sort_stats("tottime").print_stats(40)
    out.write("==== by cumulative time ====\n")
    stats.sort_stats("cumulative").print_stats(60)
    path.with_suffix(".txt").write_text(out.getvalue(), encoding="utf-8")
    print(f"profile of the product's measured phase: {path} (text: {path.with_suffix('.txt')})")


# ---- the baseline ----------------------------------------------------------------------------


async def run_baseline(work: Workload, *, emulator_process: bool = False) -> dict[str, Any]:
    """A bare PTB bot behind a minimal aiohttp webhook, on a fresh emulator, same presses."""
    from bench.emulator_process import EmulatorProcess

    remote = EmulatorProcess() if emulator_process else None
    emulator: Any = remote or TimedEmulator(token=TOKEN)
    await emulator.start()
    keyboard = {
        "inline_keyboard": [[{"text": translate("zh", f"language.name.{code}"), "callback_data": f"lang:{code}"}
                             for code in ("zh", "en")]]
    }
    keyboards = []
    if remote is not None:
        await remote.baseline_keyboards(user_ids(work.users))
    for n, uid in enumerate([] if remote is not None else user_ids(work.users)):
        user = emulator.user(uid, first_name=f"Expert{n}", language_code="zh")
        # The keyboard messages are put straight into the fake Telegram (no bot involved).
        msg = emulator.add_bot_message(
            SentMessage(0, uid, text=translate("zh", "language.choose"), reply_markup=keyboard)
        )
        keyboards.append(Keyboard(user, msg.message_id))

    async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        choice = (query.data or "").removeprefix("lang:")
        await query.answer()
        await query.edit_message_text(translate(choice, "language.set"))

    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(emulator.base_url)
        .base_file_url(emulator.file_base_url)
        .updater(None)
        .concurrent_updates(64)
        .build()
    )
    application.add_handler(CallbackQueryHandler(pressed))
    secret = WEBHOOK_SECRET.encode()

    async def webhook(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret):
            return web.json_response({"ok": False}, status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, webhook)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with application:
            await application.start()
            await application.bot.set_webhook(
                f"http://127.0.0.1:{port}{WEBHOOK_PATH}", secret_token=WEBHOOK_SECRET,
                allowed_updates=Update.ALL_TYPES,
            )
            settle_heap()  # as the product does once it runs (bot/runtime.py)
            try:
                phase = await (
                    remote_phase(remote, work) if remote is not None else press_phase(emulator, keyboards, work)
                )
            finally:
                await application.stop()
        return summarize(phase)
    finally:
        await runner.cleanup()
        await emulator.stop()


# ---- databases -------------------------------------------------------------------------------


def _async_url(url: str) -> str:
    for prefix, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                           ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(prefix):
            return driver + url.split("://", 1)[1]
    return url


@contextlib.asynccontextmanager
async def scratch_database(url: str | None) -> AsyncIterator[tuple[str, str]]:
    """A migrated, empty database: (url, kind).

    No URL: a SQLite file in a temporary directory. A SQLite URL: that file (it must be new or
    empty). A PostgreSQL URL: a scratch database created on that server and dropped afterwards
    (the URL's user needs CREATEDB), so the benchmark never touches data that is already there.
    """
    if url is None:
        with tempfile.TemporaryDirectory(prefix="fundwatch-bench-") as tmp:
            sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            await asyncio.to_thread(migrate.upgrade, sqlite_url)
            yield sqlite_url, "sqlite"
        return
    url = _async_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        await asyncio.to_thread(migrate.upgrade, url)
        yield url, "sqlite"
        return
    if backend != "postgresql":
        raise SystemExit(f"--database-url: unsupported database {backend!r}")
    name = f"fundwatch_bench_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    await admin(f'CREATE DATABASE "{name}"')
    scratch = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(migrate.upgrade, scratch)
        yield scratch, "postgresql"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- reporting -------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(phase: Phase) -> dict[str, Any]:
    """Throughput and latency percentiles of a phase."""
    values = sorted(phase.latencies_ms)
    lags = sorted(phase.loop_lag_ms)
    answers = sorted(phase.webhook_answer_ms)
    n = max(phase.presses, 1)
    return {
        **({} if not answers else {"webhook_answer_ms": {
            "mean": round(sum(answers) / len(answers), 2), "p50": round(percentile(answers, 50), 2),
            "p99": round(percentile(answers, 99), 2),
        }}),
        "presses": phase.presses,
        "wall_s": round(phase.wall_s, 3),
        "presses_per_s": round(phase.presses / phase.wall_s, 1) if phase.wall_s > 0 else math.nan,
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(values[-1], 2) if values else math.nan,
        "mean_ms": round(sum(values) / len(values), 2) if values else math.nan,
        "callback_answers": phase.callback_answers,
        "cpu_ms_per_press": round(phase.cpu_s / n * 1000, 2),
        **({} if phase.bot_cpu_s is None else {
            "bot_cpu_ms_per_press": round(phase.bot_cpu_s / n * 1000, 2),
            "emulator_cpu_ms_per_press": round((phase.emulator_cpu_s or 0.0) / n * 1000, 2),
        }),
        "cpu_utilisation": round(phase.cpu_s / phase.wall_s, 2) if phase.wall_s > 0 else math.nan,
        "other_processes_cpus": round(phase.others_cpu_s / phase.wall_s, 2) if phase.wall_s > 0 else math.nan,
        "bot_api_requests_per_press": {k: round(v / n, 2) for k, v in phase.requests.items()},
        "event_loop_lag_ms": {
            "p50": round(percentile(lags, 50), 2),
            "p99": round(percentile(lags, 99), 2),
            "max": round(lags[-1], 2) if lags else math.nan,
        },
    }


def machine_info() -> dict[str, Any]:
    """CPU, Python and library versions of this run."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("python-telegram-bot", "aiohttp", "uvloop", "SQLAlchemy", "aiosqlite", "asyncpg", "httpx"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return {
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "libraries": versions,
    }


def code_fingerprint() -> dict[str, Any]:
    """Which product code was measured: a hash of bot/, services/, storage/, messages/ and their newest change."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    newest = 0.0
    for package in ("bot", "services", "storage", "messages"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".toml") and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
                newest = max(newest, path.stat().st_mtime)
    return {
        "sha256": digest.hexdigest()[:16],
        "newest_file_change": datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds") if newest else None,
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else math.nan


def render(report: dict[str, Any]) -> str:
    """The markdown report."""
    product, baseline, ratios = report["product"], report["baseline"], report["ratios"]
    cfg, machine, targets = report["workload"], report["machine"], report["targets"]
    lines = [
        f"## Button presses, end to end ({report['database']})",
        "",
        f"{cfg['users']} users bound, "
        + (f"presses started at {cfg['rate']:g}/s whatever the answers (open loop; latency from when each was due), "
           if cfg.get("rate") else f"{cfg['concurrency']} pressing at once, ")
        + f"{cfg['presses']} presses per bot; "
        "a press is done when its editMessageText reaches the emulator. "
        + ("The emulator and the pressing users run in a process of their own (--emulator-process)."
           if report.get("emulator_process") else "The emulator, the pressing users and the bot share one process.")
        + f" Event loop: {report.get('event_loop', 'asyncio')}."
        + (" Webhook delivery: up to 40 requests at once, one at a time per chat (--parallel-webhook)."
           if report.get("parallel_webhook") else " Webhook delivery: one update at a time."),
        "",
        "| bot | presses | wall s | presses/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in ((f"product ({report['database']})", product), ("baseline (bare PTB, no DB)", baseline)):
        lines.append(
            f"| {name} | {row['presses']} | {row['wall_s']:.2f} | {row['presses_per_s']:.1f} | {row['p50_ms']:.1f} "
            f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.1f} |"
        )
    lines.append(
        f"| product / baseline | | | {ratios['throughput']:.2f}× | {ratios['p50']:.2f}× | {ratios['p95']:.2f}× "
        f"| {ratios['p99']:.2f}× | |"
    )
    lines += ["", "Targets:", ""]
    for target in targets:
        verdict = "PASS" if target["pass"] else "FAIL"
        lines.append(f"- {target['name']}: {target['value']} (target {target['target']}) — **{verdict}**")
    db = product.get("db", {})
    if db:
        statements = ", ".join(f"{k} {v}" for k, v in db["statements_per_press"].items())
        mean_ms = ", ".join(f"{k} {v}" for k, v in db["statement_mean_ms"].items())
        lines += [
            "",
            f"Product, per press: {db['transactions_per_press']} transactions ({db['commits_per_press']} commits, "
            f"{db['rollbacks_per_press']} rollbacks) and {db.get('autocommit_units_per_press', 0)} units of work in "
            f"autocommit (no BEGIN); statements: {statements}; pool checkouts "
            f"{db.get('pool_checkouts_per_press', '?')}, new connections "
            f"{db.get('connections_opened_per_press', '?')}.",
            f"Mean statement wall time (ms, lock waits included): {mean_ms}.",
            "Transactions open (BEGIN done -> COMMIT/ROLLBACK), ms: "
            + "; ".join(
                f"{kind} ({v['per_press']}/press) mean {v['mean']}, p50 {v['p50']}, p99 {v['p99']}, max {v['max']}"
                for kind, v in db["transaction_open_ms"].items()
            ) + ".",
            "Bot API requests per press: product "
            + ", ".join(f"{k} {v}" for k, v in product["bot_api_requests_per_press"].items())
            + "; baseline "
            + ", ".join(f"{k} {v}" for k, v in baseline["bot_api_requests_per_press"].items())
            + ".",
        ]
    if report.get("emulator_process"):
        lines.append(
            f"CPU per press (all threads), bot process + emulator process: product "
            f"{product.get('bot_cpu_ms_per_press', '?')} + {product.get('emulator_cpu_ms_per_press', '?')} = "
            f"{product['cpu_ms_per_press']} ms ({product['cpu_utilisation']} CPUs busy), baseline "
            f"{baseline.get('bot_cpu_ms_per_press', '?')} + {baseline.get('emulator_cpu_ms_per_press', '?')} = "
            f"{baseline.get('cpu_ms_per_press', '?')} ms ({baseline.get('cpu_utilisation', '?')} CPUs busy)."
        )
    else:
        lines.append(
            f"Process CPU per press (all threads): product {product['cpu_ms_per_press']} ms "
            f"({product['cpu_utilisation']} CPUs busy), baseline {baseline.get('cpu_ms_per_press', '?')} ms "
            f"({baseline.get('cpu_utilisation', '?')} CPUs busy); the emulator and the load run in the same process."
        )
    answer_p, answer_b = product.get("webhook_answer_ms"), baseline.get("webhook_answer_ms")
    if isinstance(answer_p, dict):
        lines.append(
            f"Webhook answer (POST to the bot's 200), ms: product mean {answer_p['mean']}, p50 {answer_p['p50']}, "
            f"p99 {answer_p['p99']}"
            + (f"; baseline mean {answer_b['mean']}, p50 {answer_b['p50']}, p99 {answer_b['p99']}"
               if isinstance(answer_b, dict) else "") + "."
        )
    if product.get("server_cpu_ms_per_press") is not None:
        lines.append(
            f"PostgreSQL server CPU per press (the backends serving the bench's database): "
            f"{product['server_cpu_ms_per_press']} ms."
        )
    lag_p, lag_b = product["event_loop_lag_ms"], baseline.get("event_loop_lag_ms", {})
    lines.append(
        f"Event loop lag (a 5 ms timer fires late by), ms: product p50 {lag_p['p50']}, p99 {lag_p['p99']}, "
        f"max {lag_p['max']}; baseline p50 {lag_b.get('p50', '?')}, p99 {lag_b.get('p99', '?')}, "
        f"max {lag_b.get('max', '?')}."
    )
    lines += [
        "",
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpus_usable']} usable), {machine['cpu_model'] or '?'}; "
        f"{machine['implementation']} {machine['python']}; {machine['platform']}.",
        f"Other processes used {report['others_busy_before']} CPUs just before the run, "
        f"{product.get('other_processes_cpus', '?')} during the product's phase and "
        f"{baseline.get('other_processes_cpus', '?')} during the baseline's; load average (1 min) at the end "
        f"{machine['load_average_1_5_15'][0]}.",
        f"Product code {report['code']['sha256']} (newest change {report['code']['newest_file_change']}).",
        f"Product setup (bind + keyboards, not measured): {product.get('setup_s', '?')} s.",
    ]
    if report["machine_busy"]:
        lines.append(
            "**Warning:** other processes used the CPUs during this run (more than "
            f"{BUSY_OTHERS} CPUs on average): the numbers are lower than on a quiet machine."
        )
    if report.get("code_at_end", report["code"])["sha256"] != report["code"]["sha256"]:
        lines.append(
            f"**Warning:** the product code changed during the run (now {report['code_at_end']['sha256']}); "
            "the bot ran the code it had imported at the start."
        )
    if report["profiled"]:
        lines.append("**Profiled run:** cProfile slows the product down; do not compare these numbers.")
    return "\n".join(lines)


def build_report(
    work: Workload, database: str, product: dict[str, Any], baseline: dict[str, Any], *, profiled: bool,
    others_before: float = 0.0,
) -> dict[str, Any]:
    """Rows, ratios, targets and machine info as one JSON-able dict."""
    ratios = {
        "throughput": _ratio(product["presses_per_s"], baseline["presses_per_s"]),
        "p50": _ratio(product["p50_ms"], baseline["p50_ms"]),
        "p95": _ratio(product["p95_ms"], baseline["p95_ms"]),
        "p99": _ratio(product["p99_ms"], baseline["p99_ms"]),
    }
    throughput_name = "product presses/s" + (" on SQLite" if database == "sqlite" else f" on {database}")
    targets = [
        {"name": throughput_name, "value": product["presses_per_s"], "target": f">= {TARGET_PRESSES_PER_S:g}",
         "pass": product["presses_per_s"] >= TARGET_PRESSES_PER_S},
        {"name": "product p99 latency (ms)", "value": product["p99_ms"], "target": f"<= {TARGET_P99_MS:g}",
         "pass": product["p99_ms"] <= TARGET_P99_MS},
    ]
    return {
        "benchmark": "button_presses",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database,
        "profiled": profiled,
        "workload": {"users": work.users, "concurrency": min(work.concurrency, work.users), "presses": work.presses,
                     "rate": work.rate},
        "machine": machine_info(),
        "others_busy_before": round(others_before, 2),
        "machine_busy": max(others_before, product.get("other_processes_cpus") or 0.0,
                            baseline.get("other_processes_cpus") or 0.0) > BUSY_OTHERS,
        "code": code_fingerprint(),
        "product": product,
        "baseline": baseline,
        "ratios": ratios,
        "targets": targets,
    }


# ---- command line ----------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """``value`` with NaN (a missing number) as ``null``, so the file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def append_history(report: dict[str, Any], path: Path) -> None:
    """One line per run, so results can be followed across code changes."""
    keys = ("presses_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "cpu_ms_per_press", "other_processes_cpus")
    line = {
        "finished_at": report["finished_at"],
        "database": report["database"],
        "profiled": report["profiled"],
        "emulator_process": report.get("emulator_process", False),
        "event_loop": report.get("event_loop", "asyncio"),
        "workload": report["workload"],
        "code": report["code"]["sha256"],
        "machine_busy": report["machine_busy"],
        "product": {k: report["product"].get(k) for k in keys},
        "baseline": {k: report["baseline"].get(k) for k in keys},
        "targets_passed": [t["pass"] for t in report["targets"]],
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.button_presses",
        description="Button presses per second end to end (webhook -> handler -> DB commit -> outbox edit), "
        "product vs a bare PTB bot, against the Bot API emulator.",
    )
    parser.add_argument("--users", type=int, default=None, help="users bound to the product (default 100)")
    parser.add_argument("--concurrency", type=int, default=None, help="users pressing at once (default 50)")
    parser.add_argument("--rate", type=float, default=None, metavar="PER_SECOND",
                        help="open loop instead: start presses at this rate whatever the answers (a user never has "
                             "two in flight; --concurrency is then ignored)")
    parser.add_argument("--presses", type=int, default=None, help="presses per bot in all (default 2000)")
    parser.add_argument("--database-url", default=None,
                        help="sqlite:///FILE, or postgresql://USER@HOST/DB: a scratch database is created on that "
                             "server and dropped afterwards (default: a temporary SQLite file)")
    parser.add_argument("--quick", action="store_true",
                        help="small run for smoke testing: 10 users, 5 at once, 200 presses")
    parser.add_argument("--skip-baseline", action="store_true", help="run the product only (no table ratios)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the product's measured phase (slows it; numbers are marked as profiled)")
    parser.add_argument("--emulator-process", action="store_true",
                        help="run the Bot API emulator and the pressing users in a process of their own, so the "
                             "bot under test has the event loop to itself (see bench/README.md)")
    parser.add_argument("--parallel-webhook", action="store_true",
                        help="the emulator posts up to 40 updates to the webhook at once (one at a time per chat), "
                             "as Telegram does with its default max_connections; default: one at a time")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="before starting, wait up to SECONDS until other processes leave the CPUs alone "
                             "(3 s in a row under 0.2 CPUs)")
    parser.add_argument("--event-loop", choices=CHOICES, default=UVLOOP,
                        help="the event loop both bots run on (default uvloop, as `python -m bot run`)")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON result file (default bench/results/button_presses.json, "
                             "or button_presses-quick.json with --quick)")
    args = parser.parse_args(argv)
    defaults = (10, 5, 200) if args.quick else (100, 50, 2000)
    args.users = args.users if args.users is not None else defaults[0]
    args.concurrency = args.concurrency if args.concurrency is not None else defaults[1]
    args.presses = args.presses if args.presses is not None else defaults[2]
    if args.users < 1 or args.concurrency < 1 or args.presses < 1:
        parser.error("--users, --concurrency and --presses must be positive")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if args.concurrency > args.users:
        parser.error("--concurrency cannot exceed --users (a user never has two presses in flight)")
    if args.output is None:
        args.output = RESULTS / ("button_presses-quick.json" if args.quick else "button_presses.json")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Run both bots and return the report."""
    work = Workload(users=args.users, concurrency=args.concurrency, presses=args.presses, rate=args.rate)
    if args.parallel_webhook:
        os.environ[PARALLEL_WEBHOOK_ENV] = "1"
    code_at_start = code_fingerprint()
    others_before = await others_busy()
    if args.wait_quiet > 0 and others_before > BUSY_OTHERS:
        print(f"other processes use {others_before:.2f} CPUs: waiting up to {args.wait_quiet:g} s for a quiet "
              "machine ...", flush=True)
        deadline, quiet_for = time.monotonic() + args.wait_quiet, 0
        while time.monotonic() < deadline and quiet_for < 3:
            others_before = await others_busy()
            quiet_for = quiet_for + 1 if others_before <= BUSY_OTHERS else 0
    if others_before > BUSY_OTHERS:
        print(f"warning: other processes are using {others_before:.2f} of the {os.cpu_count()} CPUs: "
              "the numbers will be lower than on a quiet machine", flush=True)
    profile_to = RESULTS / "button_presses_profile.pstats" if args.profile else None
    if args.skip_baseline:
        baseline = None
    else:
        print(f"baseline: bare PTB, {work.presses} presses ...", flush=True)
        baseline = await run_baseline(work, emulator_process=args.emulator_process)
    async with scratch_database(args.database_url) as (url, kind):
        print(f"product: {kind}, binding {work.users} users, then {work.presses} presses ...", flush=True)
        product = await run_product(work, url, profile_to=profile_to, emulator_process=args.emulator_process)
    if baseline is None:
        baseline = {k: math.nan for k in ("presses_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "wall_s")}
        baseline.update(presses=0, bot_api_requests_per_press={})
    report = build_report(work, kind, product, baseline, profiled=args.profile, others_before=others_before)
    report["emulator_process"] = args.emulator_process
    report["parallel_webhook"] = args.parallel_webhook
    report["event_loop"] = loop_name(asyncio.get_running_loop())
    report["code"], report["code_at_end"] = code_at_start, report["code"]
    return report


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 0 whether or not the targets are met (it is a measurement)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    try:
        report = run(main_async(args), choice=args.event_loop)
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    text_report = render(report)
    report = _json_safe(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    append_history(report, args.output.parent / "button_presses.history.jsonl")
    print()
    print(text_report)
    print()
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
