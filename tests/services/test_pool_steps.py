"""Staff's life-cycle steps by name (services.pool.steps) and the plain views the bot renders: pending change
requests and declared interests (issue: architecture, "services return plain values")."""

from __future__ import annotations

import pytest

from services.platform.errors import InvalidInput, InvalidTransition
from services.platform.roles import SYSTEM_CLI, Actor, Role
from services.pool import expert_changes
from services.pool.expert_changes import PendingChange, shown_value
from services.pool.experts import sees_full_id_numbers
from services.pool.steps import NEEDS_REASON, Step, StepTaken, take_step
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org, make_eligible


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    built = await build_org(uow_factory)
    await make_eligible(uow_factory, built.expert_id)
    return built


def _expert(org: Org) -> Actor:
    return Actor(label="person:e", person_id=org.expert_id, roles=frozenset({Role.EXPERT}))


async def test_a_step_that_ends_a_record_needs_a_reason(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    assert {Step.REJECT, Step.OBJECTION, Step.EXIT, Step.REMOVE} == NEEDS_REASON
    for step in NEEDS_REASON:
        with pytest.raises(InvalidInput):
            async with uow_factory() as u:
                await take_step(u, actor=SYSTEM_CLI, expert_id=org.expert_id, step=step, reason="  ")


async def test_a_step_returns_who_moved_and_their_state(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    async with uow_factory() as u:
        taken = await take_step(u, actor=SYSTEM_CLI, expert_id=org.expert_id, step=Step.EXIT, reason="调离")
    assert taken == StepTaken(person_id=org.expert_id, state="exited")
    with pytest.raises(InvalidTransition):
        async with uow_factory() as u:
            await take_step(u, actor=SYSTEM_CLI, expert_id=org.expert_id, step=Step.RENEW)


async def test_pending_changes_are_plain_views_with_the_values_shown(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    async with uow_factory() as u:
        await expert_changes.request_change(u, actor=_expert(org), field_name="mobile", value="139-0099-1234")
    async with uow_factory() as u:
        pending = await expert_changes.pending_changes(u, actor=Actor(
            label="person:a", person_id=org.admin_id, roles=frozenset({Role.STAFF, Role.ADMIN}),
            staff_org_unit_id=org.bureau_id))
    assert len(pending) == 1 and isinstance(pending[0], PendingChange)
    assert (pending[0].expert_id, pending[0].field, pending[0].new) == (org.expert_id, "mobile", "13900991234")


def test_a_stored_value_is_shown_as_the_employer_name_else_the_first_value() -> None:
    assert shown_value({"employer_id": 3, "employer_name": "石河子市人民医院"}) == "石河子市人民医院"
    assert shown_value({"mobile": "13900991234"}) == "13900991234"
    assert shown_value({}) == "-" and shown_value({"title": ""}) == "-"


def test_only_admins_and_the_system_see_id_numbers_in_full() -> None:
    assert sees_full_id_numbers(SYSTEM_CLI)
    assert sees_full_id_numbers(Actor(label="a", person_id=1, roles=frozenset({Role.ADMIN})))
    assert not sees_full_id_numbers(Actor(label="s", person_id=2, roles=frozenset({Role.STAFF})))
