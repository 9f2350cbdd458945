"""Registers exported as tables (issue 17), each within the caller's line and masking rules: the leads (pseudonymous:
the supervisor's pseudonym, never their identity, 003 三(四)), the activities with their rosters and outcomes,
an expert's credit file (000 §25) and, for an admin of the top unit, the audit trail of a period. Values that are
internal keys (states, kinds, categories) go through ``label`` (the front end's catalog), so a table reads in the
caller's language. The front end writes the rows with :func:`services.platform.tables.write_table` (streamed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from services.insight.period import Period
from services.insight.stats import scope
from services.platform.errors import PermissionDenied
from services.platform.roles import Actor, Role
from services.records import credit, ledger
from storage.activities import Activity, ActivityMember
from storage.leads import Lead
from storage.models import AuditEntry, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

Label = Callable[..., str]
Cell = str | int | float | None


@dataclass(frozen=True)
class Export:
    """A table: its title, headers and rows."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]


def _local(uow: UnitOfWork, moment: datetime | None) -> str:
    return moment.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


async def leads(uow: UnitOfWork, *, actor: Actor, period: Period, label: Label) -> Export:
    """The leads received in the period in the caller's line; the reporter only by pseudonym."""
    unit, units = await scope(uow, actor, None)
    start, end = period.bounds(uow.zone)
    names = {u.id: u.name for u in await uow.org_units.all()}
    found = (await uow.session.exec(
        select(Lead, Institution.name).outerjoin(Institution, col(Institution.id) == col(Lead.institution_id))
        .where(col(Lead.org_unit_id).in_(units), col(Lead.created_at) >= start, col(Lead.created_at) < end)
        .order_by(col(Lead.id)))).all()
    rows: list[list[Cell]] = [[lead.number, names.get(lead.org_unit_id, ""), _local(uow, lead.created_at),
                               label(f"lead.category.{lead.category}"), label(f"lead.state.{lead.state}"),
                               institution or lead.institution_text or "", lead.what, lead.reporter_pseudonym,
                               _local(uow, lead.due_at), lead.reward_amount,
                               label(f"lead.reward.{lead.reward_state}") if lead.reward_state else ""]
                              for lead, institution in found]
    return Export(label("export.leads.title", unit=unit.name, period=period.label),
                  [label(f"export.leads.{h}") for h in ("number", "unit", "received", "category", "state",
                                                         "target", "what", "pseudonym", "due", "reward",
                                                         "reward_state")], rows)


async def activities(uow: UnitOfWork, *, actor: Actor, period: Period, label: Label) -> Export:
    """The activities starting in the period in the caller's line, one row per member of the roster."""
    unit, units = await scope(uow, actor, None)
    start, end = period.bounds(uow.zone)
    found = (await uow.session.exec(
        select(Activity, ActivityMember, Person.name)
        .outerjoin(ActivityMember, col(ActivityMember.activity_id) == col(Activity.id))
        .outerjoin(Person, col(Person.id) == col(ActivityMember.person_id))
        .where(col(Activity.org_unit_id).in_(units), col(Activity.starts_at) >= start, col(Activity.starts_at) < end)
        .order_by(col(Activity.starts_at), col(Activity.id), col(ActivityMember.id)))).all()
    rows: list[list[Cell]] = []
    for activity, member, name in found:
        rows.append([activity.id, activity.title, label(f"newact.kind.{activity.kind}"),
                     _local(uow, activity.starts_at), _local(uow, activity.ends_at),
                     label(f"newact.status.{activity.status}"), name or "",
                     label(f"export.activities.role_{member.role}") if member else "",
                     label(f"invite.status.{member.status}") if member else "",
                     label(f"export.activities.attendance_{member.attendance}") if member and member.attendance
                     else ""])
    return Export(label("export.activities.title", unit=unit.name, period=period.label),
                  [label(f"export.activities.{h}") for h in ("id", "title_column", "kind", "starts", "ends", "status",
                                                              "expert", "role", "answer", "attendance")], rows)


async def credit_file(uow: UnitOfWork, *, actor: Actor, person_id: int, label: Label) -> Export:
    """An expert's credit file (staff within the line, or the expert's own)."""
    found = await credit.credit_file(uow, actor=actor, person_id=person_id)
    person = await uow.people.get(person_id)
    rows: list[list[Cell]] = []
    for event in found.events:
        key, params = ledger.source_label(event.source)
        rows.append([_local(uow, event.occurred_at), label(f"credit.kind.{event.kind}"), event.points,
                     label(key, **params), event.activity_id, event.note])
    return Export(label("export.credit.title", name=person.name if person else person_id, total=found.total),
                  [label(f"export.credit.{h}") for h in ("date", "kind", "points", "source", "activity", "note")],
                  rows)


async def audit_trail(uow: UnitOfWork, *, actor: Actor, period: Period, label: Label) -> Export:
    """The audit entries of the period: only for an admin of the top unit (the trail covers every unit)."""
    unit, _ = await scope(uow, actor, None)
    if unit.parent_id is not None or Role.ADMIN not in actor.roles:
        raise PermissionDenied("the audit trail is exported by an admin of the top unit")
    start, end = period.bounds(uow.zone)
    found = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.at) >= start, col(AuditEntry.at) < end)
                                    .order_by(col(AuditEntry.id)))).all()
    rows: list[list[Cell]] = [[e.id, _local(uow, e.at), e.actor, e.action, e.object_type, e.object_id,
                               json.dumps(e.details, ensure_ascii=False, sort_keys=True), e.hash] for e in found]
    return Export(label("export.audit.title", period=period.label),
                  [label(f"export.audit.{h}") for h in ("id", "at", "actor", "action", "object_type", "object_id",
                                                         "details", "hash")], rows)
