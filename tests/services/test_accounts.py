"""Invites, binding, unbinding and identification (issue: foundation, accounts and roles)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from services.people import accounts
from services.platform.clock import FixedClock
from services.platform.errors import (
    AlreadyBound,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteRevoked,
    InviteUsed,
    PermissionDenied,
    RoleMissing,
    TooManyAttempts,
)
from services.platform.roles import SYSTEM_CLI, Role
from storage.models import InviteCode, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org


async def _invite(uow: UnitOfWorkFactory, role: str, person_id: int, **kwargs: object) -> accounts.IssuedInvite:
    async with uow() as u:
        return await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id, **kwargs)  # type: ignore[arg-type]


async def _redeem(uow: UnitOfWorkFactory, code: str, user: str = "1001") -> accounts.Binding:
    async with uow() as u:
        return await accounts.redeem_invite(u, channel="telegram", external_user_id=user, chat_id=user, code=code)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def test_an_invite_code_is_url_safe_has_128_random_bits_and_only_its_hash_is_stored(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", issued.code)
    async with uow_factory() as u:
        rows = (await u.session.exec(select(InviteCode))).all()
    assert [r.code_hash for r in rows] == [accounts.hash_code(issued.code)]
    assert issued.code not in rows[0].code_hash


async def test_redeeming_binds_the_account_and_queues_a_welcome(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id)
    binding = await _redeem(uow_factory, issued.code)
    assert binding.person_id == org.expert_id
    async with uow_factory() as u:
        actor = await accounts.identify(u, channel="telegram", external_user_id="1001")
        welcome = (await u.session.exec(select(OutboxMessage))).all()
    assert actor.person_id == org.expert_id and actor.roles == frozenset({Role.EXPERT})
    assert [(w.message_key, w.person_id) for w in welcome] == [("binding.welcome", org.expert_id)]


async def test_a_code_works_once(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id)
    await _redeem(uow_factory, issued.code, user="1")
    with pytest.raises(InviteUsed):
        await _redeem(uow_factory, issued.code, user="2")


async def test_an_expired_code_is_refused(uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id, ttl=timedelta(days=7))
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(InviteExpired):
        await _redeem(uow_factory, issued.code)


async def test_a_garbage_code_is_refused(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    with pytest.raises(InviteInvalid):
        await _redeem(uow_factory, "not-a-real-code-at-all")


async def test_a_newer_invite_replaces_the_older_one(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    first = await _invite(uow_factory, "expert", org.expert_id)
    second = await _invite(uow_factory, "expert", org.expert_id)
    with pytest.raises(InviteRevoked):
        await _redeem(uow_factory, first.code)
    assert (await _redeem(uow_factory, second.code)).person_id == org.expert_id


async def test_repeated_failures_from_one_account_are_rate_limited(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(InviteInvalid):
            await _redeem(uow_factory, "wrong-code-wrong-code")
    with pytest.raises(TooManyAttempts):
        await _redeem(uow_factory, issued.code)  # even the right code waits
    clock.advance(accounts.FAILURE_WINDOW + timedelta(seconds=1))
    assert (await _redeem(uow_factory, issued.code)).person_id == org.expert_id


async def test_other_accounts_are_not_affected_by_one_accounts_failures(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    issued = await _invite(uow_factory, "expert", org.expert_id)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(InviteInvalid):
            await _redeem(uow_factory, "wrong-code-wrong-code", user="666")
    assert (await _redeem(uow_factory, issued.code, user="777")).person_id == org.expert_id


async def test_a_bound_account_cannot_redeem_another_code(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _redeem(uow_factory, (await _invite(uow_factory, "expert", org.expert_id)).code)
    other = await _invite(uow_factory, "supervisor", org.supervisor_id)
    with pytest.raises(AlreadyBound):
        await _redeem(uow_factory, other.code)


async def test_an_invite_needs_the_role_it_names(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    with pytest.raises(RoleMissing):
        await _invite(uow_factory, "staff", org.expert_id)
    with pytest.raises(InvalidInput):
        await _invite(uow_factory, "admin", org.staff_id)


async def test_staff_invite_only_within_their_org_subtree(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _redeem(uow_factory, (await _invite(uow_factory, "staff", org.div1_staff_id)).code, user="50")
    async with uow_factory() as u:
        div1_staff = await accounts.identify(u, channel="telegram", external_user_id="50")
    async with uow_factory() as u:
        issued = await accounts.create_invite(u, actor=div1_staff, role="expert", person_id=org.expert_id)
    assert issued.person_id == org.expert_id
    with pytest.raises(PermissionDenied):
        async with uow_factory() as u:
            await accounts.create_invite(u, actor=div1_staff, role="expert", person_id=org.div2_expert_id)


async def test_unbinding_frees_the_person_for_a_new_phone(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _redeem(uow_factory, (await _invite(uow_factory, "expert", org.expert_id)).code, user="old-phone")
    async with uow_factory() as u:
        assert await accounts.unbind_person(u, actor=SYSTEM_CLI, person_id=org.expert_id, reason="lost phone") == 1
    async with uow_factory() as u:
        assert not (await accounts.identify(u, channel="telegram", external_user_id="old-phone")).is_bound
    await _redeem(uow_factory, (await _invite(uow_factory, "expert", org.expert_id)).code, user="new-phone")
    async with uow_factory() as u:
        assert (await accounts.identify(u, channel="telegram", external_user_id="new-phone")).person_id == org.expert_id


async def test_admins_hold_both_staff_and_admin_roles(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _redeem(uow_factory, (await _invite(uow_factory, "staff", org.admin_id)).code)
    async with uow_factory() as u:
        actor = await accounts.identify(u, channel="telegram", external_user_id="1001")
    assert actor.roles == frozenset({Role.STAFF, Role.ADMIN})
    assert actor.staff_org_unit_id == org.bureau_id
