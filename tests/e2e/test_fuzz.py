"""Thousands of generated updates of every kind through the webhook (hardening issue: "no exception from any
input"): commands with garbage arguments, forged callback data, oversized texts and captions, bad file ids, updates
without a sender, edited messages, channel posts, member changes. Nothing may raise in a handler, every request is
answered, and the audit chain stays intact."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.emulator import BotApiEmulator
from bot.settings import BotMode
from services.platform import audit
from tests.builders import build_org
from tests.e2e.harness import WEBHOOK_SECRET, BotHarness, running_bot
from tests.e2e.talk import (
    FAST,
    bind,
    emulator_without_limits,  # noqa: F401  (the "emulator" fixture)
)
from tests.fuzz import Cast, UpdateFuzzer

ADMIN, STAFF, EXPERT, SUPERVISOR = 7001, 7002, 7003, 7004
STRANGERS = (7101, 7102)
GROUP = -100_700


async def _idle(bot: BotHarness) -> None:
    """Wait until every accepted update has been processed (the queue is empty and nothing is in flight)."""
    application = bot.running.application
    processor = application.update_processor

    def settled() -> bool:
        return application.update_queue.empty() and processor.current_concurrent_updates == 0

    for _ in range(3):  # settled three times in a row, with the loop turning in between
        await bot.emulator.wait_for(settled, timeout=120)
        await asyncio.sleep(0.05)


async def _cast(bot: BotHarness, emulator: BotApiEmulator) -> Cast:
    org = await build_org(bot.uow)
    await bind(bot, emulator, org.admin_id, ADMIN, "staff")
    await bind(bot, emulator, org.staff_id, STAFF, "staff")
    await bind(bot, emulator, org.expert_id, EXPERT, "expert")
    await bind(bot, emulator, org.supervisor_id, SUPERVISOR, "supervisor")
    for user in STRANGERS:
        emulator.user(user, language_code="en")
    emulator.group(GROUP, "医保局工作群")
    return Cast(users=(ADMIN, STAFF, EXPERT, SUPERVISOR, *STRANGERS), groups=(GROUP,))


@pytest.mark.parametrize("seed", [1, 2])
async def test_generated_updates_of_every_kind_raise_nothing_and_keep_the_audit_chain(
    emulator: BotApiEmulator, database_url: str, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK, rate_group_per_minute=100_000, **FAST) as bot:
        fuzzer = UpdateFuzzer(seed, await _cast(bot, emulator))
        errors_before = bot.running.services.metrics.handler_errors._value.get()
        caplog.set_level(logging.ERROR)
        statuses = [await emulator.deliver_to_webhook_raw(update, secret=WEBHOOK_SECRET)
                    for update in fuzzer.updates(1000)]
        await _idle(bot)
        errors = bot.running.services.metrics.handler_errors._value.get() - errors_before
        async with bot.uow() as uow:
            chain = await audit.verify_chain(uow)
    assert set(statuses) == {200}
    failures = [r.getMessage() + (f"\n{r.exc_text}" if r.exc_text else "") for r in caplog.records
                if r.levelno >= logging.ERROR]
    assert errors == 0, "\n\n".join(failures[:5])
    assert chain.ok, chain.reason
