"""Draw requests, their approval, the draw itself and its verification (000 §16–§18, annex 3; 001 §11, §14).

::

    file_request ──▶ pending ──approve (another person with approval rights)──▶ drawn | short
                        └──reject / withdraw──▶ rejected | withdrawn

- **Four-eyes** (000 §17: the request is approved before the draw): the approver is an admin whose org unit
  covers the organizer, and not the person who filed the request. An org unit may switch approval off
  (``OrgUnit.draw_approval``); then filing runs the draw at once, recorded without an approver.
- **The draw** reads the pool through :class:`_DatabasePool`: the ids of active experts whose categories match
  each requirement (one scan of the expert table for all of them), then the facts of only the candidates the
  draw visits, loaded in batches in the order the seeded shuffle will visit them (``sampling.visit_order``).
  Recusal and availability facts are loaded only where they can matter (the inspected institutions, periods
  overlapping the activity, review draws in the rotation window).
- **The record** stores the seed (``secrets``), the algorithm version, the zlib-compressed canonical snapshot of
  every input the draw read and its SHA-256, who requested and who approved, when, and the ordered result; the
  roster (``activity_member``) is written from it and the audit entry carries the result's hash.
  :func:`verify_draw` recomputes the draw from the record and also checks the snapshot's hash, the roster and
  the audit entry against it.
- **Shortfall** (001 §11(二)): nothing is drawn; the record keeps the explanation; the organizer relaxes a
  requirement (``services.activities.activities.relax``) and files again.
- **Top-up**: a request of kind ``top_up`` draws more places for requirements of an activity already drawn,
  keeping the roster and the group rules (``draw_rules`` point 13).

The steps live in :mod:`~services.draws.requests` (filing and approval), :mod:`~services.draws.running` (the draw
itself) and :mod:`~services.draws.outcomes` (what they return); this module reads and verifies draws, names the
leader, switches approval, and gathers the public names.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from services.activities.activities import requirements_of, view
from services.activities.candidates import HOLDING, spec_of
from services.activities.draw_rules import Role
from services.activities.draw_snapshot import parse_snapshot
from services.activities.expert_draw import ALGORITHM_VERSION, Chances, verify
from services.draws import draw_verify
from services.draws.outcomes import DrawOutcome, DrawView, VerifyReport, _refused
from services.draws.requests import (
    approve,
    decision_buttons,
    file_request,
    file_top_up,
    may_approve,
    pending_requests,
    reject,
)
from services.draws.running import result_from_json, result_json, run_pool_draw
from services.people.orgs import get_unit, subtree
from services.platform import audit
from services.platform.errors import DrawNotFound
from services.platform.roles import Actor
from storage.activities import (
    ActivityMember,
    ActivityRequirement,
    DrawRecord,
)
from storage.models import Expert
from storage.pool import Institution
from storage.uow import UnitOfWork


async def _roster(uow: UnitOfWork, activity_id: int) -> list[ActivityMember]:
    rows = await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity_id, col(ActivityMember.status).in_(HOLDING)))
    return list(rows)


async def get_draw(uow: UnitOfWork, *, actor: Actor, draw_id: int) -> DrawView:
    """A draw record; only the organizer's line of staff see it (secrecy of the draw)."""
    record = await uow.session.get(DrawRecord, draw_id)
    if record is None or record.subject != "experts":  # target draws: services.draws.target_draws
        raise DrawNotFound(str(draw_id), draw_id=draw_id)
    if actor.person_id is not None and (actor.staff_org_unit_id is None or record.org_unit_id
                                        not in await subtree(uow, actor.staff_org_unit_id)):
        raise DrawNotFound(str(draw_id), draw_id=draw_id)
    info = None
    if record.activity_id is not None:
        info = await view(uow, actor=actor, activity_id=record.activity_id, with_members=True)
    result = result_from_json(record.result)
    ids = {p.person_id for p in result.picks} | {record.operator_id} | (
        {record.approver_id} if record.approver_id else set())
    from storage.models import Person

    names = dict((await uow.session.exec(select(Person.id, Person.name).where(col(Person.id).in_(ids)))).all())
    from services.draws.shortfalls import explain

    lenders = tuple(unit.name for unit in await uow.org_units.all() if unit.id in record.lending_unit_ids)

    return DrawView(record, result, info, {k: v for k, v in names.items() if k is not None},
                    names.get(record.operator_id, ""), names.get(record.approver_id) if record.approver_id else None,
                    await explain(uow, info, result) if info is not None else (),
                    await employer_names(uow, result.chances), lenders)


