"""Roster edits are coalesced per message (issue 21): a new edit of an activity's roster skips the older ones
still waiting, so the latest state wins and at most one edit per roster message is in flight (one being sent,
claimed by the dispatcher, is left alone)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from services.activities.activities import view
from services.invitations.roster import REFRESH, refreshed_params, update_roster
from services.platform import outbox
from services.platform.clock import FixedClock
from storage.activities import Activity
from storage.models import OutboxMessage, Person
from storage.uow import UnitOfWork, UnitOfWorkFactory
from tests.services.test_work_records import START, Ended, signed_activity


async def test_a_new_roster_edit_skips_the_waiting_ones_but_not_the_one_in_flight(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    async with uow_factory() as u:
        original = OutboxMessage(channel="telegram", kind="send", address="-100", message_key="invite.roster.message",
                                 status="sent", created_at=u.now(), next_attempt_at=u.now())
        u.session.add(original)
        await u.session.flush()
        activity = await u.session.get(Activity, ended.activity_id)
        assert activity is not None and original.id is not None
        activity.roster_messages = [original.id]
        u.session.add(activity)
        await u.commit()
        original_id = original.id

    async def edit() -> None:
        async with uow_factory() as u:
            await update_roster(u, await view(u, actor=ended.clerk, activity_id=ended.activity_id))
            await u.commit()

    async def edits() -> list[tuple[str, bool]]:
        async with uow_factory() as u:
            rows = (await u.session.exec(select(OutboxMessage).where(OutboxMessage.edit_of_id == original_id)
                                         .order_by(col(OutboxMessage.id)))).all()
            return [(row.status, row.claimed_until is not None) for row in rows]

    await edit()
    await edit()
    assert await edits() == [("skipped", False), ("pending", False)]
    async with uow_factory() as u:  # the dispatcher claims the waiting edit: it is being sent
        waiting = (await u.session.exec(select(OutboxMessage).where(OutboxMessage.edit_of_id == original_id,
                                                                    OutboxMessage.status == "pending"))).one()
        waiting.claimed_until = u.now() + timedelta(seconds=30)
        u.session.add(waiting)
        await u.commit()
    await edit()
    await edit()
    assert await edits() == [("skipped", False), ("pending", True), ("skipped", False), ("pending", False)]


async def _sent_roster(uow_factory: UnitOfWorkFactory, activity_id: int) -> int:
    """A roster message already sent to a chat (its outbox row), as the activity's only roster message."""
    async with uow_factory() as u:
        original = OutboxMessage(channel="telegram", kind="send", address="-100", message_key="invite.roster.message",
                                 status="sent", sent_address="-100", external_message_id="5", created_at=u.now(),
                                 next_attempt_at=u.now())
        u.session.add(original)
        await u.session.flush()
        activity = await u.session.get(Activity, activity_id)
        assert activity is not None and original.id is not None
        activity.roster_messages = [original.id]
        u.session.add(activity)
        await u.commit()
        return original.id


async def _queued_roster_edit(uow_factory: UnitOfWorkFactory, ended: Ended) -> outbox.Delivery:
    """An answer's roster edit, as the dispatcher claims it (the experts' messages, unbound here, skipped)."""
    async with uow_factory() as u:
        await outbox.claim(u, limit=1000)
    original_id = await _sent_roster(uow_factory, ended.activity_id)
    async with uow_factory() as u:
        await update_roster(u, await view(u, actor=ended.clerk, activity_id=ended.activity_id))
        await u.commit()
    async with uow_factory() as u:
        (delivery,) = (await outbox.claim(u, limit=10)).deliveries
    assert (delivery.kind, delivery.address, delivery.edit_message_id) == ("edit", "-100", "5")
    assert delivery.params == {outbox.REFRESH: REFRESH, "activity_id": ended.activity_id}  # nothing rendered
    assert original_id
    return delivery


async def test_a_roster_edit_is_rendered_from_the_state_when_it_is_sent(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    """Issue 21: an answer queues the edit without rendering the roster; the lines are read just before it is sent,
    so a change made after the edit was queued is in it."""
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    delivery = await _queued_roster_edit(uow_factory, ended)
    async with uow_factory() as u:
        person = await u.session.get(Person, ended.slots[0].person_id)
        assert person is not None
        person.name = "改名后的专家"
        u.session.add(person)
        await u.commit()
    async with uow_factory(readonly=True) as u:
        params = await outbox.refreshed(u, delivery, {REFRESH: refreshed_params})
    assert params is not None
    slots = [line for key, line in params["roster_lines"] if key == "invite.roster.slot"]
    assert [s["status_key"] for s in slots] == ["invite.status.signed"] * 3
    assert "改名后的专家" in [s["name"] for s in slots]
    assert params["closed_key"] == "invite.roster.open" and params["title"] == "定点医院专项检查"


async def test_a_row_to_refresh_without_a_working_refresher_is_skipped(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    delivery = await _queued_roster_edit(uow_factory, ended)

    async def broken(_u: UnitOfWork, _params: Mapping[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the refresher failed")

    for refreshers in ({}, {REFRESH: broken}):
        async with uow_factory(readonly=True) as u:
            assert await outbox.refreshed(u, delivery, refreshers) is None
    async with uow_factory() as u:
        await outbox.record(u, [outbox.Outcome(delivery.outbox_id, outbox.OutcomeKind.SKIPPED, error="unread")])
    async with uow_factory() as u:
        row = await u.session.get(OutboxMessage, delivery.outbox_id)
        assert row is not None and (row.status, row.last_error, row.claimed_until) == ("skipped", "unread", None)
    async with uow_factory() as u:  # no alert to staff for it: nothing else was queued
        assert (await outbox.claim(u, limit=10)).deliveries == []


def test_the_dispatcher_refreshes_rosters() -> None:
    from bot.dispatcher import REFRESHERS

    assert REFRESH in REFRESHERS
