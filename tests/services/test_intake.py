"""Durable intake: recorded updates wait, in update id order, until the ledger records them processed
(issue: hardening, "webhook updates are lost on a crash")."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.platform import intake
from services.platform.updates import DeliveryLedger
from storage.uow import UnitOfWorkFactory


async def _waiting(uow: UnitOfWorkFactory, page: int = intake.PAGE) -> list[tuple[int, str]]:
    return [row async for row in intake.waiting(uow, channel="telegram", page=page)]


async def test_recorded_updates_wait_in_update_id_order_and_a_second_copy_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await intake.record(uow_factory, channel="telegram", updates=[(30, '{"update_id":30}'), (10, '{"update_id":10}')])
    await intake.record(uow_factory, channel="telegram", updates=[(20, '{"update_id":20}')])
    await intake.record(uow_factory, channel="telegram", updates=[(10, '{"update_id":10,"again":1}')])
    await intake.record(uow_factory, channel="other", updates=[(5, "{}")])
    expected = [(10, '{"update_id":10}'), (20, '{"update_id":20}'), (30, '{"update_id":30}')]
    assert await _waiting(uow_factory) == expected
    assert await _waiting(uow_factory, page=2) == expected  # page boundaries lose nothing


async def test_a_fetched_batch_is_recorded_with_its_json_and_ids_no_update_can_have_are_left_out(
    uow_factory: UnitOfWorkFactory,
) -> None:
    batch: list[object] = [
        {"update_id": 7, "message": {"text": "你好"}},
        {"update_id": 2**63},
        {"update_id": -1},
        {"update_id": "8"},
        {"no_id": True},
        [1, 2],
        {"update_id": 9},
    ]
    assert await intake.record_batch(uow_factory, channel="telegram", items=batch) == 2
    rows = await _waiting(uow_factory)
    assert [update_id for update_id, _ in rows] == [7, 9]
    assert json.loads(rows[0][1]) == {"update_id": 7, "message": {"text": "你好"}}


async def test_an_update_leaves_the_intake_when_the_ledger_records_it_processed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await intake.record(uow_factory, channel="telegram", updates=[(i, "{}") for i in (1, 2, 3)])
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    ledger.processed(2)
    await ledger.flush()
    assert [update_id for update_id, _ in await _waiting(uow_factory)] == [1, 3]


async def test_pruning_removes_only_recorded_updates_already_processed(uow_factory: UnitOfWorkFactory) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    ledger.processed(4)
    await ledger.flush()
    # A late redelivery of 4 is recorded again after it was processed; 5 was never processed.
    await intake.record(uow_factory, channel="telegram", updates=[(4, "{}"), (5, "{}")])
    async with uow_factory() as u:
        assert await intake.prune(u) == 1
    assert [update_id for update_id, _ in await _waiting(uow_factory)] == [5]


def test_only_integers_below_two_to_the_63_and_not_negative_are_update_ids() -> None:
    assert intake.is_storable_update_id(0) and intake.is_storable_update_id(2**63 - 1)
    for bad in (2**63, -1, True, 1.0, "1", None):
        assert not intake.is_storable_update_id(bad)


# ---- the webhook's group commit (issue 21: button presses on PostgreSQL) ----------------------------------


async def test_updates_handed_in_together_share_one_write_and_each_returns_only_once_its_row_is_committed(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = intake.IntakeBatcher(uow_factory, channel="telegram")
    release = asyncio.Event()
    real_record = intake.record

    async def slow_first_write(factory: UnitOfWorkFactory, *, channel: str, updates: list[tuple[int, str]]) -> None:
        if updates[0][0] == 1:
            await release.wait()  # the database is slow to answer the first write
        await real_record(factory, channel=channel, updates=updates)

    monkeypatch.setattr(intake, "record", slow_first_write)
    first = asyncio.create_task(batcher.record(1, '{"update_id":1}'))
    await asyncio.sleep(0)
    later = [asyncio.create_task(batcher.record(i, f'{{"update_id":{i}}}')) for i in range(2, 12)]
    await asyncio.sleep(0.01)
    assert not first.done() and not any(task.done() for task in later)  # nothing acknowledged before its commit
    assert await _waiting(uow_factory) == []
    release.set()
    await asyncio.gather(first, *later)
    assert [update_id for update_id, _ in await _waiting(uow_factory)] == list(range(1, 12))
    assert batcher.writes == 2  # the lone first update, then the ten that arrived while it was written
    await batcher.drain()


async def test_a_lone_update_is_written_at_once_in_its_own_request(uow_factory: UnitOfWorkFactory) -> None:
    batcher = intake.IntakeBatcher(uow_factory, channel="telegram")
    await batcher.record(5, '{"update_id":5}')
    assert [update_id for update_id, _ in await _waiting(uow_factory)] == [5]
    assert batcher.writes == 1


async def test_a_row_the_database_refuses_fails_only_its_own_request_the_others_of_its_batch_are_recorded(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = intake.IntakeBatcher(uow_factory, channel="telegram")
    real_record = intake.record
    release = asyncio.Event()

    async def refusing_13(factory: UnitOfWorkFactory, *, channel: str, updates: list[tuple[int, str]]) -> None:
        if updates[0][0] == 1:
            await release.wait()
        if any(update_id == 13 for update_id, _ in updates):
            raise RuntimeError("refused")
        await real_record(factory, channel=channel, updates=updates)

    monkeypatch.setattr(intake, "record", refusing_13)
    first = asyncio.create_task(batcher.record(1, "{}"))
    await asyncio.sleep(0)
    batch = {i: asyncio.create_task(batcher.record(i, "{}")) for i in (12, 13, 14)}
    release.set()
    await first
    results = await asyncio.gather(*batch.values(), return_exceptions=True)
    assert [isinstance(result, RuntimeError) for result in results] == [False, True, False]  # 503 for 13 alone
    assert [update_id for update_id, _ in await _waiting(uow_factory)] == [1, 12, 14]


async def test_a_batch_the_database_cannot_take_fails_every_request_in_it(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    batcher = intake.IntakeBatcher(uow_factory, channel="telegram")

    async def down(_factory: UnitOfWorkFactory, *, channel: str, updates: list[tuple[int, str]]) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(intake, "record", down)
    results = await asyncio.gather(*(batcher.record(i, "{}") for i in (1, 2, 3)), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)  # each answered 503: Telegram resends
    await batcher.drain()
    assert await _waiting(uow_factory) == []
