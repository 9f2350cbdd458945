"""The letter to an expert's employer (000 §19, 001 §12), read back from the DOCX, and the record that it was sent."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document
from sqlmodel import col, select

from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import employer_letters, invitations
from services.platform.clock import FixedClock
from services.platform.errors import LetterNotReady, SlotNotFound
from services.platform.roles import Actor, Role
from storage.activities import ActivityMember
from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)  # 2026-03-16 09:00 in Shanghai


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


def clerk(org: Org) -> Actor:
    return staff_actor(org.staff_id, org.bureau_id)


def expert(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.EXPERT}))


async def roster(uow: UnitOfWorkFactory, org: Org, *, employer: int | None) -> list[ActivityMember]:
    """A bureau activity drawn from three experts (the first with the given employer): every slot invited."""
    await add_pool(uow, org.bureau_id, [
        {"name": "刘医师", "employer_id": employer, "title": "主任医师", "post": "医务科科长"},
        {"name": "周医师"}, {"name": "吴医师"}])
    admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow() as u:
        activity = await activities.create_activity(u, actor=clerk(org), data=ActivityInput(
            org="bureau", kind="special_inspection", title="定点医院专项检查", starts_at=START,
            ends_at=START + timedelta(days=2), response_deadline=START - timedelta(days=3),
            requirements=(RequirementInput("supervision", 3),), place="石河子市"))
    async with uow() as u:
        filed = await draws.file_request(u, actor=clerk(org), activity_id=activity.id or 0)
    async with uow() as u:
        await draws.approve(u, actor=admin, request_id=filed.request.id or 0)
    async with uow() as u:
        return list((await u.session.exec(select(ActivityMember).where(
            ActivityMember.activity_id == activity.id).order_by(col(ActivityMember.person_id)))).all())


async def accepted(uow: UnitOfWorkFactory, org: Org, *, employer: int | None = None) -> ActivityMember:
    """The first expert's slot, accepted."""
    member = (await roster(uow, org, employer=employer))[0]
    async with uow() as u:
        return await invitations.accept(u, actor=expert(member.person_id), member_id=member.id or 0)


def read(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


async def test_the_letter_is_addressed_to_the_employer_and_names_the_expert_the_activity_and_its_dates(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    (employer,) = await add_institutions(uow_factory, ["石河子大学第一附属医院"])
    member = await accepted(uow_factory, org, employer=employer)
    async with uow_factory(readonly=True) as u:
        name, data = await employer_letters.letter(u, actor=clerk(org), member_id=member.id or 0)
    assert name == f"employer-letter-{member.id}.docx"
    text = read(data)
    lines = text.splitlines()
    assert lines[0] == employer_letters.TITLE
    assert "石河子大学第一附属医院：" in lines
    assert "刘医师同志（职称：主任医师；职务：医务科科长）" in text
    assert "定点医院专项检查" in text and "专项检查" in text and "石河子市" in text
    assert "2026年3月16日 09:00 至 2026年3月18日 09:00" in text  # the bureau's time zone
    assert "兵团医疗保障局（盖章）" in lines and "2026年3月2日" in lines
    assert "安排刘医师同志按时参加" in text and "联系单位：兵团医疗保障局" in text
    assert employer_letters.NO_EMPLOYER_NOTE not in text


async def test_without_an_employer_on_record_the_letter_goes_to_the_expert_s_unit_and_says_so(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    member = await accepted(uow_factory, org)
    async with uow_factory(readonly=True) as u:
        _, data = await employer_letters.letter(u, actor=clerk(org), member_id=member.id or 0)
    text = read(data)
    assert "所在单位：" in text.splitlines() and employer_letters.NO_EMPLOYER_NOTE in text
    assert "刘医师同志" in text


async def test_a_slot_whose_expert_has_not_accepted_is_refused(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    invited = (await roster(uow_factory, org, employer=None))[1]
    assert invited.status == "invited"
    async with uow_factory(readonly=True) as u:
        with pytest.raises(LetterNotReady) as refused:
            await employer_letters.letter(u, actor=clerk(org), member_id=invited.id or 0)
    assert refused.value.params == {"member_id": invited.id, "status_key": "invite.status.invited"}
    async with uow_factory() as u:
        with pytest.raises(LetterNotReady):
            await employer_letters.mark_sent(u, actor=clerk(org), member_id=invited.id or 0)


async def test_a_division_s_staff_cannot_get_or_record_the_letter_of_a_bureau_activity(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    member = await accepted(uow_factory, org)
    division = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as u:
        with pytest.raises(SlotNotFound):
            await employer_letters.letter(u, actor=division, member_id=member.id or 0)
        with pytest.raises(SlotNotFound):
            await employer_letters.mark_sent(u, actor=division, member_id=member.id or 0)
        with pytest.raises(SlotNotFound):
            await employer_letters.letter(u, actor=clerk(org), member_id=999_999)


async def test_recording_the_letter_sent_keeps_the_first_time_and_is_audited_once(
        uow_factory: UnitOfWorkFactory, org: Org, clock: FixedClock) -> None:
    (employer,) = await add_institutions(uow_factory, ["第一人民医院"])
    member = await accepted(uow_factory, org, employer=employer)
    async with uow_factory() as u:
        first = await employer_letters.mark_sent(u, actor=clerk(org), member_id=member.id or 0)
    assert first.employer_informed_at == T0
    clock.advance(timedelta(hours=3))
    async with uow_factory() as u:
        again = await employer_letters.mark_sent(u, actor=staff_actor(org.admin_id, org.bureau_id, admin=True),
                                                 member_id=member.id or 0)
    assert again.employer_informed_at == T0
    async with uow_factory(readonly=True) as u:
        stored = await u.session.get(ActivityMember, member.id)
        entries = (await u.session.exec(select(AuditEntry).where(
            AuditEntry.action == employer_letters.AUDIT_ACTION))).all()
    assert stored is not None and stored.employer_informed_at == T0
    assert [(e.actor, e.object_id, e.details["employer_id"]) for e in entries] == [
        (f"person:{org.staff_id}", str(member.id), employer)]
