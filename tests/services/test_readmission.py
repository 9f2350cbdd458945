"""Re-admission (000 §10; 001 §22): a new application after exit, the earlier time kept; refused while the bar of a
removal runs, and from any other state (issue 14, "Back into the pool")."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from services.platform.errors import InvalidTransition, StillBarred
from services.platform.roles import SYSTEM_CLI
from services.pool import lifecycle
from services.pool.lifecycle import ExitReason
from storage.models import Expert
from storage.pool import ExpertTenure
from storage.uow import UnitOfWorkFactory
from tests.builders import add_pool, build_org


async def test_readmission_keeps_the_earlier_tenure_and_starts_a_new_application(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await build_org(uow_factory)
    expert_id, = await add_pool(uow_factory, 1, [{}])
    async with uow_factory() as uow:
        with pytest.raises(InvalidTransition):
            await lifecycle.readmit(uow, actor=SYSTEM_CLI, expert_id=expert_id)
    async with uow_factory() as uow:
        await lifecycle.exit_pool(uow, actor=SYSTEM_CLI, expert_id=expert_id, reason=ExitReason.VOLUNTARY)
    async with uow_factory() as uow:
        expert = await lifecycle.readmit(uow, actor=SYSTEM_CLI, expert_id=expert_id)
    assert (expert.state, expert.term_end, expert.ended_on, expert.end_reason) == ("applicant", None, None, None)
    async with uow_factory(readonly=True) as uow:
        tenure = (await uow.session.exec(select(ExpertTenure))).one()
    assert (tenure.expert_id, tenure.state, tenure.term_start, tenure.term_end, tenure.end_reason) == (
        expert_id, "exited", date(2025, 1, 1), date(2028, 1, 1), "voluntary")


async def test_a_removed_expert_is_refused_until_the_bar_ends(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    expert_id, = await add_pool(uow_factory, 1, [{"state": "removed", "ended_on": date(2022, 3, 1),
                                                  "end_reason": "拒签承诺书"}])  # no bar stored: computed
    async with uow_factory() as uow:
        with pytest.raises(StillBarred) as refused:
            await lifecycle.readmit(uow, actor=SYSTEM_CLI, expert_id=expert_id)
    assert refused.value.params == {"reason": "拒签承诺书", "ended_on": "2022-03-01", "barred_until": "2027-03-02"}
    async with uow_factory() as uow:
        record = await uow.session.get(Expert, expert_id)
        assert record is not None
        record.barred_until = date(2026, 3, 2)  # today: the bar has ended
        uow.session.add(record)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await lifecycle.readmit(uow, actor=SYSTEM_CLI, expert_id=expert_id)).state == "applicant"
