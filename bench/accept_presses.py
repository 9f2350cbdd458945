"""The expensive buttons: an invitation's Accept (→ the commitment arrives) and the commitment's Sign, end to end,
next to bare python-telegram-bot's language button in the same run (``bench.button_presses.run_baseline``).

The **product** is the real bot in webhook mode (started as ``tests/e2e/harness.py`` does) on a temporary SQLite
file, talking to the Bot API emulator with its default flood limits. Setup, not timed: 1,000 active experts bound
to fake users (Core inserts, as ``bench/invitations.py``), the bureau's staff group chat bound (so every answer
edits the live roster), one activity of 10 requirements of 25 supervision principals (250 slots), drawn without
approval: 250 invitations, each with its Accept button, reach their users.

- **Accept**: ``--concurrency`` workers press Accept on their users' invitations; a press is done when the
  commitment (the message with the Sign button) reaches the user. Each press also queues an edit of the 250-slot
  roster in the group chat, rendered only when it is sent (coalesced: a newer edit skips the older ones still
  waiting, in the outbox or in the chat's queue).
- **Sign**: the same users press Sign under their commitment; done when the commitment is edited.

Reported per phase: presses per second, latency percentiles (from the moment the emulator queued the update to
the moment the answer's request reached it), process CPU per press, other processes' CPU, Bot API requests per
press (the roster edits among them); and the baseline's presses per second with the ratios.

Run from the repository root::

    .venv/bin/python -m bench.accept_presses                 # 250 accepts, 250 signs: about a minute
    .venv/bin/python -m bench.accept_presses --concurrency 25

See ``bench/README.md`` (section ``accept_presses``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from bench.button_presses import (
    _RECEIVED_AT,
    TOKEN,
    BenchError,
    Phase,
    TimedEmulator,
    Workload,
    machine_info,
    run_baseline,
    scratch_database,
    summarize,
    system_busy_seconds,
)
from bench.invitations import ADMIN_ID, BUREAU_ID, FIRST_USER_ID, _base, _experts, _insert
from bot.emulator.limits import Limits
from bot.emulator.server import Params
from bot.menus import fingerprint
from bot.settings import BotMode
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.roles import Role
from storage.db import create_engine
from storage.models import Account, StaffChat
from tests.builders import staff_actor
from tests.e2e.harness import start_bot

RESULTS = Path(__file__).parent / "results"
GROUP_ID = -100_777
REQUIREMENTS, PRINCIPALS = 10, 25
TARGET_PER_SECOND = 200.0


class SendTimedEmulator(TimedEmulator):
    """:class:`TimedEmulator` that also resolves a future when a message with a given button reaches a chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._send_waiters: dict[tuple[int, str], asyncio.Future[tuple[float, int, str]]] = {}

    def expect_button(self, chat_id: int, prefix: str) -> asyncio.Future[tuple[float, int, str]]:
        """Resolved by the next message to ``chat_id`` with a button whose data starts with ``prefix``: (when its
        request arrived, its message id, that button's data)."""
        waiter: asyncio.Future[tuple[float, int, str]] = asyncio.get_running_loop().create_future()
        self._send_waiters[(chat_id, prefix)] = waiter
        return waiter

    async def _send_message(self, p: Params) -> dict[str, Any]:
        received = _RECEIVED_AT.get(time.perf_counter())
        result = await super()._send_message(p)
        chat_id = int(p.values["chat_id"])
        for row in (result.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data", ""))
                for (chat, prefix), waiter in list(self._send_waiters.items()):
                    if chat == chat_id and data.startswith(prefix) and not waiter.done():
                        del self._send_waiters[(chat, prefix)]
                        waiter.set_result((received, int(result["message_id"]), data))
        return result


def _button(emulator: SendTimedEmulator, chat_id: int, prefix: str) -> tuple[int, str] | None:
    for message in emulator.messages(chat_id):
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if str(button.get("callback_data", "")).startswith(prefix):
                    return message.message_id, str(button["callback_data"])
    return None


async def _setup(emulator: SendTimedEmulator, url: str, overall_per_second: float,
                 menus_recorded: bool = True) -> tuple[Any, dict[int, tuple[int, str]]]:
    """Experts, the staff chat, the activity and its draw; returns the bot and each user's Accept button. The
    experts were bound before this run: their chats have their menu, recorded on their accounts as binding does
    (``menus_recorded``; without it, as before issue 21, each chat's first update after the start sets it again)."""
    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        await _base(engine, now, draw_approval=False)
        experts = await _experts(engine, now, 4 * REQUIREMENTS * PRINCIPALS, bind=True)
        await _insert(engine, StaffChat, [dict(channel="telegram", chat_id=str(GROUP_ID), title="监管科",
                                               org_unit_id=BUREAU_ID, bound_by_person_id=ADMIN_ID, bound_at=now)])
        if menus_recorded:
            async with engine.begin() as connection:
                await connection.execute(update(Account).where(col(Account.person_id).in_(experts))
                                         .values(menu=fingerprint(frozenset({Role.EXPERT}), "zh")))
    finally:
        await engine.dispose()
    users = [FIRST_USER_ID + n for n in range(len(experts))]
    for user in users:
        emulator.user(user, language_code="zh")
    emulator.group(GROUP_ID, "监管科")
    harness = await start_bot(emulator, url, mode=BotMode.WEBHOOK, freeze_heap=True,
                              rate_overall_per_second=overall_per_second)
    harness.running.scheduler.pause()
    admin = staff_actor(ADMIN_ID, BUREAU_ID, admin=True)
    async with harness.uow() as u:
        start = u.now() + timedelta(days=10)
        activity = await activities.create_activity(u, actor=admin, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="定点医院日常检查", starts_at=start,
            ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
            requirements=tuple(RequirementInput("supervision", PRINCIPALS) for _ in range(REQUIREMENTS)),
            allow_even_group=True, even_group_reason="bench"))
    async with harness.uow() as u:
        outcome = await draws.file_request(u, actor=admin, activity_id=activity.id or 0)
    if outcome.record is None or outcome.record.outcome != "drawn":
        raise BenchError("the draw did not fill every place")
    accepts: dict[int, tuple[int, str]] = {}
    deadline = time.monotonic() + 120
    while len(accepts) < REQUIREMENTS * PRINCIPALS and time.monotonic() < deadline:
        for user in users:
            if user not in accepts and (found := _button(emulator, user, "inv:a:")) is not None:
                accepts[user] = found
        await asyncio.sleep(0.2)
    if len(accepts) < REQUIREMENTS * PRINCIPALS:
        raise BenchError(f"only {len(accepts)} invitations arrived")
    await asyncio.sleep(1.0)  # the roster message and the invitations' edits settle
    return harness, accepts


