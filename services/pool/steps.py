"""Staff's life-cycle steps by name, for a front end's ``/pool <expert id> <step> [reason]``: each step is one
transition of :mod:`services.pool.lifecycle` (which checks the state, the scope and the admission conditions).

A step that ends or sets back a record needs a stated reason, kept on the record and in the audit trail: rejection
at review and an objection during the public notice (000 §10(三)–(五)), leaving the pool (000 §11, §21) and removal
(000 §23). It is refused before anything is looked up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.pool import lifecycle
from services.pool.lifecycle import ExitReason
from services.pool.standing import Standing
from storage.uow import UnitOfWork


class Step(StrEnum):
    """A life-cycle step staff take by name."""

    REVIEW = "review"
    APPROVE = "approve"
    REJECT = "reject"
    OBJECTION = "objection"
    APPOINT = "appoint"
    RENEW = "renew"
    EXTEND = "extend"
    EXIT = "exit"
    REMOVE = "remove"
    READMIT = "readmit"


NEEDS_REASON = frozenset({Step.REJECT, Step.OBJECTION, Step.EXIT, Step.REMOVE})


@dataclass(frozen=True)
class StepTaken:
    """The expert after the step: who, and the state they are now in."""

    person_id: int
    state: str


_Transition = Callable[[UnitOfWork, Actor, int, str], Awaitable[Standing]]

_TRANSITIONS: dict[Step, _Transition] = {
    Step.REVIEW: lambda uow, actor, expert_id, _: lifecycle.start_review(uow, actor=actor, expert_id=expert_id),
    Step.APPROVE: lambda uow, actor, expert_id, _: lifecycle.approve(uow, actor=actor, expert_id=expert_id),
    Step.REJECT: lambda uow, actor, expert_id, reason: lifecycle.reject(uow, actor=actor, expert_id=expert_id,
                                                                        reason=reason),
    Step.OBJECTION: lambda uow, actor, expert_id, reason: lifecycle.record_objection(
        uow, actor=actor, expert_id=expert_id, note=reason),
    Step.APPOINT: lambda uow, actor, expert_id, _: lifecycle.appoint(uow, actor=actor, expert_id=expert_id),
    Step.RENEW: lambda uow, actor, expert_id, _: lifecycle.renew(uow, actor=actor, expert_id=expert_id),
    Step.EXTEND: lambda uow, actor, expert_id, _: lifecycle.request_extension(uow, actor=actor, expert_id=expert_id),
    Step.EXIT: lambda uow, actor, expert_id, reason: lifecycle.exit_pool(uow, actor=actor, expert_id=expert_id,
                                                                         reason=ExitReason.OTHER, note=reason),
    Step.REMOVE: lambda uow, actor, expert_id, reason: lifecycle.remove(uow, actor=actor, expert_id=expert_id,
                                                                        reason=reason),
    Step.READMIT: lambda uow, actor, expert_id, _: lifecycle.readmit(uow, actor=actor, expert_id=expert_id),
}


async def take_step(uow: UnitOfWork, *, actor: Actor, expert_id: int, step: Step, reason: str = "") -> StepTaken:
    """Take ``step`` for the expert; refused without a reason when the step needs one (see the module's doc)."""
    if step in NEEDS_REASON and not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    expert = await _TRANSITIONS[step](uow, actor, expert_id, reason)
    return StepTaken(person_id=expert.person_id, state=expert.state)
