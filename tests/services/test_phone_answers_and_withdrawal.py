"""Answers by phone and withdrawals after accepting, at the service level (issue 13; 000 §19, 001 §19–§20): an
invitation to an expert without an account goes to the call list; staff of the organizer's line record answers
(audited with channel "phone"), others cannot; a free-text reason is kept as "other" with its words; a withdrawal
needs a reason and only within 24 h of the start becomes ``decline_after_accept``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.invitations import by_phone
from services.invitations.withdrawal import withdraw
from services.platform.clock import FixedClock
from services.platform.errors import AnswerRefused, DomainError
from services.records import credit
from storage.activities import ActivityMember
from storage.models import AuditEntry
from storage.records import CreditEvent
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org, staff_actor
from tests.services.test_invitation_choices import START, _drawn, expert


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def _slot(uow_factory: UnitOfWorkFactory, slot_id: int) -> ActivityMember:
    async with uow_factory() as u:
        member = await u.session.get(ActivityMember, slot_id)
    assert member is not None
    return member


async def test_staff_record_answers_by_phone_within_their_line_only(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    _, slots = await _drawn(uow_factory, org)
    first, second, _, backup = slots
    assert {s.contact for s in slots if s.status == "invited"} == {"phone"}  # nobody is bound here
    with pytest.raises(DomainError):
        async with uow_factory() as u:
            await by_phone.record_answer(u, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                         member_id=first.id or 0, answer="accept")
    clerk = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as u:
        await by_phone.record_answer(u, actor=clerk, member_id=first.id or 0, answer="accept")
    async with uow_factory() as u:
        await by_phone.record_answer(u, actor=clerk, member_id=second.id or 0, answer="decline", reason="在外地出差")
    assert (await _slot(uow_factory, first.id or 0)).status == "accepted"
    declined = await _slot(uow_factory, second.id or 0)
    assert (declined.status, declined.reason, declined.reason_text) == ("declined", "other", "在外地出差")
    assert (await _slot(uow_factory, backup.id or 0)).status == "invited"
    async with uow_factory() as u:
        await by_phone.record_answer(u, actor=clerk, member_id=first.id or 0, answer="signed_on_paper")
    signed = await _slot(uow_factory, first.id or 0)
    assert signed.status == "signed" and len(signed.commitment_hash or "") == 64
    async with uow_factory() as u:
        entries = (await u.session.exec(select(AuditEntry).where(
            AuditEntry.object_type == "activity_member", AuditEntry.object_id == str(first.id))
            .order_by(col(AuditEntry.id)))).all()
    assert [(e.action, e.details.get("channel")) for e in entries][-2:] == [
        ("invitation.accepted", "phone"), ("invitation.signed", "paper")]
    with pytest.raises(AnswerRefused) as again:
        async with uow_factory() as u:
            await by_phone.record_answer(u, actor=clerk, member_id=second.id or 0, answer="accept")
    assert again.value.params["reason_key"] == "invite.refused_reason.answered"


async def test_a_withdrawal_needs_a_reason_and_only_a_late_one_counts(uow_factory: UnitOfWorkFactory, org: Org,
                                                                       clock: FixedClock) -> None:
    _, slots = await _drawn(uow_factory, org)
    early, late, _, _ = slots
    clerk = staff_actor(org.staff_id, org.bureau_id)
    for slot in (early, late):
        async with uow_factory() as u:
            await by_phone.record_answer(u, actor=clerk, member_id=slot.id or 0, answer="accept",
                                         signed_on_paper=True)
    with pytest.raises(AnswerRefused) as no_reason:
        async with uow_factory() as u:
            await withdraw(u, actor=expert(early.person_id), member_id=early.id or 0, reason="  ")
    assert no_reason.value.params["reason_key"] == "invite.refused_reason.reason_required"
    async with uow_factory() as u:
        await withdraw(u, actor=expert(early.person_id), member_id=early.id or 0, reason="工作调动")
    clock.advance(START - timedelta(hours=23) - clock.now())
    async with uow_factory() as u:
        await withdraw(u, actor=expert(late.person_id), member_id=late.id or 0, reason="家中急事")
    assert [(await _slot(uow_factory, s.id or 0)).reason for s in (early, late)] == ["withdrawn", "withdrawn_late"]
    await credit.sweep_slots(uow_factory)
    async with uow_factory() as u:
        events = (await u.session.exec(select(CreditEvent))).all()
    assert [(e.person_id, e.kind) for e in events] == [(late.person_id, "decline_after_accept")]
