"""Expert records as people use them: search, the card staff see, the profile an expert sees, and who is due for
review. The profile changes an expert asks for and staff approve (000 §13(五); history is kept) are
:mod:`services.pool.expert_changes`; declared interests :mod:`services.pool.expert_interests`.

Identity numbers are shown masked to everyone but admins; an expert sees their own masked too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, cast
from sqlmodel import col, func, or_, select

from services.people.orgs import require_scope_over_person, subtree
from services.platform.errors import PermissionDenied, PersonNotFound
from services.platform.identifiers import InvalidIdentifier, mask_id_number, mask_phone, validate_id_number
from services.platform.roles import Actor, Role
from services.pool.eligibility import (
    Category,
    ClinicalSubcategory,
    Degree,
    Eligibility,
    ExpertProfile,
    PostLevel,
    TitleLevel,
    check_eligibility,
)
from storage.models import Expert, Person
from storage.pool import ExpertChangeRequest, ExpertPeriod, ExpertTenure, Institution
from storage.types import hashed_match
from storage.uow import UnitOfWork

SEARCH_LIMIT = 10
STATES = frozenset({"applicant", "under_review", "public_notice", "active", "exited", "removed"})


@dataclass(frozen=True)
class ExpertSummary:
    """One line of a search result."""

    person_id: int
    name: str
    state: str
    categories: list[str]
    employer: str


@dataclass(frozen=True)
class ExpertCard:
    """What staff (or the expert) see of a record."""

    person_id: int
    name: str
    state: str
    org_unit_id: int
    id_number: str
    gender: str
    birth_date: date | None  # None for a viewer who sees masked ID numbers
    birth_year: int | None
    mobile: str
    email: str
    employer: str
    title: str
    categories: list[str]
    clinical_subcategories: list[str]
    specialty: str
    is_chief: bool
    term_start: date | None
    term_end: date | None
    notice_ends_on: date | None
    end_reason: str
    barred_until: date | None
    leave: list[tuple[date, date, str]] = field(default_factory=list)
    pending_changes: int = 0
    eligibility: Eligibility | None = None
    previous: list[tuple[date | None, date | None, str]] = field(default_factory=list)
    """Earlier times in the pool (first day of the term, the day it ended, how: exited or removed), oldest first."""
    extension_requested: bool = False
    extended_until: date | None = None


def _enum_or_none(kind: type[Any], value: str | None) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def profile_of(expert: Expert) -> ExpertProfile:
    """The eligibility rules' view of a stored record (unknown codes count as missing)."""
    return ExpertProfile(
        birth_date=expert.birth_date, work_start_date=expert.work_start_date,
        highest_degree=_enum_or_none(Degree, expert.highest_degree),
        title_level=_enum_or_none(TitleLevel, expert.title_level),
        post_level=_enum_or_none(PostLevel, expert.post_level),
        categories=tuple(c for c in (_enum_or_none(Category, v) for v in expert.categories) if c is not None),
        clinical_subcategories=tuple(
            c for c in (_enum_or_none(ClinicalSubcategory, v) for v in expert.clinical_subcategories) if c is not None
        ),
        major=expert.major or "", major_is_finance_audit=expert.major_is_finance_audit,
        title_is_finance_audit=expert.title_is_finance_audit, title_is_informatics=expert.title_is_informatics,
        has_cpa=expert.has_cpa, flight_inspection=expert.flight_inspection,
        is_insurance_staff=expert.is_insurance_staff, full_civil_capacity=expert.full_civil_capacity,
        criminal_record=expert.criminal_record, administrative_penalty=expert.administrative_penalty,
        insurance_violation=expert.insurance_violation, barred_until=expert.barred_until,
        extension_requested=expert.extension_requested,
    )


def sees_full_id_numbers(actor: Actor) -> bool:
    """Admins and the system see ID numbers in full; everyone else masked (the expert their own too)."""
    return actor.person_id is None or Role.ADMIN in actor.roles


async def _name_of(uow: UnitOfWork, institution_id: int | None) -> str:
    if institution_id is None:
        return ""
    institution = await uow.session.get(Institution, institution_id)
    return institution.name if institution is not None else ""


def _id_number_in(word: str, today: date) -> str | None:
    """The ID number ``word`` is in full (GB 11643, check character right), else None."""
    try:
        return validate_id_number(word, today=today).number
    except InvalidIdentifier:
        return None


async def _search_query(uow: UnitOfWork, actor: Actor, text: str, state: str | None) -> Any:
    if actor.staff_org_unit_id is None and actor.person_id is not None:
        raise PermissionDenied("only staff search experts")
    query = select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id)).outerjoin(
        Institution, col(Institution.id) == col(Expert.employer_id))
    if actor.staff_org_unit_id is not None:
        query = query.where(col(Expert.org_unit_id).in_(await subtree(uow, actor.staff_org_unit_id)))
    words = text.split()
    states = {w.lower() for w in words} & STATES
    if state or states:
        query = query.where(col(Expert.state).in_({state} if state else states))
    for word in (w for w in words if w.lower() not in STATES):
        number = _id_number_in(word, uow.today())
        if number is not None:  # a whole ID number: the expert holding it, through the keyed hash (issue 19)
            query = query.where(hashed_match(Expert.id_number_hmac, Expert.id_number, [number]))
            continue
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(
            col(Person.name).like(like, escape="\\"),
            col(Expert.specialty).like(like, escape="\\"),
            col(Expert.title).like(like, escape="\\"),
            col(Institution.name).like(like, escape="\\"),
            cast(col(Expert.categories), String).like(f'%"{word.lower()}"%'),
        ))
    return query


