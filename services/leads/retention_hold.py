"""A hold on a lead's pending retention deletions (issue 19; PIPL art. 19: kept as long as a purpose still needs it;
000 §25): staff of the lead's line — those who receive the retention warnings — postpone what the sweep would delete
until a day or until released, giving a reason; both audited. The sweep skips a held clock (``retention.plan``:
``on_hold``); placing a hold clears the clock's warning, so once the hold ends staff are warned again and keep the
whole notice period (``retention_rules``). Only clocks already started (a decided lead) can be held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select

from services.leads.leads import staff_lead
from services.leads.retention_rules import MAX_HOLD_DAYS, hold_end, on_hold
from services.platform import audit
from services.platform.errors import LeadRefused
from services.platform.roles import Actor
from storage.leads import LeadRetention
from storage.uow import UnitOfWork

MAX_REASON = 500


@dataclass(frozen=True)
class Hold:
    """A lead's hold as placed or released: the clocks it covers (kinds), until when (None: until released)."""

    lead_id: int
    number: str
    kinds: tuple[str, ...]
    until: date | None
    reason: str


async def _pending(uow: UnitOfWork, lead_id: int) -> list[LeadRetention]:
    query = select(LeadRetention).where(LeadRetention.lead_id == lead_id, col(LeadRetention.done_at).is_(None))
    return list((await uow.session.exec(query.order_by(col(LeadRetention.kind)))).all())


async def hold(uow: UnitOfWork, *, actor: Actor, lead_id: int, until: date | None, reason: str) -> Hold:
    """Postpone every pending deletion of the lead until ``until`` (that day included; None: until released), for
    ``reason``; at least one of the two. Refused (``LeadRefused``) for a day not after today or too far, and for a
    lead with nothing pending. Audited; commits."""
    lead = await staff_lead(uow, actor, lead_id)  # the lead's line only: "not found" outside it
    reason = " ".join(reason.split())[:MAX_REASON]
    if until is None and not reason:
        raise LeadRefused("hold", reason_key="lead.invalid.hold_what")
    today = uow.today()
    if until is not None and not today < until <= today + timedelta(days=MAX_HOLD_DAYS):
        raise LeadRefused("until", reason_key="lead.invalid.hold_until")
    clocks = await _pending(uow, lead_id)
    if not clocks:
        raise LeadRefused("pending", reason_key="lead.invalid.hold_nothing")
    now = uow.now()
    ends = hold_end(until, uow.zone) if until is not None else None
    for clock in clocks:
        clock.held_at, clock.held_until, clock.hold_reason = now, ends, reason or None
        clock.warned_at = None  # warned again, with the whole notice, once the hold ends
        uow.session.add(clock)
    kinds = tuple(clock.kind for clock in clocks)
    await audit.record(uow, at=now, actor=actor.label, action="lead.retention_held", object_type="lead",
                       object_id=lead_id, details={"number": lead.number, "kinds": list(kinds),
                                                   "until": until.isoformat() if until else None, "reason": reason})
    await uow.commit()
    return Hold(lead_id, lead.number, kinds, until, reason)


async def release(uow: UnitOfWork, *, actor: Actor, lead_id: int) -> Hold:
    """End the lead's hold now: its deletions are warned about again and follow. Refused when nothing is held.
    Audited; commits."""
    lead = await staff_lead(uow, actor, lead_id)
    now = uow.now()
    clocks = [clock for clock in await _pending(uow, lead_id) if on_hold(clock.held_at, clock.held_until, now)]
    if not clocks:
        raise LeadRefused("held", reason_key="lead.invalid.hold_none")
    for clock in clocks:
        clock.held_at = clock.held_until = clock.hold_reason = None
        uow.session.add(clock)
    kinds = tuple(clock.kind for clock in clocks)
    await audit.record(uow, at=now, actor=actor.label, action="lead.retention_released", object_type="lead",
                       object_id=lead_id, details={"number": lead.number, "kinds": list(kinds)})
    await uow.commit()
    return Hold(lead_id, lead.number, kinds, None, "")
