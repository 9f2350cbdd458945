"""Start-up cost: a fresh interpreter that imports the bot's runtime and command line (everything ``python -m bot
run`` loads before it connects), next to one that imports bare python-telegram-bot's ``Application`` with aiohttp
(what a minimal bot loads), interleaved so the machine's load falls on both alike.

Run from the repository root::

    .venv/bin/python -m bench.startup            # 15 runs each
    .venv/bin/python -m bench.startup --before /tmp/main   # and another checkout's bot, interleaved

See ``bench/README.md`` (section ``startup``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PRODUCT = "import bot.runtime, bot.cli, bot.app"
BASELINE = "import aiohttp; from telegram.ext import Application, CallbackQueryHandler"
EMPTY = "pass"


def _run(code: str, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--output", type=Path, default=RESULTS / "startup.json")
    parser.add_argument("--before", type=Path, help="also time the bot of this checkout (e.g. main), interleaved")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"product": [], "baseline": [], "interpreter": []}
    if args.before:
        times["before"] = []
        _run(PRODUCT, args.before)
    for code in (PRODUCT, BASELINE):  # warm the file cache once
        _run(code)
    for _ in range(args.runs):
        if args.before:
            times["before"].append(_run(PRODUCT, args.before))
        times["product"].append(_run(PRODUCT))
        times["baseline"].append(_run(BASELINE))
        times["interpreter"].append(_run(EMPTY))
    medians = {name: statistics.median(values) for name, values in times.items()}
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "runs": args.runs, "medians_s": medians,
              "ratio_product_to_baseline": medians["product"] / medians["baseline"], "times_s": times}
    print(f"interpreter {medians['interpreter']:.3f} s, bare PTB {medians['baseline']:.3f} s, "
          f"the bot {medians['product']:.3f} s: ratio {report['ratio_product_to_baseline']:.2f}"
          + (f"; before {medians['before']:.3f} s: ratio {medians['before'] / medians['baseline']:.2f}"
             if args.before else ""))
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
