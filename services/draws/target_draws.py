"""Drawing inspection targets (双随机、一公开, 003 三(一)): the draw against the institution directory, its stored
record and verification; turning the drawn institutions into activities is
:mod:`services.draws.target_activities`.

- **Scope.** A staff member draws for an org unit in their subtree (default: their own). The directory read is
  every institution of that unit's subtree (``Institution.org_unit_id``); drawing for the bureau (the root of
  the tree) also reads the institutions assigned to no unit. Division filters must lie inside that scope and
  cover their own subtrees (a division's cities).
- **The record** is a :class:`storage.activities.DrawRecord` like an expert draw's: ``subject="institutions"``,
  no activity and no request, the seed (``secrets``), the algorithm version (``services.draws.target_rules``), the
  zlib-compressed canonical snapshot and its SHA-256, the result, ``drawn`` or ``short``, the staff member as
  operator and no approver (a target draw has no four-eyes step; the audit entry says so with
  ``"approver_id": null``). The audit entry (``draw.drawn`` / ``draw.short``, object ``draw``) carries the
  seed, the snapshot hash and the result's hash, as for expert draws.
- **Secrecy.** Only staff of the drawing unit's line see a record (as ``services.draws.draws.get_draw``); nothing is
  announced: the targets of an unannounced inspection stay with the people running it.
- **To activities** (:mod:`services.draws.target_activities`). A successful draw becomes one activity per
  drawn institution (inspection kinds only), all in one transaction, each with ``target_draw_id`` set and the
  institution as the inspected one, and audited as ``activity.created`` like any other activity plus one
  ``draw.targets_to_activities`` entry.
  A draw is turned into activities once.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.draws import draw_verify
from services.draws.draw_verify import result_hash
from services.draws.target_rules import (
    MAX_COUNT,
    Target,
    TargetFilters,
    TargetInputs,
    TargetRequestError,
    TargetResult,
    canonical_snapshot,
    draw,
    parse_snapshot,
    result_from_json,
    result_json,
    verify,
)
from services.institutions.institutions import InstitutionKind
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import DrawNotFound, DrawRefused, InstitutionNotFound
from services.platform.roles import Actor
from storage.activities import Activity, ActivityInstitution, DrawRecord
from storage.models import OrgUnit, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

SUBJECT = "institutions"


@dataclass(frozen=True)
class TargetDrawView:
    """A target draw for someone allowed to see it: the record, its result and inputs, the drawn institutions
    (in draw order), the org units named in it, the operator's name and the activities made from it."""

    record: DrawRecord
    result: TargetResult
    filters: TargetFilters
    institutions: tuple[Institution, ...]
    units: dict[int, OrgUnit]
    operator: str
    activity_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class TargetVerifyReport:
    """Whether a stored target draw is what its inputs and seed give, with what was found wrong."""

    draw_id: int
    ok: bool
    problems: tuple[str, ...] = ()
    algorithm_version: str = ""
    directory: int = 0
    picks: int = 0


def refused(reason: str, **params: object) -> DrawRefused:
    """A refusal of a target draw for ``reason`` (message key ``targets.refused.<reason>``)."""
    return DrawRefused(reason, reason_key=f"targets.refused.{reason}", **params)


# --- the draw -------------------------------------------------------------------------------------


async def _directory(uow: UnitOfWork, unit: OrgUnit, units: set[int]) -> list[Target]:
    query: Any = sa_select(col(Institution.id), col(Institution.kind), col(Institution.level),
                      col(Institution.org_unit_id), col(Institution.designated))
    if unit.parent_id is None:
        query = query.where(col(Institution.org_unit_id).in_(units) | col(Institution.org_unit_id).is_(None))
    else:
        query = query.where(col(Institution.org_unit_id).in_(units))
    rows = (await uow.session.exec(query.order_by(col(Institution.id)))).all()
    return [Target(i, kind, level, division, bool(designated)) for i, kind, level, division, designated in rows]


def _clean_kinds(kinds: Sequence[str]) -> frozenset[str]:
    out: set[str] = set()
    for raw in kinds:
        try:
            out.add(InstitutionKind(raw.strip().lower()).value)
        except ValueError:
            raise refused("kind", value=raw) from None
    return frozenset(out)


