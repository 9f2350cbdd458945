"""The credit file (000 §25): the points table (defaults and overrides), events recorded once per source, the slots
the roster already knows (no response, refused commitment), staff-recorded events and who may read a file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.settings import Settings
from services.platform import policy
from services.platform.clock import FixedClock
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.policy import DEFAULT_CREDIT_POINTS, Policy, RecordSettings, parse_credit_points
from services.platform.roles import Actor, Role
from services.records import credit
from storage.activities import ActivityMember
from storage.records import CreditEvent
from storage.uow import UnitOfWorkFactory
from tests.builders import add_pool, build_org, staff_actor
from tests.services.test_work_records import START, expert_actor, signed_activity


def test_the_default_points_follow_provincial_practice() -> None:
    assert DEFAULT_CREDIT_POINTS["absent_without_notice"] == -20
    assert DEFAULT_CREDIT_POINTS["failure_to_recuse"] == -20
    assert DEFAULT_CREDIT_POINTS["late"] == -10
    assert DEFAULT_CREDIT_POINTS["praise"] > 0
    assert all(DEFAULT_CREDIT_POINTS[k] < 0 for k in ("no_response", "refusal_to_sign", "discipline_breach",
                                                       "reprimand", "decline_after_accept"))


def test_the_table_is_configurable_and_unknown_kinds_are_refused() -> None:
    assert parse_credit_points(" late=-5, praise=8 ") == {"late": -5, "praise": 8}
    with pytest.raises(ValueError, match="unknown credit event kind"):
        parse_credit_points("lateness=-5")
    settings = Settings(telegram_token="1:x", credit_points="late=-5")  # type: ignore[call-arg]
    assert settings.policy().records.credit_points["late"] == -5
    assert settings.policy().records.credit_points["absent_without_notice"] == -20
    with pytest.raises(ValidationError):
        Settings(telegram_token="1:x", credit_points="nonsense=1")  # type: ignore[call-arg]


def test_points_come_from_the_policy_in_force() -> None:
    saved = policy.current()
    try:
        policy.configure(Policy(records=RecordSettings(credit_points={**DEFAULT_CREDIT_POINTS, "late": -3})))
        assert credit.points_for("late") == -3
        with pytest.raises(InvalidInput):
            credit.points_for("unknown")
    finally:
        policy.configure(saved)


async def test_expired_and_refused_slots_are_recorded_once(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    clock.advance(START - timedelta(days=14) - clock.now())
    ended = await signed_activity(uow_factory)
    async with uow_factory() as u:
        first, second = [await u.session.get(ActivityMember, s.id) for s in ended.slots[:2]]
        assert first is not None and second is not None
        first.status, second.status = "expired", "refused"
        u.session.add_all([first, second])
        await u.commit()
    assert await credit.sweep_slots(uow_factory) == 2
    assert await credit.sweep_slots(uow_factory) == 0
    async with uow_factory() as u:
        events = {(e.source, e.kind, e.points) for e in (await u.session.exec(select(CreditEvent))).all()}
    assert events == {(f"slot:{first.id}:expired", "no_response", -5),
                      (f"slot:{second.id}:refused", "refusal_to_sign", -10)}


async def test_staff_record_events_within_their_line_and_experts_read_only_their_own(
        uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    first, second = await add_pool(uow_factory, org.div1_id, [{"name": "甲"}, {"name": "乙"}])
    clerk = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as u:
        event = await credit.add_by_staff(u, actor=clerk, person_id=first, kind="praise", note="检查认真")
    assert event.points == 10 and event.source.startswith("staff:")
    async with uow_factory() as u:
        with pytest.raises(InvalidInput):
            await credit.add_by_staff(u, actor=clerk, person_id=first, kind="attended", note="x")
    async with uow_factory() as u:
        with pytest.raises(PermissionDenied):
            await credit.add_by_staff(u, actor=staff_actor(org.admin_id, org.div2_id), person_id=first,
                                      kind="late", note="迟到")
    async with uow_factory() as u:
        own = await credit.credit_file(u, actor=expert_actor(first), person_id=first)
        with pytest.raises(PermissionDenied):
            await credit.credit_file(u, actor=expert_actor(second), person_id=first)
    assert own.total == 10
    other = Actor(label="person:0", person_id=0, roles=frozenset({Role.SUPERVISOR}))
    async with uow_factory() as u:
        with pytest.raises(PermissionDenied):
            await credit.credit_file(u, actor=other, person_id=first)