async def employer_names(uow: UnitOfWork, chances: Sequence[Chances]) -> dict[int, str]:
    """The names of the employers the chances of a v2 draw name (issue 18)."""
    ids = sorted({employer for c in chances for employer, _, _ in c.listed()})
    if not ids:
        return {}
    rows = await uow.session.exec(select(Institution.id, Institution.name).where(col(Institution.id).in_(ids)))
    return {i: name for i, name in rows.all() if i is not None}


async def latest_draw(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> DrawRecord | None:
    """The newest draw record of an activity the actor may see."""
    await view(uow, actor=actor, activity_id=activity_id)
    return (await uow.session.exec(select(DrawRecord).where(DrawRecord.activity_id == activity_id)
                                   .order_by(col(DrawRecord.id).desc()))).first()


async def latest_draw_view(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> DrawView | None:
    """:func:`get_draw` of the newest draw of an activity, or None when it was never drawn."""
    record = await latest_draw(uow, actor=actor, activity_id=activity_id)
    if record is None or record.id is None:
        return None
    return await get_draw(uow, actor=actor, draw_id=record.id)


async def verify_draw(uow: UnitOfWork, draw_id: int) -> VerifyReport:
    """Recompute a stored draw from its record: the snapshot's hash, the draw from the snapshot and seed with the
    recorded algorithm version, and the audit entry made when it ran (``draw_verify.check_record``, shared with
    target draws), then the roster written from it."""
    record = await uow.session.get(DrawRecord, draw_id)
    if record is None:
        raise DrawNotFound(str(draw_id), draw_id=draw_id)
    if record.subject != "experts":
        from services.draws import target_draws

        target = await target_draws.verify_target_draw(uow, draw_id)
        return VerifyReport(draw_id, target.ok, target.problems, target.algorithm_version, target.directory,
                            target.picks)
    check = await draw_verify.check_record(uow, record, parse_snapshot=parse_snapshot,
                                           result_from_json=result_from_json, verify=verify, check_outcome=True)
    if check.inputs is None or check.stored is None:
        return VerifyReport(draw_id, False, check.problems, record.algorithm_version)
    inputs, stored, problems = check.inputs, check.stored, list(check.problems)
    if record.subject == "experts" and record.activity_id is not None and record.outcome == "drawn":
        members = await uow.session.exec(select(ActivityMember, ActivityRequirement).join(
            ActivityRequirement, col(ActivityRequirement.id) == ActivityMember.requirement_id).where(
            ActivityMember.draw_id == draw_id))
        roster = sorted((f"r{req.id}", m.person_id, m.role) for m, req in members)
        expected = sorted((p.requirement_key, p.person_id, p.role.value) for p in stored.picks)
        if roster != expected:
            problems.append("roster")
    return VerifyReport(draw_id, not problems, tuple(problems), record.algorithm_version, len(inputs.candidates),
                        len(stored.picks), stored.chances, stored.fallback)


async def choose_leader(uow: UnitOfWork, *, actor: Actor, activity_id: int, person_id: int) -> None:
    """The organizer names the leader among several chief experts drawn (000 §18(四))."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    roster = await _roster(uow, activity_id)
    chiefs = set((await uow.session.exec(select(Expert.person_id).where(
        col(Expert.person_id).in_([m.person_id for m in roster if m.role == Role.PRINCIPAL]),
        Expert.is_chief == True))).all())  # noqa: E712
    if person_id not in chiefs:
        raise _refused("not_a_chief")
    activity = info.activity
    activity.leader_id = person_id
    activity.updated_at = uow.now()
    uow.session.add(activity)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.leader_named",
                       object_type="activity", object_id=activity_id, details={"person_id": person_id,
                                                                               "article": "000 §18(四)"})
    await uow.commit()


async def set_approval(uow: UnitOfWork, *, actor: Actor, org: str, enabled: bool) -> None:
    """Switch four-eyes approval of draws on or off for an org unit (admins of it or above)."""
    unit = await get_unit(uow, org)
    assert unit.id is not None
    if actor.person_id is not None and not await may_approve(uow, actor, unit.id):
        raise _refused("no_approval_rights")
    unit.draw_approval = enabled
    uow.session.add(unit)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="org_unit.draw_approval",
                       object_type="org_unit", object_id=unit.id, details={"enabled": enabled})
    await uow.commit()


__all__ = [
    "ALGORITHM_VERSION",
    "DrawOutcome",
    "DrawView",
    "VerifyReport",
    "approve",
    "choose_leader",
    "decision_buttons",
    "file_request",
    "file_top_up",
    "get_draw",
    "latest_draw",
    "latest_draw_view",
    "may_approve",
    "pending_requests",
    "reject",
    "requirements_of",
    "result_from_json",
    "result_json",
    "run_pool_draw",
    "set_approval",
    "spec_of",
    "verify_draw",
]
