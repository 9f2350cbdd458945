"""The cost of sealed outbox rows (issue 19; 003 三(四)): marking a batch of sends ``sent`` with the statement that also
clears a sealed row's recipient and content (``storage.repositories._mark_sent_statement``, CASE on ``sealed``)
against the statement as it was before (status, time, address, message id only), in the same run: the same rows
reset to pending before each round, rounds interleaved, medians of wall and CPU time per batch. No row of the
batch is sealed (the button presses' case); ``--sealed`` makes every tenth one sealed.

Run: ``python -m bench.outbox_seal`` (``--quick`` for a smoke run). Prints a table; numbers go in README
"Benchmarks".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Update, bindparam, func, update

from storage import migrate
from storage.db import create_engine
from storage.models import OutboxMessage
from storage.repositories import _mark_sent_statement

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _before_statement() -> Update:
    """``_mark_sent_statement`` before sealed rows (the baseline)."""
    table: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
    return (update(table).where(table.c.id == bindparam("b_id"), table.c.status == "pending").values(
        status="sent", claimed_until=None, sent_at=bindparam("b_now", type_=table.c.sent_at.type),
        sent_address=bindparam("b_address", type_=table.c.sent_address.type),
        external_message_id=func.coalesce(bindparam("b_message_id", type_=table.c.external_message_id.type),
                                          table.c.external_message_id)))


async def run(*, batch: int, rounds: int, sealed_every: int) -> dict[str, tuple[float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="outbox_seal_"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    table: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = [{"id": i, "channel": "telegram", "kind": "send", "address": str(7000 + i), "message_key": "x",
             "params": {"number": f"XS2026-{i:05d}"}, "buttons": [], "status": "pending", "attempts": 0,
             "created_at": T0, "next_attempt_at": T0, "sealed": bool(sealed_every and i % sealed_every == 0)}
            for i in range(1, batch + 1)]
    async with engine.begin() as connection:
        await connection.execute(table.insert(), rows)
    params = [{"b_id": r["id"], "b_now": T0, "b_address": r["address"], "b_message_id": f"m{r['id']}"} for r in rows]
    reset = [{"b_id": r["id"], "b_address": r["address"], "b_params": r["params"]} for r in rows]
    reset_statement = update(table).where(table.c.id == bindparam("b_id")).values(
        status="pending", sent_at=None, address=bindparam("b_address"), params=bindparam("b_params"))
    timings: dict[str, list[tuple[float, float]]] = {"before": [], "sealed": []}
    statements = {"before": _before_statement(), "sealed": _mark_sent_statement()}
    try:
        for _ in range(rounds):
            for name, statement in statements.items():
                async with engine.begin() as connection:
                    await connection.execute(reset_statement, reset)
                wall, cpu = time.perf_counter(), time.process_time()
                async with engine.begin() as connection:
                    await connection.execute(statement, params)
                timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    finally:
        await engine.dispose()
    return {name: (statistics.median(w for w, _ in found), statistics.median(c for _, c in found))
            for name, found in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--sealed", action="store_true", help="every tenth row of the batch sealed")
    args = parser.parse_args()
    batch, rounds = (50, 5) if args.quick else (200, 41)
    found = asyncio.run(run(batch=batch, rounds=rounds, sealed_every=10 if args.sealed else 0))
    load = os.getloadavg()
    print(f"mark {batch} sends sent, SQLite, {rounds} interleaved rounds, medians; load average {load[0]:.2f}, "
          f"{load[1]:.2f}, {load[2]:.2f} on {os.cpu_count()} CPUs; sealed rows: {'1 in 10' if args.sealed else 'none'}")
    print("| statement | wall ms / batch | CPU ms / batch |\n|---|---:|---:|")
    for name, (wall, cpu) in found.items():
        print(f"| {name} | {wall * 1000:.2f} | {cpu * 1000:.2f} |")
    (bw, bc), (sw, sc) = found["before"], found["sealed"]
    print(f"ratio sealed / before: wall {sw / bw:.2f}x, CPU {sc / bc:.2f}x")


if __name__ == "__main__":
    main()
