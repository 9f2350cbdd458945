"""Time to the first getUpdates: ``python -m bot run`` (polling, SQLite, migrated beforehand) against a minimal fake
Bot API, next to a bare python-telegram-bot ``run_polling`` bot, interleaved; from the process's spawn to its first
getUpdates request. The bot loads its handler modules after start-up (issue 21), so this is what a restart costs
before Telegram's queue starts draining.

Run from the repository root::

    .venv/bin/python -m bench.first_update            # 7 runs each
    .venv/bin/python -m bench.first_update --before /tmp/main   # and another checkout's bot, interleaved

See ``bench/README.md`` (section ``first_update``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
TOKEN = "123456:bench"
BARE = """
import sys
from telegram.ext import Application, CallbackQueryHandler
app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2]).build()
async def pressed(update, context):
    pass
app.add_handler(CallbackQueryHandler(pressed))
app.run_polling()
"""
ME = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


class FakeApi:
    """Answers every Bot API method plausibly; notes when the first getUpdates of the current run arrives."""

    def __init__(self) -> None:
        self.first: asyncio.Future[float] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        if method == "getUpdates":
            if self.first is not None and not self.first.done():
                self.first.set_result(time.perf_counter())
            await asyncio.sleep(0.2)
            return web.json_response({"ok": True, "result": []})
        return web.json_response({"ok": True, "result": [] if method.startswith("get") else True})


async def _time_one(api: FakeApi, command: list[str], env: dict[str, str], cwd: str) -> float:
    api.first = asyncio.get_running_loop().create_future()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL)
    try:
        first = await asyncio.wait_for(api.first, timeout=120)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
    return first - started


async def _bot_env(root: Path, base: str, folder: str, name: str) -> dict[str, str]:
    """The environment of the bot of ``root``, on its own database, migrated by that checkout."""
    env = {**os.environ, "PYTHONPATH": str(root), "BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base,
           "TELEGRAM_FILE_BASE_URL": base.replace("/bot", "/file/bot"), "BOT_MODE": "polling",
           "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/{name}.db", "LISTEN_PORT": "0", "LOG_LEVEL": "WARNING"}
    upgrade = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "db", "upgrade", env=env, cwd=folder,
                                                   stdout=subprocess.DEVNULL)
    if await upgrade.wait() != 0:
        raise RuntimeError(f"db upgrade failed in {root}")
    return env


async def _measure(runs: int, before: Path | None) -> dict[str, list[float]]:
    api = FakeApi()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    bot = [sys.executable, "-m", "bot", "run"]
    with tempfile.TemporaryDirectory() as folder:
        series = {"product": (bot, await _bot_env(ROOT, base, folder, "product")),
                  "baseline": ([sys.executable, "-c", BARE, TOKEN, base], dict(os.environ))}
        if before:
            series["before"] = (bot, await _bot_env(before, base, folder, "before"))
        for command, env in series.values():  # warm the file cache once
            await _time_one(api, command, env, folder)
        times: dict[str, list[float]] = {name: [] for name in series}
        for _ in range(runs):
            for name, (command, env) in series.items():
                times[name].append(await _time_one(api, command, env, folder))
    await runner.cleanup()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS / "first_update.json")
    parser.add_argument("--before", type=Path, help="also time the bot of this checkout (e.g. main), interleaved")
    args = parser.parse_args(argv)
    times = asyncio.run(_measure(args.runs, args.before))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["product"] / medians["baseline"]
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "runs": args.runs, "medians_s": medians,
              "ratio_product_to_baseline": ratio, "times_s": times}
    before = (f"; before {medians['before']:.3f} s: ratio {medians['before'] / medians['baseline']:.2f}"
              if "before" in medians else "")
    print(f"first getUpdates: bare PTB {medians['baseline']:.3f} s, the bot {medians['product']:.3f} s: "
          f"ratio {ratio:.2f}{before}")
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
