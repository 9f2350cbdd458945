"""The work record (000 §25, annex 4): opened when an activity ends, due 5 working days later (调休 counted through
``services.platform.workdays``), reminded daily, escalated to admins after the deadline; submitted answers land in the
credit
file (000 §25) and the group's decision is consensus or majority (001 §16); exported in the annex-4 layout."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from sqlmodel import col, select

from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import invitations
from services.platform.clock import FixedClock
from services.platform.errors import ActivityNotFound, InvalidInput, RecordNotReady, RecordSubmitted
from services.platform.roles import Actor, Role
from services.records import credit, work_records
from services.records.work_records import EntryInput
from storage.activities import ActivityMember
from storage.models import OutboxMessage, Person
from storage.records import CreditEvent, WorkRecord
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor

START = datetime(2025, 9, 29, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai, just before National Day 2025


@pytest.fixture
def clock() -> FixedClock:
    """Mid-September 2025, so the activity ends on 2025-09-30, the eve of the National Day holiday."""
    return FixedClock(datetime(2025, 9, 15, 1, 0, tzinfo=UTC))


@dataclass
class Ended:
    """An activity whose roster signed, its organizer's staff and slots."""

    org: Org
    activity_id: int
    clerk: Actor
    admin: Actor
    slots: list[ActivityMember]


def expert_actor(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.EXPERT}))


async def signed_activity(uow: UnitOfWorkFactory, *, size: int = 3, start: datetime = START,
                          org: Org | None = None, names: list[str] | None = None,
                          experts: list[int] | None = None) -> Ended:
    """An activity of ``size`` supervision experts, drawn, approved, every principal accepted and signed."""
    org = org or await build_org(uow)
    if experts is None:
        specs: list[dict[str, object]] = [{"name": n} for n in (names or [f"专家{i}" for i in range(size)])]
        experts = await add_pool(uow, org.bureau_id, specs)
    clerk, admin = staff_actor(org.staff_id, org.bureau_id), staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow() as u:
        activity = await activities.create_activity(u, actor=clerk, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="定点医院专项检查", starts_at=start,
            ends_at=start + timedelta(days=1, hours=8), response_deadline=start - timedelta(days=2),
            requirements=(RequirementInput("supervision", size),), place="石河子市"))
    async with uow() as u:
        filed = await draws.file_request(u, actor=clerk, activity_id=activity.id or 0)
    async with uow() as u:
        await draws.approve(u, actor=admin, request_id=filed.request.id or 0)
    async with uow() as u:
        slots = list((await u.session.exec(select(ActivityMember).where(
            ActivityMember.activity_id == activity.id, ActivityMember.status == "invited")
            .order_by(col(ActivityMember.id)))).all())
    for slot in slots:
        async with uow() as u:
            await invitations.accept(u, actor=expert_actor(slot.person_id), member_id=slot.id or 0)
        async with uow() as u:
            await invitations.sign(u, actor=expert_actor(slot.person_id), member_id=slot.id or 0)
    return Ended(org, activity.id or 0, clerk, admin, slots)


def answers(ended: Ended, **overrides: dict[str, str]) -> list[EntryInput]:
    """Everyone attended, good, no recusal needed, kept discipline; ``overrides`` by slot index ``s0``, ``s1``..."""
    result = []
    for index, slot in enumerate(ended.slots):
        values = {"attendance": "attended", "performance": "good", "recusal": "none_needed", "discipline": "good",
                  **overrides.get(f"s{index}", {})}
        result.append(EntryInput(member_id=slot.id or 0, **values))
    return result


async def test_the_record_opens_after_the_end_due_on_the_fifth_working_day_across_national_day(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    await signed_activity(uow_factory)
    assert (await work_records.sweep(uow_factory))["opened"] == 0  # not ended yet
    clock.advance(START + timedelta(days=1, hours=9) - clock.now())  # 2025-09-30 18:00 Shanghai: ended
    assert (await work_records.sweep(uow_factory)) == {"opened": 1, "reminded": 0, "escalated": 0}
    async with uow_factory() as u:
        record = (await u.session.exec(select(WorkRecord))).one()
    # 000 §25: 5 working days. October 1-8 are holidays, Saturday 10-11 is worked: 9, 10, 11, 13, 14.
    assert record.due_at == datetime(2025, 10, 14, 15, 59, 59, 999999, tzinfo=UTC)
    assert record.remind_at == datetime(2025, 10, 1, 1, 0, tzinfo=UTC)  # the next morning, 09:00 Shanghai


async def test_staff_are_reminded_daily_and_admins_told_once_when_the_deadline_passes(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    ended = await signed_activity(uow_factory)
    clock.advance(START + timedelta(days=1, hours=9) - clock.now())
    await work_records.sweep(uow_factory)
    clock.advance(timedelta(hours=16))  # 10-01 10:00 Shanghai
    assert (await work_records.sweep(uow_factory))["reminded"] == 1
    assert (await work_records.sweep(uow_factory))["reminded"] == 0  # once a day
    clock.advance(timedelta(days=14))  # past 10-14
    assert (await work_records.sweep(uow_factory))["escalated"] == 1
    clock.advance(timedelta(days=1))
    assert (await work_records.sweep(uow_factory)) == {"opened": 0, "reminded": 1, "escalated": 0}
    async with uow_factory() as u:
        keys = [m.message_key for m in (await u.session.exec(select(OutboxMessage))).all()]
        escalations = (await u.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "workrecord.escalation"))).all()
    assert keys.count("workrecord.reminder") >= 2
    assert [m.person_id for m in escalations] == [ended.org.admin_id]


