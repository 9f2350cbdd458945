"""The invitation loop's buttons and the choices behind them: old callback strings still parse to the same
actions, the choices open only on the invited expert's own slot in the right state, the attendance sheet, the
backup invited by line, and the relaxations on offer after a shortfall."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.activities import activities
from services.activities.activities import ActivityInput, Relaxation, RequirementInput, offered_relaxations
from services.buttons import Refusal, parse
from services.draws import draws
from services.draws.actions import (
    ApproveDrawRequest,
    DrawAgain,
    RejectDrawRequest,
    RelaxRequirement,
    ShowDraw,
    VerifyTargetDraw,
)
from services.invitations import invitations, keyboards
from services.invitations.actions import (
    AcceptInvitation,
    AskToRefuseCommitment,
    AttendanceCode,
    ConfirmRemoval,
    DeclineInvitation,
    DeclineReason,
    FileTopUp,
    MarkAttendance,
    MarkLetterSent,
    RecusalGround,
    RecuseFromInvitation,
    ShowDeclineReasons,
    ShowRecusalGrounds,
    SignCommitment,
)
from services.platform.errors import AnswerRefused
from services.platform.roles import Actor, Role
from storage.activities import ActivityMember, ActivityRequirement
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_pool, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)

OLD_STRINGS = {
    "inv:a:12": AcceptInvitation(12),
    "inv:d:12": ShowDeclineReasons(12),
    "inv:r:12": ShowRecusalGrounds(12),
    "inv:dr:12:field": DeclineInvitation(12, DeclineReason.FIELD),
    "inv:rg:12:relative": RecuseFromInvitation(12, RecusalGround.RELATIVE),
    "inv:s:12": SignCommitment(12),
    "inv:x:12": AskToRefuseCommitment(12),
    "inv:rm:12": ConfirmRemoval(12),
    "inv:at:12:n": MarkAttendance(12, AttendanceCode.WITH_NOTICE),
    "ltr:sent:12": MarkLetterSent(12),
    "draw:ok:3": ApproveDrawRequest(3),
    "draw:no:3": RejectDrawRequest(3),
    "draw:show:4": ShowDraw(4),
    "draw:tu:5:6": FileTopUp(5, 6),
    "draw:rx:6:subcategory": RelaxRequirement(6, Relaxation.DROP_SUBCATEGORY),
    "draw:re:5": DrawAgain(5),
    "tgt:v:7": VerifyTargetDraw(7),
}


@pytest.mark.parametrize("data", sorted(OLD_STRINGS))
def test_buttons_already_in_chats_parse_to_the_same_actions_and_encode_back(data: str) -> None:
    assert parse(data) == OLD_STRINGS[data]
    assert OLD_STRINGS[data].encode() == data


@pytest.mark.parametrize("data", ["inv:dr:12:bored", "inv:at:12:x", "draw:rx:6:all", "draw:tu:5", "inv:a:0"])
def test_a_reason_or_code_outside_the_list_is_refused(data: str) -> None:
    assert isinstance(parse(data), Refusal)


def test_the_decline_reasons_end_with_back_and_keep_their_old_data() -> None:
    rows = keyboards.decline_reasons(12)
    assert [row[0].data for row in rows] == ["inv:dr:12:busy", "inv:dr:12:field", "inv:dr:12:health",
                                             "inv:dr:12:other", "inv:b:12"]
    assert [b.data for b in keyboards.answers(12)[0]] == ["inv:a:12", "inv:d:12", "inv:r:12"]
    assert [b.data for b in keyboards.attendance(12)[0]] == ["inv:at:12:a", "inv:at:12:n", "inv:at:12:w"]


def test_only_the_relaxations_that_change_a_requirement_are_offered() -> None:
    full = ActivityRequirement(activity_id=1, position=1, category="medical", subcategory="medicine",
                               tags=["心血管"], count=3, backups=2)
    bare = ActivityRequirement(activity_id=1, position=2, category="supervision", subcategory=None, tags=[],
                               count=3, backups=0)
    assert offered_relaxations(full) == (Relaxation.DROP_TAGS, Relaxation.DROP_SUBCATEGORY, Relaxation.FEWER_BACKUPS)
    assert offered_relaxations(bare) == ()


def expert(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.EXPERT}))


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def _drawn(uow: UnitOfWorkFactory, org: Org) -> tuple[int, list[ActivityMember]]:
    """An activity of three principals and one backup, drawn and invited; its slots by id."""
    await add_pool(uow, org.bureau_id, [{"name": f"专家{i}"} for i in range(4)])
    clerk, admin = staff_actor(org.staff_id, org.bureau_id), staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow() as u:
        activity = await activities.create_activity(u, actor=clerk, data=ActivityInput(
            org="bureau", kind="special_inspection", title="专项检查", starts_at=START,
            ends_at=START + timedelta(days=1), response_deadline=START - timedelta(days=3),
            requirements=(RequirementInput("supervision", 3, 1),)))
    async with uow() as u:
        filed = await draws.file_request(u, actor=clerk, activity_id=activity.id or 0)
    async with uow() as u:
        await draws.approve(u, actor=admin, request_id=filed.request.id or 0)
    async with uow() as u:
        slots = list((await u.session.exec(select(ActivityMember).where(
            ActivityMember.activity_id == activity.id).order_by(col(ActivityMember.id)))).all())
    return activity.id or 0, slots


async def test_the_choices_open_only_on_ones_own_slot_in_its_state(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    _, slots = await _drawn(uow_factory, org)
    mine, other = [s for s in slots if s.status == "invited"][:2]
    async with uow_factory(readonly=True) as u:
        rows = await invitations.decline_choices(u, actor=expert(mine.person_id), member_id=mine.id or 0)
        assert rows == keyboards.decline_reasons(mine.id or 0)
        with pytest.raises(AnswerRefused) as foreign:
            await invitations.recusal_choices(u, actor=expert(other.person_id), member_id=mine.id or 0)
        assert foreign.value.params["reason_key"] == "invite.refused_reason.foreign"
        with pytest.raises(AnswerRefused):  # not accepted yet: no refusal to confirm
            await invitations.refusal_choices(u, actor=expert(mine.person_id), member_id=mine.id or 0)
    async with uow_factory() as u:
        await invitations.accept(u, actor=expert(mine.person_id), member_id=mine.id or 0)
    async with uow_factory(readonly=True) as u:
        # once accepted, "back" leads to the assignment's Withdraw / Declare a conflict (issue 13), and the decline
        # reasons are refused as already answered
        assert await invitations.answer_choices(u, actor=expert(mine.person_id), member_id=mine.id or 0) == \
            keyboards.assignment(mine.id or 0)
        with pytest.raises(AnswerRefused) as answered:
            await invitations.decline_choices(u, actor=expert(mine.person_id), member_id=mine.id or 0)
        assert answered.value.params["reason_key"] == "invite.refused_reason.answered"
        assert await invitations.refusal_choices(u, actor=expert(mine.person_id), member_id=mine.id or 0) == \
            keyboards.refusal_confirmation(mine.id or 0)


async def test_a_typed_other_reason_is_recorded_with_its_words(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    activity_id, slots = await _drawn(uow_factory, org)
    slot = next(s for s in slots if s.status == "invited")
    async with uow_factory() as u:
        answered = await invitations.answer_with_text(u, actor=expert(slot.person_id), step="decline",
                                                      data={"slot": slot.id, "code": "other"}, text="  出差  在外 ")
    assert answered == invitations.Answered("invite.done_decline", {"activity_id": activity_id})
    async with uow_factory(readonly=True) as u:
        closed = await u.session.get(ActivityMember, slot.id)
    assert closed is not None
    assert (closed.status, closed.reason, closed.reason_text) == ("declined", "other", "出差 在外")


async def test_the_attendance_sheet_lists_who_accepted_with_their_buttons(uow_factory: UnitOfWorkFactory,
                                                                         org: Org) -> None:
    activity_id, slots = await _drawn(uow_factory, org)
    slot = next(s for s in slots if s.status == "invited")
    clerk = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory(readonly=True) as u:
        assert (await invitations.attendance_sheet(u, actor=clerk, activity_id=activity_id)).lines == ()
    async with uow_factory() as u:
        await invitations.accept(u, actor=expert(slot.person_id), member_id=slot.id or 0)
    async with uow_factory(readonly=True) as u:
        sheet = await invitations.attendance_sheet(u, actor=clerk, activity_id=activity_id)
    assert [(line.member_id, line.attendance, line.buttons) for line in sheet.lines] == [
        (slot.id, None, keyboards.attendance(slot.id or 0))]


async def test_the_next_backup_is_invited_by_line_number(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    activity_id, slots = await _drawn(uow_factory, org)
    backup = next(s for s in slots if s.role == "backup")
    clerk = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as u:
        invited = await invitations.invite_next_on_line(u, actor=clerk, activity_id=activity_id, position=1)
    assert invited is not None and invited.person_id == backup.person_id and invited.name.startswith("专家")
    async with uow_factory() as u:
        assert await invitations.invite_next_on_line(u, actor=clerk, activity_id=activity_id, position=1) is None
