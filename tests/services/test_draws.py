"""Activities, draw requests, approval and stored, verifiable draws against the database
(000 §15–§18, annex 3; 001 §11, §14, §17)."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.errors import ActivityInvalid, ActivityNotFound, DrawNotFound, DrawRefused
from services.platform.roles import Actor
from storage.activities import ActivityMember, DrawRecord, DrawRequest
from storage.models import AuditEntry, OrgUnit, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


def admin(org: Org) -> Actor:
    return staff_actor(org.admin_id, org.bureau_id, admin=True)


def clerk(org: Org) -> Actor:
    return staff_actor(org.staff_id, org.bureau_id)


def data(org_code: str = "bureau", *, requirements: tuple[RequirementInput, ...] = (RequirementInput("supervision", 3,
                                                                                                     2),),
         institutions: tuple[int, ...] = (), start: datetime = START, **overrides: object) -> ActivityInput:
    values: dict[str, object] = dict(
        org=org_code, kind="routine_inspection", title="2026年第一季度定点医院检查", starts_at=start,
        ends_at=start + timedelta(days=2), response_deadline=start - timedelta(days=3), requirements=requirements,
        institution_ids=institutions, place="石河子",
    )
    values.update(overrides)
    return ActivityInput(**values)  # type: ignore[arg-type]


async def create(uow: UnitOfWorkFactory, actor: Actor, payload: ActivityInput) -> int:
    async with uow() as u:
        activity = await activities.create_activity(u, actor=actor, data=payload)
    assert activity.id is not None
    return activity.id


async def file_and_approve(uow: UnitOfWorkFactory, org: Org, activity_id: int) -> draws.DrawOutcome:
    async with uow() as u:
        filed = await draws.file_request(u, actor=clerk(org), activity_id=activity_id)
    assert filed.request.status == "pending" and filed.record is None
    assert filed.request.id is not None
    async with uow() as u:
        return await draws.approve(u, actor=admin(org), request_id=filed.request.id)


# --- creating activities --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 4, 1])
async def test_a_group_needs_an_odd_number_of_at_least_three_principals_under_000_18(
        uow_factory: UnitOfWorkFactory, org: Org, count: int) -> None:
    with pytest.raises(ActivityInvalid) as caught:
        await create(uow_factory, clerk(org), data(requirements=(RequirementInput("supervision", count),)))
    assert caught.value.params["reason_key"] == "activity.invalid.group_size"


async def test_an_even_group_needs_the_organizers_recorded_reason(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    reqs = (RequirementInput("supervision", 2),)
    with pytest.raises(ActivityInvalid):
        await create(uow_factory, clerk(org), data(requirements=reqs, allow_even_group=True))
    activity_id = await create(uow_factory, clerk(org), data(requirements=reqs, allow_even_group=True,
                                                             even_group_reason="两名顾问，非检查组"))
    async with uow_factory() as u:
        info = await activities.view(u, actor=clerk(org), activity_id=activity_id)
    assert info.activity.even_group_reason == "两名顾问，非检查组"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"kind": "routine_inspection", "double_blind": True}, "double_blind"),
    ({"kind": "tea_party"}, "kind"),
    ({"start": T0 - timedelta(hours=1)}, "starts_in_past"),
    ({"response_deadline": START + timedelta(hours=1)}, "deadline"),
    ({"ends_at": START - timedelta(hours=1)}, "ends_before_start"),
    ({"requirements": (RequirementInput("supervision", 3, subcategory="medicine"),)}, "subcategory_not_clinical"),
    ({"requirements": (RequirementInput("astrology", 3),)}, "category"),
    ({"title": "   "}, "title"),
])
async def test_an_activity_breaking_a_rule_is_refused_with_the_reason(
        uow_factory: UnitOfWorkFactory, org: Org, overrides: dict[str, object], reason: str) -> None:
    start = overrides.pop("start", START)
    assert isinstance(start, datetime)
    payload = data(start=start, **overrides)
    with pytest.raises(ActivityInvalid) as caught:
        await create(uow_factory, clerk(org), payload)
    assert caught.value.params["reason_key"] == f"activity.invalid.{reason}"


async def test_staff_of_another_division_neither_see_nor_create_for_it(uow_factory: UnitOfWorkFactory,
                                                                        org: Org) -> None:
    activity_id = await create(uow_factory, clerk(org), data("div2"))
    div1 = staff_actor(org.div1_staff_id, org.div1_id)
    with pytest.raises(ActivityNotFound):
        async with uow_factory() as u:
            await activities.view(u, actor=div1, activity_id=activity_id)
    async with uow_factory() as u:
        assert await activities.list_activities(u, actor=div1) == []


# --- request, four-eyes approval, the draw --------------------------------------------------------


async def test_filing_alerts_approvers_and_only_another_admin_may_approve(uow_factory: UnitOfWorkFactory,
                                                                          org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{"employer_id": None} for _ in range(8)])
    activity_id = await create(uow_factory, clerk(org), data())
    async with uow_factory() as u:
        filed = await draws.file_request(u, actor=clerk(org), activity_id=activity_id)
    assert filed.request.id is not None
    async with uow_factory() as u:
        alerts = (await u.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "draw.approval_needed"))).all()
    assert alerts and alerts[0].buttons[0][0]["action"] == f"draw:ok:{filed.request.id}"
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await draws.file_request(u, actor=clerk(org), activity_id=activity_id)
    assert caught.value.params["reason_key"] == "draw.refused.open_request"
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await draws.approve(u, actor=clerk(org), request_id=filed.request.id)
    assert caught.value.params["reason_key"] == "draw.refused.no_approval_rights"
    own = await create(uow_factory, admin(org), data(title="自己申请"))
    async with uow_factory() as u:
        mine = await draws.file_request(u, actor=admin(org), activity_id=own)
    assert mine.request.id is not None
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await draws.approve(u, actor=admin(org), request_id=mine.request.id)
    assert caught.value.params["reason_key"] == "draw.refused.four_eyes"


async def test_an_approved_draw_writes_the_roster_and_a_record_that_verifies(uow_factory: UnitOfWorkFactory,
                                                                              org: Org) -> None:
    pool = await add_pool(uow_factory, org.bureau_id, [{} for _ in range(12)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.record is not None and outcome.result is not None and outcome.result.ok
    assert outcome.request.status == "drawn"
    assert outcome.record.operator_id == org.staff_id and outcome.record.approver_id == org.admin_id
    assert len(outcome.record.seed) == 64
    async with uow_factory() as u:
        members = (await u.session.exec(select(ActivityMember).where(ActivityMember.activity_id == activity_id)
                                        .order_by(col(ActivityMember.role).desc(), col(ActivityMember.position)))).all()
        report = await draws.verify_draw(u, outcome.record.id or 0)
    assert [(m.role, m.position) for m in members] == [("principal", 1), ("principal", 2), ("principal", 3),
                                                        ("backup", 1), ("backup", 2)]
    assert {m.person_id for m in members} <= set(pool)
    assert report.ok, report.problems


async def test_a_v3_record_stores_the_chances_and_verification_recomputes_them(uow_factory: UnitOfWorkFactory,
                                                                              org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(12)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.record is not None and outcome.record.algorithm_version == "v3"
    assert outcome.record.result["chances"][0]["eligible"] == 12  # issue 18: the marginals in the record
    async with uow_factory() as u:
        report = await draws.verify_draw(u, outcome.record.id or 0)
    assert report.ok and report.chances == outcome.result.chances if outcome.result else False


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_a_record_drawn_by_an_older_version_still_verifies(uow_factory: UnitOfWorkFactory, org: Org,
                                                                monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    from services.draws import running

    monkeypatch.setattr(running, "ALGORITHM_VERSION", version)  # as the draws stored before v3 were made
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(12)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.record is not None and outcome.record.algorithm_version == version
    assert ("chances" not in outcome.record.result) == (version == "v1")  # the v1 form has none
    monkeypatch.undo()
    async with uow_factory() as u:
        report = await draws.verify_draw(u, outcome.record.id or 0)
    assert report.ok, report.problems


async def test_tampering_with_the_result_the_roster_or_the_snapshot_fails_verification(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    pool = await add_pool(uow_factory, org.bureau_id, [{} for _ in range(12)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.record is not None and outcome.record.id is not None
    draw_id = outcome.record.id
    original = dict(outcome.record.result)
    picks = [list(p) for p in original["picks"]]
    outsider = next(p for p in pool if p not in {pick[1] for pick in picks})
    tampered = dict(original, picks=[[picks[0][0], outsider, *picks[0][2:]], *picks[1:]])
    async with uow_factory() as u:
        await u.session.exec(update(  # type: ignore[call-overload]
            DrawRecord).where(col(DrawRecord.id) == draw_id).values(result=tampered))
        await u.commit()
    async with uow_factory() as u:
        report = await draws.verify_draw(u, draw_id)
    assert not report.ok and "result" in report.problems
    async with uow_factory() as u:
        await u.session.exec(update(  # type: ignore[call-overload]
            DrawRecord).where(col(DrawRecord.id) == draw_id).values(result=original))
        await u.session.exec(update(  # type: ignore[call-overload]
            ActivityMember).where(col(ActivityMember.person_id) == picks[0][1])
                                .values(person_id=outsider))
        await u.commit()
    async with uow_factory() as u:
        report = await draws.verify_draw(u, draw_id)
    assert report.problems == ("roster",)
    async with uow_factory() as u:  # a full draw recorded as short (or the reverse) is caught too
        await u.session.exec(update(  # type: ignore[call-overload]
            DrawRecord).where(col(DrawRecord.id) == draw_id).values(outcome="short"))
        await u.commit()
    async with uow_factory() as u:
        assert "outcome" in (await draws.verify_draw(u, draw_id)).problems
        await u.session.exec(update(  # type: ignore[call-overload]
            DrawRecord).where(col(DrawRecord.id) == draw_id).values(outcome="drawn"))
        await u.commit()
    async with uow_factory() as u:
        await u.session.exec(update(  # type: ignore[call-overload]
            ActivityMember).where(col(ActivityMember.person_id) == outsider)
                                .values(person_id=picks[0][1]))
        record = await u.session.get(DrawRecord, draw_id)
        assert record is not None
        text = zlib.decompress(record.snapshot).replace(b'"barred":false', b'"barred":true', 1)
        await u.session.exec(update(  # type: ignore[call-overload]
            DrawRecord).where(col(DrawRecord.id) == draw_id)
                                .values(snapshot=zlib.compress(text)))
        await u.commit()
    async with uow_factory() as u:
        report = await draws.verify_draw(u, draw_id)
    assert "snapshot_hash" in report.problems


async def test_recusal_grounds_exclude_before_drawing_under_000_15(uow_factory: UnitOfWorkFactory,
                                                                   org: Org) -> None:
    inspected, other = await add_institutions(uow_factory, ["第一人民医院", "第二人民医院"])
    await add_pool(uow_factory, org.bureau_id, [{"employer_id": inspected}])  # recuses: employer inspected
    elsewhere = await add_pool(uow_factory, org.bureau_id, [{"employer_id": other}])
    required = await add_pool(uow_factory, org.bureau_id, [{}])
    clean = await add_pool(uow_factory, org.bureau_id, [{} for _ in range(4)])
    activity_id = await create(uow_factory, clerk(org), data(institutions=(inspected,),
                                                             requirements=(RequirementInput("supervision", 3, 2),)))
    async with uow_factory() as u:
        await activities.require_recusal(u, actor=clerk(org), activity_id=activity_id, expert_id=required[0],
                                         reason="与被检查机构存在诉讼")
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.result is not None and outcome.result.ok
    drawn = set(outcome.result.principals + outcome.result.backups)
    assert drawn == set(elsewhere + clean)


async def test_a_shortfall_draws_nothing_explains_and_the_organizer_relaxes_and_files_again(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{"specialty_tags": ["审计"]} for _ in range(2)]
                   + [{} for _ in range(4)])
    reqs = (RequirementInput("supervision", 3, 1, tags=("审计",)),)
    activity_id = await create(uow_factory, clerk(org), data(requirements=reqs))
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.result is not None and not outcome.result.ok
    (short,) = outcome.result.shortfalls
    assert (short.needed, short.short) == (4, 2)
    async with uow_factory() as u:
        assert (await u.session.exec(select(ActivityMember))).all() == []
        info = await activities.view(u, actor=clerk(org), activity_id=activity_id)
        assert info.activity.status == "planned"
        requirement_id = info.requirements[0].id
        assert requirement_id is not None
        await activities.relax(u, actor=clerk(org), activity_id=activity_id, requirement_id=requirement_id,
                               what="tags")
    again = await file_and_approve(uow_factory, org, activity_id)
    assert again.result is not None and again.result.ok


async def test_an_expert_serving_in_an_overlapping_activity_is_not_drawn(uow_factory: UnitOfWorkFactory,
                                                                         org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(6)])
    first = await create(uow_factory, clerk(org), data(requirements=(RequirementInput("supervision", 3),)))
    one = await file_and_approve(uow_factory, org, first)
    second = await create(uow_factory, clerk(org), data(requirements=(RequirementInput("supervision", 3),),
                                                        start=START + timedelta(days=1), title="重叠"))
    two = await file_and_approve(uow_factory, org, second)
    assert one.result is not None and two.result is not None and two.result.ok
    assert not set(one.result.principals) & set(two.result.principals)


async def test_with_approval_switched_off_filing_draws_at_once(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(5)])
    async with uow_factory() as u:
        await draws.set_approval(u, actor=admin(org), org="bureau", enabled=False)
    activity_id = await create(uow_factory, clerk(org), data())
    async with uow_factory() as u:
        outcome = await draws.file_request(u, actor=clerk(org), activity_id=activity_id)
    assert outcome.record is not None and outcome.record.approver_id is None and outcome.request.status == "drawn"
    async with uow_factory() as u:
        unit = await u.session.get(OrgUnit, org.bureau_id)
        assert unit is not None and not unit.draw_approval
        entries = (await u.session.exec(select(AuditEntry.action).where(
            col(AuditEntry.action).startswith("draw.")).order_by(col(AuditEntry.id)))).all()
    assert entries == ["draw.requested", "draw.drawn"]


async def test_the_result_is_secret_outside_the_organizers_line(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(5)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.record is not None and outcome.record.id is not None
    with pytest.raises(DrawNotFound):
        async with uow_factory() as u:
            await draws.get_draw(u, actor=staff_actor(org.div1_staff_id, org.div1_id), draw_id=outcome.record.id)
    async with uow_factory() as u:
        seen = await draws.get_draw(u, actor=clerk(org), draw_id=outcome.record.id)
    assert seen.approver is not None and len(seen.result.principals) == 3


async def test_a_top_up_keeps_the_roster_and_the_employer_rule(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    employers = await add_institutions(uow_factory, [f"医院{i}" for i in range(6)])
    await add_pool(uow_factory, org.bureau_id, [{"employer_id": e} for e in employers])
    activity_id = await create(uow_factory, clerk(org), data(requirements=(RequirementInput("supervision", 3),)))
    first = await file_and_approve(uow_factory, org, activity_id)
    assert first.result is not None and first.result.ok
    async with uow_factory() as u:
        info = await activities.view(u, actor=clerk(org), activity_id=activity_id)
        requirement_id = info.requirements[0].id
        assert requirement_id is not None
        filed = await draws.file_request(u, actor=clerk(org), activity_id=activity_id,
                                         places={requirement_id: (0, 2)})
    assert filed.request.kind == "top_up" and filed.request.id is not None
    async with uow_factory() as u:
        topped = await draws.approve(u, actor=admin(org), request_id=filed.request.id)
    assert topped.result is not None and topped.result.ok
    assert not set(topped.result.backups) & set(first.result.principals)
    async with uow_factory() as u:
        members = (await u.session.exec(select(ActivityMember).where(ActivityMember.activity_id == activity_id))).all()
        report = await draws.verify_draw(u, topped.record.id if topped.record and topped.record.id else 0)
    assert sorted((m.role, m.position) for m in members) == [("backup", 1), ("backup", 2), ("principal", 1),
                                                             ("principal", 2), ("principal", 3)]
    assert report.ok, report.problems
    async with uow_factory() as u:
        requests = (await u.session.exec(select(DrawRequest.status))).all()
    assert requests == ["drawn", "drawn"]



async def test_the_databases_screening_of_the_pool_is_what_the_rules_say_for_each_candidate(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    """The draw v2 screens the whole pool in set queries (``candidates.screen_pool``); the same pool loaded
    candidate by candidate and screened by the rules (``fair_draw.eligible``) gives the same groups and
    reasons (000 §8(四), §9, §15(一), §25)."""
    from datetime import date

    from services.activities.candidates import load_candidates, screen_pool, spec_of
    from services.activities.draw_rules import DrawSettings, Member, Requirement
    from services.activities.expert_draw import ListPool
    from services.activities.fair_draw import eligible
    from services.draws.running import _matching_ids
    from services.pool.eligibility import Category

    inspected, other = await add_institutions(uow_factory, ["第一人民医院", "第二人民医院"])
    await add_pool(uow_factory, org.bureau_id, [
        {"employer_id": [inspected, other, None][i % 3], "birth_date": date(1958 + i, 3, 1),
         "barred_until": START.date() + timedelta(days=30) if i % 7 == 0 else None,
         "criminal_record": i % 11 == 0, "categories": ["supervision", "clinical"] if i % 4 == 0 else ["supervision"]}
        for i in range(30)])
    activity_id = await create(uow_factory, clerk(org), data(institutions=(inspected,)))
    requirement = Requirement("sup", Category.SUPERVISION, 3)
    existing = [Member(0, other, Category.SUPERVISION)]
    async with uow_factory() as u:
        info = await activities.view(u, actor=clerk(org), activity_id=activity_id)
        spec, settings = spec_of(info, u.zone), DrawSettings()
        matching = await _matching_ids(u, [requirement])
        screened = await screen_pool(u, [requirement], dict(matching), spec=spec, settings=settings,
                                     existing=existing, activity_id=activity_id)
        loaded = await load_candidates(u, matching["sup"], spec, settings, activity_id)
    pool = ListPool(loaded.values())

    class Reading:
        def matching_ids(self, r: Requirement) -> tuple[int, ...]:
            return tuple(pool.matching(r))

        def get(self, person_id: int) -> object:
            return pool.get(person_id)

    expected = eligible(Reading(), requirement, spec, settings, existing)  # type: ignore[arg-type]
    assert screened["sup"] == expected
    assert {"age_limit", "barred", "disqualified", "recusal_employer", "same_employer_field"} <= set(expected.removed)


async def test_the_pure_draw_runs_in_a_worker_thread_off_the_event_loop(uow_factory: UnitOfWorkFactory, org: Org,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21: at province scale the draw is CPU-bound; it runs in a worker thread so other updates go on."""
    import threading

    from services.draws import running

    threads: list[threading.Thread] = []
    original = running.draw_recorded

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(running, "draw_recorded", spy)
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(12)])
    activity_id = await create(uow_factory, clerk(org), data())
    outcome = await file_and_approve(uow_factory, org, activity_id)
    assert outcome.result is not None and outcome.result.ok
    assert threads and all(t is not threading.main_thread() for t in threads)
