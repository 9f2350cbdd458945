"""Expert pools per org unit and lending them (000 §5; 001 §5, §7; 003 三(八)).

Interpretations
---------------
1. **Each expert belongs to one unit's pool** (``Expert.org_unit_id``): the department that keeps the pool and files
   it (001 §5, §7). A unit's draws take from its own pool and from the pools kept below it (the bureau's corps pool
   is made of what the divisions recommend, 000 annex 2), never from a sibling's or another branch's.
2. **The parent's pool** (000 §5: "各师市……从兵团专家库中抽取"): a unit whose setting ``draws_from_parent`` is on
   also draws from its parent unit's pool (one level up). Admins of the unit or above switch it.
3. **Lending** (003 三(八), sharing experts across regions): an admin of the lending unit (or above it) grants a
   borrowing unit the right to draw from the lender's pool from ``starts_on`` to ``ends_on`` inclusive, judged on the
   day of the draw; a grant can be revoked. Both units' staff are told.
4. **Cross-unit draws are named**: a draw that takes anyone from a lent pool stores the lending units on its record
   (``DrawRecord.lending_unit_ids``), and the lenders' staff are alerted with the activity and how many experts were
   drawn from their pool. Drawing from the parent's pool is not lending (000 §5 is the rule, not a grant).
5. **Where it applies**: :func:`drawable_pools` gives the unit ids an activity may draw from; the draw applies it in
   one place (``services.draws.running._matching_ids``), so the draw's snapshot holds only ids from those pools and a
   verification recomputes the same draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from services.people.orgs import UnitRef, get_unit, require_scope_over_units, subtree
from services.platform import audit, notify
from services.platform.errors import InvalidInput, InvalidTransition, PermissionDenied
from services.platform.roles import Actor, Role
from storage.models import Expert
from storage.pool import PoolShare
from storage.uow import UnitOfWork

__all__ = ["DrawablePools", "ShareView", "drawable_pools", "grant_share", "note_lending", "revoke_share",
           "set_draws_from_parent", "shares"]


@dataclass(frozen=True)
class DrawablePools:
    """The pools an activity's draw may take from: the unit's own and those below it (``below``), its parent's
    (interpretation 2) and those lent to it (``lenders``: lending unit id → grant id)."""

    own: int
    parent: int | None = None
    lenders: tuple[tuple[int, int], ...] = ()
    below: frozenset[int] = frozenset()

    @property
    def units(self) -> frozenset[int]:
        """Every unit id whose experts may be drawn."""
        parent = {self.parent} if self.parent is not None else set()
        return frozenset({self.own, *self.below, *parent, *(unit for unit, _ in self.lenders)})


async def drawable_pools(uow: UnitOfWork, org_unit_id: int, on: date) -> DrawablePools:
    """The pools a draw of ``org_unit_id`` may take from on the day ``on`` (interpretations 1–3)."""
    unit = await uow.org_units.get(org_unit_id)
    parent = unit.parent_id if unit is not None and unit.draws_from_parent else None
    grants = (await uow.session.exec(select(PoolShare).where(
        PoolShare.borrower_unit_id == org_unit_id, col(PoolShare.revoked_at).is_(None),
        col(PoolShare.starts_on) <= on, col(PoolShare.ends_on) >= on).order_by(col(PoolShare.id)))).all()
    below = frozenset(await subtree(uow, org_unit_id) - {org_unit_id})
    lenders: dict[int, int] = {}
    for grant in grants:
        if grant.lender_unit_id not in {org_unit_id, parent, *below}:
            lenders.setdefault(grant.lender_unit_id, grant.id or 0)
    return DrawablePools(org_unit_id, parent, tuple(sorted(lenders.items())), below)


async def _admin_over(uow: UnitOfWork, actor: Actor, unit_id: int) -> None:
    if actor.person_id is not None and Role.ADMIN not in actor.roles:
        raise PermissionDenied("an admin decides about the pool")
    await require_scope_over_units(uow, actor, {unit_id})


@dataclass(frozen=True)
class ShareRef:
    """A grant of one unit's pool to another (003 三(八)), as the front ends show it."""

    id: int
    lender_unit_id: int
    borrower_unit_id: int
    starts_on: date
    ends_on: date


def _share_ref(share: PoolShare) -> ShareRef:
    assert share.id is not None
    return ShareRef(id=share.id, lender_unit_id=share.lender_unit_id, borrower_unit_id=share.borrower_unit_id,
                    starts_on=share.starts_on, ends_on=share.ends_on)


