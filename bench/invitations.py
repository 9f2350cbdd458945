"""Invitations: how fast 1,000 of them reach Telegram through the outbox, and what the chasing sweep costs
when many invitations are open.

**Part 1, delivery.** The real bot (``bot.runtime.serve``, started as ``tests/e2e/harness.py`` does, polling)
on a temporary SQLite file, talking to the Bot API emulator with its default flood limits (30 messages/s
overall, a 5-message burst then 1/s per private chat; a 429 with ``retry_after`` beyond them). Setup, not timed:
1,000 active experts and their bound Telegram accounts are bulk-inserted (Core executemany, as
``services.demo.demo.bind_demo_account`` would bind them, without 1,000 ``/start`` messages); four activities on the
same dates, one per category (supervision, clinical, informatics, management), each with 10 requirements of 25
principals, created with ``services.activities.activities.create_activity``; each category has exactly 250 experts, so
the
four draws invite all 1,000, each exactly once. Timed: from just before the first ``services.draws.draws.file_request``
(the organizer needs no approval, so the draw runs and ``invite_principals`` writes the invitations to the outbox
in the same transaction) until the 1,000th invitation's ``sendMessage`` is accepted by the emulator. The
limit-bound minimum is 1,000 / 30 per second = 33.3 s (every chat gets one message, so the per-chat limit does
not bind). Reported: wall time, its ratio to the minimum, the emulator's 429 answers, and lost or duplicated
invitations (every expert's chat must hold exactly one).

**Part 2, the sweep.** ``services.invitations.invitations.sweep`` on two SQLite databases built with Core executemany:
100,000 open invitations (10,000 activities of 10 invited slots) and 1,000 (100 activities), with 100 due in
each (the first slot of the first 100 activities, so the handling is the same work in both). A repetition
resets the 100 due rows (``due_at`` in the past, no reminder sent) and times: the selection of the due ids
alone (the sweep's query), and the whole sweep (selection plus handling: 100 reminders, each in its own
transaction). Medians over the repetitions; the ratio is 100k / 1k.

Run from the repository root::

    .venv/bin/python -m bench.invitations            # about 3 minutes (20 sweep repetitions, then delivery)
    .venv/bin/python -m bench.invitations --quick    # 5 sweep repetitions; delivery is always 1,000

See ``bench/README.md`` (section ``invitations``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from bench.button_presses import (
    BUSY_OTHERS,
    _json_safe,
    code_fingerprint,
    machine_info,
    others_busy,
    scratch_database,
    system_busy_seconds,
)
from bot.emulator import BotApiEmulator, Limits
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import invitations
from services.platform.clock import FixedClock
from storage.activities import Activity, ActivityMember, ActivityRequirement, DrawRecord
from storage.db import create_engine, create_session_factory
from storage.models import Account, Expert, OrgUnit, OutboxMessage, Person, Staff
from storage.uow import UnitOfWorkFactory
from tests.builders import staff_actor
from tests.e2e.harness import TOKEN, start_bot

RESULTS = Path(__file__).parent / "results"
OVERALL_PER_SECOND = 30.0
TARGET_RATIO = 1.1
TARGET_SWEEP_MS = 50.0
TARGET_SWEEP_RATIO = 2.0
CATEGORIES = ("supervision", "clinical", "informatics", "management")
REQUIREMENTS_PER_ACTIVITY = 10
PRINCIPALS_PER_REQUIREMENT = 25  # services.activities.activities.MAX_COUNT
FIRST_USER_ID = 20_001
INVITATION_MARK = "专家邀请"  # in the Chinese invitation text
ADMIN_ID = 1
BUREAU_ID = 1
SWEEP_NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: not in quiet hours
SLOTS_PER_ACTIVITY = 10
DUE = 100


class BenchError(Exception):
    """The run cannot produce a meaningful number (an invitation was lost, a draw fell short...)."""


async def _insert(engine: AsyncEngine, table: type[SQLModel], rows: list[dict[str, Any]], chunk: int = 5_000) -> None:
    """Core ``INSERT`` with executemany, in chunks."""
    for i in range(0, len(rows), chunk):
        async with engine.begin() as connection:
            await connection.execute(insert(table), rows[i:i + chunk])


async def _base(engine: AsyncEngine, now: datetime, *, draw_approval: bool) -> None:
    """The bureau and its admin (unbound: staff alerts are skipped, so only invitations go out)."""
    await _insert(engine, OrgUnit, [dict(id=BUREAU_ID, code="bureau", name="兵团医疗保障局", kind="bureau",
                                         parent_id=None, draw_approval=draw_approval, created_at=now)])
    await _insert(engine, Person, [dict(id=ADMIN_ID, name="王管理", created_at=now)])
    await _insert(engine, Staff, [dict(person_id=ADMIN_ID, org_unit_id=BUREAU_ID, role="admin", created_at=now)])


async def _experts(engine: AsyncEngine, now: datetime, count: int, *, bind: bool) -> list[int]:
    """``count`` active experts (person ids 2..), category by quarter; optionally bound to user ids."""
    ids = list(range(2, 2 + count))
    per = max(1, count // len(CATEGORIES))
    await _insert(engine, Person, [dict(id=i, name=f"专家{i}", created_at=now) for i in ids])
    await _insert(engine, Expert, [dict(
        person_id=i, org_unit_id=BUREAU_ID, created_at=now, updated_at=now, state="active",
        categories=[CATEGORIES[min(n // per, len(CATEGORIES) - 1)]], birth_date=date(1980, 1, 15),
        term_start=date(2025, 1, 1), term_end=date(2028, 1, 1)) for n, i in enumerate(ids)])
    if bind:
        await _insert(engine, Account, [dict(
            channel="telegram", external_user_id=str(FIRST_USER_ID + n), chat_id=str(FIRST_USER_ID + n),
            person_id=i, language="zh", bound_at=now) for n, i in enumerate(ids)])
    return ids


# ---- part 1: delivery of 1,000 invitations ----------------------------------------------------------------


@dataclass(frozen=True)
class DeliverySize:
    """How many invitations."""

    activities: int = len(CATEGORIES)
    requirements: int = REQUIREMENTS_PER_ACTIVITY
    principals: int = PRINCIPALS_PER_REQUIREMENT

    @property
    def invitations(self) -> int:
        return self.activities * self.requirements * self.principals


class _LocalTelegram:
    """The emulator in the bot's own process and event loop (the default)."""

    def __init__(self) -> None:
        self.emulator = BotApiEmulator(token=TOKEN, limits=Limits())
        self.base_url = self.file_base_url = ""

    async def start(self) -> None:
        await self.emulator.start()
        self.base_url, self.file_base_url = self.emulator.base_url, self.emulator.file_base_url

    async def stop(self) -> None:
        await self.emulator.stop()

    async def users(self, ids: list[int]) -> None:
        for user in ids:
            self.emulator.user(user, language_code="zh")

    async def log_mark(self) -> tuple[int, int]:
        return len(self.emulator.request_log), self.emulator.stats.too_many_requests

    async def sends(self, start: int) -> list[tuple[int | None, int, float]]:
        return [(chat, status, at) for name, chat, status, at in self.emulator.request_log[start:]
                if name == "sendMessage"]

    async def texts_containing(self, ids: list[int], mark: str) -> dict[int, int]:
        return {user: sum(1 for m in self.emulator.messages(user) if mark in (m.text or "")) for user in ids}


