"""The draw's in-memory index of the pool (issue 21, ``services.activities.pool_index``): rebuilt whenever the expert
table changes (migration 0019 stamps every change), and screening exactly as the rules screen each candidate
(000 §8(四), §9, §15(一), §18(三), §22)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text, update

from services.activities import activities, pool_index
from services.activities.activities import ActivityInput, RequirementInput
from services.activities.candidates import screen_pool, spec_of
from services.activities.draw_rules import DrawSettings, Member, Requirement
from services.draws.running import _matching_ids
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.models import Expert
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def _stamp(uow_factory: UnitOfWorkFactory) -> tuple[str, int] | None:
    async with uow_factory(readonly=True) as u:
        return await pool_index.stamp(u)


async def test_every_change_to_the_expert_table_stamps_the_pool_anew(uow_factory: UnitOfWorkFactory,
                                                                     org: Org) -> None:
    """Migration 0019's triggers: an insert, an update and a delete each give a new stamp; the epoch stays."""
    before = await _stamp(uow_factory)  # build_org adds experts: the row exists
    assert before is not None
    [person_id] = await add_pool(uow_factory, org.bureau_id, [{}])
    added = await _stamp(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(update(Expert).where(Expert.person_id == person_id)  # type: ignore[call-overload]
                             .values(categories=["clinical"]))
        await u.commit()
    changed = await _stamp(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(text("DELETE FROM expert WHERE person_id = :p").bindparams(p=person_id))  # type: ignore[call-overload]
        await u.commit()
    deleted = await _stamp(uow_factory)
    stamps = [before, added, changed, deleted]
    assert all(s is not None for s in stamps)
    assert len({s[1] for s in stamps if s}) == 4 and len({s[0] for s in stamps if s}) == 1


async def test_a_change_rolled_back_leaves_the_stamp_as_it_was(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    before = await _stamp(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(update(Expert).values(is_chief=True))  # type: ignore[call-overload]
        assert await pool_index.stamp(u) != before  # seen inside the changing transaction
        await u.rollback()
    assert await _stamp(uow_factory) == before


async def test_the_draw_sees_a_change_to_the_pool_at_once(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    """The index kept between draws is rebuilt when an expert changes: a new category, an exit."""
    ids = await add_pool(uow_factory, org.bureau_id, [{"categories": ["informatics"]} for _ in range(3)])
    requirement = Requirement("inf", Category.INFORMATICS, 1)
    async with uow_factory(readonly=True) as u:
        first = (await pool_index.current(u)).matching([requirement])["inf"]
    async with uow_factory(readonly=True) as u:
        assert (await pool_index.current(u)).matching([requirement])["inf"] is first  # kept: unchanged pool
    assert set(ids) <= set(first)
    async with uow_factory() as u:
        await u.session.exec(update(Expert).where(Expert.person_id == ids[0])  # type: ignore[call-overload]
                             .values(state="exited"))
        await u.session.exec(update(Expert).where(Expert.person_id == ids[1])  # type: ignore[call-overload]
                             .values(categories=["supervision"]))
        await u.commit()
    async with uow_factory(readonly=True) as u:
        after = (await pool_index.current(u)).matching([requirement])["inf"]
        assert list(after) == (await _matching_ids(u, [requirement]))["inf"]  # what the database says
    assert ids[0] not in after and ids[1] not in after and ids[2] in after


@pytest.mark.parametrize("top_up", [False, True])
async def test_the_index_screens_the_pool_exactly_as_the_screening_of_each_candidate(
        uow_factory: UnitOfWorkFactory, org: Org, top_up: bool) -> None:
    """``PoolIndex.screen`` (per employer group, set operations) gives what ``screen_pool`` gives without the index
    (per candidate): the same groups, counts and reasons, with age (and its extension, 000 §22), bar, 000 §9
    grounds, inspected employer, past employer, leave, top-up roster and taken employers (000 §18(三))."""
    from storage.pool import ExpertEmployment, ExpertPeriod

    inspected, other, third = await add_institutions(uow_factory, ["第一人民医院", "第二人民医院", "第三人民医院"])
    start = START.date()
    ids = await add_pool(uow_factory, org.bureau_id, [
        {"employer_id": [inspected, other, third, None][i % 4], "birth_date": date(1958 + i % 20, 3, 1),
         "extended_until": start + timedelta(days=365) if i % 9 == 0 else None,
         "barred_until": start + timedelta(days=30) if i % 7 == 0 else None,
         "criminal_record": i % 11 == 0, "full_civil_capacity": i % 13 != 0,
         "categories": ["supervision", "clinical"] if i % 3 == 0 else ["supervision"],
         "clinical_subcategories": ["medicine"] if i % 3 == 0 else [],
         "specialty_tags": ["drg"] if i % 2 else []}
        for i in range(60)])
    async with uow_factory() as u:
        now = u.now()
        for person_id in ids[5:12]:
            u.session.add(ExpertEmployment(expert_id=person_id, institution_id=inspected, institution_name="一院",
                                           start_date=date(2015, 1, 1), end_date=start - timedelta(days=200)))
        for person_id in ids[20:24]:
            u.session.add(ExpertPeriod(expert_id=person_id, kind="leave", start_date=start, end_date=start,
                                       reason="", created_by="test", created_at=now))
        await u.commit()
    actor = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as u:
        activity = await activities.create_activity(u, actor=actor, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="检查", starts_at=START, ends_at=START + timedelta(days=1),
            response_deadline=START - timedelta(days=3), requirements=(RequirementInput("supervision", 3, 2),),
            institution_ids=(inspected,), place="石河子"))
    assert activity.id is not None
    requirements = [Requirement("sup", Category.SUPERVISION, 3, 2),
                    Requirement("med", Category.CLINICAL, 1, 1, subcategory=ClinicalSubcategory.MEDICINE),
                    Requirement("drg", Category.SUPERVISION, 1, tags=frozenset({"drg"}))]
    existing = [Member(ids[1], other, Category.SUPERVISION), Member(ids[6], third, Category.CLINICAL)] if top_up \
        else []
    async with uow_factory() as u:
        info = await activities.view(u, actor=actor, activity_id=activity.id)
        spec, settings = spec_of(info, u.zone), DrawSettings()
        matching = await _matching_ids(u, requirements)
        expected = await screen_pool(u, requirements, dict(matching), spec=spec, settings=settings,
                                     existing=existing, activity_id=activity.id)
        index = await pool_index.current(u)
        assert {k: list(v) for k, v in index.matching(requirements).items()} == matching
        got = await screen_pool(u, requirements, dict(matching), spec=spec, settings=settings, existing=existing,
                                activity_id=activity.id, index=index)
    assert got == expected
    reasons = set().union(*(s.removed for s in expected.values()))
    assert {"age_limit", "barred", "disqualified", "recusal_employer", "recusal_past_employer", "unavailable",
            "same_employer_field" if top_up else "age_limit"} <= reasons
