"""Leads against a real database (issue 8): duplicates flagged (same institution and category), a declared interest
flagged (002 §11(四)), pseudonymous alerts (003 三(四)), another supervisor locked out, the state machine and its
feedback (002 §12(二)), reward bounds and claim window (002 §12(四)), the deadline sweep (reminder before,
escalation after, reward lapse), custodian reveals audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from services import lead_privacy, lead_triage, leads, orgs
from services.clock import FixedClock
from services.errors import DomainError, PermissionDenied
from services.lead_rules import LeadRules
from services.roles import SYSTEM_CLI, Actor, Role
from storage.leads import Lead
from storage.models import AuditEntry, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org, staff_actor


def supervisor(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.SUPERVISOR}))


async def _report(uow_factory: UnitOfWorkFactory, person_id: int, institution: int, *, interest: bool = False,
                  category: str = "over_charging") -> Lead:
    async with uow_factory() as uow:
        return await leads.submit(uow, actor=supervisor(person_id), draft=leads.LeadDraft(
            category=category, what="重复收取护理费", institution_id=institution, interest_declared=interest,
            interest_note="曾在该院工作" if interest else None))


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
        with pytest.raises(leads.NotSupervisor):
            await leads.submit(uow, actor=supervisor(org.expert_id), draft=leads.LeadDraft(category="other", what="x",
                                                                                           institution_id=hospital))
    async with uow_factory() as uow:
        other = await orgs.add_member(uow, actor=SYSTEM_CLI, kind="supervisor", name="周", org="div1")
    assert other.id is not None
    async with uow_factory() as uow:
        with pytest.raises(leads.LeadNotFound):
            await leads.add_information(uow, actor=supervisor(other.id), lead_id=lead.id, text="我也知道")
        assert await leads.my_leads(uow, actor=supervisor(other.id)) == []
    div2_staff = staff_actor(org.div2_expert_id, org.div2_id)
    async with uow_factory() as uow:
        with pytest.raises(leads.LeadNotFound):
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
        with pytest.raises(leads.LeadRefused):
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
        with pytest.raises(leads.LeadRefused):
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
        with pytest.raises(lead_privacy.NotCustodian):
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
