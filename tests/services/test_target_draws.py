"""Drawing inspection targets against the database (双随机, 003 三(一)): the stored, verifiable record, scope and
secrecy, shortfall, and turning the draw into activities (services/draws/target_draws.py)."""

from __future__ import annotations

import zlib
from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.activities.activities import RequirementInput
from services.draws import target_activities, target_draws
from services.draws.target_activities import TargetActivityTemplate
from services.people import accounts
from services.platform.errors import ActivityInvalid, DrawNotFound, DrawRefused, InstitutionNotFound, PermissionDenied
from services.platform.roles import Actor
from storage.activities import Activity, ActivityInstitution, ActivityRequirement, DrawRecord
from storage.models import AuditEntry
from storage.pool import Institution
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def add(uow: UnitOfWorkFactory, rows: list[tuple[str, str, str | None, int | None, bool]]) -> list[int]:
    """Institutions as (name, kind, level, org unit id, designated)."""
    ids: list[int] = []
    async with uow() as u:
        now = u.now()
        for name, kind, level, unit, designated in rows:
            row = Institution(name=name, kind=kind, level=level, org_unit_id=unit, designated=designated,
                              created_at=now, updated_at=now)
            u.session.add(row)
            await u.session.flush()
            assert row.id is not None
            ids.append(row.id)
        await u.commit()
    return ids


@pytest.fixture
async def directory(uow_factory: UnitOfWorkFactory, org: Org) -> dict[str, int]:
    names = [
        ("第一师医院", "hospital", "三级甲等", org.div1_id, True),
        ("第一师第二医院", "hospital", "二级甲等", org.div1_id, True),
        ("第一师第三医院", "hospital", "二级甲等", org.div1_id, True),
        ("第一师药店", "pharmacy", None, org.div1_id, True),
        ("第一师私立医院", "hospital", None, org.div1_id, False),
        ("第二师医院", "hospital", "三级甲等", org.div2_id, True),
        ("第二师药店", "pharmacy", None, org.div2_id, True),
        ("兵团医院", "hospital", "三级甲等", None, True),
    ]
    ids = await add(uow_factory, names)
    return {name: i for (name, *_), i in zip(names, ids, strict=True)}


def bureau(org: Org) -> Actor:
    return staff_actor(org.staff_id, org.bureau_id)


def div1(org: Org) -> Actor:
    return staff_actor(org.div1_staff_id, org.div1_id)


def template(**overrides: object) -> TargetActivityTemplate:
    values: dict[str, object] = dict(
        kind="routine_inspection", title_prefix="2026年双随机检查：", starts_at=START,
        ends_at=START + timedelta(days=2), response_deadline=START - timedelta(days=3),
        requirements=(RequirementInput("supervision", 3, 1),), place="石河子")
    values.update(overrides)
    return TargetActivityTemplate(**values)  # type: ignore[arg-type]


