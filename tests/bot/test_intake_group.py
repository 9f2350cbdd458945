"""Group commit of the webhook's intake (issue 21, bot/intake_group.py): updates that arrive while a write runs
share the next transaction; every request learns whether its own update was recorded."""

from __future__ import annotations

import asyncio

import pytest

from bot.intake_group import GroupedIntake
from services.platform import intake
from storage.uow import UnitOfWorkFactory


async def _waiting(uow: UnitOfWorkFactory) -> list[int]:
    return [update_id async for update_id, _ in intake.waiting(uow, channel="telegram")]


async def test_an_update_alone_is_written_at_once(uow_factory: UnitOfWorkFactory) -> None:
    grouped = GroupedIntake(uow_factory, channel="telegram")
    await grouped.record(1, '{"update_id":1}')
    assert await _waiting(uow_factory) == [1] and grouped.writes == 1


async def test_updates_arriving_during_a_write_share_the_next_one(uow_factory: UnitOfWorkFactory) -> None:
    grouped = GroupedIntake(uow_factory, channel="telegram")
    await asyncio.gather(*(grouped.record(n, f'{{"update_id":{n}}}') for n in range(1, 11)), grouped.record(3, "{}"))
    assert await _waiting(uow_factory) == list(range(1, 11))  # the repeated id is kept as first recorded
    assert grouped.writes < 11  # the first alone, the rest in the write after it


async def test_every_request_of_a_failed_write_is_told_and_the_next_write_still_happens(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    grouped = GroupedIntake(uow_factory, channel="telegram")
    real = intake.record

    async def failing(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(intake, "record", failing)
    results = await asyncio.gather(grouped.record(1, "{}"), grouped.record(2, "{}"), return_exceptions=True)
    assert all(isinstance(result, OSError) for result in results)
    monkeypatch.setattr(intake, "record", real)
    await grouped.record(3, '{"update_id":3}')
    assert await _waiting(uow_factory) == [3]
