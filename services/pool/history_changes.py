"""Adding or correcting a dated work-history period (000 annex 1; read by the two-year recusal, 000 §15(一)): the
expert asks and staff approve in ``/changes`` like any profile change (000 §13(五), :mod:`.expert_changes`); staff
and the command line record one directly. A period is merged as :mod:`.work_history` says (same institution and
start: corrected; otherwise added)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import select

from services.people.orgs import require_scope_over_person
from services.platform import audit
from services.platform.errors import InvalidInput, PermissionDenied, PersonNotFound
from services.platform.roles import Actor
from services.pool.expert_changes import ChangeRef, file_request
from services.pool.work_history import Period, find_institution, merge_period, requested_value
from storage.models import Expert
from storage.pool import ExpertEmployment, Institution
from storage.uow import UnitOfWork

__all__ = ["HistoryLine", "history_of", "record_period", "request_period"]


@dataclass(frozen=True)
class HistoryLine:
    """One stored period, as shown: ``institution_id`` None when it was not matched to the directory."""

    period_id: int
    institution: str
    institution_id: int | None
    post: str
    start: date | None
    end: date | None


async def _checked(uow: UnitOfWork, institution: str, start: date, end: date | None,
                   post: str) -> tuple[Period, Institution]:
    found = await find_institution(uow, institution)
    if found is None:
        raise InvalidInput(f"{institution!r} is not one institution of the directory", field="institution")
    if end is not None and end < start:
        raise InvalidInput("the period ends before it starts", field="end")
    if start > uow.today():
        raise InvalidInput("the period starts after today", field="start")
    return Period(found.name, " ".join(post.split())[:100] or None, start, end), found


async def request_period(uow: UnitOfWork, *, actor: Actor, institution: str, start: date, end: date | None,
                         post: str = "") -> ChangeRef:
    """The expert asks to add or correct a period; the pool's staff are alerted and approve it in ``/changes``."""
    expert = await uow.people.expert(actor.person_id) if actor.person_id is not None else None
    if expert is None:
        raise PermissionDenied("only experts have a work history")
    period, found = await _checked(uow, institution, start, end, post)
    return await file_request(uow, actor, expert, "history", old_value={},
                              new_value=requested_value(period, found))


async def record_period(uow: UnitOfWork, *, actor: Actor, expert_id: int, institution: str, start: date,
                        end: date | None, post: str = "") -> HistoryLine:
    """Staff (or the command line) add or correct a period directly; audited."""
    await require_scope_over_person(uow, actor, expert_id)
    if await uow.session.get(Expert, expert_id) is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    period, found = await _checked(uow, institution, start, end, post)
    row = await merge_period(uow, expert_id, period, found)
    if row is not None:
        assert row.id is not None
        await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.history_recorded",
                           object_type="person", object_id=expert_id,
                           details={"period_id": row.id, "institution_id": found.id, "start": start.isoformat(),
                                    "end": end.isoformat() if end else None})
        await uow.commit()
    return await _line(uow, expert_id, period, found)


async def _line(uow: UnitOfWork, expert_id: int, period: Period, found: Institution) -> HistoryLine:
    rows = await history_of(uow, actor=None, expert_id=expert_id)
    return next(r for r in rows if r.institution_id == found.id and r.start == period.start)


async def history_of(uow: UnitOfWork, *, actor: Actor | None, expert_id: int) -> Sequence[HistoryLine]:
    """The stored periods, latest first (``actor`` None: an internal read; else the expert or staff over them)."""
    if actor is not None and actor.person_id != expert_id:
        await require_scope_over_person(uow, actor, expert_id)
    rows = (await uow.session.exec(select(ExpertEmployment).where(ExpertEmployment.expert_id == expert_id))).all()
    ordered = sorted(rows, key=lambda r: (r.end_date is not None, -(r.end_date or date.min).toordinal(),
                                          -(r.start_date or date.min).toordinal(), r.id or 0))
    return [HistoryLine(r.id or 0, r.institution_name, r.institution_id, r.post or "", r.start_date, r.end_date)
            for r in ordered]

