"""Redelivered updates are handled once, also across a restart (issue: foundation, runtime)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from services.platform.updates import DeliveryLedger
from storage.models import ProcessedUpdate
from storage.repositories import ProcessedUpdateRepository
from storage.uow import UnitOfWorkFactory


async def _first(ledger: DeliveryLedger, uow: UnitOfWorkFactory, update_id: int) -> bool:
    """Take the id in, as the gate does, and report it processed when it was new (as the processor does)."""
    async with uow(readonly=True) as u:
        first = await ledger.first_delivery(u, update_id)
    if first:
        ledger.processed(update_id)
    return first


async def _count(uow: UnitOfWorkFactory) -> int:
    async with uow(readonly=True) as u:
        return int((await u.session.exec(select(func.count()).select_from(ProcessedUpdate))).one())


async def test_a_repeated_id_is_a_duplicate_from_memory_and_after_a_restart_from_the_database(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    assert await _first(ledger, uow_factory, 1)
    assert not await _first(ledger, uow_factory, 1)
    assert await ledger.flush() == 1
    restarted = DeliveryLedger(uow_factory, channel="telegram")
    assert not await _first(restarted, uow_factory, 1)
    assert await _first(restarted, uow_factory, 2)


async def test_flushing_twice_or_the_same_id_twice_stores_it_once(uow_factory: UnitOfWorkFactory) -> None:
    one, two = DeliveryLedger(uow_factory, channel="telegram"), DeliveryLedger(uow_factory, channel="telegram")
    assert await _first(one, uow_factory, 7) and await _first(two, uow_factory, 7)  # two processes, same moment
    await one.flush()
    await two.flush()
    assert await one.flush() == 0
    async with uow_factory(readonly=True) as u:
        assert (await u.session.exec(select(func.count()).select_from(ProcessedUpdate))).one() == 1


async def test_stop_writes_what_is_left(uow_factory: UnitOfWorkFactory) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    ledger.start()
    for update_id in range(100, 110):
        assert await _first(ledger, uow_factory, update_id)
    await ledger.stop()
    async with uow_factory(readonly=True) as u:
        assert (await u.session.exec(select(func.count()).select_from(ProcessedUpdate))).one() == 10


async def test_an_id_below_the_highest_seen_is_checked_against_the_database(uow_factory: UnitOfWorkFactory) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    for update_id in (10, 12):
        assert await _first(ledger, uow_factory, update_id)
    await ledger.flush()
    restarted = DeliveryLedger(uow_factory, channel="telegram")
    assert await _first(restarted, uow_factory, 11)  # overtaken, never seen: new
    assert not await _first(restarted, uow_factory, 12)  # redelivered after the restart
    assert await _first(restarted, uow_factory, 13)



async def test_ids_overtaking_each_other_are_answered_from_memory(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[int] = []
    original = ProcessedUpdateRepository.exists

    async def counted(self: ProcessedUpdateRepository, channel: str, update_id: int) -> bool:
        lookups.append(update_id)
        return await original(self, channel, update_id)

    monkeypatch.setattr(ProcessedUpdateRepository, "exists", counted)
    ledger = DeliveryLedger(uow_factory, channel="telegram", recent=3)
    for update_id in (5, 7, 6):  # 6 runs after 7: chats are handled concurrently
        assert await _first(ledger, uow_factory, update_id)
    assert not await _first(ledger, uow_factory, 6)
    assert lookups == []
    await ledger.flush()
    assert await _first(ledger, uow_factory, 9)  # 5 is dropped from memory: the floor is now 5
    assert not await _first(ledger, uow_factory, 5)  # at the floor: asked of the database, which has it
    assert await _first(ledger, uow_factory, 8)  # above the floor, never seen
    assert lookups == [5]


async def test_an_id_is_written_only_once_its_update_has_been_processed(uow_factory: UnitOfWorkFactory) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    async with uow_factory(readonly=True) as u:
        assert await ledger.first_delivery(u, 21)
    assert await ledger.flush() == 0  # taken in, still being processed: a crash now leaves it to be fed again
    async with uow_factory(readonly=True) as u:
        assert not await ledger.first_delivery(u, 21)  # but a redelivery meanwhile is a duplicate
    ledger.processed(21)
    assert await ledger.flush() == 1
    assert await _count(uow_factory) == 1


@pytest.mark.parametrize("bad", [2**63, 2**64 + 5, -1, "7", 3.0, True])
async def test_an_id_no_update_can_have_is_refused_and_never_wedges_the_writer(
    uow_factory: UnitOfWorkFactory, bad: object
) -> None:
    ledger = DeliveryLedger(uow_factory, channel="telegram")
    async with uow_factory(readonly=True) as u:
        assert not await ledger.first_delivery(u, bad)  # type: ignore[arg-type]
    ledger.processed(bad)  # type: ignore[arg-type]
    ledger._pending.append(bad)  # type: ignore[arg-type]  # however it got there, the batch writer drops it
    assert await _first(ledger, uow_factory, 8)
    assert await ledger.flush() == 1
    assert await ledger.flush() == 0
    assert await _count(uow_factory) == 1

