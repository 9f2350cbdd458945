"""Roster edits are coalesced per message (issue 21): a new edit of an activity's roster skips the older ones
still waiting, so the latest state wins and at most one edit per roster message is in flight (one being sent,
claimed by the dispatcher, is left alone)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from services.activities.activities import view
from services.invitations.roster import update_roster
from services.platform.clock import FixedClock
from storage.activities import Activity
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.services.test_work_records import START, signed_activity


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
