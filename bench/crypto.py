"""The cost of encryption at rest (issue 19), as ratios against storing in clear in the same run.

* **Per evidence file**: ``services.leads.evidence.store`` (write, fsync, rename) and ``read_verified`` (read, SHA-256)
  with a master key (a fresh data key, AES-256-GCM, the wrapped key written beside the file) against without one,
  for photo- and video-sized files; rounds interleaved, medians.
* **Per row read**: loading experts whose mobile is an encrypted column (decrypted by ``storage.types.Encrypted``)
  against the same rows in clear, through the ORM as a card or a press does; medians of interleaved rounds, per
  row. A button press reads at most one such row (the expert whose invitation it answers), so this is the most a
  press can pay.

Run: ``python -m bench.crypto`` (``--quick`` for a smoke run). Prints a table; numbers go in README "Benchmarks".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from services.leads import evidence
from services.platform import column_keys, crypto
from services.platform.clock import FixedClock
from storage import migrate
from storage.db import create_engine, create_session_factory
from storage.models import Expert, OrgUnit, Person
from storage.repositories import insert_rows
from storage.types import bind_cipher
from storage.uow import UnitOfWorkFactory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _one_file(root: Path, data: bytes, keys: crypto.MasterKey | None) -> tuple[float, float]:
    """ms to store ``data`` under ``root`` and to read it back verified."""
    start = time.perf_counter()
    stored = evidence.store(root, data, max_bytes=1 << 26, keys=keys)
    middle = time.perf_counter()
    evidence.read_verified(root, stored.stored_path, stored.sha256, keys=keys)
    end = time.perf_counter()
    shutil.rmtree(root)
    return (middle - start) * 1000, (end - middle) * 1000


def bench_files(size: int, rounds: int, work: Path) -> tuple[float, float, float, float]:
    """Median ms of (plain store, encrypted store, plain read, encrypted read) of a ``size``-byte file."""
    master = crypto.MasterKey(crypto.new_data_key())
    body = os.urandom(size - 8)
    times: dict[str, list[float]] = {"ps": [], "es": [], "pr": [], "er": []}
    for n in range(rounds):
        data = body + n.to_bytes(8, "big")  # a new file each round: nothing is deduplicated
        for mode, keys in (("p", None), ("e", master)) if n % 2 == 0 else (("e", master), ("p", None)):
            stored_ms, read_ms = _one_file(work / f"{mode}{n}", data, keys)
            times[mode + "s"].append(stored_ms)
            times[mode + "r"].append(read_ms)
    ps, es, pr, er = (statistics.median(times[k]) for k in ("ps", "es", "pr", "er"))
    return ps, es, pr, er


async def _database(path: Path, rows: int, *, encrypted: bool) -> tuple[UnitOfWorkFactory, object]:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    factory = UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(T0))
    if encrypted:
        async with factory() as uow:
            unlocked = await column_keys.unlock(uow, crypto.MasterKey(crypto.new_data_key()))
        bind_cipher(engine, unlocked.cipher)
    async with factory() as uow:
        unit = OrgUnit(code="B", name="bureau", kind="bureau", created_at=T0)
        uow.session.add(unit)
        await uow.session.flush()
        ids = await insert_rows(uow.session, Person, [{"name": f"专家{n}", "created_at": T0} for n in range(rows)],
                                return_ids=True)
        await insert_rows(uow.session, Expert, [{"person_id": i, "org_unit_id": unit.id, "created_at": T0,
                                                 "mobile": f"139{i:08d}"} for i in ids])
        await uow.commit()
    return factory, engine


async def bench_rows(rows: int, rounds: int, work: Path) -> tuple[float, float]:
    """Median µs per expert row loaded through the ORM: (mobile in clear, mobile encrypted)."""
    plain, plain_engine = await _database(work / "plain.db", rows, encrypted=False)
    sealed, sealed_engine = await _database(work / "sealed.db", rows, encrypted=True)
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for n in range(rounds):
            for encrypted, factory in ((False, plain), (True, sealed)) if n % 2 == 0 else \
                    ((True, sealed), (False, plain)):
                start = time.perf_counter()
                async with factory(readonly=True) as uow:
                    loaded = (await uow.session.exec(select(Expert))).all()
                assert len(loaded) == rows and loaded[0].mobile is not None and loaded[0].mobile.startswith("139")
                times[encrypted].append((time.perf_counter() - start) * 1e6 / rows)
    finally:
        await plain_engine.dispose()  # type: ignore[attr-defined]
        await sealed_engine.dispose()  # type: ignore[attr-defined]
    return statistics.median(times[False]), statistics.median(times[True])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, rows = (5, 500) if args.quick else (21, 5000)
    sizes = (200_000, 2_000_000, 20_000_000)
    with tempfile.TemporaryDirectory(prefix="fundwatch-bench-crypto-") as folder:
        work = Path(folder)
        print("| evidence file | store plain ms | store encrypted ms | ratio "
              "| read plain ms | read encrypted ms | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for size in sizes:
            ps, es, pr, er = bench_files(size, rounds, work)
            print(f"| {size / 1e6:g} MB | {ps:.2f} | {es:.2f} | {es / ps:.2f}× "
                  f"| {pr:.2f} | {er:.2f} | {er / pr:.2f}× |")
        plain_us, sealed_us = asyncio.run(bench_rows(rows, rounds, work))
        print(f"\nexpert rows through the ORM ({rows} rows, {rounds} rounds): {plain_us:.1f} µs/row in clear, "
              f"{sealed_us:.1f} µs/row with the mobile encrypted ({sealed_us / plain_us:.2f}×, "
              f"+{sealed_us - plain_us:.1f} µs per row)")


if __name__ == "__main__":
    main()
