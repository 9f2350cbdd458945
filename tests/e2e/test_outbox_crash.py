"""The outbox survives a real process kill mid-way and honours 429s (issue: foundation, "Done when").

500 notifications are queued; ``python -m bot run`` starts sending them to the emulator, which
enforces tighter limits than the bot's own limiter so that 429s happen; the process is killed
with SIGKILL part-way; a new process sends the rest; SIGTERM then stops it with status 0.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

from bot.emulator import BotApiEmulator, Limits
from services.people import accounts
from services.platform import notify
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org
from tests.e2e.harness import TOKEN

PEOPLE = 50
PER_PERSON = 10


async def _seed(uow: UnitOfWorkFactory) -> None:
    from services.people import orgs

    await build_org(uow)
    for n in range(PEOPLE):
        async with uow() as u:
            person = await orgs.add_member(u, actor=SYSTEM_CLI, kind="expert", name=f"专家{n}", org="div1")
        assert person.id is not None
        async with uow() as u:
            issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="expert", person_id=person.id)
        async with uow() as u:
            await accounts.redeem_invite(
                u, channel="telegram", external_user_id=str(10_000 + n), chat_id=str(10_000 + n), code=issued.code
            )
        async with uow() as u:
            for k in range(PER_PERSON):
                marker = f"#{n * PER_PERSON + k}#"
                await notify.to_person(u, person_id=person.id, key="start.bound", params={"name": marker})
            await u.commit()


def _markers(emulator: BotApiEmulator) -> list[int]:
    found = []
    for n in range(PEOPLE):
        for message in emulator.messages(10_000 + n):
            match = re.search(r"#(\d+)#", message.text or "")
            if match:
                found.append(int(match.group(1)))
    return found


async def _start(emulator: BotApiEmulator, database_url: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEBHOOK_", "DATABASE_", "RATE_"))}
    env.update(
        BOT_TOKEN=TOKEN, DATABASE_URL=database_url, TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.file_base_url, LISTEN_PORT="0", LOG_LEVEL="WARNING",
        # The bot's limiter allows more than the emulator, so the emulator answers 429s.
        RATE_OVERALL_PER_SECOND="60", RATE_PRIVATE_PER_SECOND="6", RATE_PRIVATE_BURST="5",
    )
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)


async def test_a_killed_dispatcher_loses_nothing_and_429s_are_honoured(
    database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    await _seed(uow_factory)
    emulator = BotApiEmulator(token=TOKEN, limits=Limits(per_chat_rate=4.0, per_chat_burst=5, global_per_second=40))
    await emulator.start()
    for n in range(PEOPLE):
        emulator.user(10_000 + n)
    try:
        first = await _start(emulator, database_url)
        await emulator.wait_for(lambda: len(_markers(emulator)) >= 150, timeout=60)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
        delivered_before_restart = len(set(_markers(emulator)))
        assert delivered_before_restart < PEOPLE * PER_PERSON

        second = await _start(emulator, database_url)
        await emulator.wait_for(lambda: len(set(_markers(emulator))) == PEOPLE * PER_PERSON, timeout=120)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        await emulator.stop()

    markers = _markers(emulator)
    assert set(markers) == set(range(PEOPLE * PER_PERSON))
    assert emulator.stats.too_many_requests > 0
    # At least once: only what was in flight at the kill may be repeated.
    assert len(markers) - len(set(markers)) <= 200
    async with uow_factory() as u:
        counts = await u.outbox.count_by_status()
    assert counts == {"sent": PEOPLE * PER_PERSON + PEOPLE}
