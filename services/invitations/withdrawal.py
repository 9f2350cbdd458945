"""After accepting (issue 13; 001 §19, §20; 000 §15): an accepted or signed expert may withdraw (a reason is
required) or declare a conflict of interest that arose late, until the activity starts. The slot closes, the next
backup is invited and staff are alerted, as for any closed slot (:func:`services.invitations.replacement._close`).

A withdrawal less than :data:`LATE_WITHDRAWAL` before the start closes the slot with the reason ``withdrawn_late``,
which the credit sweep records as ``decline_after_accept`` (:func:`services.records.credit.sweep_slots`); an
earlier one (``withdrawn``) records nothing. A late recusal with its ground is the invitation's own recusal
(:func:`services.invitations.answers.recuse`, open to accepted and signed slots) and records nothing negative.

The assignment's buttons (withdraw, declare a conflict) are on the invitation once accepted
(:func:`services.invitations.keyboards.assignment`) and on ``/mine``.
"""

from __future__ import annotations

from datetime import timedelta

from services.invitations.answers import _open_slot
from services.invitations.replacement import _close
from services.invitations.slots import _refused
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.uow import UnitOfWork

LATE_WITHDRAWAL = timedelta(hours=24)
"""A withdrawal closer than this to the start is a ``decline_after_accept`` in the credit file."""


async def withdraw(uow: UnitOfWork, *, actor: Actor, member_id: int, reason: str) -> ActivityMember:
    """Withdraw from an accepted or signed slot before the start, with a reason (required). Commits."""
    text = " ".join(reason.split())[:500]
    if not text:
        raise _refused("reason_required")
    member, info = await _open_slot(uow, actor, member_id)
    if member.status not in ("accepted", "signed"):
        raise _refused("answered" if member.status != "invited" else "stale")
    late = info.activity.starts_at - uow.now() < LATE_WITHDRAWAL
    await _close(uow, member, "withdrawn", "withdrawn_late" if late else "withdrawn", actor=actor.label, text=text)
    await uow.commit()
    return member
