"""Per-unit pools (000 §5; 001 §5, §7) and lending them (003 三(八)): which pools a unit's draw takes from
(issue 14, "Pools per unit and sharing")."""

from __future__ import annotations

from datetime import date

import pytest

from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.roles import SYSTEM_CLI
from services.pool import pools
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org, staff_actor

TODAY = date(2026, 3, 2)


async def test_own_pool_then_parent_then_lent_pools_for_the_grant_s_days(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    async with uow_factory(readonly=True) as uow:
        assert (await pools.drawable_pools(uow, org.div1_id, TODAY)).units == {org.div1_id}
        assert (await pools.drawable_pools(uow, org.bureau_id, TODAY)).units == {org.bureau_id, org.div1_id,
                                                                                  org.div2_id}  # and those below
    async with uow_factory() as uow:
        await pools.set_draws_from_parent(uow, actor=SYSTEM_CLI, org="div1", enabled=True)
    async with uow_factory() as uow:
        share = await pools.grant_share(uow, actor=staff_actor(org.admin_id, org.bureau_id, admin=True),
                                        lender="div2", borrower="div1", starts_on=date(2026, 3, 5),
                                        ends_on=date(2026, 3, 31))
    async with uow_factory(readonly=True) as uow:
        before = await pools.drawable_pools(uow, org.div1_id, TODAY)
        during = await pools.drawable_pools(uow, org.div1_id, date(2026, 3, 31))
        after = await pools.drawable_pools(uow, org.div1_id, date(2026, 4, 1))
    assert before.units == {org.div1_id, org.bureau_id} == after.units
    assert during.units == {org.div1_id, org.bureau_id, org.div2_id} and during.lenders == ((org.div2_id, share.id),)
    async with uow_factory() as uow:
        await pools.revoke_share(uow, actor=SYSTEM_CLI, share_id=share.id or 0)
    async with uow_factory(readonly=True) as uow:
        assert (await pools.drawable_pools(uow, org.div1_id, date(2026, 3, 10))).units == {org.div1_id,
                                                                                          org.bureau_id}


async def test_only_an_admin_over_the_lender_grants(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    for actor in (staff_actor(org.staff_id, org.bureau_id), staff_actor(org.div1_staff_id, org.div1_id, admin=True)):
        async with uow_factory() as uow:
            with pytest.raises(PermissionDenied):  # not an admin; an admin of another unit
                await pools.grant_share(uow, actor=actor, lender="div2", borrower="div1", starts_on=TODAY,
                                        ends_on=TODAY)
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await pools.grant_share(uow, actor=SYSTEM_CLI, lender="div2", borrower="div2", starts_on=TODAY,
                                    ends_on=TODAY)
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await pools.set_draws_from_parent(uow, actor=SYSTEM_CLI, org="bureau", enabled=True)
