"""Excellent experts (000 §20): a yearly ranking from the work records and the credit file, reviewed and
published by staff; the experts named are told and praised."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from services.platform.clock import FixedClock
from services.platform.errors import ExcellencePublished
from services.records import excellence, work_records
from services.records.excellence import rank
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.services.test_work_records import START, answers, signed_activity


def test_the_ranking_orders_by_points_then_excellent_ratings_and_leaves_out_misconduct() -> None:
    events = [(1, "attended", 2), (1, "excellent_performance", 5), (2, "attended", 2), (2, "attended", 2),
              (2, "excellent_performance", 5), (3, "attended", 2), (3, "discipline_breach", -20), (4, "praise", 10)]
    assert [e["person_id"] for e in rank(events, size=5)] == [2, 1]  # 3 breached, 4 never took part
    assert [e["person_id"] for e in rank(events, size=1)] == [2]


async def test_staff_propose_review_and_publish_and_the_named_experts_are_told(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    clock.advance(timedelta(days=20))
    async with uow_factory() as u:
        await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(
            ended, s0={"performance": "excellent"}, s1={"attendance": "absent_without_notice"}),
            final_opinion="意见", decision="consensus")
    async with uow_factory() as u:
        proposal = await excellence.propose(u, actor=ended.clerk, year=2025)
    first, _, third = (s.person_id for s in ended.slots)
    assert [e["person_id"] for e in proposal.entries] == [first, third]
    async with uow_factory() as u:
        await excellence.publish(u, actor=ended.clerk, year=2025)
    async with uow_factory() as u:
        told = [m.person_id for m in (await u.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "excellence.named"))).all()]
        with pytest.raises(ExcellencePublished):
            await excellence.propose(u, actor=ended.clerk, year=2025)
    assert sorted(told) == sorted([first, third])
