"""Leads against a real database (issue 8): duplicates flagged (same institution and category), a declared interest
flagged (002 §11(四)), pseudonymous alerts (003 三(四)), another supervisor locked out, the state machine and its
feedback (002 §12(二)), reward bounds and claim window (002 §12(四)), the deadline sweep (reminder before,
escalation after, reward lapse), custodian reveals audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from services.leads import lead_privacy, lead_triage, leads
from services.people import orgs
from services.platform.clock import FixedClock
from services.platform.errors import (
    DomainError,
    InvalidInput,
    LeadNotFound,
    LeadRefused,
    NotCustodian,
    NotSupervisor,
    PermissionDenied,
)
from services.platform.policy import LeadRules
from services.platform.roles import SCHEDULER, SYSTEM_CLI, Actor, Role
from storage.leads import Lead
from storage.models import AuditEntry, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org, lead_row, staff_actor


def supervisor(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.SUPERVISOR}))


async def _report(uow_factory: UnitOfWorkFactory, person_id: int, institution: int, *, interest: bool = False,
                  category: str = "over_charging") -> Lead:
    async with uow_factory() as uow:
        filed = await leads.submit(uow, actor=supervisor(person_id), draft=leads.LeadDraft(
            category=category, what="重复收取护理费", institution_id=institution, interest_declared=interest,
            interest_note="曾在该院工作" if interest else None))
    return await lead_row(uow_factory, filed.id)


async def _outbox(uow_factory: UnitOfWorkFactory) -> list[OutboxMessage]:
    async with uow_factory() as uow:
        return list((await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_a_second_lead_on_the_same_institution_and_category_is_flagged_as_a_possible_duplicate(
    uow_factory: UnitOfWorkFactory,
) -> None:
    org = await build_org(uow_factory)
    [hospital, other] = await add_institutions(uow_factory, ["第一医院", "第二医院"])
    first = await _report(uow_factory, org.supervisor_id, hospital)
    second = await _report(uow_factory, org.supervisor_id, hospital, interest=True)
    third = await _report(uow_factory, org.supervisor_id, other)
    fourth = await _report(uow_factory, org.supervisor_id, hospital, category="swapping")
    assert (first.duplicate_candidates, second.duplicate_candidates) == ([], [first.id])
    assert third.duplicate_candidates == [] and fourth.duplicate_candidates == []
    alerts = [m for m in await _outbox(uow_factory) if m.message_key == "lead.alert"]
    assert alerts[1].params["interest_key"] == "lead.flag.interest" and alerts[1].params["duplicates"] == f"#{first.id}"
    assert all(a.params["pseudonym"] == first.reporter_pseudonym for a in alerts)
    assert all("陈监督" not in str(a.params) for a in alerts)


async def test_the_submission_audit_names_the_pseudonym_not_the_person(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _report(uow_factory, org.supervisor_id, hospital)
    async with uow_factory() as uow:
        entry = (await uow.session.exec(select(AuditEntry).where(AuditEntry.action == "lead.submitted"))).one()
    assert entry.actor == f"supervisor:{lead.reporter_pseudonym}"


async def test_only_active_supervisors_report_and_only_the_reporter_sees_their_lead(
    uow_factory: UnitOfWorkFactory,
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _report(uow_factory, org.supervisor_id, hospital)
    assert lead.id is not None
    async with uow_factory() as uow:
        with pytest.raises(NotSupervisor):
            await leads.submit(uow, actor=supervisor(org.expert_id), draft=leads.LeadDraft(category="other", what="x",
                                                                                           institution_id=hospital))
    async with uow_factory() as uow:
        other = await orgs.add_member(uow, actor=SYSTEM_CLI, kind="supervisor", name="周", org="div1")
    assert other.id is not None
    async with uow_factory() as uow:
        with pytest.raises(LeadNotFound):
            await leads.add_information(uow, actor=supervisor(other.id), lead_id=lead.id, text="我也知道")
        assert await leads.my_leads(uow, actor=supervisor(other.id)) == []
    div2_staff = staff_actor(org.div2_expert_id, org.div2_id)
    async with uow_factory() as uow:
        with pytest.raises(LeadNotFound):
            await leads.card(uow, actor=div2_staff, lead_id=lead.id)


async def test_triage_follows_the_life_cycle_and_tells_the_reporter_each_step(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _report(uow_factory, org.supervisor_id, hospital)
    assert lead.id is not None
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as uow:
        with pytest.raises(LeadRefused):
            await lead_triage.conclude(uow, actor=staff, lead_id=lead.id, substantiated=True, summary="属实")
    async with uow_factory() as uow:
        accepted = await lead_triage.accept(uow, actor=staff, lead_id=lead.id)
    assert accepted.handler_person_id == org.div1_staff_id and accepted.due_kind == "handle"
    async with uow_factory() as uow:
        extended = await lead_triage.extend(uow, actor=staff, lead_id=lead.id, working_days=5, reason="调取数据")
    assert extended.due_at is not None and accepted.due_at is not None and extended.due_at > accepted.due_at
    async with uow_factory() as uow:
        await lead_triage.investigate(uow, actor=staff, lead_id=lead.id)
    async with uow_factory() as uow:
        await lead_triage.conclude(uow, actor=staff, lead_id=lead.id, substantiated=True, summary="追回基金")
    rules = LeadRules(reward_min=200, reward_max=1000)
    async with uow_factory() as uow:
        with pytest.raises(LeadRefused):
            await lead_triage.reward(uow, actor=staff, lead_id=lead.id, amount=1001, rules=rules)
    async with uow_factory() as uow:
        rewarded = await lead_triage.reward(uow, actor=staff, lead_id=lead.id, amount=800, rules=rules)
    assert rewarded.reward_claim_until == (clock.now() + timedelta(hours=8)).date().replace(month=5)
    async with uow_factory() as uow:
        closed = await lead_triage.close(uow, actor=staff, lead_id=lead.id)
    assert closed.state == "closed" and closed.due_at is None
    feedback = [m.message_key for m in await _outbox(uow_factory) if m.person_id == org.supervisor_id]
    assert feedback == ["lead.receipt", "lead.feedback.accepted", "lead.feedback.extended",
                        "lead.feedback.investigating", "lead.feedback.substantiated", "lead.feedback.reward",
                        "lead.feedback.closed"]


async def test_the_sweep_reminds_before_escalates_after_and_lapses_unclaimed_rewards_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _report(uow_factory, org.supervisor_id, hospital)
    assert lead.due_at is not None and lead.remind_at is not None
    assert await lead_triage.sweep(uow_factory) == {"reminded": 0, "escalated": 0, "lapsed": 0}
    clock.advance(lead.remind_at - clock.now() + timedelta(minutes=1))
    assert (await lead_triage.sweep(uow_factory))["reminded"] == 1
    assert (await lead_triage.sweep(uow_factory))["reminded"] == 0
    clock.advance(lead.due_at - clock.now() + timedelta(minutes=1))
    assert (await lead_triage.sweep(uow_factory))["escalated"] == 1
    assert (await lead_triage.sweep(uow_factory))["escalated"] == 0
    escalations = [m for m in await _outbox(uow_factory) if m.message_key == "lead.escalation"]
    assert [m.person_id for m in escalations] == [org.admin_id]
    staff = staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow_factory() as uow:
        assert [x.id for x in await lead_triage.staff_leads(uow, actor=staff, which="overdue")] == [lead.id]


async def test_a_reveal_needs_the_custodian_role_and_a_reason_and_is_audited(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _report(uow_factory, org.supervisor_id, hospital)
    assert lead.id is not None
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as uow:
        with pytest.raises(NotCustodian):
            await lead_privacy.reveal(uow, actor=staff, lead_id=lead.id, reason="想知道是谁")
    async with uow_factory() as uow:
        await lead_privacy.grant_custodian(uow, actor=SYSTEM_CLI, person_id=org.div1_staff_id, org="div1")
    async with uow_factory() as uow:
        with pytest.raises(DomainError):
            await lead_privacy.reveal(uow, actor=staff, lead_id=lead.id, reason="")
    async with uow_factory() as uow:
        shown = await lead_privacy.reveal(uow, actor=staff, lead_id=lead.id, reason="核实奖励领取人")
    assert shown.name == "陈监督"
    async with uow_factory() as uow:
        with pytest.raises(PermissionDenied):
            await lead_privacy.list_reveals(uow, actor=staff)
        rows = await lead_privacy.list_reveals(uow, actor=staff_actor(org.admin_id, org.bureau_id, admin=True))
        entry = (await uow.session.exec(select(AuditEntry).where(AuditEntry.action == "lead.identity_revealed"))).one()
    assert [(r.number, r.reason) for r in rows] == [(lead.number, "核实奖励领取人")]
    assert entry.actor == f"person:{org.div1_staff_id}"


# ---- reward claim reminders (002 §12(四): the reporter claims within the window) and duplicate links -------------


SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _rewarded(uow_factory: UnitOfWorkFactory, org_supervisor: int, org_staff: Actor, hospital: int) -> Lead:
    lead = await _report(uow_factory, org_supervisor, hospital)
    assert lead.id is not None
    async with uow_factory() as uow:
        await lead_triage.accept(uow, actor=org_staff, lead_id=lead.id)
    async with uow_factory() as uow:
        await lead_triage.conclude(uow, actor=org_staff, lead_id=lead.id, substantiated=True, summary="追回基金")
    async with uow_factory() as uow:
        return await lead_triage.reward(uow, actor=org_staff, lead_id=lead.id, amount=800)


def _morning_of(clock: FixedClock, day: date) -> None:
    clock.advance(datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI) - clock.now())


async def _claim_reminders(uow_factory: UnitOfWorkFactory) -> list[OutboxMessage]:
    return [m for m in await _outbox(uow_factory) if m.message_key == "lead.feedback.reward_reminder"]


async def test_a_claim_reminder_waits_for_the_morning(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _rewarded(uow_factory, org.supervisor_id, staff_actor(org.div1_staff_id, org.div1_id), hospital)
    assert lead.reward_claim_until is not None
    day = lead.reward_claim_until - timedelta(days=14)
    clock.advance(datetime(day.year, day.month, day.day, 0, 5, tzinfo=SHANGHAI) - clock.now())
    await lead_triage.sweep(uow_factory)
    assert await _claim_reminders(uow_factory) == []  # five past midnight: not yet
    _morning_of(clock, day)
    await lead_triage.sweep(uow_factory)
    assert len(await _claim_reminders(uow_factory)) == 1


async def test_the_reporter_is_reminded_to_claim_a_reward_14_and_3_days_before_the_last_day_once_each(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _rewarded(uow_factory, org.supervisor_id, staff_actor(org.div1_staff_id, org.div1_id), hospital)
    until = lead.reward_claim_until
    assert until is not None and until == date(2026, 5, 2)
    reminded_on: list[date] = []
    day = clock.now().astimezone(SHANGHAI).date()
    while day <= until + timedelta(days=2):  # every day of the window and past it, each swept twice
        _morning_of(clock, day)
        before = len(await _claim_reminders(uow_factory))
        await lead_triage.sweep(uow_factory)
        await lead_triage.sweep(uow_factory)
        reminded_on += [day] * (len(await _claim_reminders(uow_factory)) - before)
        day += timedelta(days=1)
    assert reminded_on == [until - timedelta(days=14), until - timedelta(days=3)]
    reminders = await _claim_reminders(uow_factory)
    assert {m.person_id for m in reminders} == {org.supervisor_id}  # the reporter, and no one else
    assert all(m.params == {"number": lead.number, "amount": 800, "until": "2026-05-02"} for m in reminders)
    async with uow_factory() as uow:
        stored = await uow.session.get(Lead, lead.id)
        audited = (await uow.session.exec(select(AuditEntry).where(
            AuditEntry.action == "lead.reward_reminded").order_by(col(AuditEntry.id)))).all()
    assert stored is not None and stored.reward_state == "lapsed" and stored.reward_reminders_sent == 2
    assert [(a.actor, a.object_id, a.details["days_before"]) for a in audited] == [
        (SCHEDULER.label, str(lead.id), 14), (SCHEDULER.label, str(lead.id), 3)]
    assert all(set(a.details) == {"days_before", "claim_until"} for a in audited)  # nothing about the reporter


async def test_a_claimed_reward_is_not_reminded_again_and_a_late_sweep_sends_one_reminder_not_two(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    org = await build_org(uow_factory)
    [hospital, other] = await add_institutions(uow_factory, ["第一医院", "第二医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    claimed = await _rewarded(uow_factory, org.supervisor_id, staff, hospital)
    waiting = await _rewarded(uow_factory, org.supervisor_id, staff, other)
    assert claimed.id is not None and claimed.reward_claim_until is not None
    _morning_of(clock, claimed.reward_claim_until - timedelta(days=14))
    await lead_triage.sweep(uow_factory)
    assert sorted(m.params["number"] for m in await _claim_reminders(uow_factory)) == sorted(
        [claimed.number, waiting.number])
    async with uow_factory() as uow:
        await lead_triage.reward_claimed(uow, actor=staff, lead_id=claimed.id)
    _morning_of(clock, claimed.reward_claim_until - timedelta(days=2))  # the bot was down on the -3 day
    await lead_triage.sweep(uow_factory)
    await lead_triage.sweep(uow_factory)
    _morning_of(clock, claimed.reward_claim_until)
    await lead_triage.sweep(uow_factory)
    numbers = [m.params["number"] for m in await _claim_reminders(uow_factory)]
    assert numbers.count(claimed.number) == 1 and numbers.count(waiting.number) == 2


async def test_a_late_first_sweep_and_configured_days_still_send_each_reminder_at_most_once(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _rewarded(uow_factory, org.supervisor_id, staff_actor(org.div1_staff_id, org.div1_id), hospital)
    assert lead.reward_claim_until is not None
    rules = LeadRules(reward_reminder_days_before=(30, 7, 1))
    _morning_of(clock, lead.reward_claim_until - timedelta(days=5))  # 30 and 7 both passed unseen
    await lead_triage.sweep(uow_factory, rules)
    await lead_triage.sweep(uow_factory, rules)
    assert len(await _claim_reminders(uow_factory)) == 1
    _morning_of(clock, lead.reward_claim_until - timedelta(days=1))
    await lead_triage.sweep(uow_factory, rules)
    await lead_triage.sweep(uow_factory, rules)
    assert len(await _claim_reminders(uow_factory)) == 2
    async with uow_factory() as uow:
        audited = (await uow.session.exec(select(AuditEntry).where(
            AuditEntry.action == "lead.reward_reminded").order_by(col(AuditEntry.id)))).all()
    assert [a.details["days_before"] for a in audited] == [7, 1]


async def test_staff_may_link_a_lead_only_to_its_possible_duplicates_within_their_scope(
    uow_factory: UnitOfWorkFactory,
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    async with uow_factory() as uow:
        div2_supervisor = await orgs.add_member(uow, actor=SYSTEM_CLI, kind="supervisor", name="吴监督", org="div2")
    assert div2_supervisor.id is not None
    first = await _report(uow_factory, org.supervisor_id, hospital)
    elsewhere = await _report(uow_factory, div2_supervisor.id, hospital)
    unrelated = await _report(uow_factory, org.supervisor_id, hospital, category="swapping")
    latest = await _report(uow_factory, org.supervisor_id, hospital)
    assert latest.id is not None and first.id is not None and elsewhere.id is not None and unrelated.id is not None
    assert latest.duplicate_candidates == [first.id, elsewhere.id]
    div1_staff = staff_actor(org.div1_staff_id, org.div1_id)
    admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow_factory() as uow:
        assert (await leads.card(uow, actor=div1_staff, lead_id=latest.id)).duplicates == [(first.id, first.number)]
        assert (await leads.card(uow, actor=admin, lead_id=latest.id)).duplicates == [
            (first.id, first.number), (elsewhere.id, elsewhere.number)]
    async with uow_factory() as uow:
        with pytest.raises(LeadNotFound):  # another division's lead: as if missing
            await lead_triage.link(uow, actor=div1_staff, lead_id=latest.id, other_id=elsewhere.id)
        with pytest.raises(InvalidInput):
            await lead_triage.link(uow, actor=div1_staff, lead_id=latest.id, other_id=latest.id)
        with pytest.raises(LeadRefused):
            await lead_triage.link(uow, actor=div1_staff, lead_id=latest.id, other_id=unrelated.id)
    async with uow_factory() as uow:
        linked = await lead_triage.link(uow, actor=div1_staff, lead_id=latest.id, other_id=first.id)
    assert linked.linked_to_id == first.id
    async with uow_factory() as uow:
        with pytest.raises(LeadRefused):
            await lead_triage.link(uow, actor=admin, lead_id=latest.id, other_id=elsewhere.id)
        assert (await leads.card(uow, actor=admin, lead_id=latest.id)).duplicates == []
