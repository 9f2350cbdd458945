"""Running a draw: the pool as the draw reads it (:class:`_DatabasePool`), the stored result, and writing the
record, the roster and the audit entry of one request (000 §16–§18, annex 3)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import zlib
from collections.abc import Collection, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import String, and_, case, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.activities import pool_index
from services.activities.activities import ActivityView, as_rule, requirement_key
from services.activities.candidates import HOLDING, contains_json, load_candidates, screen_pool, spec_of
from services.activities.draw_rules import (
    ActivitySpec,
    Candidate,
    DrawRequestError,
    DrawSettings,
    Member,
    Requirement,
    Role,
)
from services.activities.draw_snapshot import canonical_snapshot
from services.activities.expert_draw import (
    ALGORITHM_VERSION,
    Chances,
    DrawInputs,
    DrawResult,
    MissingCandidate,
    MissingNamed,
    Pick,
    Shortfall,
    draw_recorded,
)
from services.activities.fair_draw import Screened
from services.activities.sampling import visit_order
from services.draws import draw_verify
from services.draws.actions import ShowDraw
from services.platform import audit, notify, policy
from services.platform.errors import ActivityInvalid
from services.platform.notify import Button
from services.pool.eligibility import Category
from services.pool.pools import drawable_pools, note_lending
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


class _NeedScreening(Exception):
    """The draw v2 is in its exact case and needs the pool screened (``candidates.screen_pool``)."""


class _DatabasePool:
    """Matching ids from one query per requirement, the draw v2's screening (``candidates.screen_pool``);
    candidates' facts loaded as the draw needs them."""

    def __init__(self, matching: dict[str, Sequence[int]], screened: dict[str, Screened] | None = None) -> None:
        self._matching = matching
        self._screened = screened
        self.loaded: dict[int, Candidate] = {}
        self.memo: dict[object, Any] = {}  # the pure draw's work, kept while facts are loaded (expert_draw)

    def screened(self, requirement: Requirement) -> Screened | None:
        """The screening, computed by :func:`run_pool_draw` the first time the draw asks for it."""
        if self._screened is None:
            raise _NeedScreening
        return self._screened.get(requirement.key)

    def matching(self, requirement: Requirement) -> Sequence[int]:
        return self._matching[requirement.key]

    def get(self, person_id: int) -> Candidate:
        try:
            return self.loaded[person_id]
        except KeyError:
            raise MissingCandidate(person_id) from None


async def _matching_ids(uow: UnitOfWork, requirements: Sequence[Requirement],
                       units: Collection[int] | None = None) -> dict[str, list[int]]:
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
    if units is not None:  # the pools the activity may draw from (services.pool.pools.drawable_pools)
        query = query.where(expert.org_unit_id.in_(sorted(units)))
    connection = await uow.session.connection()
    row = (await connection.execute(query)).one()
    found = {which: sorted(json.loads(f"[{joined}]")) if joined else []  # "3,1,2": integers, so a JSON array
             for which, joined in zip(filters, row, strict=True)}
    return {r.key: list(found[(r.category.value, None if r.subcategory is None else r.subcategory.value)])
            for r in requirements}


