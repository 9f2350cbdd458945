"""Draw requests, their approval, the draw itself and its verification (000 §16–§18, annex 3; 001 §11, §14).

::

    file_request ──▶ pending ──approve (another person with approval rights)──▶ drawn | short
                        └──reject / withdraw──▶ rejected | withdrawn

- **Four-eyes** (000 §17: the request is approved before the draw): the approver is an admin whose org unit
  covers the organizer, and not the person who filed the request. An org unit may switch approval off
  (``OrgUnit.draw_approval``); then filing runs the draw at once, recorded without an approver.
- **The draw** reads the pool through :class:`_DatabasePool`: the ids of active experts whose categories match
  each requirement (one scan of the expert table for all of them), then the facts of only the candidates the
  draw visits, loaded in batches in the order the seeded shuffle will visit them (``draw_rules.visit_order``).
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
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, case, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.activities.activities import ActivityView, as_rule, requirement_key, requirements_of, view
from services.activities.candidates import HOLDING, contains_json, load_candidates, spec_of
from services.activities.draw_rules import (
    ALGORITHM_VERSION,
    ActivitySpec,
    Candidate,
    DrawInputs,
    DrawRequestError,
    DrawResult,
    DrawSettings,
    Member,
    MissingCandidate,
    Pick,
    Requirement,
    Role,
    Shortfall,
    canonical_snapshot,
    draw_recorded,
    parse_snapshot,
    verify,
    visit_order,
)
from services.draws import draw_verify
from services.draws.actions import ApproveDrawRequest, RejectDrawRequest, ShowDraw
from services.people.orgs import get_unit, subtree
from services.platform import audit, notify, policy
from services.platform.errors import ActivityInvalid, DrawNotFound, DrawRefused, DrawRequestNotFound, InvalidInput
from services.platform.notify import Button
from services.platform.roles import Actor
from services.platform.roles import Role as ActorRole
from services.pool.eligibility import Category
from storage.activities import (
    Activity,
    ActivityMember,
    ActivityRequirement,
    DrawRecord,
    DrawRequest,
)
from storage.models import Expert
from storage.uow import UnitOfWork

FIRST_BATCH = 16


@dataclass(frozen=True)
class DrawOutcome:
    """What a filed or approved request led to: still pending, or the draw record with its result."""

    request: DrawRequest
    record: DrawRecord | None = None
    result: DrawResult | None = None


@dataclass(frozen=True)
class VerifyReport:
    """Whether a stored draw is what its inputs and seed give, with what was found wrong."""

    draw_id: int
    ok: bool
    problems: tuple[str, ...] = ()
    algorithm_version: str = ""
    candidates: int = 0
    picks: int = 0


def _refused(reason: str, **params: object) -> DrawRefused:
    return DrawRefused(reason, reason_key=f"draw.refused.{reason}", **params)


# --- requests and approval ------------------------------------------------------------------------


async def _open_request(uow: UnitOfWork, activity_id: int) -> DrawRequest | None:
    return (await uow.session.exec(select(DrawRequest).where(
        DrawRequest.activity_id == activity_id, col(DrawRequest.status).in_(("pending", "approved"))))).first()


async def _roster(uow: UnitOfWork, activity_id: int) -> list[ActivityMember]:
    rows = await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity_id, col(ActivityMember.status).in_(HOLDING)))
    return list(rows)


async def file_request(uow: UnitOfWork, *, actor: Actor, activity_id: int,
                       places: dict[int, tuple[int, int]] | None = None) -> DrawOutcome:
    """File the draw request for an activity (000 §17, annex 3). ``places`` (requirement id → principals,
    backups) makes it a top-up of an activity already drawn (001 §11(二)). Without four-eyes for the organizer,
    the draw runs at once."""
    if actor.person_id is None:
        raise _refused("not_staff")
    info = await view(uow, actor=actor, activity_id=activity_id)
    activity = info.activity
    if activity.status == "cancelled":
        raise _refused("cancelled")
    if await _open_request(uow, activity_id) is not None:
        raise _refused("open_request")
    if activity.starts_at <= uow.now():
        raise _refused("started")
    kind = "initial"
    clean_places: dict[str, list[int]] = {}
    if places:
        if activity.status != "drawn":
            raise _refused("top_up_before_draw")
        ids = {r.id for r in info.requirements}
        for requirement_id, (principals, backups) in places.items():
            if requirement_id not in ids or principals < 0 or backups < 0:
                raise _refused("bad_places")
            if principals + backups:
                clean_places[str(requirement_id)] = [principals, backups]
        if not clean_places:
            raise _refused("bad_places")
        kind = "top_up"
    elif activity.status != "planned":
        raise _refused("already_drawn")
    now = uow.now()
    request = DrawRequest(activity_id=activity_id, kind=kind, places=clean_places, requested_by=actor.person_id,
                          requested_at=now)
    uow.session.add(request)
    await uow.session.flush()
    assert request.id is not None
    await audit.record(uow, at=now, actor=actor.label, action="draw.requested", object_type="draw_request",
                       object_id=request.id, details={"activity_id": activity_id, "kind": kind,
                                                      "places": clean_places})
    if not info.organizer.draw_approval:
        record, result = await _run(uow, request, info, approver_id=None)
        await uow.commit()
        return DrawOutcome(request, record, result)
    await notify.to_org_unit(
        uow, org_unit_id=activity.org_unit_id, key="draw.approval_needed",
        params={"request_id": request.id, "activity_id": activity_id, "title": activity.title,
                "kind_key": f"draw.request_kind.{kind}", "requested_by": actor.name or actor.label},
        buttons=decision_buttons(request.id),
    )
    await uow.commit()
    return DrawOutcome(request)


def decision_buttons(request_id: int) -> list[list[Button]]:
    """Approve / Reject under a pending draw request (four-eyes, 000 §17)."""
    return [[Button("draw.button.approve", ApproveDrawRequest(request_id)),
             Button("draw.button.reject", RejectDrawRequest(request_id))]]


async def file_top_up(uow: UnitOfWork, *, actor: Actor, activity_id: int, position: int, principals: int,
                      backups: int = 0) -> DrawOutcome:
    """:func:`file_request` for a top-up of the requirement on line ``position`` of the activity (001 §11(二))."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    line = next((r for r in info.requirements if r.position == position), None)
    if line is None or line.id is None:
        raise InvalidInput("no such line", field="line")
    return await file_request(uow, actor=actor, activity_id=activity_id, places={line.id: (principals, backups)})


