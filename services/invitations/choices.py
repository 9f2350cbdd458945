"""What an expert may open on their own slot before answering: the decline reasons, the recusal grounds, the
refusal warning, and the line of text behind an "other" reason (000 §14, §15; 001 §17, §19).

Only the invited expert opens the choices of their slot, and only while the slot is in the state the choices
belong to (``invited`` for the answers, ``accepted`` for the commitment); a foreign or stale press is refused
with the same reasons as the answers themselves (:class:`services.platform.errors.AnswerRefused`).

An "other" reason or ground asks for one line of text: the slot waits in the account's ``dialog`` row (flow
:data:`REASON_FLOW`, step ``decline`` or ``recuse``) until the text comes, or ``/cancel`` drops the question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from services.invitations import keyboards
from services.invitations.answers import decline, recuse
from services.invitations.keyboards import Rows
from services.invitations.slots import CLOSED, OPEN, _refused
from services.platform import dialogs
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.uow import UnitOfWork

REASON_FLOW = "invitation"
"""The dialog flow of an "other" reason waiting for its text."""

ReasonKind = Literal["decline", "recuse", "withdraw"]
_ASKED_IN: dict[str, tuple[str, ...]] = {"decline": ("invited",), "recuse": OPEN, "withdraw": ("accepted", "signed")}


async def _own_slot(uow: UnitOfWork, actor: Actor, member_id: int, status: str | tuple[str, ...]) -> ActivityMember:
    """The actor's own slot in ``status`` (one or several), or the refusal: stale before foreign, as a press is
    read; an answered slot is told so (issue 13)."""
    member = await uow.session.get(ActivityMember, member_id)
    wanted = (status,) if isinstance(status, str) else status
    if member is None or member.status not in wanted:
        raise _refused("answered" if member is not None and member.person_id == actor.person_id
                       and member.status in (*CLOSED, "accepted", "signed") else "stale")
    if member.person_id != actor.person_id:
        raise _refused("foreign")
    return member


async def decline_choices(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Rows:
    """The decline reasons of the actor's open invitation."""
    await _own_slot(uow, actor, member_id, "invited")
    return keyboards.decline_reasons(member_id)


async def recusal_choices(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Rows:
    """The recusal grounds of the actor's open invitation, or of an accepted or signed slot (a conflict of
    interest that arose late, issue 13)."""
    await _own_slot(uow, actor, member_id, OPEN)
    return keyboards.recusal_grounds(member_id)


async def answer_choices(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Rows:
    """Back to Accept / Decline / Recuse on the actor's open invitation, or to Withdraw / Declare a conflict on an
    accepted or signed one."""
    member = await _own_slot(uow, actor, member_id, OPEN)
    return keyboards.answers(member_id) if member.status == "invited" else keyboards.assignment(member_id)


async def refusal_choices(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Rows:
    """The confirmation of a refusal to sign, on the actor's accepted slot (000 §14)."""
    await _own_slot(uow, actor, member_id, "accepted")
    return keyboards.refusal_confirmation(member_id)


async def commitment_choices(uow: UnitOfWork, *, actor: Actor, member_id: int) -> Rows:
    """Back to Sign / Refuse on the actor's accepted slot."""
    await _own_slot(uow, actor, member_id, "accepted")
    return keyboards.commitment(member_id)


async def ask_reason(uow: UnitOfWork, *, actor: Actor, member_id: int, kind: ReasonKind, code: str) -> None:
    """An "other" reason (or a withdrawal's reason): the actor's next text is its wording. Commits the dialog
    row."""
    await _own_slot(uow, actor, member_id, _ASKED_IN[kind])
    if actor.account_id is None:
        raise _refused("foreign")
    await dialogs.start(uow, actor.account_id, flow=REASON_FLOW, step=kind, data={"slot": member_id, "code": code})
    await uow.commit()


@dataclass(frozen=True)
class Answered:
    """What to tell the expert once an answer is recorded."""

    message_key: str
    params: dict[str, Any] = field(default_factory=dict)


async def drop_reason_question(uow: UnitOfWork, *, account_id: int) -> None:
    """The question is answered once, whatever the outcome: the dialog row goes. Commits."""
    await dialogs.clear(uow, account_id)
    await uow.commit()


async def answer_with_text(uow: UnitOfWork, *, actor: Actor, step: str, data: dict[str, Any],
                           text: str) -> Answered:
    """Record the decline or recusal whose "other" reason was just typed (the dialog's ``step`` and ``data``)."""
    slot, code = int(data["slot"]), str(data["code"])
    if step == "decline":
        member = await decline(uow, actor=actor, member_id=slot, reason=code, text=text)
        return Answered("invite.done_decline", {"activity_id": member.activity_id})
    if step == "withdraw":
        from services.invitations.withdrawal import withdraw

        member = await withdraw(uow, actor=actor, member_id=slot, reason=text)
        return Answered("invite.done_withdraw", {"activity_id": member.activity_id})
    await recuse(uow, actor=actor, member_id=slot, ground=code, text=text)
    return Answered("invite.done_recusal")