async def set_draws_from_parent(uow: UnitOfWork, *, actor: Actor, org: str | int, enabled: bool) -> UnitRef:
    """Switch whether the unit's draws also take from its parent's pool (000 §5); admins of the unit or above."""
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await _admin_over(uow, actor, unit.id)
    if enabled and unit.parent_id is None:
        raise InvalidInput("the unit has no parent", field="org")
    unit.draws_from_parent = enabled
    uow.session.add(unit)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="org_unit.draws_from_parent",
                       object_type="org_unit", object_id=unit.id, details={"enabled": enabled})
    await uow.commit()
    return UnitRef(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind, parent_id=unit.parent_id)


async def grant_share(uow: UnitOfWork, *, actor: Actor, lender: str | int, borrower: str | int, starts_on: date,
                      ends_on: date, note: str = "") -> ShareRef:
    """Lend ``lender``'s pool to ``borrower`` over [starts_on, ends_on] (003 三(八)); both units' staff are told."""
    lending, borrowing = await get_unit(uow, lender), await get_unit(uow, borrower)
    assert lending.id is not None and borrowing.id is not None
    await _admin_over(uow, actor, lending.id)
    if lending.id == borrowing.id:
        raise InvalidInput("a unit does not lend its pool to itself", field="borrower")
    if ends_on < starts_on or ends_on < uow.today():
        raise InvalidInput("the period must end on or after its start and today", field="ends_on")
    share = PoolShare(lender_unit_id=lending.id, borrower_unit_id=borrowing.id, starts_on=starts_on, ends_on=ends_on,
                      note=" ".join(note.split())[:500], granted_by=actor.label, granted_at=uow.now())
    uow.session.add(share)
    await uow.session.flush()
    assert share.id is not None
    await audit.record(uow, at=uow.now(), actor=actor.label, action="pool.share_granted", object_type="pool_share",
                       object_id=share.id, details={"lender": lending.id, "borrower": borrowing.id,
                                                    "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    params = {"share_id": share.id, "lender": lending.name, "borrower": borrowing.name,
              "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()}
    for unit_id in (lending.id, borrowing.id):
        await notify.to_org_unit(uow, org_unit_id=unit_id, key="share.granted_staff", params=params)
    await uow.commit()
    return _share_ref(share)


async def revoke_share(uow: UnitOfWork, *, actor: Actor, share_id: int) -> ShareRef:
    """End a grant early (admins over the lending unit)."""
    share = await uow.session.get(PoolShare, share_id)
    if share is None:
        raise InvalidInput(f"no pool share {share_id}", field="share_id")
    await _admin_over(uow, actor, share.lender_unit_id)
    if share.revoked_at is not None:
        raise InvalidTransition("already revoked", action_key="share.action.revoke",
                                state_key="share.state.revoked")
    share.revoked_at = uow.now()
    uow.session.add(share)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="pool.share_revoked", object_type="pool_share",
                       object_id=share_id, details={})
    await uow.commit()
    return _share_ref(share)


@dataclass(frozen=True)
class ShareView:
    """A grant as listed: who lends to whom, when, and whether it was revoked."""

    share_id: int
    lender: str
    borrower: str
    starts_on: date
    ends_on: date
    revoked: bool
    note: str


async def shares(uow: UnitOfWork, *, actor: Actor) -> Sequence[ShareView]:
    """Grants that are current or to come, lent or borrowed by units the actor's unit covers (all for the system)."""
    units = {u.id: u for u in await uow.org_units.all()}
    scope = None if actor.person_id is None else await subtree(uow, actor.staff_org_unit_id or 0)
    rows = (await uow.session.exec(select(PoolShare).where(col(PoolShare.ends_on) >= uow.today())
                                   .order_by(col(PoolShare.id)))).all()
    return [ShareView(row.id or 0, units[row.lender_unit_id].name, units[row.borrower_unit_id].name, row.starts_on,
                      row.ends_on, row.revoked_at is not None, row.note)
            for row in rows if scope is None or {row.lender_unit_id, row.borrower_unit_id} & scope]


async def note_lending(uow: UnitOfWork, pools: DrawablePools, person_ids: Sequence[int], *, activity_title: str,
                       draw_id: int) -> list[int]:
    """The lending units whose experts were drawn (interpretation 4), each alerted; sorted ids for the record."""
    lent = dict(pools.lenders)
    if not lent or not person_ids:
        return []
    rows = (await uow.session.exec(select(Expert.org_unit_id).where(col(Expert.person_id).in_(person_ids)))).all()
    counts: dict[int, int] = {}
    for unit_id in rows:
        if unit_id in lent:
            counts[unit_id] = counts.get(unit_id, 0) + 1
    borrower = await uow.org_units.get(pools.own)
    for unit_id, count in sorted(counts.items()):
        await notify.to_org_unit(uow, org_unit_id=unit_id, key="share.used_staff", params={
            "borrower": borrower.name if borrower else "-", "title": activity_title, "count": count,
            "draw_id": draw_id, "share_id": lent[unit_id]})
    return sorted(counts)