async def _request(uow: UnitOfWork, actor: Actor, request_id: int) -> tuple[DrawRequest, ActivityView]:
    request = await uow.session.get(DrawRequest, request_id)
    if request is None:
        raise DrawRequestNotFound(str(request_id), request_id=request_id)
    try:
        info = await view(uow, actor=actor, activity_id=request.activity_id)
    except Exception:
        raise DrawRequestNotFound(str(request_id), request_id=request_id) from None
    return request, info


async def may_approve(uow: UnitOfWork, actor: Actor, org_unit_id: int) -> bool:
    """Approval rights: an admin whose org unit is the organizer or above it."""
    if ActorRole.ADMIN not in actor.roles or actor.staff_org_unit_id is None:
        return False
    return org_unit_id in await subtree(uow, actor.staff_org_unit_id)


async def _replace_buttons(uow: UnitOfWork, shown_in: notify.MessageRef | None, language: str | None,
                           request: DrawRequest, actor: Actor) -> None:
    """The message whose button was pressed now shows the decision, without buttons."""
    if shown_in is not None:
        await notify.edit(uow, channel=shown_in.channel, address=shown_in.address,
                          external_message_id=shown_in.message_id, key="draw.decided", language=language,
                          params={"request_id": request.id, "status_key": f"draw.status.{request.status}",
                                  "by": actor.name or actor.label})


async def approve(uow: UnitOfWork, *, actor: Actor, request_id: int, shown_in: notify.MessageRef | None = None,
                  language: str | None = None) -> DrawOutcome:
    """Approve a pending request (four-eyes: not one's own) and run the draw."""
    request, info = await _request(uow, actor, request_id)
    if request.status != "pending":
        raise _refused("not_pending", status_key=f"draw.status.{request.status}")
    if not await may_approve(uow, actor, info.activity.org_unit_id):
        raise _refused("no_approval_rights")
    if actor.person_id == request.requested_by:
        raise _refused("four_eyes")
    if info.activity.starts_at <= uow.now():
        raise _refused("started")
    request.status = "approved"
    request.decided_by = actor.person_id
    request.decided_at = uow.now()
    uow.session.add(request)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="draw.approved", object_type="draw_request",
                       object_id=request_id, details={"activity_id": request.activity_id})
    record, result = await _run(uow, request, info, approver_id=actor.person_id)
    await _replace_buttons(uow, shown_in, language, request, actor)
    await uow.commit()
    return DrawOutcome(request, record, result)


