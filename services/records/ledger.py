"""The credit events on file (000 §25): adding one (once per source) and reading an expert's, with the points of
each kind from the policy in force. Below both :mod:`services.records.credit` (the file, staff entries, the slot
sweep) and :mod:`services.records.sanctions` (the proposals the events call for), which both record events."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from services.platform import audit, policy
from services.platform.errors import InvalidInput
from storage.records import CreditEvent
from storage.uow import UnitOfWork


def points_for(kind: str) -> int:
    """The points of an event kind in the table in force."""
    table = policy.current().records.credit_points
    if kind not in table:
        raise InvalidInput(f"unknown credit event kind {kind}", field="kind")
    return table[kind]


async def record(uow: UnitOfWork, *, person_id: int, kind: str, source: str, recorded_by: str,
                 occurred_at: datetime | None = None, activity_id: int | None = None,
                 org_unit_id: int | None = None, note: str = "") -> CreditEvent | None:
    """Add an event (no commit); None when an event with this source is already on file."""
    existing = (await uow.session.exec(select(CreditEvent.id).where(CreditEvent.source == source))).first()
    if existing is not None:
        return None
    now = uow.now()
    event = CreditEvent(person_id=person_id, kind=kind, points=points_for(kind), occurred_at=occurred_at or now,
                        source=source, activity_id=activity_id, org_unit_id=org_unit_id, note=note[:1000],
                        recorded_by=recorded_by, created_at=now)
    uow.session.add(event)
    await uow.session.flush()
    await audit.record(uow, at=now, actor=recorded_by, action="credit.event", object_type="person",
                       object_id=person_id, details={"event_id": event.id, "kind": kind, "points": event.points,
                                                     "source": source})
    return event


# What put an event on file, by the prefix of its source (see the callers of :func:`record`), as a catalog key.
_SOURCE_KEYS = {"slot": "credit.source.slot", "entry": "credit.source.work_record",
                "excellence": "credit.source.excellence", "sanction": "credit.source.sanction",
                "staff": "credit.source.staff"}


def source_label(source: str) -> tuple[str, dict[str, object]]:
    """The catalog key and parameters that say in words what put an event on file (a slot, a work record entry,
    an excellence selection, a sanction, a staff entry): the raw source (``entry:1:excellent_performance``) is an
    internal key, never shown (issue 20)."""
    prefix, _, rest = source.partition(":")
    number = rest.split(":", 1)[0]
    if prefix not in _SOURCE_KEYS:
        return "credit.source.other", {"number": ""}
    return _SOURCE_KEYS[prefix], {"number": number if number.isdigit() else ""}


async def events_of(uow: UnitOfWork, person_id: int) -> list[CreditEvent]:
    """Every event of an expert, oldest first."""
    rows = await uow.session.exec(select(CreditEvent).where(CreditEvent.person_id == person_id)
                                  .order_by(col(CreditEvent.occurred_at), col(CreditEvent.id)))
    return list(rows.all())


__all__ = ["events_of", "points_for", "record", "source_label"]
