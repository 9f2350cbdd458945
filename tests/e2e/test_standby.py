"""An active process and a standby on one PostgreSQL database (issue 19, "a standby that takes over").

In-process bots (each with its own engine, HTTP server and lock connection): the second one waits as a standby,
says so in ``/healthz`` and ``/metrics``, records the webhook updates it receives for the active one to process,
and takes over when the active one stops. The failover of two real processes under kill -9 is in
tests/e2e/test_failover.py. On SQLite a bot is simply active.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
import pytest

from bot.emulator import BotApiEmulator
from bot.settings import BotMode
from bot.standby import Role
from bot.web import SECRET_HEADER
from tests.e2e.harness import WEBHOOK_SECRET, BotHarness, running_bot, start_bot

PG = os.environ.get("TEST_DATABASE_URL")


def _update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000, "date": 1_700_000_000, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            "chat": {"id": user_id, "type": "private", "first_name": "x"},
            "from": {"id": user_id, "is_bot": False, "first_name": "x", "language_code": "en"},
        },
    }


async def _get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


async def _post_update(bot: BotHarness, update: dict[str, Any]) -> int:
    url = f"http://127.0.0.1:{bot.running.port}{bot.settings.webhook_path}"
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http, http.post(url, data=json.dumps(update), headers=headers) as response:
        return response.status


async def _role(bot: BotHarness) -> str:
    status, body = await _get(bot.running.port, "/healthz")
    assert status == 200
    return str(json.loads(body)["role"])


async def _until(condition: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_a_single_bot_is_active_and_says_so(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        assert bot.running.role is Role.ACTIVE
        assert (bot.running.keeper is None) == database_url.startswith("sqlite")
        assert await _role(bot) == "active"
        status, metrics = await _get(bot.running.port, "/metrics")
        assert status == 200
        assert 'fundwatch_role{role="active"} 1.0' in metrics
        assert 'fundwatch_role{role="standby"} 0.0' in metrics


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_a_standby_records_webhook_updates_for_the_active_one_and_takes_over_when_it_stops(
    emulator: BotApiEmulator, database_url: str
) -> None:
    emulator.user(71, language_code="en")
    first = await start_bot(emulator, database_url, mode=BotMode.WEBHOOK, standby_retry_seconds=0.2)
    second = await start_bot(emulator, database_url, mode=BotMode.WEBHOOK, standby_retry_seconds=0.2)
    try:
        assert (first.running.role, second.running.role) == (Role.ACTIVE, Role.STANDBY)
        assert await _role(second) == "standby"
        _, metrics = await _get(second.running.port, "/metrics")
        assert 'fundwatch_role{role="standby"} 1.0' in metrics
        assert not second.running.dispatcher._running and not second.running.application.running

        # The standby acknowledges an update only once it is recorded; the active process answers it.
        assert await _post_update(second, _update(700_001, 71, "/whoami")) == 200
        await emulator.wait_for_messages(71, 1)
        assert await _post_update(first, _update(700_002, 71, "/whoami")) == 200
        await emulator.wait_for_messages(71, 2)

        await first.shutdown()
        await _until(lambda: _is(second, "active"))
        _, metrics = await _get(second.running.port, "/metrics")
        assert 'fundwatch_role{role="active"} 1.0' in metrics
        assert "fundwatch_role_changes_total 1.0" in metrics
        assert await _post_update(second, _update(700_003, 71, "/whoami")) == 200
        await emulator.wait_for_messages(71, 3)
        await asyncio.sleep(0.5)  # a second answer to any of the three would have arrived by now
        assert len(emulator.messages(71)) == 3
    finally:
        for bot in (first, second):
            if not bot.task.done():
                await bot.shutdown()


async def _is(bot: BotHarness, role: str) -> bool:
    return await _role(bot) == role


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (TEST_DATABASE_URL)")
async def test_a_bot_that_loses_its_lock_steps_down_and_works_again_once_it_takes_the_role_back(
    emulator: BotApiEmulator, database_url: str
) -> None:
    from tests.bot.test_standby_keeper import _terminate_holder

    user = emulator.user(72, language_code="en")
    async with running_bot(emulator, database_url, standby_retry_seconds=0.5, standby_check_seconds=0.2) as bot:
        await user.send_command("/whoami")
        await emulator.wait_for_messages(72, 1)
        await _terminate_holder(database_url)  # as a broken connection would: the lock can no longer be proven

        async def stepped_down_and_back() -> bool:
            _, metrics = await _get(bot.running.port, "/metrics")
            return "fundwatch_role_changes_total 2.0" in metrics and bot.running.role is Role.ACTIVE

        await _until(stepped_down_and_back)
        assert bot.running.scheduler.running and bot.running.dispatcher._running
        await user.send_command("/whoami")  # polling, the handlers and the outbox run again
        await emulator.wait_for_messages(72, 2)