async def test_a_draw_is_stored_like_an_expert_draw_and_verifies(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    async with uow_factory() as u:
        record, result = await target_draws.draw_targets(u, actor=div1(org), kinds=["hospital"], count=2)
    assert result.ok and len(result.picks) == 2
    hospitals = {directory["第一师医院"], directory["第一师第二医院"], directory["第一师第三医院"]}
    assert set(result.picks) <= hospitals  # designated hospitals of div1 only
    assert result.directory == 5 and result.eligible == 3
    assert result.removed_by("designated") == 1 and result.removed_by("kind") == 1
    async with uow_factory() as u:
        stored = await u.session.get(DrawRecord, record.id)
        entry = (await u.session.exec(select(AuditEntry).where(AuditEntry.object_type == "draw",
                                                               AuditEntry.object_id == str(record.id)))).one()
    assert stored is not None
    assert (stored.subject, stored.activity_id, stored.request_id, stored.approver_id, stored.outcome) == (
        "institutions", None, None, None, "drawn")
    assert stored.operator_id == org.div1_staff_id and stored.org_unit_id == org.div1_id
    assert len(bytes.fromhex(stored.seed)) == 32 and stored.algorithm_version == "t1"
    assert entry.action == "draw.drawn" and entry.actor == f"person:{org.div1_staff_id}"
    assert entry.details["result_hash"] == target_draws.result_hash(stored.result)
    assert entry.details["approver_id"] is None and entry.details["snapshot_hash"] == stored.snapshot_hash
    assert record.id is not None
    async with uow_factory(readonly=True) as u:
        report = await target_draws.verify_target_draw(u, record.id)
        view = await target_draws.get_target_draw(u, actor=div1(org), draw_id=record.id)
    assert report.ok and report.problems == () and report.picks == 2 and report.directory == 5
    assert [i.id for i in view.institutions] == list(result.picks)
    assert view.filters.kinds == {"hospital"} and view.operator == "赵科员"


async def test_verification_finds_a_changed_result_seed_or_snapshot(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    async with uow_factory() as u:
        record, result = await target_draws.draw_targets(u, actor=bureau(org), count=2)
    assert record.id is not None
    draw_id = record.id

    async def tamper(**values: object) -> tuple[str, ...]:
        async with uow_factory() as u:
            row = await u.session.get(DrawRecord, draw_id)
            assert row is not None
            saved = {k: getattr(row, k) for k in values}
            for k, v in values.items():
                setattr(row, k, v)
            u.session.add(row)
            await u.commit()
        async with uow_factory(readonly=True) as u:
            report = await target_draws.verify_target_draw(u, draw_id)
        async with uow_factory() as u:
            row = await u.session.get(DrawRecord, draw_id)
            assert row is not None
            for k, v in saved.items():
                setattr(row, k, v)
            u.session.add(row)
            await u.commit()
        return report.problems

    async with uow_factory(readonly=True) as u:
        stored = await u.session.get(DrawRecord, draw_id)
    assert stored is not None
    other = next(i for i in directory.values() if i not in result.picks)
    picks = [other, *result.picks[1:]]
    assert await tamper(result={**stored.result, "picks": picks}) == ("result", "audit_result")
    assert "audit_inputs" in await tamper(seed="00" * 32)  # the result may match by chance (1 in 42)
    snapshot = zlib.decompress(stored.snapshot).decode().replace('"designated_only":true', '"designated_only":false')
    assert await tamper(snapshot=zlib.compress(snapshot.encode())) == ("snapshot_hash", "result")
    assert await tamper(snapshot=b"not zlib") == ("snapshot_unreadable",)
    assert await tamper() == ()


async def test_a_shortfall_is_recorded_with_what_each_filter_removed_and_cannot_become_activities(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    async with uow_factory() as u:
        record, result = await target_draws.draw_targets(
            u, actor=bureau(org), kinds=["hospital"], levels=["三级甲等"], exclude_ids=[directory["兵团医院"]],
            count=3)
    assert not result.ok and result.picks == () and result.short == 1
    assert dict(result.removed) == {"designated": 1, "kind": 2, "level": 2, "division": 0, "excluded": 1}
    assert record.outcome == "short" and record.id is not None
    async with uow_factory(readonly=True) as u:
        assert (await target_draws.verify_target_draw(u, record.id)).ok
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await target_activities.to_activities(u, actor=bureau(org), draw_id=record.id, template=template())
    assert caught.value.params["reason_key"] == "targets.refused.short"


async def test_the_bureau_draws_from_the_whole_directory_and_a_division_filter_covers_its_subtree(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    from services.people import orgs
    from services.platform.roles import SYSTEM_CLI

    async with uow_factory() as u:
        city = await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="city1", name="石河子市", kind="city",
                                       parent_code="div2")
    [city_hospital] = await add(uow_factory, [("石河子市医院", "hospital", "二级甲等", city.id, True)])
    async with uow_factory() as u:
        _, everything = await target_draws.draw_targets(u, actor=bureau(org), count=9, designated_only=False)
    assert everything.ok and set(everything.picks) == {*directory.values(), city_hospital}
    async with uow_factory() as u:
        _, div2 = await target_draws.draw_targets(u, actor=bureau(org), division_ids=["div2"], count=3)
    assert set(div2.picks) == {directory["第二师医院"], directory["第二师药店"], city_hospital}


async def test_division_staff_cannot_reach_outside_their_line(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await target_draws.draw_targets(u, actor=div1(org), division_ids=["div2"], count=1)
    assert caught.value.params["reason_key"] == "targets.refused.division_outside"
    with pytest.raises(PermissionDenied):
        async with uow_factory() as u:
            await target_draws.draw_targets(u, actor=div1(org), org="bureau", count=1)
    async with uow_factory() as u:
        record, _ = await target_draws.draw_targets(u, actor=bureau(org), count=1)
    assert record.id is not None
    with pytest.raises(DrawNotFound):  # secrecy: a bureau draw does not exist for a division
        async with uow_factory(readonly=True) as u:
            await target_draws.get_target_draw(u, actor=div1(org), draw_id=record.id)
    with pytest.raises(DrawNotFound):
        async with uow_factory(readonly=True) as u:
            await target_draws.get_target_draw(u, actor=bureau(org), draw_id=record.id + 100)


@pytest.mark.parametrize(("kwargs", "reason"), [
    (dict(count=0), "count"), (dict(count=101), "count"), (dict(count=1, kinds=["hotel"]), "kind")])
async def test_bad_requests_are_refused_before_anything_is_stored(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int], kwargs: dict[str, object],
        reason: str) -> None:
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await target_draws.draw_targets(u, actor=bureau(org), **kwargs)  # type: ignore[arg-type]
    assert caught.value.params["reason_key"] == f"targets.refused.{reason}"
    with pytest.raises(InstitutionNotFound):
        async with uow_factory() as u:
            await target_draws.draw_targets(u, actor=bureau(org), exclude_ids=[99999], count=1)
    async with uow_factory(readonly=True) as u:
        assert (await u.session.exec(select(DrawRecord))).all() == []


async def test_a_draw_becomes_one_linked_activity_per_institution_once(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int]) -> None:
    async with uow_factory() as u:
        record, result = await target_draws.draw_targets(u, actor=div1(org), kinds=["hospital"], count=2)
    assert record.id is not None
    async with uow_factory() as u:
        created = await target_activities.to_activities(u, actor=div1(org), draw_id=record.id, template=template())
    assert len(created) == 2
    async with uow_factory(readonly=True) as u:
        rows = (await u.session.exec(select(Activity).order_by(col(Activity.id)))).all()
        links = (await u.session.exec(select(ActivityInstitution.activity_id, ActivityInstitution.institution_id)
                                      .order_by(col(ActivityInstitution.activity_id)))).all()
        requirements = (await u.session.exec(select(ActivityRequirement))).all()
        actions = (await u.session.exec(select(AuditEntry.action))).all()
        report = await target_draws.verify_target_draw(u, record.id)
        view = await target_draws.get_target_draw(u, actor=div1(org), draw_id=record.id)
    assert [a.target_draw_id for a in rows] == [record.id, record.id]
    assert [i for _, i in links] == list(result.picks)
    names = {v: k for k, v in directory.items()}
    assert [a.title for a in rows] == [f"2026年双随机检查：{names[i]}" for i in result.picks]
    assert all(a.org_unit_id == org.div1_id and a.kind == "routine_inspection" and a.status == "planned"
               for a in rows)
    assert [(r.category, r.count, r.backups) for r in requirements] == [("supervision", 3, 1)] * 2
    assert actions.count("activity.created") == 2 and "draw.targets_to_activities" in actions
    assert report.ok and view.activity_ids == tuple(a.id for a in rows)
    with pytest.raises(DrawRefused) as caught:
        async with uow_factory() as u:
            await target_activities.to_activities(u, actor=div1(org), draw_id=record.id, template=template())
    assert caught.value.params["reason_key"] == "targets.refused.already_converted"


@pytest.mark.parametrize(("overrides", "reason"), [
    (dict(kind="project_review"), "kind"),
    (dict(starts_at=T0 - timedelta(days=1)), "starts_in_past"),
    (dict(requirements=(RequirementInput("supervision", 2),)), "group_size"),
    (dict(title_prefix="长" * 196), "title"),
])
async def test_activities_follow_the_activity_rules_and_are_all_or_nothing(
        uow_factory: UnitOfWorkFactory, org: Org, directory: dict[str, int], overrides: dict[str, object],
        reason: str) -> None:
    async with uow_factory() as u:
        record, _ = await target_draws.draw_targets(u, actor=bureau(org), count=3)
    assert record.id is not None
    with pytest.raises(ActivityInvalid) as caught:
        async with uow_factory() as u:
            await target_activities.to_activities(u, actor=bureau(org), draw_id=record.id,
                                                   template=template(**overrides))
    assert caught.value.params["reason_key"] == f"activity.invalid.{reason}"
    async with uow_factory(readonly=True) as u:
        assert (await u.session.exec(select(Activity))).all() == []


async def test_the_command_line_actor_is_built_from_an_active_staff_record(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    async with uow_factory(readonly=True) as u:
        actor = await accounts.staff_actor(u, org.div1_staff_id)
        admin = await accounts.staff_actor(u, org.admin_id)
        with pytest.raises(PermissionDenied):
            await accounts.staff_actor(u, org.expert_id)
    assert actor.staff_org_unit_id == org.div1_id and actor.person_id == org.div1_staff_id
    assert "admin" in admin.roles
