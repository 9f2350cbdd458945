"""Org units, staff and people: creating them and answering "is this within my org unit?".

The bureau is the root of a tree of divisions and cities. A staff member acts on their own unit
and every unit below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.platform import audit
from services.platform.actions import MAX_ID, parse_id
from services.platform.errors import (
    DuplicateCode,
    InvalidInput,
    OrgUnitNotFound,
    OutOfScope,
    PermissionDenied,
    PersonNotFound,
)
from services.platform.roles import Actor, Role
from storage.models import SEALED_NAME, Expert, OrgUnit, Person, Staff, Supervisor
from storage.uow import UnitOfWork

MAX_CODE_LENGTH = 32  # org_unit.code

ORG_KINDS = ("bureau", "division", "city")
STAFF_ROLES = ("staff", "admin")
TERM_YEARS = 3  # 000 §10(七), 001 §8


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class UnitRef:
    """An org unit as the front ends show it."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None


@dataclass(frozen=True)
class PersonRef:
    """A person just created: the number and the name."""

    id: int
    name: str


def _unit_ref(unit: OrgUnit) -> UnitRef:
    assert unit.id is not None
    return UnitRef(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind, parent_id=unit.parent_id)


async def unit_ref(uow: UnitOfWork, code_or_id: str | int) -> UnitRef:
    """The org unit with that code or number, as a plain value (:func:`get_unit` for services)."""
    return _unit_ref(await get_unit(uow, code_or_id))


async def list_units(uow: UnitOfWork) -> list[UnitRef]:
    """Every org unit, in the order they were created."""
    return [_unit_ref(unit) for unit in await uow.org_units.all()]


async def add_org_unit(
    uow: UnitOfWork, *, actor: Actor, code: str, name: str, kind: str, parent_code: str | None = None
) -> UnitRef:
    """Create an org unit under ``parent_code`` (no parent: the bureau, the tree's root)."""
    code = code.strip().lower()
    name = name.strip()
    if not CODE_PATTERN.match(code):
        raise InvalidInput("code must be 1-32 of a-z 0-9 _ - starting with a letter or digit", field="code")
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1-200 characters", field="name")
    if kind not in ORG_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ORG_KINDS)}", field="kind")
    if await uow.org_units.by_code(code) is not None:
        raise DuplicateCode(f"org unit {code!r} exists", code=code)
    parent_id = None
    if parent_code is not None:
        parent = await get_unit(uow, parent_code)
        parent_id = parent.id
    elif kind != "bureau":
        raise InvalidInput("a division or city needs a parent", field="parent")
    now = uow.now()
    unit = await uow.org_units.add(OrgUnit(code=code, name=name, kind=kind, parent_id=parent_id, created_at=now))
    assert unit.id is not None
    await audit.record(
        uow, at=now, actor=actor.label, action="org_unit.created", object_type="org_unit", object_id=unit.id,
        details={"code": code, "name": name, "kind": kind, "parent_id": parent_id},
    )
    await uow.commit()
    return _unit_ref(unit)


async def get_unit(uow: UnitOfWork, code_or_id: str | int) -> OrgUnit:
    """The org unit with that code (or numeric id)."""
    unit: OrgUnit | None = None
    number = code_or_id if isinstance(code_or_id, int) else parse_id(str(code_or_id))
    if number is not None and 1 <= number <= MAX_ID:
        unit = await uow.org_units.get(number)
    elif isinstance(code_or_id, str) and len(code_or_id) <= MAX_CODE_LENGTH:
        unit = await uow.org_units.by_code(code_or_id.strip().lower())
    if unit is None:
        shown = str(code_or_id) if len(str(code_or_id)) <= MAX_CODE_LENGTH else str(code_or_id)[:MAX_CODE_LENGTH] + "…"
        raise OrgUnitNotFound(shown, org=shown)
    return unit


async def admins_up(uow: UnitOfWork, unit_id: int) -> list[int]:
    """The admins an escalation goes to: those of ``unit_id``, else of the nearest unit above that has any
    (the same line of responsibility the org tree gives every staff action)."""
    current: int | None = unit_id
    while current is not None:
        admins = await uow.people.staff_of_units([current], role="admin")
        if admins:
            return [a.person_id for a in admins]
        unit = await uow.org_units.get(current)
        current = unit.parent_id if unit is not None else None
    return []