async def _summaries(uow: UnitOfWork, rows: Sequence[Any]) -> list[ExpertSummary]:
    return [ExpertSummary(expert.person_id, person.name, expert.state, list(expert.categories),
                          await _name_of(uow, expert.employer_id)) for expert, person in rows]


async def search_experts(
    uow: UnitOfWork, *, actor: Actor, text: str = "", state: str | None = None, limit: int = SEARCH_LIMIT
) -> Sequence[ExpertSummary]:
    """Experts of the actor's org subtree whose name, specialty, title, category or employer matches every word;
    a word naming a state (``active``, ``exited``...) filters by state instead, and a whole valid ID number finds
    the expert holding it (exact match through the keyed hash: the number is stored encrypted)."""
    query = await _search_query(uow, actor, text, state)
    rows = (await uow.session.exec(query.order_by(col(Person.name), col(Expert.person_id)).limit(limit))).all()
    return await _summaries(uow, rows)


@dataclass(frozen=True)
class SearchPage:
    """One page of a search: its experts, how many matched in all, and where the page is (0-based)."""

    items: list[ExpertSummary]
    total: int
    page: int
    pages: int


async def search_page(uow: UnitOfWork, *, actor: Actor, text: str = "", page: int = 0,
                      size: int = SEARCH_LIMIT) -> SearchPage:
    """Page ``page`` of :func:`search_experts`' matches (by name, then id), with the total count; a page past the
    end shows the last one."""
    query = await _search_query(uow, actor, text, None)
    total = (await uow.session.exec(select(func.count()).select_from(query.subquery()))).one()
    pages = max(1, -(-int(total) // size))
    page = min(max(page, 0), pages - 1)
    rows = (await uow.session.exec(
        query.order_by(col(Person.name), col(Expert.person_id)).offset(page * size).limit(size))).all()
    return SearchPage(await _summaries(uow, rows), int(total), page, pages)


async def card(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> ExpertCard:
    """The record as the actor may see it (staff of its org subtree, or the expert themself)."""
    if actor.person_id != expert_id:
        await require_scope_over_person(uow, actor, expert_id)
    expert = await uow.people.expert(expert_id)
    person = await uow.people.get(expert_id)
    if expert is None or person is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    full = sees_full_id_numbers(actor)
    today = uow.today()
    periods = (await uow.session.exec(
        select(ExpertPeriod).where(ExpertPeriod.expert_id == expert_id, col(ExpertPeriod.end_date) >= today,
                                   col(ExpertPeriod.cancelled_at).is_(None)).order_by(col(ExpertPeriod.start_date))
    )).all()
    pending = (await uow.session.exec(
        select(ExpertChangeRequest.id).where(ExpertChangeRequest.expert_id == expert_id,
                                             ExpertChangeRequest.status == "pending")
    )).all()
    return ExpertCard(
        person_id=expert_id, name=person.name, state=expert.state, org_unit_id=expert.org_unit_id,
        id_number=(expert.id_number or "") if full else mask_id_number(expert.id_number or ""),
        gender=expert.gender or "",
        # the birth date is what the masked ID number hides: plain staff see the year only (age rules need no more)
        birth_date=expert.birth_date if full or actor.person_id == expert_id else None,
        birth_year=expert.birth_date.year if expert.birth_date else None,
        mobile=(expert.mobile or "") if full or actor.person_id == expert_id else mask_phone(expert.mobile or ""),
        email=expert.email or "", employer=await _name_of(uow, expert.employer_id), title=expert.title or "",
        categories=list(expert.categories), clinical_subcategories=list(expert.clinical_subcategories),
        specialty=expert.specialty or "", is_chief=expert.is_chief, term_start=expert.term_start,
        term_end=expert.term_end, notice_ends_on=expert.notice_ends_on, end_reason=expert.end_reason or "",
        barred_until=expert.barred_until,
        leave=[(p.start_date, p.end_date, p.kind) for p in periods], pending_changes=len(pending),
        eligibility=check_eligibility(profile_of(expert), today) if actor.person_id != expert_id else None,
        previous=await _tenures(uow, expert_id), extension_requested=expert.extension_requested,
        extended_until=expert.extended_until,
    )


async def _tenures(uow: UnitOfWork, expert_id: int) -> list[tuple[date | None, date | None, str]]:
    """The record's earlier times in the pool, kept at re-admission (000 §10, ``lifecycle.readmit``)."""
    rows = (await uow.session.exec(select(ExpertTenure).where(ExpertTenure.expert_id == expert_id)
                                   .order_by(col(ExpertTenure.id)))).all()
    return [(row.term_start, row.ended_on, row.state) for row in rows]



@dataclass(frozen=True)
class DueItem:
    """An expert whose term review or public notice needs staff attention."""

    person_id: int
    name: str
    state: str
    due_on: date


async def due_for_review(uow: UnitOfWork, *, actor: Actor, within_days: int = 31) -> list[DueItem]:
    """Experts of the actor's org subtree whose term ends, or whose public notice ends, within ``within_days``."""
    if actor.staff_org_unit_id is None and actor.person_id is not None:
        raise PermissionDenied("only staff see who is due")
    horizon = uow.today() + timedelta(days=within_days)
    query = select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id)).where(or_(
        (col(Expert.state) == "active") & (col(Expert.term_end) <= horizon),
        (col(Expert.state) == "public_notice") & (col(Expert.notice_ends_on) <= horizon),
    ))
    if actor.staff_org_unit_id is not None:
        query = query.where(col(Expert.org_unit_id).in_(await subtree(uow, actor.staff_org_unit_id)))
    items = []
    for expert, person in (await uow.session.exec(query)).all():
        due = expert.term_end if expert.state == "active" else expert.notice_ends_on
        assert due is not None
        items.append(DueItem(expert.person_id, person.name, expert.state, due))
    return sorted(items, key=lambda item: (item.due_on, item.person_id))
