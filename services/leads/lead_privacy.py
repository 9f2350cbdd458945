"""The reporter's identity (003 三(四): protect reporters; GlobaLeaks' identity custodian): staff never see who
reported a lead; a custodian, a role granted per org unit (covering the units below it), may reveal the reporter of a
lead of that line with a reason. Every reveal is stored and audited; admins list the reveals of their line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from services.leads.leads import get_lead
from services.leads.retention import reporter_of
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import InvalidInput, LeadRefused, NotCustodian, PermissionDenied
from services.platform.roles import Actor, Role
from storage.leads import IdentityReveal, Lead, LeadCustodian
from storage.uow import UnitOfWork

MIN_REASON = 4


async def grant_custodian(uow: UnitOfWork, *, actor: Actor, person_id: int, org: str) -> None:
    """Make a staff member custodian of reporters' identities for ``org`` and below. Commits."""
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    staff = await uow.people.staff(person_id)
    if staff is None or not staff.active:
        raise InvalidInput("not staff", field="person")
    row = await uow.session.get(LeadCustodian, (person_id, unit.id))
    if row is None:
        row = LeadCustodian(person_id=person_id, org_unit_id=unit.id, granted_by=actor.label, granted_at=uow.now())
        uow.session.add(row)
        await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.custodian_granted",
                           object_type="person", object_id=person_id, details={"org_unit_id": unit.id})
    await uow.commit()


async def revoke_custodian(uow: UnitOfWork, *, actor: Actor, person_id: int, org: str) -> bool:
    """Withdraw the custodian role for ``org``; whether it was held. Commits."""
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    row = await uow.session.get(LeadCustodian, (person_id, unit.id))
    if row is None:
        return False
    await uow.session.delete(row)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.custodian_revoked",
                       object_type="person", object_id=person_id, details={"org_unit_id": unit.id})
    await uow.commit()
    return True


async def is_custodian_for(uow: UnitOfWork, person_id: int | None, unit_id: int) -> bool:
    """Whether ``person_id`` holds the custodian role for ``unit_id`` or a unit above it."""
    if person_id is None:
        return False
    rows = (await uow.session.exec(select(LeadCustodian).where(LeadCustodian.person_id == person_id))).all()
    for row in rows:
        if unit_id in await subtree(uow, row.org_unit_id):
            return True
    return False


@dataclass(frozen=True)
class Revealed:
    """Who reported a lead, as shown to a custodian."""

    number: str
    pseudonym: str
    name: str
    certificate_number: str | None
    mobile: str | None


async def reveal(uow: UnitOfWork, *, actor: Actor, lead_id: int, reason: str) -> Revealed:
    """Reveal the reporter of a lead to a custodian, with a reason; stored and audited. Commits."""
    lead = await get_lead(uow, lead_id)
    if not await is_custodian_for(uow, actor.person_id, lead.org_unit_id):
        raise NotCustodian("not a custodian for this lead")
    reporter = reporter_of(lead)  # purged under retention: nothing left to reveal
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise LeadRefused("reason", reason_key="lead.invalid.reveal_reason")
    assert actor.person_id is not None and lead.id is not None
    uow.session.add(IdentityReveal(lead_id=lead.id, custodian_person_id=actor.person_id, reason=reason[:1000],
                                   at=uow.now()))
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.identity_revealed", object_type="lead",
                       object_id=lead.id, details={"reason": reason[:1000]})
    person = await uow.people.get(reporter)
    supervisor = await uow.people.supervisor(reporter)
    await uow.commit()
    return Revealed(lead.number, lead.reporter_pseudonym, await uow.people.name_of(person) if person else "?",
                    supervisor.certificate_number if supervisor is not None else None,
                    supervisor.mobile if supervisor is not None else None)


@dataclass(frozen=True)
class RevealRow:
    """One reveal, for the admins' list."""

    at: str
    number: str
    custodian: str
    reason: str


async def list_reveals(uow: UnitOfWork, *, actor: Actor, limit: int = 50) -> Sequence[RevealRow]:
    """The reveals of leads in the admin's org subtree, newest first."""
    if actor.person_id is not None and not actor.has_any(frozenset({Role.ADMIN})):
        raise PermissionDenied("admins only")
    query = select(IdentityReveal, Lead).where(IdentityReveal.lead_id == Lead.id)
    if actor.person_id is not None:
        assert actor.staff_org_unit_id is not None
        query = query.where(col(Lead.org_unit_id).in_(await subtree(uow, actor.staff_org_unit_id)))
    rows = (await uow.session.exec(query.order_by(col(IdentityReveal.id).desc()).limit(limit))).all()
    result = []
    for reveal_row, lead in rows:
        person = await uow.people.get(reveal_row.custodian_person_id)
        result.append(RevealRow(reveal_row.at.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M"), lead.number,
                                person.name if person is not None else "?", reveal_row.reason))
    return result