async def subtree(uow: UnitOfWork, unit_id: int) -> set[int]:
    """The ids of ``unit_id`` and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for unit in await uow.org_units.all():
        assert unit.id is not None
        children.setdefault(unit.parent_id, []).append(unit.id)
    found: set[int] = set()
    stack = [unit_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


async def person_units(uow: UnitOfWork, person_id: int) -> set[int]:
    """The org units a person belongs to, through any of their roles."""
    units: set[int] = set()
    for row in (
        await uow.people.staff(person_id),
        await uow.people.expert(person_id),
        await uow.people.supervisor(person_id),
    ):
        if row is not None:
            units.add(row.org_unit_id)
    return units


async def require_scope_over_person(uow: UnitOfWork, actor: Actor, person_id: int) -> Person:
    """The person, if the actor is the system or staff of an org unit above (or equal to) theirs."""
    person = await uow.people.get(person_id)
    if person is None:
        raise PersonNotFound(str(person_id), person_id=person_id)
    if actor.person_id is None:
        return person
    await require_scope_over_units(uow, actor, await person_units(uow, person_id))
    return person


async def require_scope_over_units(uow: UnitOfWork, actor: Actor, unit_ids: set[int]) -> None:
    """Refuse unless the actor is the system or staff whose unit covers all of ``unit_ids``."""
    if actor.person_id is None:
        return
    if actor.staff_org_unit_id is None or not actor.has_any(frozenset({Role.STAFF, Role.ADMIN})):
        raise PermissionDenied("only staff may do this")
    outside = unit_ids - await subtree(uow, actor.staff_org_unit_id)
    if outside:
        names = [unit.name for unit in [await uow.org_units.get(i) for i in sorted(outside)[:3]] if unit]
        own = await uow.org_units.get(actor.staff_org_unit_id)
        raise OutOfScope("outside your org unit", units="、".join(names) or "—", own=own.name if own else "—")


async def add_staff(uow: UnitOfWork, *, actor: Actor, name: str, org: str, role: str) -> PersonRef:
    """Create a person employed as staff (or admin) of an org unit."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    person = await _add_person(uow, name)
    assert person.id is not None
    now = uow.now()
    await uow.people.add_role_row(Staff(person_id=person.id, org_unit_id=unit.id, role=role, created_at=now))
    await audit.record(
        uow, at=now, actor=actor.label, action="staff.created", object_type="person", object_id=person.id,
        details={"org_unit_id": unit.id, "role": role},
    )
    await uow.commit()
    return PersonRef(id=person.id, name=person.name)


async def add_member(uow: UnitOfWork, *, actor: Actor, kind: str, name: str, org: str) -> PersonRef:
    """Create a person as an expert of a pool or a social supervisor of a division (minimal record)."""
    if kind not in ("expert", "supervisor"):
        raise InvalidInput("kind must be expert or supervisor", field="kind")
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    person = await _add_person(uow, name)
    assert person.id is not None
    now = uow.now()
    row: Expert | Supervisor
    if kind == "expert":
        # Staff adding an expert directly appoints them (000 §10(一): invited by the bureau) for one term.
        today = uow.today()
        row = Expert(person_id=person.id, org_unit_id=unit.id, created_at=now, updated_at=now, state="active",
                     term_start=today, term_end=add_years(today, TERM_YEARS))
    else:  # the name kept encrypted in the supervisor row (issue 19; 003 三(四)), the person row sealed
        row = Supervisor(person_id=person.id, org_unit_id=unit.id, created_at=now, name=person.name)
        person.name = SEALED_NAME
    await uow.people.add_role_row(row)
    await audit.record(
        uow, at=now, actor=actor.label, action=f"{kind}.created", object_type="person", object_id=person.id,
        details={"org_unit_id": unit.id},
    )
    await uow.commit()
    return PersonRef(id=person.id, name=name.strip())


async def _add_person(uow: UnitOfWork, name: str) -> Person:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1-100 characters", field="name")
    return await uow.people.add(Person(name=name, created_at=uow.now()))


@dataclass(frozen=True)
class StaffOptIn:
    """The result of changing a staff member's private-alert preference."""

    person_id: int
    alerts_opt_in: bool


async def set_alerts_opt_in(uow: UnitOfWork, *, actor: Actor, enabled: bool) -> StaffOptIn:
    """A staff member chooses to (also) receive their org unit's alerts privately."""
    if actor.person_id is None:
        raise PermissionDenied("only staff may do this")
    staff = await uow.people.staff(actor.person_id)
    if staff is None:
        raise PermissionDenied("only staff may do this")
    staff.alerts_opt_in = enabled
    uow.session.add(staff)
    await audit.record(
        uow, at=uow.now(), actor=actor.label, action="staff.alerts_opt_in", object_type="person",
        object_id=actor.person_id, details={"enabled": enabled},
    )
    await uow.commit()
    return StaffOptIn(actor.person_id, enabled)