async def run_pool_draw(uow: UnitOfWork, *, requirements: Sequence[Requirement], spec: ActivitySpec,
                        settings: DrawSettings, seed: bytes, existing: Sequence[Member] = (),
                        activity_id: int | None = None, version: str = ALGORITHM_VERSION,
                        units: Collection[int] | None = None) -> tuple[DrawResult, DrawInputs]:
    """Draw from the pool in the database (the experts of ``units``' pools; None: every pool): matching ids per
    requirement, then the facts of the candidates (v1: in the order the draw visits them, in growing batches, until
    the deterministic draw completes; v2: all)."""
    index = await pool_index.current(uow, units)  # kept in memory until the pool changes (issue 21)
    matching: dict[str, Sequence[int]] = dict(index.matching(requirements))
    pool = _DatabasePool(matching)
    first = {r.key: r.count + r.backups + FIRST_BATCH for r in requirements}
    upto = {r.key: 0 if version != "v1" else first[r.key] for r in requirements}  # v2 visits when drawing as v1
    while True:
        wanted: list[int] = []
        for r in requirements:
            wanted += [i for i in visit_order(matching[r.key], seed, r.key, upto[r.key]) if i not in pool.loaded]
        if wanted:
            pool.loaded.update(await load_candidates(uow, sorted(set(wanted)), spec, settings, activity_id))
        try:  # the pure part in a worker thread: at province scale it is CPU-bound and touches no session
            return await asyncio.to_thread(draw_recorded, pool, requirements, spec, settings, seed,
                                           existing=existing, version=version)
        except _NeedScreening:  # v2 in its exact case: every matching candidate screened (the chances need them)
            pool._screened = await screen_pool(uow, requirements, dict(matching), spec=spec, settings=settings,
                                               existing=existing, activity_id=activity_id, index=index)
        except MissingNamed as drawn:  # v2 names whom it needs
            pool.loaded.update(await load_candidates(uow, sorted(drawn.person_ids), spec, settings, activity_id))
        except MissingCandidate as missing:  # v1 (or v2 drawing as v1) visits further: load more of the orders
            grown = False
            for r in requirements:
                if missing.person_id in matching[r.key] and upto[r.key] < len(matching[r.key]):
                    upto[r.key] = min(len(matching[r.key]), max(first[r.key], upto[r.key] * 4))
                    grown = True
            if not grown:  # not in any visit order: load it directly (cannot happen with a consistent pool)
                pool.loaded.update(await load_candidates(uow, [missing.person_id], spec, settings, activity_id))


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
        # v2 only, so that v1 results keep the form (and the hash) they were stored with
        **({"chances": [_chances_json(c) for c in result.chances]} if result.chances else {}),
        **({"fallback": True} if result.fallback else {}),
    }


def _chances_json(c: Chances) -> dict[str, Any]:
    return {"requirement_key": c.requirement_key, "eligible": c.eligible, "level": str(c.level),
            "capped": [list(pair) for pair in c.capped], "largest": None if c.largest is None else list(c.largest),
            **({"units": [list(pair) for pair in c.units]} if c.units else {})}  # v3 only: v2's form unchanged


def _chances_of(c: dict[str, Any]) -> Chances:
    largest = c["largest"]
    return Chances(c["requirement_key"], c["eligible"], Fraction(c["level"]),
                   tuple((employer, n) for employer, n in c["capped"]),
                   None if largest is None else (largest[0], largest[1]),
                   tuple((employer, m) for employer, m in c.get("units", ())))


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
        chances=tuple(_chances_of(c) for c in data.get("chances", ())),
        fallback=bool(data.get("fallback", False)),
    )


async def _run(uow: UnitOfWork, request: DrawRequest, info: ActivityView,
               approver_id: int | None) -> tuple[DrawRecord, DrawResult]:
    """Draw for an approved request, store the record and the roster, tell the organizer."""
    activity = info.activity
    assert activity.id is not None and request.id is not None
    by_key = {requirement_key(r): r for r in info.requirements}
    requirements, existing = await _request_of(uow, request, info, by_key)
    seed = secrets.token_bytes(32)
    pools = await drawable_pools(uow, activity.org_unit_id, uow.today())  # 000 §5, 001 §7, 003 三(八)
    try:
        result, inputs = await run_pool_draw(uow, requirements=requirements, spec=spec_of(info, uow.zone),
                                             settings=policy.current().draw, seed=seed, existing=existing,
                                             activity_id=activity.id, version=ALGORITHM_VERSION,
                                             units=pools.units)
    except DrawRequestError as error:
        raise ActivityInvalid(str(error), reason_key=f"activity.invalid.{error.code}", total=0, min=3) from error
    now = uow.now()
    record = await _record(uow, request, activity, result=result, inputs=inputs, seed=seed, approver_id=approver_id,
                           now=now)
    assert record.id is not None
    record.lending_unit_ids = await note_lending(uow, pools, [p.person_id for p in result.picks],
                                                 activity_title=activity.title, draw_id=record.id)
    if result.ok:
        await _seat(uow, request, activity, record=record, result=result, by_key=by_key, now=now)
    await _announce(uow, request, activity, record=record, result=result, approver_id=approver_id, now=now)
    return record, result


