"""Sanction rules propose, staff decide (000 §23, §27; 001 §22): removal after 3 unexcused absences within 12 months
(001 §22(三)), removal for failing to recuse (001 §22(七)), reprimand for the cases of 000 §27 with a letter to the
employer; confirming a removal blacklists the expert for 5 years (000 §25, 001 §22)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from docx import Document
from sqlmodel import select

from services.platform.clock import FixedClock
from services.platform.errors import InvalidInput, ProposalDecided, ProposalNotFound
from services.records import credit, sanctions
from services.records.sanctions import EventFact, propose
from storage.models import Expert, OutboxMessage
from storage.records import SanctionProposal
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, add_pool, build_org, staff_actor

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def absence(event_id: int, days_ago: int) -> EventFact:
    return EventFact(event_id, "absent_without_notice", NOW - timedelta(days=days_ago))


def removals(found: list[sanctions.Proposal]) -> list[sanctions.Proposal]:
    return [p for p in found if p.sanction == "removal"]


def test_three_unexcused_absences_within_a_year_propose_removal_001_22_3() -> None:
    found = removals(propose(7, [absence(1, 300), absence(2, 100), absence(3, 1)], now=NOW))
    assert found == [sanctions.Proposal("removal", "absences", "absences:7:3", (1, 2, 3))]


def test_two_absences_or_three_spread_over_more_than_a_year_propose_no_removal() -> None:
    assert removals(propose(7, [absence(1, 100), absence(2, 1)], now=NOW)) == []
    assert removals(propose(7, [absence(1, 400), absence(2, 100), absence(3, 1)], now=NOW)) == []


def test_the_threshold_and_window_are_configurable() -> None:
    found = propose(7, [absence(1, 40), absence(2, 1)], now=NOW, count=2, window=timedelta(days=60))
    assert removals(found)[0].evidence == (1, 2)


def test_a_failure_to_recuse_proposes_removal_001_22_7() -> None:
    found = propose(7, [EventFact(5, "failure_to_recuse", NOW)], now=NOW)
    assert found == [sanctions.Proposal("removal", "failed_recusal", "failed_recusal:5", (5,))]


def test_a_ground_of_000_23_recorded_by_staff_proposes_removal() -> None:
    found = propose(7, [EventFact(6, "serious_violation", NOW)], now=NOW)
    assert found == [sanctions.Proposal("removal", "serious_violation", "serious_violation:6", (6,))]
    assert sanctions.ARTICLES["serious_violation"] == "000 §23"


@pytest.mark.parametrize(("kind", "rule"), [("absent_without_notice", "reprimand_absence"),  # 000 §27(一)
                                            ("poor_performance", "reprimand_performance"),  # 000 §27(二)
                                            ("discipline_breach", "reprimand_discipline")])  # 000 §27(五)(七)
def test_each_case_of_000_27_proposes_a_reprimand(kind: str, rule: str) -> None:
    found = propose(7, [EventFact(9, kind, NOW)], now=NOW)
    assert [p for p in found if p.sanction == "reprimand"] == [sanctions.Proposal("reprimand", rule, f"{rule}:9", (9,))]


def test_praise_and_attendance_propose_nothing() -> None:
    assert propose(7, [EventFact(1, "praise", NOW), EventFact(2, "attended", NOW)], now=NOW) == []


async def test_the_third_absence_is_proposed_once_and_confirming_removes_and_bars_the_expert(
        uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    org = await build_org(uow_factory)
    (expert,) = await add_pool(uow_factory, org.bureau_id, [{"name": "缺席专家"}])
    clerk = staff_actor(org.staff_id, org.bureau_id)
    for day in range(3):
        async with uow_factory() as u:
            await credit.add_by_staff(u, actor=clerk, person_id=expert, kind="absent_without_notice",
                                      note=f"第{day + 1}次无故缺席")
        clock.advance(timedelta(days=30))
    async with uow_factory() as u:
        rows = (await u.session.exec(select(SanctionProposal).where(SanctionProposal.sanction == "removal"))).all()
        alerts = (await u.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "sanction.proposed"))).all()
    assert [(r.rule, len(r.evidence)) for r in rows] == [("absences", 3)]
    assert len(alerts) == 4  # three reprimands (000 §27(一)) and one removal (001 §22(三))
    async with uow_factory() as u:
        await sanctions.confirm(u, actor=clerk, proposal_id=rows[0].id or 0)
    async with uow_factory() as u:
        removed = await u.session.get(Expert, expert)
        with pytest.raises(ProposalDecided):
            await sanctions.confirm(u, actor=clerk, proposal_id=rows[0].id or 0)
    assert removed is not None and removed.state == "removed"
    assert removed.barred_until is not None and removed.barred_until >= date(2031, 1, 1)  # 001 §22: 5 years


async def test_a_reprimand_is_confirmed_into_the_credit_file_with_a_letter_to_the_employer(
        uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    (employer,) = await add_institutions(uow_factory, ["第一师医院"])
    (expert,) = await add_pool(uow_factory, org.bureau_id, [{"name": "违纪专家", "employer_id": employer}])
    clerk = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as u:
        await credit.add_by_staff(u, actor=clerk, person_id=expert, kind="discipline_breach", note="带出涉密材料")
    async with uow_factory() as u:
        (row,) = await sanctions.pending(u, actor=clerk)
        with pytest.raises(ProposalDecided):
            await sanctions.reprimand_letter(u, actor=clerk, proposal_id=row.id or 0)
    async with uow_factory() as u:
        await sanctions.confirm(u, actor=clerk, proposal_id=row.id or 0)
    async with uow_factory() as u:
        found = await credit.credit_file(u, actor=clerk, person_id=expert)
        name, data = await sanctions.reprimand_letter(u, actor=clerk, proposal_id=row.id or 0)
    assert [e.kind for e in found.events] == ["reprimand", "discipline_breach"] and found.total == -30
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert name == f"reprimand-{row.id}.docx" and "第一师医院：" in text and "000 §27(五)(七)" in text
    assert "违反工作纪律" in text


async def test_dismissing_needs_a_reason_and_other_lines_cannot_decide(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    (expert,) = await add_pool(uow_factory, org.bureau_id, [{"name": "专家"}])
    clerk = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as u:
        await credit.add_by_staff(u, actor=clerk, person_id=expert, kind="failure_to_recuse",
                                  note="与被检查单位有亲属关系")
    async with uow_factory() as u:
        rows = await sanctions.pending(u, actor=clerk)
    removal = next(r for r in rows if r.sanction == "removal")
    assert removal.rule == "failed_recusal"
    async with uow_factory() as u:
        with pytest.raises(ProposalNotFound):
            await sanctions.confirm(u, actor=staff_actor(org.div1_staff_id, org.div1_id), proposal_id=removal.id or 0)
    async with uow_factory() as u:
        with pytest.raises(InvalidInput):
            await sanctions.dismiss(u, actor=clerk, proposal_id=removal.id or 0, reason="  ")
    async with uow_factory() as u:
        dismissed = await sanctions.dismiss(u, actor=clerk, proposal_id=removal.id or 0, reason="对结果无实质影响")
    assert dismissed.status == "dismissed" and dismissed.reason == "对结果无实质影响"
    async with uow_factory() as u:
        assert (await u.session.get(Expert, expert)).state == "active"  # type: ignore[union-attr]