async def reject(uow: UnitOfWork, *, actor: Actor, request_id: int, note: str = "",
                 shown_in: notify.MessageRef | None = None, language: str | None = None) -> DrawRequest:
    """Reject a pending request (approval rights needed; the filer withdraws instead)."""
    request, info = await _request(uow, actor, request_id)
    if request.status != "pending":
        raise _refused("not_pending", status_key=f"draw.status.{request.status}")
    own = actor.person_id == request.requested_by
    if not own and not await may_approve(uow, actor, info.activity.org_unit_id):
        raise _refused("no_approval_rights")
    request.status = "withdrawn" if own else "rejected"
    request.decided_by = actor.person_id
    request.decided_at = uow.now()
    request.decision_note = " ".join(note.split())[:500] or None
    uow.session.add(request)
    await audit.record(uow, at=uow.now(), actor=actor.label, action=f"draw.{request.status}",
                       object_type="draw_request", object_id=request_id,
                       details={"activity_id": request.activity_id, "note": request.decision_note})
    if not own:
        await notify.to_person(uow, person_id=request.requested_by, key="draw.rejected",
                               params={"request_id": request_id, "title": info.activity.title,
                                       "note": request.decision_note or "-"})
    await _replace_buttons(uow, shown_in, language, request, actor)
    await uow.commit()
    return request


async def pending_requests(uow: UnitOfWork, *, actor: Actor) -> list[tuple[DrawRequest, Activity]]:
    """Pending requests of the actor's org subtree, oldest first."""
    if actor.staff_org_unit_id is None:
        return []
    units = await subtree(uow, actor.staff_org_unit_id)
    rows = await uow.session.exec(
        select(DrawRequest, Activity).join(Activity, col(Activity.id) == DrawRequest.activity_id)
        .where(DrawRequest.status == "pending", col(Activity.org_unit_id).in_(units))
        .order_by(col(DrawRequest.id)))
    return [(r, a) for r, a in rows]


# --- the pool as the draw reads it ----------------------------------------------------------------


class _DatabasePool:
    """Matching ids from one query per requirement; candidates' facts loaded by :meth:`load`."""

    def __init__(self, matching: dict[str, list[int]]) -> None:
        self._matching = matching
        self.loaded: dict[int, Candidate] = {}

    def matching(self, requirement: Requirement) -> Sequence[int]:
        return self._matching[requirement.key]

    def get(self, person_id: int) -> Candidate:
        try:
            return self.loaded[person_id]
        except KeyError:
            raise MissingCandidate(person_id) from None


async def _matching_ids(uow: UnitOfWork, requirements: Sequence[Requirement]) -> dict[str, list[int]]:
    """Per requirement key, the sorted ids of the active experts whose categories (and sub-category) may match.

    One scan of the expert table for all requirements, each set gathered by the database into one string
    (``group_concat`` / ``string_agg`` of ``CASE WHEN <the requirement's LIKE> THEN id END``): tens of thousands of
    one-id rows cost more in the driver, SQLAlchemy and the garbage collector than the scan itself, and one scan
    instead of one per requirement saves the rest (bench/draws.py). Same sets as one query per requirement."""
    expert = Expert.__table__.c  # type: ignore[attr-defined]
    filters: dict[tuple[str, str | None], Any] = {}
    for requirement in requirements:
        subcategory = None if requirement.subcategory is None else requirement.subcategory.value
        if (requirement.category.value, subcategory) not in filters:
            condition = contains_json(expert.categories, requirement.category.value)
            if subcategory is not None:
                condition = and_(condition, contains_json(expert.clinical_subcategories, subcategory))
            filters[(requirement.category.value, subcategory)] = condition
    if not filters:
        return {}
    query = sa_select(*[func.aggregate_strings(case((condition, cast(expert.person_id, String))), ",")
                        for condition in filters.values()]).where(expert.state == "active")
    connection = await uow.session.connection()
    row = (await connection.execute(query)).one()
    found = {which: sorted(json.loads(f"[{joined}]")) if joined else []  # "3,1,2": integers, so a JSON array
             for which, joined in zip(filters, row, strict=True)}
    return {r.key: list(found[(r.category.value, None if r.subcategory is None else r.subcategory.value)])
            for r in requirements}