async def _divisions(uow: UnitOfWork, division_ids: Sequence[str | int], scope: set[int]) -> frozenset[int]:
    expanded: set[int] = set()
    for code in division_ids:
        unit = await get_unit(uow, code)
        assert unit.id is not None
        if unit.id not in scope:
            raise refused("division_outside", value=str(code))
        expanded |= await subtree(uow, unit.id)
    return frozenset(expanded)


async def _drawing_unit(uow: UnitOfWork, actor: Actor, org: str | int | None) -> OrgUnit:
    """The unit whose directory is drawn from (default: the actor's own), within the actor's scope."""
    if actor.person_id is None:
        raise refused("not_staff")
    if org is None:
        if actor.staff_org_unit_id is None:
            raise refused("not_staff")
        org = actor.staff_org_unit_id
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    return unit


async def _check_excluded(uow: UnitOfWork, excluded: frozenset[int]) -> None:
    """Every institution left out must exist in the directory."""
    if excluded:
        found = set((await uow.session.exec(select(Institution.id).where(col(Institution.id).in_(excluded)))).all())
        missing = sorted(excluded - found)
        if missing:
            raise InstitutionNotFound(str(missing[0]), institution_id=missing[0])


async def _store(uow: UnitOfWork, actor: Actor, unit_id: int, *, inputs: TargetInputs, result: TargetResult,
                 seed: bytes) -> DrawRecord:
    """Store the draw's record (seed, compressed snapshot and its hash, result) and audit it."""
    assert actor.person_id is not None
    snapshot = canonical_snapshot(inputs).encode("utf-8")
    stored = result_json(result)
    now = uow.now()
    record = DrawRecord(
        subject=SUBJECT, org_unit_id=unit_id, activity_id=None, request_id=None,
        algorithm_version=result.algorithm_version, seed=seed.hex(), snapshot=zlib.compress(snapshot, 9),
        snapshot_hash=hashlib.sha256(snapshot).hexdigest(), result=stored,
        outcome="drawn" if result.ok else "short", operator_id=actor.person_id, approver_id=None, drawn_at=now,
    )
    uow.session.add(record)
    await uow.session.flush()
    assert record.id is not None
    await audit.record(uow, at=now, actor=actor.label, action=f"draw.{record.outcome}", object_type="draw",
                       object_id=record.id,
                       details={"subject": SUBJECT, "org_unit_id": unit_id, "article": "003 三(一)",
                                "algorithm_version": record.algorithm_version, "seed": record.seed,
                                "snapshot_hash": record.snapshot_hash, "result_hash": result_hash(stored),
                                "operator_id": record.operator_id, "approver_id": None,
                                "count": inputs.count, "picks": list(result.picks)})
    return record


@dataclass(frozen=True)
class TargetDrawn:
    """A target draw just stored: its number and outcome (``drawn`` or ``short``)."""

    id: int
    outcome: str


async def draw_targets(uow: UnitOfWork, *, actor: Actor, org: str | int | None = None,
                       kinds: Sequence[str] = (), levels: Sequence[str] = (),
                       division_ids: Sequence[str | int] = (), designated_only: bool = True,
                       exclude_ids: Sequence[int] = (), count: int) -> tuple[TargetDrawn, TargetResult]:
    """Draw ``count`` inspection targets at random from the directory of ``org`` (default: the actor's unit)
    with the filters (module docstring), store the record and audit it. A shortfall is recorded too."""
    unit = await _drawing_unit(uow, actor, org)
    assert unit.id is not None
    if not 1 <= count <= MAX_COUNT:
        raise refused("count", max=MAX_COUNT)
    scope = await subtree(uow, unit.id)
    excluded = frozenset(exclude_ids)
    await _check_excluded(uow, excluded)
    filters = TargetFilters(
        kinds=_clean_kinds(kinds),
        levels=frozenset(" ".join(v.split()) for v in levels if v.strip()),
        division_ids=await _divisions(uow, division_ids, scope),
        designated_only=designated_only,
        exclude_ids=excluded,
    )
    inputs = TargetInputs(tuple(await _directory(uow, unit, scope)), filters, count)
    seed = secrets.token_bytes(32)
    try:
        result = draw(inputs, seed)
    except TargetRequestError as error:
        raise refused(error.code) from error
    record = await _store(uow, actor, unit.id, inputs=inputs, result=result, seed=seed)
    await uow.commit()
    assert record.id is not None
    return TargetDrawn(id=record.id, outcome=record.outcome), result


