"""Rows with a known chat address go to the running dispatcher straight after commit, without a claim
transaction (issue 2: button presses), and lose none of the outbox's promises: written leased in the same
transaction, nothing on rollback, a chat's order kept, a crash before sending repaired at the next start."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from services.platform import notify, outbox
from services.platform.outbox import Delivery, Outcome, OutcomeKind
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org


def _sink(uow_factory: UnitOfWorkFactory) -> list[Any]:
    taken: list[Any] = []
    uow_factory.accept_handoffs(taken.extend)
    return taken


async def _row(uow_factory: UnitOfWorkFactory, row_id: int) -> OutboxMessage:
    async with uow_factory(readonly=True) as u:
        row = (await u.session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id))).one()
        return row


async def test_an_edit_of_a_known_message_is_handed_off_after_commit_and_written_leased(
    uow_factory: UnitOfWorkFactory,
) -> None:
    taken = _sink(uow_factory)
    async with uow_factory() as u:
        row = await notify.edit(u, address="42", external_message_id="7", key="language.set", language="en")
        assert taken == []  # nothing before the commit
        await u.commit()
    assert taken == [Delivery(outbox_id=row.id or 0, channel="telegram", kind="edit", address="42", language="en",
                              message_key="language.set", params={}, buttons=[], edit_message_id="7",
                              created_at=row.created_at)]
    stored = await _row(uow_factory, row.id or 0)
    assert stored.status == "pending" and stored.claimed_until is not None  # leased: no claim takes it twice
    async with uow_factory() as u:
        assert (await outbox.claim(u, limit=10)).deliveries == []


async def test_a_rollback_hands_off_nothing(uow_factory: UnitOfWorkFactory) -> None:
    taken = _sink(uow_factory)
    async with uow_factory() as u:
        await notify.to_address(u, address="42", key="language.set")
        await u.rollback()
    assert taken == []
    async with uow_factory() as u:  # rolled back, then the unit of work goes on and commits something else
        await notify.to_address(u, address="42", key="language.set")
        await u.rollback()
        kept = await notify.to_address(u, address="43", key="language.set")
        await u.commit()
    assert [d.outbox_id for d in taken] == [kept.id]


async def test_without_a_running_dispatcher_or_an_address_rows_wait_for_the_claim(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as u:  # no dispatcher listening
        plain = await notify.to_address(u, address="42", key="language.set")
        await u.commit()
    org = await build_org(uow_factory)
    taken = _sink(uow_factory)
    async with uow_factory() as u:  # a person's address is resolved when claimed
        await notify.to_person(u, person_id=org.expert_id, key="language.set")
        await u.commit()
    assert taken == []
    assert (await _row(uow_factory, plain.id or 0)).claimed_until is None


async def test_a_newer_message_queues_behind_one_to_the_same_chat_that_waits_unclaimed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as u:
        older = await notify.to_address(u, address="42", key="language.set")
        await u.commit()
    async with uow_factory() as u:  # it was sent once and must be retried later: backing off
        claimed = await outbox.claim(u, limit=10)
    assert [d.outbox_id for d in claimed.deliveries] == [older.id]
    async with uow_factory() as u:
        await outbox.record(u, [Outcome(older.id or 0, OutcomeKind.RETRY, error="timed out")])
    taken = _sink(uow_factory)
    async with uow_factory() as u:
        newer = await notify.to_address(u, address="42", key="language.set")
        other = await notify.to_address(u, address="43", key="language.set")
        await u.commit()
    assert [d.outbox_id for d in taken] == [other.id]  # another chat is not held up
    assert (await _row(uow_factory, newer.id or 0)).claimed_until is None  # claimed in order, after the older