async def run_pool_draw(uow: UnitOfWork, *, requirements: Sequence[Requirement], spec: ActivitySpec,
                        settings: DrawSettings, seed: bytes, existing: Sequence[Member] = (),
                        activity_id: int | None = None) -> tuple[DrawResult, DrawInputs]:
    """Draw from the pool in the database: matching ids per requirement, then the facts of the candidates in
    the order the draw visits them, in growing batches, until the deterministic draw completes."""
    matching = await _matching_ids(uow, requirements)
    pool = _DatabasePool(matching)
    upto = {r.key: r.count + r.backups + FIRST_BATCH for r in requirements}
    while True:
        wanted: list[int] = []
        for r in requirements:
            wanted += [i for i in visit_order(matching[r.key], seed, r.key, upto[r.key]) if i not in pool.loaded]
        if wanted:
            pool.loaded.update(await load_candidates(uow, sorted(set(wanted)), spec, settings, activity_id))
        try:
            return draw_recorded(pool, requirements, spec, settings, seed, existing=existing)
        except MissingCandidate as missing:
            grown = False
            for r in requirements:
                if missing.person_id in matching[r.key] and upto[r.key] < len(matching[r.key]):
                    upto[r.key] = min(len(matching[r.key]), upto[r.key] * 4)
                    grown = True
            if not grown:  # not in any visit order: load it directly (cannot happen with a consistent pool)
                pool.loaded.update(await load_candidates(uow, [missing.person_id], spec, settings, activity_id))


# --- running and storing --------------------------------------------------------------------------


def result_json(result: DrawResult) -> dict[str, Any]:
    """The stored form of a result (exactly what :func:`result_from_json` reads back)."""
    return {
        "algorithm_version": result.algorithm_version,
        "picks": [[p.requirement_key, p.person_id, p.role.value, p.order] for p in result.picks],
        "leader": result.leader,
        "needs_leader_choice": result.needs_leader_choice,
        "shortfalls": [{"requirement_key": s.requirement_key, "needed": s.needed, "short": s.short,
                        "matched": s.matched, "removed": dict(sorted(s.removed.items()))}
                       for s in result.shortfalls],
    }


def result_from_json(data: dict[str, Any]) -> DrawResult:
    """Rebuild a result from :func:`result_json`."""
    from collections import Counter

    return DrawResult(
        algorithm_version=data["algorithm_version"],
        picks=tuple(Pick(key, person_id, Role(role), order) for key, person_id, role, order in data["picks"]),
        leader=data["leader"],
        needs_leader_choice=data["needs_leader_choice"],
        shortfalls=tuple(Shortfall(s["requirement_key"], s["needed"], s["short"], s["matched"],
                                   Counter(s["removed"])) for s in data["shortfalls"]),
    )


