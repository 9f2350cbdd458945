"""``/stats`` and the monthly report at the scale of a province (issue 17): the key figures of the bureau (all
divisions) for one month over 50,000 experts, 20,000 invitation slots and 10,000 leads, timed against a naive
baseline in the same run.

The **products** are ``services.insight.stats.unit_stats`` inside a read-only unit of work (one aggregate query per
figure over indexed columns; ``tests/services/test_stats_plans.py`` checks the plans), and the monthly report the bot
sends each unit: ``services.insight.reports.monthly_sheets`` for the bureau and every division, written as the XLSX
file (``bot/reports.py: monthly_file``).

The **baseline** loads every expert, slot and lead of the line as ORM objects and counts them in Python (what a
first version without aggregate queries would do).

Run from the repository root::

    .venv/bin/python -m bench.insight            # 7 runs each, about a minute with the set-up
    .venv/bin/python -m bench.insight --quick    # a tenth of the data, 3 runs

See ``bench/README.md`` (section ``stats``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from bench.button_presses import code_fingerprint, machine_info, scratch_database
from services.insight import period, stats
from services.platform.clock import FixedClock
from services.platform.roles import Actor, Role
from storage.activities import Activity, ActivityMember, ActivityRequirement, DrawRecord
from storage.db import create_engine, create_session_factory
from storage.leads import Lead
from storage.models import Expert, OrgUnit, Person, Staff
from storage.uow import UnitOfWorkFactory

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
DIVISIONS = 14


async def _insert(engine: AsyncEngine, table: type[SQLModel], rows: list[dict[str, Any]], chunk: int = 5_000) -> None:
    async with engine.begin() as connection:
        for i in range(0, len(rows), chunk):
            await connection.execute(insert(table), rows[i:i + chunk])


async def seed(engine: AsyncEngine, *, experts: int, slots: int, leads: int) -> None:
    """A bureau with 14 divisions; experts, activities with their slots, draws and leads over two years."""
    rng = random.Random(17)
    await _insert(engine, OrgUnit, [dict(id=1, code="bureau", name="兵团医疗保障局", kind="bureau", created_at=NOW)]
                  + [dict(id=i + 2, code=f"div{i + 1}", name=f"第{i + 1}师医保局", kind="division", parent_id=1,
                          created_at=NOW) for i in range(DIVISIONS)])
    await _insert(engine, Person, [dict(id=i, name=f"专家{i}", created_at=NOW) for i in range(1, experts + 2)])
    await _insert(engine, Staff, [dict(person_id=experts + 1, org_unit_id=1, role="admin", created_at=NOW)])
    await _insert(engine, Expert, [dict(
        person_id=i, org_unit_id=2 + i % DIVISIONS, created_at=NOW, updated_at=NOW,
        state=rng.choice(("active",) * 8 + ("exited", "applicant")),
        categories=[rng.choice(("supervision", "clinical", "informatics", "management"))],
        birth_date=date(1960 + rng.randrange(35), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        term_end=date(2026, 12, 1) + timedelta(days=rng.randrange(1000))) for i in range(1, experts + 1)])
    activities = slots // 10
    days = [NOW - timedelta(days=rng.randrange(730)) for _ in range(activities)]
    await _insert(engine, Activity, [dict(
        id=i + 1, org_unit_id=2 + i % DIVISIONS, kind="routine_inspection", title=f"活动{i}", starts_at=days[i],
        ends_at=days[i] + timedelta(hours=8), response_deadline=days[i], status="drawn", created_by=experts + 1,
        created_at=days[i], updated_at=days[i]) for i in range(activities)])
    await _insert(engine, ActivityRequirement, [dict(id=i + 1, activity_id=i + 1, position=1, category="supervision",
                                                     count=7, backups=3) for i in range(activities)])
    await _insert(engine, DrawRecord, [dict(
        id=i + 1, subject="experts", org_unit_id=2 + i % DIVISIONS, activity_id=i + 1, algorithm_version="v1",
        seed="00", snapshot=b"", snapshot_hash="0" * 64, outcome=rng.choice(("drawn",) * 9 + ("short",)),
        operator_id=experts + 1, drawn_at=days[i]) for i in range(activities)])
    statuses = ("signed",) * 5 + ("declined", "recused", "expired", "invited", "accepted")
    await _insert(engine, ActivityMember, [dict(
        activity_id=s // 10 + 1, requirement_id=s // 10 + 1, draw_id=s // 10 + 1, person_id=1 + (s * 7919) % experts,
        role="principal" if s % 10 < 7 else "backup", position=s % 10 + 1, status=rng.choice(statuses),
        created_at=days[s // 10], invited_at=days[s // 10] - timedelta(days=3),
        answered_at=days[s // 10] - timedelta(days=3, hours=-rng.randrange(1, 72))) for s in range(slots)])
    await _insert(engine, Lead, [dict(
        number=f"XS-{i:06d}", org_unit_id=2 + i % DIVISIONS, reporter_person_id=1, reporter_pseudonym="甲",
        category=rng.choice(("over_charging", "fake_hospitalisation", "drug_swapping")), what="情况",
        state=rng.choice(("received", "accepted", "investigating", "substantiated", "not_accepted")),
        created_at=NOW - timedelta(days=rng.randrange(730)), updated_at=NOW,
        due_at=NOW + timedelta(days=rng.randrange(-30, 30))) for i in range(leads)])


async def product(uow_factory: UnitOfWorkFactory, actor: Actor, month: period.Period) -> Any:
    async with uow_factory(readonly=True) as uow:
        return await stats.unit_stats(uow, actor=actor, period=month)


async def monthly(uow_factory: UnitOfWorkFactory, month: period.Period) -> bytes:
    from bot.reports import labeller, monthly_file
    from services.insight import reports

    async with uow_factory(readonly=True) as uow:
        sheets = await reports.monthly_sheets(uow, unit_id=1, period=month, label=labeller("zh"))
    return await monthly_file(sheets)


async def baseline(uow_factory: UnitOfWorkFactory, month: period.Period) -> Any:
    """Every row of the line as an ORM object, counted in Python."""
    async with uow_factory(readonly=True) as uow:
        start, end = month.bounds(uow.zone)
        experts = (await uow.session.exec(select(Expert))).all()
        members = (await uow.session.exec(select(ActivityMember, Activity).join(
            Activity, col(Activity.id) == col(ActivityMember.activity_id)))).all()
        leads = (await uow.session.exec(select(Lead))).all()
        return (Counter(e.state for e in experts),
                Counter(m.status for m, _ in members if m.invited_at and start <= m.invited_at < end),
                Counter(lead.state for lead in leads if start <= lead.created_at < end))


async def _time(runs: int, work: Any) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return times


async def measure(argv: list[str]) -> tuple[dict[str, Any], str]:
    parser = argparse.ArgumentParser(prog="python -m bench.insight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the data, 3 runs")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--output", default="bench/results/insight.json")
    args = parser.parse_args(argv)
    scale, runs = (10, 3) if args.quick else (1, args.runs)
    sizes = dict(experts=50_000 // scale, slots=20_000 // scale, leads=10_000 // scale)
    async with scratch_database(args.database_url) as (url, kind):
        engine = create_engine(url)
        try:
            await seed(engine, **sizes)
            uow_factory = UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(NOW))
            actor = Actor(label="bench", person_id=sizes["experts"] + 1, roles=frozenset({Role.ADMIN}),
                          staff_org_unit_id=1)
            month = period.month(2026, 10)
            await product(uow_factory, actor, month)  # warm the caches of all three the same way
            await monthly(uow_factory, month)
            await baseline(uow_factory, month)
            ours, report, naive = [], [], []
            for _ in range(runs):  # interleaved, so a busy moment hits each
                ours += await _time(1, lambda: product(uow_factory, actor, month))
                report += await _time(1, lambda: monthly(uow_factory, month))
                naive += await _time(1, lambda: baseline(uow_factory, month))
        finally:
            await engine.dispose()
    result = {"database": kind, "sizes": sizes, "runs": runs,
              "stats_median_ms": round(statistics.median(ours) * 1000, 1),
              "baseline_median_ms": round(statistics.median(naive) * 1000, 1),
              "ratio": round(statistics.median(ours) / statistics.median(naive), 3),
              "monthly_report_median_ms": round(statistics.median(report) * 1000, 1),
              "monthly_report_ratio": round(statistics.median(report) / statistics.median(naive), 3),
              "machine": machine_info(), "code": code_fingerprint()}
    return result, args.output


def main(argv: list[str]) -> int:
    """Measure, print the figures and keep them (``--output``)."""
    result, output = asyncio.run(measure(argv))
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "code")}, ensure_ascii=False))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
