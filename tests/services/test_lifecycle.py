"""The expert life cycle and the pool's daily sweep (issue: expert pool, "Lifecycle";
000 §10, §21–§23, 001 §22)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from services.platform.clock import FixedClock
from services.platform.errors import InvalidInput, InvalidTransition, PermissionDenied
from services.platform.roles import SYSTEM_CLI, Actor, Role
from services.pool import lifecycle, pool_jobs
from services.pool.lifecycle import ExitReason, ExpertState
from storage.models import Expert, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org, make_eligible


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    built = await build_org(uow_factory)
    await make_eligible(uow_factory, built.expert_id)
    return built


async def _set(uow: UnitOfWorkFactory, expert_id: int, **values: object) -> None:
    async with uow() as u:
        expert = await u.people.expert(expert_id)
        assert expert is not None
        for name, value in values.items():
            setattr(expert, name, value)
        u.session.add(expert)
        await u.commit()


async def _get(uow: UnitOfWorkFactory, expert_id: int) -> Expert:
    async with uow() as u:
        expert = await u.people.expert(expert_id)
    assert expert is not None
    return expert


async def _messages(uow: UnitOfWorkFactory) -> list[tuple[int | None, str]]:
    async with uow() as u:
        rows = (await u.session.exec(select(OutboxMessage))).all()
    return [(r.person_id, r.message_key) for r in rows]


async def test_an_expert_added_by_staff_is_active_for_a_three_year_term(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    expert = await _get(uow_factory, org.expert_id)
    assert expert.state == "active"
    assert (expert.term_start, expert.term_end) == (date(2026, 3, 2), date(2029, 3, 2))


async def test_an_application_goes_through_review_and_notice_to_appointment(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    await _set(uow_factory, org.expert_id, state="applicant", term_start=None, term_end=None)
    async with uow_factory() as u:
        await lifecycle.start_review(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    async with uow_factory() as u:
        expert = await lifecycle.approve(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    assert expert.state == "public_notice"
    assert expert.notice_ends_on == date(2026, 3, 9)  # five working days after Monday 2 March 2026
    with pytest.raises(InvalidTransition):
        async with uow_factory() as u:
            await lifecycle.appoint(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    clock.advance(timedelta(days=7))
    async with uow_factory() as u:
        expert = await lifecycle.appoint(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    assert (expert.state, expert.term_start, expert.term_end) == ("active", date(2026, 3, 9), date(2029, 3, 9))
    assert (org.expert_id, "lifecycle.appointed") in await _messages(uow_factory)


async def test_an_objection_sends_the_application_back_to_review(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _set(uow_factory, org.expert_id, state="public_notice", notice_ends_on=date(2026, 3, 9))
    async with uow_factory() as u:
        expert = await lifecycle.record_objection(u, actor=SYSTEM_CLI, expert_id=org.expert_id, note="举报材料不实")
    assert (expert.state, expert.objection_note) == ("under_review", "举报材料不实")


async def test_a_transition_from_the_wrong_state_is_refused_with_both_names(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        async with uow_factory() as u:
            await lifecycle.approve(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    assert refused.value.params == {"action_key": "lifecycle.action.approve", "state_key": "lifecycle.state.active"}


async def test_renewal_is_decided_in_the_month_before_the_term_ends(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    with pytest.raises(InvalidTransition):
        async with uow_factory() as u:
            await lifecycle.renew(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    clock.advance(timedelta(days=3 * 365 - 20))
    async with uow_factory() as u:
        expert = await lifecycle.renew(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    assert (expert.term_start, expert.term_end) == (date(2029, 3, 2), date(2032, 3, 2))


async def test_a_removed_expert_is_barred_for_five_years(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    async with uow_factory() as u:
        expert = await lifecycle.remove(
            u, actor=SYSTEM_CLI, expert_id=org.expert_id, reason="泄露检查信息（第二十三条第三项）"
        )
    assert (expert.state, expert.barred_until) == ("removed", date(2031, 3, 3))  # first day allowed back
    with pytest.raises(InvalidTransition):
        async with uow_factory() as u:
            await lifecycle.remove(u, actor=SYSTEM_CLI, expert_id=org.expert_id, reason="again")
    with pytest.raises(InvalidInput):
        async with uow_factory() as u:
            await lifecycle.remove(u, actor=SYSTEM_CLI, expert_id=org.div2_expert_id, reason="   ")


async def test_a_voluntary_exit_keeps_the_reason_and_tells_the_expert(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    async with uow_factory() as u:
        expert = await lifecycle.exit_pool(u, actor=SYSTEM_CLI, expert_id=org.expert_id, reason=ExitReason.VOLUNTARY,
                                           note="工作调动")
    assert (expert.state, expert.end_reason, expert.ended_on) == ("exited", "voluntary: 工作调动", date(2026, 3, 2))
    assert (org.expert_id, "lifecycle.exited.voluntary") in await _messages(uow_factory)


async def test_staff_of_another_division_cannot_move_an_expert(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    div1_staff = Actor(label="person:x", person_id=org.div1_staff_id, roles=frozenset({Role.STAFF}),
                       staff_org_unit_id=org.div1_id)
    with pytest.raises(PermissionDenied):
        async with uow_factory() as u:
            await lifecycle.exit_pool(u, actor=div1_staff, expert_id=org.div2_expert_id, reason=ExitReason.OTHER)


async def test_leave_is_a_period_declared_by_the_expert_and_suspension_is_for_staff(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    expert = Actor(label="person:e", person_id=org.expert_id, roles=frozenset({Role.EXPERT}))
    async with uow_factory() as u:
        period = await lifecycle.add_period(u, actor=expert, expert_id=org.expert_id, kind="leave",
                                            start=date(2026, 4, 1), end=date(2026, 4, 30), reason="出国访学")
    assert period.kind == "leave"
    with pytest.raises(InvalidInput):
        async with uow_factory() as u:
            await lifecycle.add_period(u, actor=expert, expert_id=org.expert_id, kind="suspension",
                                       start=date(2026, 4, 1), end=date(2026, 4, 2))
    with pytest.raises(InvalidInput):
        async with uow_factory() as u:
            await lifecycle.add_period(u, actor=SYSTEM_CLI, expert_id=org.expert_id, kind="leave",
                                       start=date(2026, 4, 2), end=date(2026, 4, 1))
    assert (await _get(uow_factory, org.expert_id)).state == ExpertState.ACTIVE.value


async def test_the_daily_sweep_tells_of_the_review_once_then_exits_at_the_term_end(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    clock.at = clock.at.replace(year=2029, month=2, day=10)
    report = await pool_jobs.daily_sweep(uow_factory)
    assert report.review_notices == 2  # both experts of the standard org
    assert (await pool_jobs.daily_sweep(uow_factory)).review_notices == 0
    messages = await _messages(uow_factory)
    assert (org.expert_id, "lifecycle.review_due") in messages
    assert (org.admin_id, "lifecycle.review_due_staff") in messages  # div1 has no chat: its alert climbs to the bureau
    clock.at = clock.at.replace(month=3, day=2)
    assert (await pool_jobs.daily_sweep(uow_factory)).term_exits == 2
    expert = await _get(uow_factory, org.expert_id)
    assert (expert.state, expert.end_reason) == ("exited", "term_end")
    assert (await pool_jobs.daily_sweep(uow_factory)).term_exits == 0


async def test_the_daily_sweep_exits_an_expert_at_65_unless_an_extension_was_requested(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    await _set(uow_factory, org.expert_id, birth_date=date(1961, 3, 2))  # 65 today
    await _set(uow_factory, org.div2_expert_id, birth_date=date(1961, 3, 2), extension_requested=True)
    report = await pool_jobs.daily_sweep(uow_factory)
    assert report.age_exits == 1
    assert (await _get(uow_factory, org.expert_id)).end_reason == "age_limit"
    assert (await _get(uow_factory, org.div2_expert_id)).state == "active"


async def test_the_day_before_the_65th_birthday_nobody_exits(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _set(uow_factory, org.expert_id, birth_date=date(1961, 3, 3))
    assert (await pool_jobs.daily_sweep(uow_factory)).age_exits == 0


async def test_the_daily_sweep_appoints_when_the_notice_ends_without_objection(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    await _set(uow_factory, org.expert_id, state="public_notice", notice_ends_on=date(2026, 3, 5),
               term_start=None, term_end=None)
    assert (await pool_jobs.daily_sweep(uow_factory)).appointments == 0
    clock.advance(timedelta(days=3))
    assert (await pool_jobs.daily_sweep(uow_factory)).appointments == 1
    assert (await _get(uow_factory, org.expert_id)).term_end == date(2029, 3, 5)


async def test_admission_and_renewal_check_the_conditions_and_name_the_articles(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    from services.platform.errors import NotEligible

    await _set(uow_factory, org.div2_expert_id, state="under_review")
    with pytest.raises(NotEligible) as refused:
        async with uow_factory() as u:
            await lifecycle.approve(u, actor=SYSTEM_CLI, expert_id=org.div2_expert_id)
    assert "000 §7 categories_count" in refused.value.params["articles"]
    await make_eligible(uow_factory, org.div2_expert_id, criminal_record=True)
    with pytest.raises(NotEligible) as refused:
        async with uow_factory() as u:
            await lifecycle.approve(u, actor=SYSTEM_CLI, expert_id=org.div2_expert_id)
    assert refused.value.params["articles"] == "000 §9(二) criminal_or_penalty"
    clock.advance(timedelta(days=3 * 365 - 20))
    await make_eligible(uow_factory, org.expert_id, birth_date=date(1961, 1, 1))  # 65 before the renewal
    with pytest.raises(NotEligible):
        async with uow_factory() as u:
            await lifecycle.renew(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    expert = Actor(label="person:e", person_id=org.expert_id, roles=frozenset({Role.EXPERT}))
    async with uow_factory() as u:
        await lifecycle.request_extension(u, actor=expert, expert_id=org.expert_id)  # 000 §22
    async with uow_factory() as u:
        renewed = await lifecycle.renew(u, actor=SYSTEM_CLI, expert_id=org.expert_id)
    assert renewed.term_end == date(2032, 3, 2)
