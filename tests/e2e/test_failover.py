"""Two ``python -m bot run`` processes on one PostgreSQL database: kill -9 the active one during a
500-notification fan-out, the standby takes over, nothing is lost and nothing is sent twice beyond what the
killed process had in flight (issue 19, "Done when": the failover test). The takeover time is printed (run
with ``-s`` to see it); it is bounded only generously here, never timed.

The emulator enforces tighter limits than the bots' own limiter (429s happen, as in test_outbox_crash.py), so
the fan-out lasts long enough to be interrupted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import aiohttp
import pytest

from bot.emulator import BotApiEmulator, Limits
from storage.uow import UnitOfWorkFactory
from tests.e2e.harness import TOKEN, free_port
from tests.e2e.test_outbox_crash import PEOPLE, PER_PERSON, _markers, _seed

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")

IN_FLIGHT = 50  # OUTBOX_MAX_IN_FLIGHT of each process: the most a killed dispatcher can have claimed and not recorded


async def _start(emulator: BotApiEmulator, database_url: str, port: int) -> asyncio.subprocess.Process:
    prefixes = ("BOT_", "WEBHOOK_", "DATABASE_", "RATE_", "LISTEN_", "STANDBY_", "OUTBOX_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        BOT_TOKEN=TOKEN, DATABASE_URL=database_url, TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.file_base_url, LISTEN_PORT=str(port), LOG_LEVEL="WARNING",
        OUTBOX_MAX_IN_FLIGHT=str(IN_FLIGHT),
        RATE_OVERALL_PER_SECOND="60", RATE_PRIVATE_PER_SECOND="6", RATE_PRIVATE_BURST="5",
    )  # STANDBY_RETRY_SECONDS and STANDBY_CHECK_SECONDS: the defaults
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)


async def _role(port: int) -> str | None:
    """The role ``/healthz`` reports, or None while the process does not answer."""
    try:
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=2)
        ) as response:
            return str(json.loads(await response.text())["role"])
    except (aiohttp.ClientError, TimeoutError):
        return None


async def _until_role(port: int, wanted: set[str], timeout: float = 60.0) -> str:
    async with asyncio.timeout(timeout):
        while (role := await _role(port)) not in wanted:
            await asyncio.sleep(0.05)
    assert role is not None
    return role


async def test_kill_9_of_the_active_process_mid_fan_out_the_standby_takes_over_and_loses_nothing(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    await _seed(uow_factory)
    emulator = BotApiEmulator(token=TOKEN, limits=Limits(per_chat_rate=4.0, per_chat_burst=5, global_per_second=40))
    await emulator.start()
    for n in range(PEOPLE):
        emulator.user(10_000 + n)
    ports = (free_port(), free_port())
    processes = [await _start(emulator, database_url, port) for port in ports]
    try:
        async with asyncio.timeout(60):  # a process is standby until its first try of the lock has started its work
            while sorted(roles := [await _role(port) or "" for port in ports]) != ["active", "standby"]:
                await asyncio.sleep(0.05)
        active = roles.index("active")
        killed, standby, standby_port = processes[active], processes[1 - active], ports[1 - active]

        await emulator.wait_for(lambda: len(_markers(emulator)) >= 150, timeout=60)
        assert await _role(standby_port) == "standby"
        before = _markers(emulator)
        assert len(before) == len(set(before))  # one sender so far: the standby sent nothing
        killed.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert await killed.wait() == -signal.SIGKILL
        delivered_at_kill = len(set(_markers(emulator)))
        assert delivered_at_kill < PEOPLE * PER_PERSON

        await _until_role(standby_port, {"active"})
        takeover = time.monotonic() - killed_at
        print(f"\ntakeover: the standby was active {takeover:.1f} s after the kill -9 "
              f"({delivered_at_kill} of {PEOPLE * PER_PERSON} notifications delivered at the kill)")
        assert takeover < 60  # generous: the default retry is 5 s; this only catches a standby that never takes over

        await emulator.wait_for(lambda: len(set(_markers(emulator))) == PEOPLE * PER_PERSON, timeout=120)
        standby.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(standby.wait(), 30) == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await emulator.stop()

    markers = _markers(emulator)
    print(f"sent twice: {len(markers) - len(set(markers))} (in flight at the kill, at most {IN_FLIGHT})")
    assert set(markers) == set(range(PEOPLE * PER_PERSON))
    # At least once: only what the killed process had in flight may be repeated.
    assert len(markers) - len(set(markers)) <= IN_FLIGHT
    async with uow_factory() as u:
        counts = await u.outbox.count_by_status()
    assert counts == {"sent": PEOPLE * PER_PERSON + PEOPLE}