class _Hog:
    """``count`` processes that keep a CPU busy each, beside the bot (issue 21: no 429 under CPU load)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._processes: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> _Hog:
        for _ in range(self.count):
            self._processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-c", "while True: pass"))
        return self

    async def __aexit__(self, *_: object) -> None:
        for process in self._processes:
            process.kill()
            await process.wait()


async def run_delivery(size: DeliverySize, timeout: float, *, emulator_process: bool = False,  # noqa: ASYNC109
                       hog: int = 0) -> dict[str, Any]:
    """Bind the experts, create the activities, then time the draws until every invitation reached Telegram.

    ``emulator_process``: the fake Telegram runs in a child process (``bench.emulator_process``), as the real one is
    elsewhere; ``hog``: that many busy processes run beside the bot during the timed part."""
    from bench.emulator_process import EmulatorProcess

    telegram: _LocalTelegram | EmulatorProcess = EmulatorProcess() if emulator_process else _LocalTelegram()
    await telegram.start()
    try:
        async with scratch_database(None) as (url, _kind):
            setup_started = time.perf_counter()
            engine = create_engine(url)
            try:
                now = datetime.now(UTC)
                await _base(engine, now, draw_approval=False)
                experts = await _experts(engine, now, size.invitations, bind=True)
            finally:
                await engine.dispose()
            users = {person: FIRST_USER_ID + n for n, person in enumerate(experts)}
            await telegram.users(list(users.values()))
            harness = await start_bot(telegram, url)  # type: ignore[arg-type]  # only its two URLs are used
            try:
                harness.running.scheduler.pause()  # no sweep or housekeeping during the measurement
                admin = staff_actor(ADMIN_ID, BUREAU_ID, admin=True)
                activity_ids: list[int] = []
                for category in CATEGORIES[:size.activities]:
                    async with harness.uow() as u:
                        start = u.now() + timedelta(days=10)
                        activity = await activities.create_activity(u, actor=admin, data=ActivityInput(
                            org="bureau", kind="routine_inspection", title=f"定点医院日常检查（{category}）",
                            starts_at=start, ends_at=start + timedelta(days=1),
                            response_deadline=start - timedelta(days=2),
                            requirements=tuple(RequirementInput(category, size.principals)
                                               for _ in range(size.requirements)),
                            allow_even_group=True, even_group_reason="bench"))
                    assert activity.id is not None
                    activity_ids.append(activity.id)
                setup_s = time.perf_counter() - setup_started
                log_start, too_many_before = await telegram.log_mark()
                user_set = set(users.values())
                async with _Hog(hog):
                    cpu0, others0 = time.process_time(), system_busy_seconds()
                    t0 = time.monotonic()
                    committed: list[float] = []
                    for activity_id in activity_ids:
                        async with harness.uow() as u:
                            outcome = await draws.file_request(u, actor=admin, activity_id=activity_id)
                        if outcome.record is None or outcome.record.outcome != "drawn":
                            raise BenchError(f"the draw of activity {activity_id} did not fill every place")
                        committed.append(time.monotonic() - t0)

                    async def delivered() -> list[tuple[int | None, int, float]]:
                        return await telegram.sends(log_start)

                    deadline = t0 + timeout
                    sends = await delivered()
                    while (sum(1 for chat, status, _ in sends if status == 200 and chat in user_set) < size.invitations
                           and time.monotonic() < deadline):
                        await asyncio.sleep(0.05 if emulator_process else 0.02)  # the log is a plain list: poll it
                        sends = await delivered()
                    wall_cpu = time.process_time() - cpu0
                    others = system_busy_seconds() - others0
                ok = [at for chat, status, at in sends if status == 200 and chat in user_set]
                await asyncio.sleep(1.0)  # let the recorder store the last outcomes
                async with harness.uow(readonly=True) as u:
                    statuses = {status: count for status, count in (await u.session.exec(
                        select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status)))).all()}
                    members = Counter((await u.session.exec(select(ActivityMember.status))).all())
                limiter = getattr(harness.running.application.bot, "rate_limiter", None)
                limiter_stats = limiter.stats.as_dict() if limiter is not None and hasattr(limiter, "stats") else {}
                _, too_many_after = await telegram.log_mark()
                per_chat = await telegram.texts_containing(list(users.values()), INVITATION_MARK)
            finally:
                await harness.shutdown()
    finally:
        await telegram.stop()
    lost = sum(1 for n in per_chat.values() if n == 0)
    duplicated = sum(1 for n in per_chat.values() if n > 1)
    wall = (max(ok) - t0) if ok else float("nan")
    minimum = size.invitations / OVERALL_PER_SECOND
    ordered = sorted(ok)
    per_second = Counter(int(at - ordered[0]) for at in ordered) if ordered else Counter()
    return {
        "invitations": size.invitations,
        "activities": size.activities,
        "setup_s": round(setup_s, 2),
        "draws_committed_s": [round(c, 3) for c in committed],
        "first_delivery_s": round(ordered[0] - t0, 3) if ordered else None,
        "wall_s": round(wall, 3),
        "after_last_commit_s": round(wall - committed[-1], 3) if ok else None,
        "minimum_s": round(minimum, 3),
        "ratio": round(wall / minimum, 3),
        "delivered": len(ok),
        "send_message_requests": len(sends),
        "too_many_requests": too_many_after - too_many_before,
        "emulator_process": emulator_process,
        "hog_processes": hog,
        "lost": lost,
        "duplicated": duplicated,
        "max_per_second_window": max(per_second.values()) if per_second else 0,
        "outbox_status": statuses,
        "member_status": dict(members),
        "bot_rate_limiter": limiter_stats,
        "cpu_s": round(wall_cpu, 2),
        # the hog and (with emulator_process) the emulator's process count as other processes
        "other_processes_cpus": round(others / wall, 2) if ok and wall > 0 else None,
    }


# ---- part 2: the sweep ------------------------------------------------------------------------------------


async def build_sweep_db(engine: AsyncEngine, open_invitations: int) -> list[int]:
    """``open_invitations`` invited slots in activities of 10, the first slot of the first 100 activities due.
    Returns the ids of the due slots."""
    now = SWEEP_NOW
    await _base(engine, now, draw_approval=True)
    experts = await _experts(engine, now, 1_000, bind=False)
    n_activities = open_invitations // SLOTS_PER_ACTIVITY
    start = now + timedelta(days=10)
    await _insert(engine, Activity, [dict(
        id=a, org_unit_id=BUREAU_ID, kind="routine_inspection", title=f"检查{a}", place="", starts_at=start,
        ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2), double_blind=False,
        allow_even_group=True, even_group_reason="bench", notes="", status="drawn", roster_messages=[],
        created_by=ADMIN_ID, created_at=now, updated_at=now) for a in range(1, n_activities + 1)])
    await _insert(engine, ActivityRequirement, [dict(
        id=a, activity_id=a, position=1, category="supervision", subcategory=None, tags=[],
        count=SLOTS_PER_ACTIVITY, backups=0) for a in range(1, n_activities + 1)])
    await _insert(engine, DrawRecord, [dict(
        id=a, subject="experts", org_unit_id=BUREAU_ID, activity_id=a, algorithm_version="1", seed="00" * 32,
        snapshot=b"", snapshot_hash="0" * 64, result={}, outcome="drawn", operator_id=ADMIN_ID, drawn_at=now)
        for a in range(1, n_activities + 1)])
    respond_by = start - timedelta(days=2)
    rows: list[dict[str, Any]] = []
    due_ids: list[int] = []
    member_id = 0
    for a in range(1, n_activities + 1):
        for s in range(SLOTS_PER_ACTIVITY):
            member_id += 1
            due = s == 0 and a <= DUE
            invited_at = now - timedelta(hours=3) if due else now - timedelta(hours=1)
            rows.append(dict(
                id=member_id, activity_id=a, requirement_id=a, draw_id=a,
                person_id=experts[((a - 1) * SLOTS_PER_ACTIVITY + s) % len(experts)], role="principal",
                position=s + 1, status="invited", created_at=invited_at, invited_at=invited_at,
                respond_by=respond_by, reminders_sent=0, due_at=invited_at + timedelta(hours=2)))
            if due:
                due_ids.append(member_id)
    await _insert(engine, ActivityMember, rows, chunk=10_000)
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return due_ids


async def _reset(engine: AsyncEngine, due_ids: list[int]) -> None:
    """Put the due slots back as they were: due an hour ago, no reminder sent."""
    async with engine.begin() as connection:
        await connection.execute(
            update(ActivityMember).where(col(ActivityMember.id) == bindparam("mid"))
            .values(due_at=bindparam("due"), reminders_sent=0),
            [{"mid": i, "due": SWEEP_NOW - timedelta(hours=1)} for i in due_ids])


async def run_sweep(open_invitations: int, repetitions: int) -> dict[str, Any]:
    """Median time of the due selection and of the whole sweep on a database with ``open_invitations``."""
    async with scratch_database(None) as (url, _kind):
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            due_ids = await build_sweep_db(engine, open_invitations)
            setup_s = time.perf_counter() - started
            factory = UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(SWEEP_NOW))
            async with engine.connect() as connection:
                plan = [str(r[-1]) for r in (await connection.execute(text(
                    "EXPLAIN QUERY PLAN SELECT id FROM activity_member WHERE due_at <= :now ORDER BY due_at LIMIT 200"),
                    {"now": SWEEP_NOW})).all()]
            selects: list[float] = []
            sweeps: list[float] = []
            cpu: list[float] = []
            reports: list[dict[str, Any]] = []
            for rep in range(repetitions + 1):  # the first is a warm-up (it sends the roster messages)
                await _reset(engine, due_ids)
                t = time.perf_counter()
                async with factory(readonly=True) as uow:
                    selected = (await uow.session.exec(select(ActivityMember.id).where(
                        col(ActivityMember.due_at) <= uow.now()).order_by(col(ActivityMember.due_at))
                        .limit(invitations.SWEEP_BATCH))).all()
                select_s = time.perf_counter() - t
                if sorted(i for i in selected if i is not None) != due_ids:
                    raise BenchError(f"the due selection found {len(selected)} rows, not the {DUE} due ones: "
                                     f"{sorted(i for i in selected if i is not None)[:5]} vs {due_ids[:5]}")
                c, t = time.process_time(), time.perf_counter()
                report = await invitations.sweep(factory)
                sweep_s, sweep_cpu = time.perf_counter() - t, time.process_time() - c
                if report.reminded != DUE or report.errors:
                    raise BenchError(f"the sweep reminded {report.reminded} of {DUE} ({report.errors})")
                if rep:
                    selects.append(select_s * 1000)
                    sweeps.append(sweep_s * 1000)
                    cpu.append(sweep_cpu * 1000)
                reports.append({"reminded": report.reminded, "expired": report.expired})
            async with engine.connect() as connection:
                open_count = (await connection.execute(select(func.count()).select_from(ActivityMember).where(
                    col(ActivityMember.status) == "invited"))).scalar_one()
        finally:
            await engine.dispose()
    return {
        "open_invitations": open_count,
        "due": DUE,
        "activities": open_invitations // SLOTS_PER_ACTIVITY,
        "setup_s": round(setup_s, 2),
        "repetitions": repetitions,
        "select_median_ms": round(statistics.median(selects), 3),
        "select_max_ms": round(max(selects), 3),
        "sweep_median_ms": round(statistics.median(sweeps), 2),
        "sweep_min_ms": round(min(sweeps), 2),
        "sweep_max_ms": round(max(sweeps), 2),
        "sweep_cpu_median_ms": round(statistics.median(cpu), 2),
        "per_slot_ms": round(statistics.median(sweeps) / DUE, 3),
        "query_plan": plan,
    }


# ---- report ----------------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(report: dict[str, Any]) -> str:
    """Markdown tables of both parts."""
    d, big, small = report["delivery"], report["sweep"]["open_100k"], report["sweep"]["open_1k"]
    lines = [
        f"## invitations ({'quick' if report['quick'] else 'full'})",
        "",
        "| delivery | invitations | wall s | minimum s | ratio | first at s | 429s | lost | duplicated |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| outbox → emulator | {d['invitations']} | {d['wall_s']:.2f} | {d['minimum_s']:.2f} | {d['ratio']:.3f}× "
        f"| {d['first_delivery_s']} | {d['too_many_requests']} | {d['lost']} | {d['duplicated']} |",
        "",
        f"draws committed at (s): {d['draws_committed_s']}; most sends in one second: {d['max_per_second_window']}; "
        f"outbox: {d['outbox_status']}; bot limiter: {d['bot_rate_limiter']}; emulator in its own process: "
        f"{d.get('emulator_process', False)}; CPU hogs beside the bot: {d.get('hog_processes', 0)}; other processes "
        f"used {d.get('other_processes_cpus')} CPUs during delivery",
        "",
        "| sweep (SQLite) | open | due | select median ms | sweep median ms | min | max | per due slot ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in (("100k open", big), ("1k open", small)):
        lines.append(f"| {name} | {row['open_invitations']} | {row['due']} | {row['select_median_ms']:.2f} "
                     f"| {row['sweep_median_ms']:.1f} | {row['sweep_min_ms']:.1f} | {row['sweep_max_ms']:.1f} "
                     f"| {row['per_slot_ms']:.2f} |")
    r = report["sweep"]
    lines += [
        f"| ratio 100k / 1k | | | {r['select_ratio']:.2f}× | {r['sweep_ratio']:.2f}× | | | |",
        "",
        f"query plan (100k): {big['query_plan']}",
        "",
        "| target | value | | |",
        "| --- | ---: | --- | --- |",
    ]
    for t in report["targets"]:
        lines.append(f"| {t['name']} | {t['value']} | {t['target']} | {_mark(t['pass'])} |")
    m = report["machine"]
    lines += ["", f"machine: {m['cpu_count']} CPUs ({m['cpu_model']}), Python {m['python']}; "
                  f"other processes used {report['others_busy_before']} CPUs before the run"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.invitations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 5 sweep repetitions (20 otherwise); delivery is always 1,000")
    parser.add_argument("--repetitions", type=int, default=None, help="sweep repetitions (default 20, 5 quick)")
    parser.add_argument("--skip-delivery", action="store_true", help="only the sweep (part 2)")
    parser.add_argument("--skip-sweep", action="store_true", help="only the delivery (part 1)")
    parser.add_argument("--emulator-process", action="store_true",
                        help="the fake Telegram in a process of its own (as the real one is elsewhere)")
    parser.add_argument("--hog", type=int, default=0, metavar="N",
                        help="N busy processes beside the bot while the invitations go out (CPU load)")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up on delivery after this many seconds")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON result (default bench/results/invitations.json, invitations-quick.json with "
                             "--quick)")
    args = parser.parse_args(argv)
    if args.repetitions is None:
        args.repetitions = 5 if args.quick else 20
    if args.output is None:
        args.output = RESULTS / ("invitations-quick.json" if args.quick else "invitations.json")
    return args


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Both parts; the report."""
    others_before = await others_busy()
    if others_before > BUSY_OTHERS:
        print(f"warning: other processes are using {others_before:.2f} CPUs", flush=True)
    if args.skip_sweep:
        big = small = {"open_invitations": 0, "due": 0, "query_plan": "", **{
            k: float("nan") for k in ("select_median_ms", "sweep_median_ms", "sweep_min_ms", "sweep_max_ms",
                                      "per_slot_ms")}}
    else:
        print(f"sweep: 100,000 open, {DUE} due, {args.repetitions} repetitions ...", flush=True)
        big = await run_sweep(100_000, args.repetitions)
        print(f"sweep: 1,000 open, {DUE} due ...", flush=True)
        small = await run_sweep(1_000, args.repetitions)
    if args.skip_delivery:
        delivery: dict[str, Any] = {k: float("nan") for k in ("wall_s", "minimum_s", "ratio")}
        delivery.update(invitations=0, too_many_requests=0, lost=0, duplicated=0, first_delivery_s=None,
                        draws_committed_s=[], max_per_second_window=0, outbox_status={}, bot_rate_limiter={})
    else:
        print("delivery: 1,000 invitations through the outbox to the emulator (about 40 s) ...", flush=True)
        delivery = await run_delivery(DeliverySize(), args.timeout, emulator_process=args.emulator_process,
                                      hog=args.hog)
    sweep = {"open_100k": big, "open_1k": small,
             "select_ratio": round(big["select_median_ms"] / small["select_median_ms"], 3),
             "sweep_ratio": round(big["sweep_median_ms"] / small["sweep_median_ms"], 3)}
    targets = [
        {"name": "delivery wall / minimum", "value": delivery["ratio"], "target": f"<= {TARGET_RATIO}",
         "pass": delivery["ratio"] <= TARGET_RATIO},
        {"name": "429 answers", "value": delivery["too_many_requests"], "target": "0",
         "pass": delivery["too_many_requests"] == 0},
        {"name": "lost or duplicated invitations", "value": delivery["lost"] + delivery["duplicated"],
         "target": "0", "pass": delivery["lost"] + delivery["duplicated"] == 0},
        {"name": "sweep median, 100k open (ms)", "value": big["sweep_median_ms"], "target": f"<= {TARGET_SWEEP_MS:g}",
         "pass": big["sweep_median_ms"] <= TARGET_SWEEP_MS},
        {"name": "sweep ratio 100k / 1k", "value": sweep["sweep_ratio"], "target": f"<= {TARGET_SWEEP_RATIO:g}",
         "pass": sweep["sweep_ratio"] <= TARGET_SWEEP_RATIO},
    ]
    return {
        "benchmark": "invitations",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "database": "sqlite",
        "machine": machine_info(),
        "others_busy_before": round(others_before, 2),
        "code": code_fingerprint(),
        "delivery": delivery,
        "sweep": sweep,
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit status 0 whether or not the targets are met, 1 if an invitation was lost."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = asyncio.run(main_async(args))
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    text_report = render(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_json_safe(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print()
    print(text_report)
    print()
    print(f"results written to {args.output}")
    return 1 if report["delivery"]["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
