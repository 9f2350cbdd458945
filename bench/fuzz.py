"""Nightly-size robustness and memory run: tens of thousands of generated updates through the webhook of the real
bot process (``python -m bot run``), its resident memory read at checkpoints.

The bot runs as its own process on a temporary SQLite file (or ``--database-url``), in webhook mode, against a Bot
API emulator in this process; the updates come from ``tests/fuzz.py`` (every kind, hostile contents) from a pool of
``--users`` Telegram users (each a private chat the emulator knows), a few of them bound to staff, an expert and a
supervisor. At each checkpoint the driver waits until the bot has handled everything sent (its ``/metrics``
counters stop moving), then reads the bot process's ``VmRSS`` from ``/proc``. The run fails (exit 1) if any handler
raised (``fundwatch_handler_errors_total``) or the audit chain does not verify.

    python -m bench.fuzz                               # 50,000 updates, checkpoints every 10,000
    python -m bench.fuzz --updates 20000 --every 5000  # shorter
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.draws import PoolSize, build_pool
from bot.emulator import BotApiEmulator, Limits
from storage.db import create_engine
from tests.fuzz import Cast, UpdateFuzzer

TOKEN = "123456:FUZZ-BENCH-TOKEN"
SECRET = "fuzz-bench-secret"
ADMIN = 9001
BATCH = 20  # updates posted at once (Telegram's webhook sends up to max_connections in parallel)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def _env(emulator: BotApiEmulator, database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "DATABASE_"))}
    env.update(BOT_TOKEN=TOKEN, DATABASE_URL=database_url, TELEGRAM_API_BASE_URL=emulator.base_url,
               TELEGRAM_FILE_BASE_URL=emulator.file_base_url, BOT_MODE="webhook", LISTEN_HOST="127.0.0.1",
               LISTEN_PORT=str(port), WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
               WEBHOOK_SECRET=SECRET, RATE_PRIVATE_PER_SECOND="1000", RATE_PRIVATE_BURST="1000",
               RATE_GROUP_PER_MINUTE="100000", RATE_OVERALL_PER_SECOND="100000", LOG_LEVEL="WARNING")
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


async def _metrics(session: aiohttp.ClientSession, port: int) -> dict[str, float]:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("fundwatch_") and " " in line:
            name, value = line.rsplit(" ", 1)
            values[name] = values.get(name, 0.0) + float(value)
    return values


async def _settle(session: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """Wait until the bot's counters have not moved for two seconds."""
    last: dict[str, float] = {}
    still = 0
    while still < 4:
        await asyncio.sleep(0.5)
        now = await _metrics(session, port)
        still = still + 1 if now == last else 0
        last = now
    return last


def _errors(metrics: dict[str, float]) -> float:
    return sum(v for k, v in metrics.items() if k.startswith("fundwatch_handler_errors_total"))


async def _bind(emulator: BotApiEmulator, env: dict[str, str], session: aiohttp.ClientSession, port: int,
                ) -> list[int]:
    """An org unit and its admin, bound from a Telegram user through ``/start <code>`` (the others are strangers)."""
    if "bureau" not in _cli(env, "org", "list"):
        _cli(env, "org", "add", "--code", "bureau", "--name", "医疗保障局", "--kind", "bureau")
    staff = re.search(r"staff (\d+) created", _cli(env, "staff", "add", "--name", "王管理", "--org", "bureau",
                                                   "--role", "admin"))
    if staff is None:
        raise RuntimeError("the staff member was not created")
    code = re.search(r"code: (\S+)", _cli(env, "invite", "staff", staff.group(1)))
    if code is None:
        raise RuntimeError("no invite code printed")
    emulator.user(ADMIN, language_code="zh")
    await emulator.user(ADMIN).send_command("/start", code.group(1))
    await _settle(session, port)
    return [ADMIN]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    emulator = BotApiEmulator(token=TOKEN, limits=Limits(enabled=False))
    await emulator.start()
    folder = Path(tempfile.mkdtemp(prefix="fuzz-bench-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
    port = _free_port()
    env = _env(emulator, database_url, port)
    _cli(env, "db", "upgrade")
    if args.experts:
        engine = create_engine(database_url)
        try:
            await build_pool(engine, PoolSize(experts=args.experts), random.Random(args.seed))
        finally:
            await engine.dispose()
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env)  # noqa: ASYNC220 (runs for the whole bench)
    checkpoints: list[dict[str, Any]] = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    await _metrics(session, port)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            bound = await _bind(emulator, env, session, port)
            strangers = list(range(100_000, 100_000 + args.users))
            for user in strangers:
                emulator.user(user, language_code="zh")
            fuzzer = UpdateFuzzer(args.seed, Cast(users=(*bound, *strangers)))
            metrics = await _settle(session, port)
            checkpoints.append({"updates": 0, "rss_mb": round(_rss_mb(bot.pid), 1), "errors": _errors(metrics)})
            print(f"{0:>7} updates  {checkpoints[-1]['rss_mb']:7.1f} MB", flush=True)
            sent, started = 0, time.perf_counter()
            updates = fuzzer.updates(args.updates)
            while sent < args.updates:
                batch = [next(updates) for _ in range(min(BATCH, args.updates - sent))]
                statuses = await asyncio.gather(*(emulator.deliver_to_webhook_raw(u, secret=SECRET) for u in batch))
                if any(status != 200 for status in statuses):
                    raise RuntimeError(f"webhook answered {statuses}")
                sent += len(batch)
                if sent % args.every == 0 or sent == args.updates:
                    metrics = await _settle(session, port)
                    checkpoints.append({"updates": sent, "rss_mb": round(_rss_mb(bot.pid), 1),
                                        "errors": _errors(metrics),
                                        "seconds": round(time.perf_counter() - started, 1)})
                    print(f"{sent:>7} updates  {checkpoints[-1]['rss_mb']:7.1f} MB  "
                          f"errors {checkpoints[-1]['errors']:.0f}", flush=True)
        verified = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "audit", "verify"],
                                           env=env, capture_output=True, text=True, check=False)
    finally:
        bot.terminate()
        bot.wait(60)
        await emulator.stop()
    return {"benchmark": "fuzz", "when": datetime.now(UTC).isoformat(timespec="seconds"), "seed": args.seed,
            "users": args.users, "experts": args.experts, "database": "postgresql" if args.database_url else "sqlite",
            "checkpoints": checkpoints, "audit": verified.stdout.strip(), "audit_ok": verified.returncode == 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000, help="distinct Telegram users sending")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--experts", type=int, default=0, help="first fill the pool (bench.draws' generator)")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    output = args.output or Path("bench/results") / f"fuzz-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    failed = result["checkpoints"][-1]["errors"] > result["checkpoints"][0]["errors"] or not result["audit_ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
