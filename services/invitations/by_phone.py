"""Answers given by phone or in person, recorded by staff of the organizing unit (issue 13; 000 §19: notice "by
phone, text message or other means"; the provincial voice-call draw systems record "will attend / will not, with
reason" for every expert reached by phone).

Staff record, for any slot still open: accept, decline with a reason, recuse with a ground (000 §15, 001 §17),
and the commitment signed on paper (000 §14). Each is audited with the staff member as actor and ``channel`` =
``phone`` and drives the same transitions as the expert's own press: a decline or recusal closes the slot and
invites the next backup, the roster is edited. The same rules hold: nothing after the start or a closed roster,
and an accept re-checks that the expert may still serve (:func:`services.invitations.slots.pool_standing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.invitations import commitment, keyboards
from services.invitations.answers import _still_open
from services.invitations.replacement import _close
from services.invitations.roster import update_roster
from services.invitations.slots import (
    DECLINE_REASONS,
    INTEREST_KIND,
    OPEN,
    RECUSAL_GROUNDS,
    _activity,
    _audit,
    _edit_invitation,
    _facts,
    _local,
    _may_serve,
    _name,
    _refused,
)
from services.invitations.staff import _staff_slot
from services.invitations.unreached import reachable
from services.platform import notify, policy
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.pool import ExpertInterest
from storage.uow import UnitOfWork

PhoneAnswer = Literal["accept", "decline", "recuse", "signed_on_paper"]
PHONE = "phone"


@dataclass(frozen=True)
class SlotAnswered:
    """The slot after a recorded answer: its number and status."""

    slot_id: int
    status: str


async def record_answer(uow: UnitOfWork, *, actor: Actor, member_id: int, answer: PhoneAnswer, reason: str = "",
                        text: str = "", signed_on_paper: bool = False) -> SlotAnswered:
    """Record an answer given by phone or in person (staff of the organizer's line). ``reason``: the decline
    reason or recusal ground code (anything else is "other", with ``text``). An accept with the paper commitment on
    a slot already accepted records the paper commitment alone. Commits."""
    member = await _staff_slot(uow, actor, member_id)
    if answer == "accept" and signed_on_paper and member.status == "accepted":
        answer = "signed_on_paper"
    info = await _activity(uow, member.activity_id)
    _still_open(info, uow.now())
    if answer == "accept":
        if member.status != "invited":
            raise _refused("answered")
        await _may_serve(uow, member, info.activity)
        await _accept(uow, actor, member, paper=signed_on_paper)
    elif answer == "signed_on_paper":
        if member.status != "accepted":
            raise _refused("signed" if member.status == "signed" else "stale")
        await _may_serve(uow, member, info.activity)
        await _sign_on_paper(uow, actor, member)
    elif answer == "decline":
        if member.status != "invited":
            raise _refused("answered")
        code = reason if reason in DECLINE_REASONS else "other"
        await _close(uow, member, "declined", code, actor=actor.label, text=text or _extra(reason, code),
                     channel=PHONE)
    else:
        if member.status not in OPEN:
            raise _refused("stale")
        code = reason if reason in RECUSAL_GROUNDS else "other"
        for institution in info.institutions:
            assert institution.id is not None
            uow.session.add(ExpertInterest(
                expert_id=member.person_id, institution_id=institution.id, kind=INTEREST_KIND[code],
                note=(text or f"回避（电话）：活动 {info.activity.id}")[:500], declared_on=uow.today(),
                declared_at=uow.now()))
        await _close(uow, member, "recused", code, actor=actor.label, text=text or _extra(reason, code),
                     channel=PHONE)
    await update_roster(uow, info)
    await uow.commit()
    assert member.id is not None
    return SlotAnswered(slot_id=member.id, status=member.status)


def _extra(given: str, code: str) -> str:
    """A free-text reason given where a code was expected is kept as the text."""
    return given if given and given != code else ""


async def _accept(uow: UnitOfWork, actor: Actor, member: ActivityMember, *, paper: bool) -> None:
    info = await _activity(uow, member.activity_id)
    member.status = "accepted"
    member.answered_at = uow.now()
    member.due_at = max(uow.now(), info.activity.starts_at - policy.current().chase.sign_reminder_before)
    uow.session.add(member)
    await _audit(uow, actor.label, "accepted", member, channel=PHONE)
    await _edit_invitation(uow, member, "invite.answered",
                           {**_facts(info, uow.zone), "answer_key": "invite.answer.accepted"},
                           buttons=keyboards.assignment(member.id or 0))
    if paper:
        await _sign_on_paper(uow, actor, member)
    elif await reachable(uow, member.person_id):  # the commitment to sign in the chat, as after a press
        text = await _commitment_text(uow, member)
        sent = await notify.to_person(uow, person_id=member.person_id, key="invite.commitment",
                                      params={"text": text}, buttons=keyboards.commitment(member.id or 0))
        member.commitment_message_id = sent.id


async def _commitment_text(uow: UnitOfWork, member: ActivityMember) -> str:
    info = await _activity(uow, member.activity_id)
    zone = uow.zone
    return commitment.render(name=await _name(uow, member.person_id), title=info.activity.title,
                             start=_local(info.activity.starts_at, zone), end=_local(info.activity.ends_at, zone),
                             place=info.activity.place)


async def _sign_on_paper(uow: UnitOfWork, actor: Actor, member: ActivityMember) -> None:
    """The commitment signed on paper (000 §14): recorded with the hash of the text of this version."""
    text = await _commitment_text(uow, member)
    member.status = "signed"
    member.signed_at = uow.now()
    member.commitment_hash = commitment.text_hash(text)
    member.due_at = (await _activity(uow, member.activity_id)).activity.starts_at  # buttons go at the start
    uow.session.add(member)
    await _audit(uow, actor.label, "signed", member, channel="paper", commitment_hash=member.commitment_hash,
                 version=commitment.VERSION)
    if member.commitment_message_id is not None:  # the chat's copy loses its Sign / Refuse buttons
        from storage.models import OutboxMessage

        original = await uow.session.get(OutboxMessage, member.commitment_message_id)
        if original is not None:
            await notify.edit(uow, original=original, key="invite.signed",
                              params={"text": text, "at": _local(member.signed_at, uow.zone)})


async def answer_card(uow: UnitOfWork, *, actor: Actor, member_id: int) -> tuple[dict[str, object], keyboards.Rows]:
    """What ``/answer <slot>`` shows staff: the expert, the activity, the slot's state and deadline, and the
    buttons of the answers that apply now."""
    member = await _staff_slot(uow, actor, member_id)
    info = await _activity(uow, member.activity_id)
    from storage.models import Expert

    expert = await uow.session.get(Expert, member.person_id)
    params: dict[str, object] = {
        **_facts(info, uow.zone), "member_id": member_id, "name": await _name(uow, member.person_id),
        "person_id": member.person_id, "mobile": (expert.mobile if expert else None) or "—",
        "status_key": f"invite.status.{member.status}",
        "respond_by": _local(member.respond_by, uow.zone) if member.respond_by else "—"}
    return params, keyboards.phone_answers(member_id, member.status)
