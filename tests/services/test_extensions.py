"""Extension past 65 (000 §22): staff grant until a date or refuse; the draw's age rule yields to a granted extension
for activities ending by its last day, and the draw record keeps the fact (issue 14, "Extension past 65")."""

from __future__ import annotations

from datetime import date

import pytest

from services.activities.draw_rules import (
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawSettings,
    ExclusionCode,
    Requirement,
    exclusions,
)
from services.activities.draw_snapshot import canonical_snapshot, parse_snapshot
from services.activities.expert_draw import DrawInputs
from services.platform.errors import InvalidInput, InvalidTransition, PermissionDenied
from services.platform.roles import SYSTEM_CLI
from services.pool import extensions, lifecycle
from services.pool.eligibility import Category
from storage.uow import UnitOfWorkFactory
from tests.builders import add_pool, build_org, staff_actor

OLD = Candidate(1, frozenset({Category.SUPERVISION}), date(1960, 1, 1), extended_until=date(2026, 6, 30))
SPEC = ActivitySpec(ActivityKind.ROUTINE_INSPECTION, date(2026, 6, 29), date(2026, 6, 30))


def test_the_age_rule_yields_to_a_granted_extension_until_its_last_day() -> None:
    settings = DrawSettings()
    assert exclusions(OLD, SPEC, settings) == []
    later = ActivitySpec(ActivityKind.ROUTINE_INSPECTION, date(2026, 6, 30), date(2026, 7, 1))
    assert [e.code for e in exclusions(OLD, later, settings)] == [ExclusionCode.AGE_LIMIT]
    unextended = Candidate(1, frozenset({Category.SUPERVISION}), date(1960, 1, 1))
    assert [e.code for e in exclusions(unextended, SPEC, settings)] == [ExclusionCode.AGE_LIMIT]


def test_the_draw_record_keeps_the_extension() -> None:
    inputs = DrawInputs({"a": (1,)}, (OLD,), (Requirement("a", Category.SUPERVISION, 1),), SPEC, DrawSettings())
    assert parse_snapshot(canonical_snapshot(inputs)).candidates == (OLD,)
    plain = Candidate(2, frozenset({Category.SUPERVISION}), date(1980, 1, 1))
    assert "extended_until" not in canonical_snapshot(DrawInputs({"a": (2,)}, (plain,), inputs.requirements, SPEC,
                                                                 DrawSettings()))  # older records hash the same


async def test_decisions_are_checked(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    expert_id, = await add_pool(uow_factory, org.div1_id, [{"birth_date": date(1961, 3, 10)}])
    async with uow_factory() as uow:
        with pytest.raises(InvalidTransition):  # nothing to refuse
            await extensions.decide_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id, until=None)
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):  # not after today
            await extensions.decide_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id, until=date(2026, 3, 2))
    async with uow_factory() as uow:
        with pytest.raises(PermissionDenied):  # div2's staff do not decide for div1's pool
            await extensions.decide_extension(uow, actor=staff_actor(org.div1_staff_id, org.div2_id),
                                              expert_id=expert_id, until=date(2026, 9, 1))
    async with uow_factory() as uow:
        await lifecycle.request_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id)
    async with uow_factory(readonly=True) as uow:
        pending = await extensions.pending_extensions(uow, actor=staff_actor(org.div1_staff_id, org.div1_id))
    assert [(p.person_id, p.offered_until) for p in pending] == [(expert_id, date(2028, 1, 1))]  # the term end
    async with uow_factory() as uow:
        granted = await extensions.decide_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id,
                                                    until=date(2026, 9, 1))
    assert (granted.extension_requested, granted.extended_until) == (True, date(2026, 9, 1))
