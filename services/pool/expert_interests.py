"""Interests and disputes an expert declares with an institution (000 §15(一)–(四)): future draws make them recuse
from activities concerning it (``services.activities.draw_rules`` point 5); a withdrawn declaration stays in the
history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from services.institutions.institutions import get_institution
from services.people.orgs import require_scope_over_person
from services.platform import audit
from services.platform.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from services.platform.roles import Actor
from storage.pool import ExpertInterest, Institution
from storage.uow import UnitOfWork

__all__ = ["INTEREST_KINDS", "DeclaredInterest", "declare_interest", "interests", "withdraw_interest"]

INTEREST_KINDS = ("interest", "dispute", "worked", "other")  # 000 §15(一)-(四)


@dataclass(frozen=True)
class InterestRef:
    """A declaration just made or withdrawn: its number and kind (000 §15)."""

    id: int
    kind: str


def _ref(interest: ExpertInterest) -> InterestRef:
    assert interest.id is not None
    return InterestRef(id=interest.id, kind=interest.kind)


async def declare_interest(
    uow: UnitOfWork, *, actor: Actor, institution_id: int, kind: str, note: str = ""
) -> InterestRef:
    """The expert declares an interest or dispute with an institution (000 §15): future draws recuse them."""
    if actor.person_id is None or await uow.people.expert(actor.person_id) is None:
        raise PermissionDenied("only experts declare interests")
    if kind not in INTEREST_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(INTEREST_KINDS)}", field="kind")
    institution = await get_institution(uow, institution_id)
    now = uow.now()
    interest = ExpertInterest(expert_id=actor.person_id, institution_id=institution_id, kind=kind,
                              note=" ".join(note.split())[:500], declared_on=uow.today(), declared_at=now)
    uow.session.add(interest)
    await uow.session.flush()
    await audit.record(uow, at=now, actor=actor.label, action="expert.interest_declared", object_type="person",
                       object_id=actor.person_id,
                       details={"interest_id": interest.id, "institution_id": institution.id, "kind": kind})
    await uow.commit()
    return _ref(interest)


async def withdraw_interest(uow: UnitOfWork, *, actor: Actor, interest_id: int) -> InterestRef:
    """The expert withdraws one of their own declarations (it stays in the history)."""
    interest = await uow.session.get(ExpertInterest, interest_id)
    if interest is None or interest.expert_id != actor.person_id:
        raise NotFound(str(interest_id))
    if interest.withdrawn_at is not None:
        raise InvalidTransition("already withdrawn", action_key="pool.action.withdraw",
                                state_key="pool.interest_withdrawn")
    interest.withdrawn_at = uow.now()
    uow.session.add(interest)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.interest_withdrawn",
                       object_type="person", object_id=interest.expert_id, details={"interest_id": interest.id})
    await uow.commit()
    return _ref(interest)


@dataclass(frozen=True)
class DeclaredInterest:
    """One current declaration of interest, with the institution's name."""

    id: int
    institution: str
    kind: str
    declared_on: date


async def interests(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Sequence[DeclaredInterest]:
    """An expert's current declarations with the institutions' names (the expert, or staff in scope)."""
    if actor.person_id != expert_id:
        await require_scope_over_person(uow, actor, expert_id)
    rows = (await uow.session.exec(
        select(ExpertInterest, Institution).join(Institution, col(Institution.id) == col(ExpertInterest.institution_id))
        .where(ExpertInterest.expert_id == expert_id, col(ExpertInterest.withdrawn_at).is_(None))
        .order_by(col(ExpertInterest.id))
    )).all()
    return [DeclaredInterest(id=interest.id or 0, institution=institution.name, kind=interest.kind,
                             declared_on=interest.declared_on) for interest, institution in rows]