async def _phase(emulator: SendTimedEmulator, targets: dict[int, tuple[int, str]], concurrency: int,
                 done_when: str, timeout: float) -> tuple[Phase, dict[int, tuple[int, str]]]:  # noqa: ASYNC109
    """Press each user's button once with ``concurrency`` workers; ``done_when`` is "commitment" (the Sign
    button arrives) or "edit" (the pressed message is edited). Returns the phase and, for "commitment", each
    user's Sign button."""
    latencies: list[float] = []
    signs: dict[int, tuple[int, str]] = {}
    before = dict(emulator.stats.by_method)
    answers_before = len(emulator.callback_answers)
    queue = list(targets.items())

    async def worker(mine: list[tuple[int, tuple[int, str]]]) -> None:
        for user, (message_id, data) in mine:
            waiter: asyncio.Future[Any] = (emulator.expect_button(user, "inv:s:") if done_when == "commitment"
                                           else emulator.expect_edit(user, message_id))
            await emulator.user(user).press(message_id, data)
            queued = time.perf_counter()
            try:
                result = await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise BenchError(f"user {user}'s {data} was not answered within {timeout} s") from None
            latencies.append((result[0] - queued) * 1000.0)
            if done_when == "commitment":
                signs[user] = (result[1], result[2])

    started, cpu, others = time.perf_counter(), time.process_time(), system_busy_seconds()
    await asyncio.gather(*(worker(queue[i::concurrency]) for i in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    others = max(0.0, system_busy_seconds() - others - cpu)
    after = emulator.stats.by_method
    requests = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    return Phase(presses=len(latencies), wall_s=wall, latencies_ms=latencies,
                 requests={k: v for k, v in sorted(requests.items()) if v},
                 callback_answers=len(emulator.callback_answers) - answers_before, cpu_s=cpu,
                 others_cpu_s=others), signs


async def run(args: argparse.Namespace) -> dict[str, Any]:
    baseline = await run_baseline(Workload(users=args.concurrency, concurrency=args.concurrency,
                                           presses=REQUIREMENTS * PRINCIPALS))
    emulator = SendTimedEmulator(token=TOKEN, limits=Limits(global_per_second=max(30, int(args.overall_per_second))))
    await emulator.start()
    try:
        async with scratch_database(args.database_url) as (url, kind):
            harness, accepts = await _setup(emulator, url, args.overall_per_second, not args.menus_unrecorded)
            try:
                profiler = cProfile.Profile() if args.profile else None
                if profiler is not None:
                    profiler.enable()
                accept, signs = await _phase(emulator, accepts, args.concurrency, "commitment", args.timeout)
                if profiler is not None:
                    profiler.disable()
                    profiler.dump_stats(args.profile)
                await asyncio.sleep(1.0)
                sign, _ = await _phase(emulator, signs, args.concurrency, "edit", args.timeout)
                roster = next((m for m in emulator.messages(GROUP_ID) if m.edit_count), None)
            finally:
                await harness.shutdown()
    finally:
        await emulator.stop()
    rows = {"accept": summarize(accept), "sign": summarize(sign)}
    base = baseline["presses_per_s"]
    for row in rows.values():
        row["ratio_to_bare_ptb"] = round(row["presses_per_s"] / base, 2) if base else None
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "database": kind,
            "overall_messages_per_s": args.overall_per_second,
            "concurrency": args.concurrency, "slots": REQUIREMENTS * PRINCIPALS, "machine": machine_info(),
            "bare_ptb_language_button": baseline, **rows,
            "roster_edits_received": roster.edit_count if roster is not None else 0,
            "target_accepts_per_s": TARGET_PER_SECOND}


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['slots']} slots, concurrency {report['concurrency']}, {report['database']}: bare PTB "
             f"language button {report['bare_ptb_language_button']['presses_per_s']}/s"]
    for name in ("accept", "sign"):
        row = report[name]
        lines.append(f"{name}: {row['presses_per_s']}/s (ratio {row['ratio_to_bare_ptb']}), p50 {row['p50_ms']} ms, "
                     f"p99 {row['p99_ms']} ms, CPU {row['cpu_ms_per_press']} ms/press, other processes "
                     f"{row['other_processes_cpus']} CPUs; requests/press {row['bot_api_requests_per_press']}")
    lines.append(f"roster edits that reached the group chat: {report['roster_edits_received']} "
                 f"for {report['accept']['presses']} accepts and {report['sign']['presses']} signs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--overall-per-second", type=float, default=30.0,
                        help="the bot's overall limit on new messages (Telegram's is about 30/s; the emulator "
                             "enforces the same or this, whichever is higher): above 30 shows the bot's own capacity")
    parser.add_argument("--menus-unrecorded", action="store_true",
                        help="the experts' menus not recorded on their accounts (each first press sets it again)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the Accept phase into this file")
    parser.add_argument("--output", type=Path, default=RESULTS / "accept_presses.json")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    print(render(report))
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