async def _run(uow: UnitOfWork, request: DrawRequest, info: ActivityView,
               approver_id: int | None) -> tuple[DrawRecord, DrawResult]:
    """Draw for an approved request, store the record and the roster, tell the organizer."""
    activity = info.activity
    assert activity.id is not None and request.id is not None
    spec = spec_of(info, uow.zone)
    settings = policy.current().draw
    by_key = {requirement_key(r): r for r in info.requirements}
    existing: list[Member] = []
    if request.kind == "top_up":
        requirements = [as_rule(by_key[f"r{rid}"], count=p, backups=b) for rid, (p, b) in
                        sorted(request.places.items(), key=lambda kv: by_key[f"r{kv[0]}"].position)]
        # Everyone ever on the roster is not drawn again (someone who declined or lapsed is not asked twice);
        # only those still holding a place count for one-per-employer-and-field (000 §18(三)).
        roster = await _all_members(uow, activity.id)
        employers = dict((await uow.session.exec(select(Expert.person_id, Expert.employer_id).where(
            col(Expert.person_id).in_([m.person_id for m in roster])))).all())
        fields = {r.id: r.category for r in info.requirements}
        existing = [Member(m.person_id, employers.get(m.person_id) if m.status in HOLDING else None,
                           Category(fields[m.requirement_id])) for m in roster]
    else:
        requirements = [as_rule(r) for r in info.requirements]
    seed = secrets.token_bytes(32)
    try:
        result, inputs = await run_pool_draw(uow, requirements=requirements, spec=spec, settings=settings,
                                             seed=seed, existing=existing, activity_id=activity.id)
    except DrawRequestError as error:
        raise ActivityInvalid(str(error), reason_key=f"activity.invalid.{error.code}", total=0, min=3) from error
    snapshot = canonical_snapshot(inputs).encode("utf-8")
    stored = result_json(result)
    now = uow.now()
    record = DrawRecord(
        subject="experts", org_unit_id=activity.org_unit_id, activity_id=activity.id, request_id=request.id,
        algorithm_version=result.algorithm_version, seed=seed.hex(), snapshot=zlib.compress(snapshot, 9),
        snapshot_hash=hashlib.sha256(snapshot).hexdigest(), result=stored,
        outcome="drawn" if result.ok else "short", operator_id=request.requested_by, approver_id=approver_id,
        drawn_at=now,
    )
    uow.session.add(record)
    await uow.session.flush()
    assert record.id is not None
    request.status = record.outcome
    request.draw_id = record.id
    uow.session.add(request)
    if result.ok:
        offset: dict[tuple[str, Role], int] = {}
        if request.kind == "top_up":
            for m in await _all_members(uow, activity.id):
                k = (f"r{m.requirement_id}", Role(m.role))
                offset[k] = max(offset.get(k, 0), m.position)
        for pick in result.picks:
            uow.session.add(ActivityMember(
                activity_id=activity.id, requirement_id=_id(by_key[pick.requirement_key]), draw_id=record.id,
                person_id=pick.person_id, role=pick.role.value,
                position=offset.get((pick.requirement_key, pick.role), 0) + pick.order, created_at=now))
        if request.kind == "initial":
            activity.status = "drawn"
            activity.leader_id = result.leader
        activity.updated_at = now
        uow.session.add(activity)
        await uow.session.flush()
        from services.invitations.invitations import invite_principals  # 000 §19: the principals are told at once

        await invite_principals(uow, activity.id, record.id)
    await audit.record(uow, at=now, actor="system:draw", action=f"draw.{record.outcome}", object_type="draw",
                       object_id=record.id,
                       details={"activity_id": activity.id, "request_id": request.id,
                                "algorithm_version": record.algorithm_version, "seed": record.seed,
                                "snapshot_hash": record.snapshot_hash, "result_hash": draw_verify.result_hash(stored),
                                "operator_id": record.operator_id, "approver_id": approver_id})
    params = {"draw_id": record.id, "activity_id": activity.id, "title": activity.title}
    key = "draw.done" if result.ok else "draw.short"
    assert record.id is not None
    buttons = [[Button("draw.button.show", ShowDraw(record.id))]]
    await notify.to_org_unit(uow, org_unit_id=activity.org_unit_id, key=key, params=params, buttons=buttons)
    if approver_id is not None:
        await notify.to_person(uow, person_id=request.requested_by, key=key, params=params, buttons=buttons)
    return record, result


def _id(requirement: ActivityRequirement) -> int:
    assert requirement.id is not None
    return requirement.id


async def _all_members(uow: UnitOfWork, activity_id: int) -> list[ActivityMember]:
    return list(await uow.session.exec(select(ActivityMember).where(ActivityMember.activity_id == activity_id)))


# --- reading and verifying ------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawView:
    """A draw record for someone allowed to see it, with names and the activity."""

    record: DrawRecord
    result: DrawResult
    info: ActivityView | None
    names: dict[int, str] = field(default_factory=dict)
    operator: str = ""
    approver: str | None = None


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
    return DrawView(record, result, info, {k: v for k, v in names.items() if k is not None},
                    names.get(record.operator_id, ""), names.get(record.approver_id) if record.approver_id else None)


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
                        len(stored.picks))


async def choose_leader(uow: UnitOfWork, *, actor: Actor, activity_id: int, person_id: int) -> Activity:
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
    return activity


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
    "file_request",
    "get_draw",
    "latest_draw",
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
