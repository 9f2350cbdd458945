"""Excellent experts (优秀专家, 000 §20: "根据评价结果、每年评选出“优秀专家”予以表扬"): each year a ranking proposal
from the work records and the credit file, reviewed and published by staff; the experts named are told.

The ranking of an org unit's line for a calendar year (local dates) reads the credit events of that year recorded
by the line's activities (``credit_event.org_unit_id`` in the unit's subtree): experts with any reprimand, absence
without notice, failure to recuse or discipline breach that year are left out; the others are ordered by the points
of the year, then the number of "excellent" ratings, then activities attended, then person id. The first
``size`` (default 5) make the proposal. Proposing again replaces an unpublished proposal; a published list is final.
Publishing tells each named expert and adds a ``praise`` event to their credit file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlmodel import col, select

from services.people.orgs import subtree
from services.platform import audit, notify
from services.platform.errors import ExcellenceNotFound, ExcellencePublished, InvalidInput, PermissionDenied
from services.platform.roles import Actor
from services.records import ledger
from storage.models import Person
from storage.records import CreditEvent, ExcellenceList
from storage.uow import UnitOfWork

DISQUALIFYING = frozenset({"reprimand", "absent_without_notice", "failure_to_recuse", "discipline_breach"})


def rank(events: list[tuple[int, str, int]], *, size: int) -> list[dict[str, int]]:
    """Pure ranking from ``(person_id, kind, points)`` of the year (see the module docstring)."""
    points: dict[int, int] = defaultdict(int)
    excellent: dict[int, int] = defaultdict(int)
    attended: dict[int, int] = defaultdict(int)
    excluded: set[int] = set()
    for person_id, kind, value in events:
        points[person_id] += value
        excellent[person_id] += kind == "excellent_performance"
        attended[person_id] += kind == "attended"
        if kind in DISQUALIFYING:
            excluded.add(person_id)
    ranked = sorted((p for p in points if p not in excluded and attended[p] > 0),
                    key=lambda p: (-points[p], -excellent[p], -attended[p], p))
    return [{"person_id": p, "points": points[p], "excellent": excellent[p], "attended": attended[p]}
            for p in ranked[:size]]


def _unit(actor: Actor) -> int:
    if actor.staff_org_unit_id is None:
        raise PermissionDenied("only staff may do this")
    return actor.staff_org_unit_id


@dataclass(frozen=True)
class Excellence:
    """A unit's excellent-expert list for a year (000 §20): ranked entries and whether it is published."""

    year: int
    status: str
    entries: tuple[dict[str, Any], ...]


def _excellence(found: ExcellenceList) -> Excellence:
    return Excellence(year=found.year, status=found.status, entries=tuple(found.entries))


async def propose(uow: UnitOfWork, *, actor: Actor, year: int, size: int = 5) -> Excellence:
    """Compute (or recompute) the unit's proposal for ``year``."""
    if not 2000 <= year <= 2100 or not 1 <= size <= 100:
        raise InvalidInput("year 2000-2100, size 1-100", field="year")
    unit = _unit(actor)
    start = datetime.combine(datetime(year, 1, 1).date(), time.min, tzinfo=uow.zone)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time.min, tzinfo=uow.zone)
    rows = (await uow.session.exec(select(CreditEvent.person_id, CreditEvent.kind, CreditEvent.points).where(
        col(CreditEvent.org_unit_id).in_(await subtree(uow, unit)), col(CreditEvent.occurred_at) >= start,
        col(CreditEvent.occurred_at) < end))).all()
    entries: list[dict[str, object]] = []
    for entry in rank([(p, k, v) for p, k, v in rows], size=size):
        person = await uow.session.get(Person, entry["person_id"])
        entries.append({**entry, "name": person.name if person else str(entry["person_id"])})
    found = (await uow.session.exec(select(ExcellenceList).where(
        ExcellenceList.org_unit_id == unit, ExcellenceList.year == year))).first()
    if found is not None and found.status == "published":
        raise ExcellencePublished(str(year), year=year)
    if found is None:
        found = ExcellenceList(org_unit_id=unit, year=year, created_at=uow.now())
    found.entries, found.created_at = entries, uow.now()
    uow.session.add(found)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="excellence.proposed", object_type="org_unit",
                       object_id=unit, details={"year": year, "entries": [e["person_id"] for e in entries]})
    await uow.commit()
    return _excellence(found)


async def publish(uow: UnitOfWork, *, actor: Actor, year: int) -> Excellence:
    """Publish the reviewed proposal: the named experts are told and praised in their credit file."""
    unit = _unit(actor)
    found = (await uow.session.exec(select(ExcellenceList).where(
        ExcellenceList.org_unit_id == unit, ExcellenceList.year == year).with_for_update())).first()
    if found is None:
        raise ExcellenceNotFound(str(year), year=year)
    if found.status == "published":
        raise ExcellencePublished(str(year), year=year)
    found.status, found.published_by, found.published_at = "published", actor.label, uow.now()
    uow.session.add(found)
    for entry in found.entries:
        person_id = int(entry["person_id"])
        await notify.to_person(uow, person_id=person_id, key="excellence.named", params={"year": year})
        await ledger.record(uow, person_id=person_id, kind="praise", source=f"excellence:{found.id}:{person_id}",
                            recorded_by=actor.label, org_unit_id=unit, note=f"{year} 年度优秀专家（000 第二十条）")
    await audit.record(uow, at=uow.now(), actor=actor.label, action="excellence.published", object_type="org_unit",
                       object_id=unit, details={"year": year, "list_id": found.id})
    await uow.commit()
    return _excellence(found)


__all__ = ["propose", "publish", "rank"]
