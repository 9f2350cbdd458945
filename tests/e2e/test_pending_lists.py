"""End to end through the emulator: a list of pending requests longer than one screen (one message with buttons
per request) shows the oldest and says how many wait, instead of leaving the rest unmentioned."""

from __future__ import annotations

import pytest

from bot.emulator import BotApiEmulator, buttons
from bot.handlers import pool
from messages import translate
from services.platform.roles import Actor, Role
from services.pool import expert_changes
from tests.builders import build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import bind


async def test_more_change_requests_than_one_screen_says_how_many_wait(
    emulator: BotApiEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "CHANGES_SHOWN", 3)  # a private chat takes about one message a second
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        expert = Actor(label=f"person:{org.expert_id}", person_id=org.expert_id, roles=frozenset({Role.EXPERT}))
        for n in range(pool.CHANGES_SHOWN + 3):
            async with bot.uow() as u:
                await expert_changes.request_change(u, actor=expert, field_name="mobile", value=f"1390099{n:04d}")
        await bind(bot, emulator, org.admin_id, 71, "staff")
        before = len(emulator.messages(71))
        await emulator.user(71).send_command("/changes")
        more = translate("zh", "pool.changes_more", total=pool.CHANGES_SHOWN + 3, shown=pool.CHANGES_SHOWN)
        await emulator.wait_for(lambda: any(m.text == more for m in emulator.messages(71)))
        items = [m for m in emulator.messages(71)[before:] if buttons(m)]
        assert len(items) == pool.CHANGES_SHOWN and emulator.messages(71)[-1].text == more  # the count comes last
