"""What each public notice names (issue 17), gathered within the caller's line and handed to
:mod:`services.documents.notices` for its wording: the experts in public notice (000 §10), a removed expert
(000 §23), a year's published excellent experts (000 §20), a draw of inspection targets (003 三(一)). Only what the
articles require is published: names, employers and categories; never ID numbers, mobiles or addresses."""

from __future__ import annotations

from sqlmodel import col, select

from services.documents import notices
from services.draws.target_draws import get_target_draw
from services.insight.stats import scope
from services.people.orgs import require_scope_over_person
from services.platform.errors import ExcellenceNotFound, InvalidTransition, PersonNotFound
from services.platform.roles import Actor
from services.pool.expert_io.columns import CATEGORY_LABELS
from storage.models import Expert, Person
from storage.pool import Institution
from storage.records import ExcellenceList
from storage.uow import UnitOfWork

NO_EMPLOYER = "（工作单位未登记）"


async def _employers(uow: UnitOfWork, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await uow.session.exec(select(Institution.id, Institution.name).where(col(Institution.id).in_(ids)))
    return {int(i): n for i, n in rows.all() if i is not None}


def _categories(expert: Expert) -> str:
    return "、".join(CATEGORY_LABELS.get(c, c) for c in expert.categories or []) or "—"  # type: ignore[call-overload]


async def appointment(uow: UnitOfWork, *, actor: Actor) -> notices.Notice:
    """000 §10: every expert of the caller's line now in public notice; the period ends with the latest of theirs."""
    unit, units = await scope(uow, actor, None)
    rows = (await uow.session.exec(select(Expert, Person.name).join(Person, col(Person.id) == col(Expert.person_id))
                                   .where(col(Expert.org_unit_id).in_(units), Expert.state == "public_notice")
                                   .order_by(col(Expert.person_id)))).all()
    if not rows:
        raise InvalidTransition("nobody is in public notice", state_key="lifecycle.state.public_notice",
                                action_key="notice.kind.appointment")
    employers = await _employers(uow, {e.employer_id for e, _ in rows if e.employer_id is not None})
    candidates = [notices.Candidate(name, employers.get(e.employer_id or 0, NO_EMPLOYER), _categories(e))
                  for e, name in rows]
    ends = max((e.notice_ends_on for e, _ in rows if e.notice_ends_on is not None), default=uow.today())
    contact = f"{unit.name}（{actor.name or actor.label}）"
    return notices.appointment(unit.name, candidates, ends_on=ends, contact=contact, day=uow.today())


async def removal(uow: UnitOfWork, *, actor: Actor, person_id: int) -> notices.Notice:
    """000 §23: the announcement of a removed expert of the caller's line."""
    unit, _ = await scope(uow, actor, None)
    person = await require_scope_over_person(uow, actor, person_id)
    expert = await uow.session.get(Expert, person_id)
    if expert is None:
        raise PersonNotFound(str(person_id), person_id=person_id)
    if expert.state != "removed" or expert.ended_on is None:
        raise InvalidTransition("not removed", state_key=f"lifecycle.state.{expert.state}",
                                action_key="notice.kind.removal")
    employers = await _employers(uow, {expert.employer_id} if expert.employer_id else set())
    return notices.removal(unit.name, person.name, employers.get(expert.employer_id or 0, ""),
                           reason=expert.end_reason or "—", ended_on=expert.ended_on, day=uow.today())


async def excellence(uow: UnitOfWork, *, actor: Actor, year: int) -> notices.Notice:
    """000 §20: the published excellent experts of the caller's unit for ``year``."""
    unit, _ = await scope(uow, actor, None)
    found = (await uow.session.exec(select(ExcellenceList).where(
        ExcellenceList.org_unit_id == unit.id, ExcellenceList.year == year,
        ExcellenceList.status == "published"))).first()
    if found is None:
        raise ExcellenceNotFound(str(year), year=year)
    ids = [int(e["person_id"]) for e in found.entries]
    experts = {e.person_id: e for e in (await uow.session.exec(select(Expert).where(
        col(Expert.person_id).in_(ids)))).all()}
    employers = await _employers(uow, {e.employer_id for e in experts.values() if e.employer_id is not None})
    names = [(str(e.get("name", e["person_id"])),
              employers.get(experts[int(e["person_id"])].employer_id or 0, NO_EMPLOYER)
              if int(e["person_id"]) in experts else NO_EMPLOYER) for e in found.entries]
    return notices.excellence(unit.name, year, names, day=uow.today())


async def targets(uow: UnitOfWork, *, actor: Actor, draw_id: int) -> notices.Notice:
    """003 三(一): the institutions of a target draw the caller may see, and its verification data."""
    view = await get_target_draw(uow, actor=actor, draw_id=draw_id)
    record = view.record
    unit = view.units.get(record.org_unit_id)
    return notices.targets(unit.name if unit else "", [i.name for i in view.institutions],
                           drawn_on=record.drawn_at.astimezone(uow.zone).date(), draw_id=int(record.id or 0),
                           algorithm=record.algorithm_version, seed=record.seed,
                           snapshot_hash=record.snapshot_hash, day=uow.today())