async def test_a_submitted_record_feeds_the_credit_file_and_stops_the_reminders(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    ended = await signed_activity(uow_factory)
    clock.advance(START + timedelta(days=2) - clock.now())
    async with uow_factory() as u:
        await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(
            ended, s0={"performance": "excellent"},
            s1={"attendance": "absent_without_notice", "performance": "poor"},
            s2={"recusal": "failed", "discipline": "breach", "discipline_note": "私自联系被检查单位"}),
            final_opinion="检查发现问题属实", decision="majority")
    async with uow_factory() as u:
        events = {(e.person_id, e.kind) for e in (await u.session.exec(select(CreditEvent))).all()}
    first, second, third = (s.person_id for s in ended.slots)
    assert events == {(first, "attended"), (first, "excellent_performance"),
                      (second, "absent_without_notice"), (second, "poor_performance"),
                      (third, "attended"), (third, "failure_to_recuse"), (third, "discipline_breach")}
    clock.advance(timedelta(days=30))
    assert (await work_records.sweep(uow_factory)) == {"opened": 0, "reminded": 0, "escalated": 0}
    async with uow_factory() as u:
        with pytest.raises(RecordSubmitted):
            await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(ended),
                                      final_opinion="x", decision="consensus")


async def test_submit_refuses_missing_experts_a_breach_without_a_note_and_an_unknown_decision(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    ended = await signed_activity(uow_factory)
    async with uow_factory() as u:
        with pytest.raises(RecordNotReady):  # 000 §25: after the activity ends
            await work_records.record_of(u, actor=ended.clerk, activity_id=ended.activity_id)
    clock.advance(START + timedelta(days=2) - clock.now())
    for entries, decision in ((answers(ended)[:2], "consensus"),
                              (answers(ended, s0={"discipline": "breach"}), "consensus"),
                              (answers(ended), "unanimous")):
        async with uow_factory() as u:
            with pytest.raises(InvalidInput):
                await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=entries,
                                          final_opinion="意见", decision=decision)


async def test_other_lines_of_staff_do_not_see_the_record(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    ended = await signed_activity(uow_factory)
    clock.advance(START + timedelta(days=2) - clock.now())
    outsider = staff_actor(ended.org.div1_staff_id, ended.org.div1_id)
    async with uow_factory() as u:
        with pytest.raises(ActivityNotFound):
            await work_records.record_of(u, actor=outsider, activity_id=ended.activity_id)


async def test_the_export_follows_annex_4(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    org = await build_org(uow_factory)
    (employer,) = await add_institutions(uow_factory, ["石河子大学第一附属医院"])
    experts = await add_pool(uow_factory, org.bureau_id, [{"name": "刘医师", "employer_id": employer},
                                                          {"name": "周医师"}, {"name": "吴医师"}])
    ended = await signed_activity(uow_factory, org=org, experts=experts)
    clock.advance(START + timedelta(days=2) - clock.now())
    async with uow_factory() as u:
        await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(
            ended, s2={"discipline": "breach", "discipline_note": "将材料带出现场", "credit_opinion": "记不良信用"}),
            final_opinion="问题属实", decision="consensus")
    async with uow_factory() as u:
        name, data = await work_records.export_docx(u, actor=ended.clerk, activity_id=ended.activity_id)
    assert name == f"work-record-{ended.activity_id}.docx"
    doc = Document(io.BytesIO(data))
    cells = [row.cells for row in doc.tables[0].rows]
    labels = [c[0].text for c in cells]
    assert labels == ["活动名称", "承办单位（使用方）", "专家名单及其单位", "专家履职情况", "回避申明情况",
                      "工作纪律情况", "记录员签字", "承办单位意见"]
    text = "\n".join(c[1].text for c in cells)
    assert doc.paragraphs[0].text == "兵团医疗保障局监管专家工作登记表"
    assert "定点医院专项检查" in text and "刘医师：按时参加，履职评价良好" in text
    async with uow_factory() as u:
        third = await u.session.get(Person, ended.slots[2].person_id)
    assert third is not None and "经合议一致认定" in text
    assert f"{third.name}：有违纪情况（将材料带出现场）；信用记录意见：记不良信用" in text
    assert "刘医师（石河子大学第一附属医院）" in text  # 专家名单及其单位
    assert "李科员" in text  # the recorder
    assert any("公章" in p.text for p in doc.paragraphs)


async def test_the_credit_file_shows_the_events_to_the_expert(uow_factory: UnitOfWorkFactory,
                                                               clock: FixedClock) -> None:
    ended = await signed_activity(uow_factory)
    clock.advance(START + timedelta(days=2) - clock.now())
    async with uow_factory() as u:
        await work_records.submit(u, actor=ended.clerk, activity_id=ended.activity_id, entries=answers(ended),
                                  final_opinion="意见", decision="consensus")
    person = ended.slots[0].person_id
    async with uow_factory() as u:
        found = await credit.credit_file(u, actor=expert_actor(person), person_id=person)
    assert [e.kind for e in found.events] == ["attended"] and found.total == 2