# --- reading and verifying ------------------------------------------------------------------------


async def _record(uow: UnitOfWork, draw_id: int) -> DrawRecord:
    record = await uow.session.get(DrawRecord, draw_id)
    if record is None or record.subject != SUBJECT:
        raise DrawNotFound(str(draw_id), draw_id=draw_id)
    return record


async def _visible(uow: UnitOfWork, actor: Actor, draw_id: int) -> DrawRecord:
    record = await _record(uow, draw_id)
    if actor.person_id is not None and (actor.staff_org_unit_id is None or record.org_unit_id
                                        not in await subtree(uow, actor.staff_org_unit_id)):
        raise DrawNotFound(str(draw_id), draw_id=draw_id)  # secrecy: outside the line it does not exist
    return record


async def require_visible(uow: UnitOfWork, *, actor: Actor, draw_id: int) -> None:
    """Refuse (``DrawNotFound``) unless the actor may see the target draw; reads nothing else, so a damaged record
    can still be verified."""
    await _visible(uow, actor, draw_id)


async def _activity_ids(uow: UnitOfWork, draw_id: int) -> tuple[int, ...]:
    rows = await uow.session.exec(select(Activity.id).where(Activity.target_draw_id == draw_id)
                                  .order_by(col(Activity.id)))
    return tuple(i for i in rows.all() if i is not None)


async def get_target_draw(uow: UnitOfWork, *, actor: Actor, draw_id: int) -> TargetDrawView:
    """A target draw record; only staff of the drawing unit's line see it."""
    record = await _visible(uow, actor, draw_id)
    result = result_from_json(record.result)
    inputs = parse_snapshot(zlib.decompress(record.snapshot).decode("utf-8"))
    found = {i.id: i for i in await uow.session.exec(select(Institution).where(
        col(Institution.id).in_(result.picks)))}
    drawn = tuple(found[i] for i in result.picks if i in found)
    unit_ids = {record.org_unit_id} | set(inputs.filters.division_ids) | {
        i.org_unit_id for i in drawn if i.org_unit_id is not None}
    units = {u.id: u for u in await uow.session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(unit_ids)))
             if u.id is not None}
    operator = await uow.session.get(Person, record.operator_id)
    return TargetDrawView(record, result, inputs.filters, drawn, units, operator.name if operator else "",
                          await _activity_ids(uow, draw_id))


async def verify_target_draw(uow: UnitOfWork, draw_id: int) -> TargetVerifyReport:
    """Recompute a stored target draw: the snapshot's hash, the draw from the snapshot and seed with the recorded
    algorithm version, its outcome, the audit entry made when it ran (``draw_verify.check_record``, shared with
    expert draws), and the activities made from it."""
    record = await _record(uow, draw_id)
    check = await draw_verify.check_record(uow, record, parse_snapshot=parse_snapshot,
                                           result_from_json=result_from_json, verify=verify, check_outcome=True)
    if check.inputs is None or check.stored is None:
        return TargetVerifyReport(draw_id, False, check.problems, record.algorithm_version)
    inputs, stored, problems = check.inputs, check.stored, list(check.problems)
    made = (await uow.session.exec(select(ActivityInstitution.institution_id).join(
        Activity, col(Activity.id) == ActivityInstitution.activity_id).where(
        Activity.target_draw_id == draw_id))).all()
    if not set(made) <= set(stored.picks):
        problems.append("activities")
    return TargetVerifyReport(draw_id, not problems, tuple(problems), record.algorithm_version,
                              len(inputs.directory), len(stored.picks))


__all__ = [
    "SUBJECT",
    "TargetDrawView",
    "TargetVerifyReport",
    "draw_targets",
    "get_target_draw",
    "refused",
    "require_visible",
    "result_hash",
    "verify_target_draw",
]