async def _request_of(uow: UnitOfWork, request: DrawRequest, info: ActivityView,
                      by_key: dict[str, ActivityRequirement]) -> tuple[list[Requirement], list[Member]]:
    """The requirements to draw for and, for a top-up, the roster the draw must respect (001 §11(二))."""
    if request.kind != "top_up":
        return [as_rule(r) for r in info.requirements], []
    activity_id = _id_of(info)
    requirements = [as_rule(by_key[f"r{rid}"], count=p, backups=b) for rid, (p, b) in
                    sorted(request.places.items(), key=lambda kv: by_key[f"r{kv[0]}"].position)]
    # Everyone ever on the roster is not drawn again (someone who declined or lapsed is not asked twice);
    # only those still holding a place count for one-per-employer-and-field (000 §18(三)).
    roster = await _all_members(uow, activity_id)
    employers = dict((await uow.session.exec(select(Expert.person_id, Expert.employer_id).where(
        col(Expert.person_id).in_([m.person_id for m in roster])))).all())
    fields = {r.id: r.category for r in info.requirements}
    existing = [Member(m.person_id, employers.get(m.person_id) if m.status in HOLDING else None,
                       Category(fields[m.requirement_id])) for m in roster]
    return requirements, existing


async def _record(uow: UnitOfWork, request: DrawRequest, activity: Activity, *, result: DrawResult,
                  inputs: DrawInputs, seed: bytes, approver_id: int | None, now: datetime) -> DrawRecord:
    """Store the draw's record (seed, compressed snapshot and its hash, result) and settle the request. zlib
    level 1: the hash is of the uncompressed snapshot, so the level is free (issue 21: 9 cost ~15 ms for the same
    size); older records at level 9 read the same."""
    compressed, digest = await asyncio.to_thread(_stored_form, inputs)  # CPU only: off the event loop
    record = DrawRecord(
        subject="experts", org_unit_id=activity.org_unit_id, activity_id=activity.id, request_id=request.id,
        algorithm_version=result.algorithm_version, seed=seed.hex(), snapshot=compressed,
        snapshot_hash=digest, result=result_json(result),
        outcome="drawn" if result.ok else "short", operator_id=request.requested_by, approver_id=approver_id,
        drawn_at=now,
    )
    uow.session.add(record)
    await uow.session.flush()
    assert record.id is not None
    request.status = record.outcome
    request.draw_id = record.id
    uow.session.add(request)
    return record


def _stored_form(inputs: DrawInputs) -> tuple[bytes, str]:
    """The snapshot compressed (zlib level 1) and the SHA-256 of the uncompressed text."""
    snapshot = canonical_snapshot(inputs).encode("utf-8")
    return zlib.compress(snapshot, 1), hashlib.sha256(snapshot).hexdigest()


async def _seat(uow: UnitOfWork, request: DrawRequest, activity: Activity, *, record: DrawRecord,
                result: DrawResult, by_key: dict[str, ActivityRequirement], now: datetime) -> None:
    """Put the drawn on the roster (a top-up after the places already there) and invite the principals."""
    assert activity.id is not None and record.id is not None
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


async def _announce(uow: UnitOfWork, request: DrawRequest, activity: Activity, *, record: DrawRecord,
                    result: DrawResult, approver_id: int | None, now: datetime) -> None:
    """Audit the draw and tell the organizer's unit (and the requester, when someone else approved)."""
    assert record.id is not None
    await audit.record(uow, at=now, actor="system:draw", action=f"draw.{record.outcome}", object_type="draw",
                       object_id=record.id,
                       details={"activity_id": activity.id, "request_id": request.id,
                                "algorithm_version": record.algorithm_version, "seed": record.seed,
                                "snapshot_hash": record.snapshot_hash,
                                "result_hash": draw_verify.result_hash(record.result),
                                "operator_id": record.operator_id, "approver_id": approver_id})
    params = {"draw_id": record.id, "activity_id": activity.id, "title": activity.title}
    key = "draw.done" if result.ok else "draw.short"
    buttons = [[Button("draw.button.show", ShowDraw(record.id))]]
    await notify.to_org_unit(uow, org_unit_id=activity.org_unit_id, key=key, params=params, buttons=buttons)
    if approver_id is not None:
        await notify.to_person(uow, person_id=request.requested_by, key=key, params=params, buttons=buttons)


def _id_of(info: ActivityView) -> int:
    assert info.activity.id is not None
    return info.activity.id


def _id(requirement: ActivityRequirement) -> int:
    assert requirement.id is not None
    return requirement.id


async def _all_members(uow: UnitOfWork, activity_id: int) -> list[ActivityMember]:
    return list(await uow.session.exec(select(ActivityMember).where(ActivityMember.activity_id == activity_id)))
