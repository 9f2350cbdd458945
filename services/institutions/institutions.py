"""The institution directory: employers, recommending units, inspected institutions, lead targets.

Every flow that asks for an institution searches it by part of its (Chinese) name. A unified
social credit code, when given, is validated (GB 32100) and unique.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import col, select

from services.people.orgs import get_unit, require_scope_over_units
from services.platform import audit
from services.platform.errors import DuplicateCreditCode, InstitutionNotFound, InvalidInput
from services.platform.identifiers import InvalidIdentifier, validate_credit_code
from services.platform.roles import Actor
from storage.pool import Institution
from storage.uow import UnitOfWork

SEARCH_LIMIT = 10


class InstitutionKind(StrEnum):
    """What kind of institution it is."""

    HOSPITAL = "hospital"
    PHARMACY = "pharmacy"
    CLINIC = "clinic"
    INSURER = "insurer"
    GOVERNMENT = "government"
    UNIVERSITY = "university"
    OTHER = "other"


def clean_name(raw: str) -> str:
    """Collapse whitespace; names are 1-200 characters."""
    name = " ".join(raw.split())
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1-200 characters", field="name")
    return name


def clean_kind(raw: str) -> InstitutionKind:
    """The kind, from its code."""
    try:
        return InstitutionKind(raw.strip().lower())
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in InstitutionKind)}", field="kind") from None


def clean_credit_code(raw: str | None) -> str | None:
    """A validated credit code, or None when none is given."""
    if raw is None or not raw.strip():
        return None
    try:
        return validate_credit_code(raw)
    except InvalidIdentifier as error:
        raise InvalidInput(str(error), field="credit_code", reason=error.reason) from None


async def add_institution(
    uow: UnitOfWork,
    *,
    actor: Actor,
    name: str,
    kind: str,
    credit_code: str | None = None,
    level: str | None = None,
    org: str | None = None,
    designated: bool = False,
) -> Institution:
    """Add an institution to the directory."""
    code = clean_credit_code(credit_code)
    unit_id = None
    if org:
        unit = await get_unit(uow, org)
        unit_id = unit.id
        assert unit_id is not None
        await require_scope_over_units(uow, actor, {unit_id})
    if code is not None and await by_credit_code(uow, code) is not None:
        raise DuplicateCreditCode(code, credit_code=code)
    now = uow.now()
    institution = Institution(
        name=clean_name(name), kind=clean_kind(kind).value, credit_code=code,
        level=(level or "").strip()[:32] or None, org_unit_id=unit_id, designated=designated,
        created_at=now, updated_at=now,
    )
    uow.session.add(institution)
    await uow.session.flush()
    assert institution.id is not None
    await audit.record(
        uow, at=now, actor=actor.label, action="institution.created", object_type="institution",
        object_id=institution.id, details={"name": institution.name, "credit_code": code, "kind": institution.kind},
    )
    await uow.commit()
    return institution


async def by_credit_code(uow: UnitOfWork, code: str) -> Institution | None:
    """The institution with that (normalized) credit code."""
    result = await uow.session.exec(select(Institution).where(Institution.credit_code == code))
    return result.first()


async def get_institution(uow: UnitOfWork, institution_id: int) -> Institution:
    """The institution, or InstitutionNotFound."""
    institution = await uow.session.get(Institution, institution_id)
    if institution is None:
        raise InstitutionNotFound(str(institution_id), institution_id=institution_id)
    return institution


async def search(uow: UnitOfWork, text: str, *, limit: int = SEARCH_LIMIT) -> Sequence[Institution]:
    """Institutions whose name contains every word of ``text`` (or whose credit code is ``text``)."""
    words = [w for w in text.split() if w]
    if not words:
        return []
    query = select(Institution)
    if len(words) == 1 and len(words[0]) == 18:
        try:
            query = query.where(Institution.credit_code == validate_credit_code(words[0]))
            return (await uow.session.exec(query.limit(limit))).all()
        except InvalidIdentifier:
            pass
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(Institution.name).like(f"%{escaped}%", escape="\\"))
    query = query.order_by(col(Institution.name).asc()).limit(limit)
    return (await uow.session.exec(query)).all()


@dataclass(frozen=True)
class InstitutionRef:
    """An institution of the directory as the front ends show it."""

    id: int
    name: str
    credit_code: str | None


def _ref(institution: Institution) -> InstitutionRef:
    assert institution.id is not None
    return InstitutionRef(id=institution.id, name=institution.name, credit_code=institution.credit_code)


async def find(uow: UnitOfWork, text: str, *, limit: int = SEARCH_LIMIT) -> list[InstitutionRef]:
    """:func:`search` for the front ends: the matches as plain values."""
    return [_ref(institution) for institution in await search(uow, text, limit=limit)]


async def institution_ref(uow: UnitOfWork, institution_id: int) -> InstitutionRef:
    """:func:`get_institution` for the front ends (InstitutionNotFound for an unknown id)."""
    return _ref(await get_institution(uow, institution_id))
