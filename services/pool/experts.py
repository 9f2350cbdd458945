"""Expert records as people use them: search, the card staff see, the profile an expert sees,
and the profile changes an expert asks for and staff approve (000 §13(五); history is kept).

Identity numbers are shown masked to everyone but admins; an expert sees their own masked too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, cast
from sqlmodel import col, or_, select

from services.institutions.institutions import get_institution
from services.people.orgs import require_scope_over_person, subtree
from services.platform import audit, notify
from services.platform.errors import (
    ChangeRequestNotFound,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PersonNotFound,
)
from services.platform.identifiers import InvalidIdentifier, mask_id_number, mask_phone, validate_mobile
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
from storage.pool import ExpertChangeRequest, ExpertEmployment, ExpertInterest, ExpertPeriod, Institution
from storage.uow import UnitOfWork

CHANGEABLE = ("mobile", "email", "employer", "title", "exit")
INTEREST_KINDS = ("interest", "dispute", "worked", "other")  # 000 §15(一)-(四)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
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
    birth_date: date | None
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


async def search_experts(
    uow: UnitOfWork, *, actor: Actor, text: str = "", state: str | None = None, limit: int = SEARCH_LIMIT
) -> Sequence[ExpertSummary]:
    """Experts of the actor's org subtree whose name, specialty, title, category or employer matches every word;
    a word naming a state (``active``, ``exited``...) filters by state instead."""
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
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(
            col(Person.name).like(like, escape="\\"),
            col(Expert.specialty).like(like, escape="\\"),
            col(Expert.title).like(like, escape="\\"),
            col(Institution.name).like(like, escape="\\"),
            cast(col(Expert.categories), String).like(f'%"{word.lower()}"%'),
        ))
    rows = (await uow.session.exec(query.order_by(col(Person.name)).limit(limit))).all()
    return [
        ExpertSummary(expert.person_id, person.name, expert.state, list(expert.categories),
                      await _name_of(uow, expert.employer_id))
        for expert, person in rows
    ]


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
        gender=expert.gender or "", birth_date=expert.birth_date,
        mobile=(expert.mobile or "") if full or actor.person_id == expert_id else mask_phone(expert.mobile or ""),
        email=expert.email or "", employer=await _name_of(uow, expert.employer_id), title=expert.title or "",
        categories=list(expert.categories), clinical_subcategories=list(expert.clinical_subcategories),
        specialty=expert.specialty or "", is_chief=expert.is_chief, term_start=expert.term_start,
        term_end=expert.term_end, notice_ends_on=expert.notice_ends_on, end_reason=expert.end_reason or "",
        barred_until=expert.barred_until,
        leave=[(p.start_date, p.end_date, p.kind) for p in periods], pending_changes=len(pending),
        eligibility=check_eligibility(profile_of(expert), today) if actor.person_id != expert_id else None,
    )


def _clean_change(field_name: str, raw: str) -> dict[str, Any]:
    value = raw.strip()
    if field_name == "mobile":
        try:
            return {"mobile": validate_mobile(value)}
        except InvalidIdentifier:
            raise InvalidInput("not a mainland mobile number", field="mobile") from None
    if field_name == "email":
        if not EMAIL.match(value):
            raise InvalidInput("not an e-mail address", field="email")
        return {"email": value}
    if field_name == "title":
        if not value or len(value) > 64:
            raise InvalidInput("title must be 1-64 characters", field="title")
        return {"title": value}
    if field_name == "exit":
        reason = " ".join(value.split())
        if not reason:
            raise InvalidInput("give a reason for leaving the pool", field="reason")
        return {"exit_reason": reason[:500]}
    if field_name == "employer":
        if not value.isdigit():
            raise InvalidInput("employer must be an institution id from the directory", field="employer")
        return {"employer_id": int(value)}
    raise InvalidInput(f"field must be one of {', '.join(CHANGEABLE)}", field="field")


async def request_change(uow: UnitOfWork, *, actor: Actor, field_name: str, value: str) -> ExpertChangeRequest:
    """The expert asks to change a profile field (000 §13(五)); the pool's staff are alerted."""
    if actor.person_id is None:
        raise PermissionDenied("only the expert asks for their own changes")
    expert = await uow.people.expert(actor.person_id)
    if expert is None:
        raise PermissionDenied("only experts have a pool profile")
    new_value = _clean_change(field_name, value)
    if "employer_id" in new_value:
        institution = await get_institution(uow, new_value["employer_id"])
        new_value["employer_name"] = institution.name
    old_value = {key: getattr(expert, key) for key in new_value if hasattr(expert, key)}
    now = uow.now()
    request = ExpertChangeRequest(expert_id=expert.person_id, field=field_name, old_value=old_value,
                                  new_value=new_value, requested_at=now)
    uow.session.add(request)
    await uow.session.flush()
    assert request.id is not None
    await audit.record(uow, at=now, actor=actor.label, action="expert.change_requested", object_type="person",
                       object_id=expert.person_id, details={"request_id": request.id, "field": field_name})
    person = await uow.people.get(expert.person_id)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="pool.change_requested_staff",
                             params={"name": person.name if person else "", "person_id": expert.person_id,
                                     "field_key": f"pool.field.{field_name}", "request_id": request.id})
    await uow.commit()
    return request


@dataclass(frozen=True)
class PendingChange:
    """A change request waiting for staff: the expert, the field, and the value before and after (shown as one
    text each: the employer's name, else the first value, else ``-``)."""

    request_id: int
    expert_id: int
    name: str
    field: str
    old: str
    new: str


def shown_value(values: dict[str, Any]) -> str:
    """A change request's stored value as one text."""
    shown = values.get("employer_name") or next(iter(values.values()), None)
    return str(shown) if shown not in (None, "") else "-"


async def pending_changes(uow: UnitOfWork, *, actor: Actor) -> Sequence[PendingChange]:
    """Pending change requests of the actor's org subtree, oldest first, with the expert's name."""
    if actor.staff_org_unit_id is None:
        raise PermissionDenied("only staff decide changes")
    units = await subtree(uow, actor.staff_org_unit_id)
    rows = (await uow.session.exec(
        select(ExpertChangeRequest, Person)
        .join(Expert, col(Expert.person_id) == col(ExpertChangeRequest.expert_id))
        .join(Person, col(Person.id) == col(Expert.person_id))
        .where(ExpertChangeRequest.status == "pending", col(Expert.org_unit_id).in_(units))
        .order_by(col(ExpertChangeRequest.id))
    )).all()
    return [PendingChange(request_id=request.id or 0, expert_id=request.expert_id, name=person.name,
                          field=request.field, old=shown_value(request.old_value), new=shown_value(request.new_value))
            for request, person in rows]


async def decide_change(
    uow: UnitOfWork,
    *,
    actor: Actor,
    request_id: int,
    approve: bool,
    note: str = "",
    shown_in: notify.MessageRef | None = None,
    language: str | None = None,
) -> ExpertChangeRequest:
    """Staff approve (the record changes) or reject a change request; the expert is told.

    With ``shown_in`` (the message carrying the decision buttons) that message is replaced by the decision.
    """
    request = await uow.session.get(ExpertChangeRequest, request_id)
    if request is None:
        raise ChangeRequestNotFound(str(request_id))
    await require_scope_over_person(uow, actor, request.expert_id)
    if request.status != "pending":
        raise InvalidTransition("already decided", action_key="pool.action.decide",
                                state_key=f"pool.change_status.{request.status}")
    expert = await uow.people.expert(request.expert_id)
    assert expert is not None
    now = uow.now()
    if approve and request.field == "exit":  # 000 §21: leaving at one's own request, once the bureau confirms
        if expert.state not in ("active", "public_notice", "under_review", "applicant"):
            raise InvalidTransition("not in the pool", action_key="lifecycle.action.exit",
                                    state_key=f"lifecycle.state.{expert.state}")
        expert.state = "exited"
        expert.ended_on = uow.today()
        expert.end_reason = f"voluntary: {request.new_value.get('exit_reason', '')}"[:500]
        expert.updated_at = now
        uow.session.add(expert)
    elif approve:
        for key, value in request.new_value.items():
            if hasattr(expert, key):
                setattr(expert, key, value)
        if "employer_id" in request.new_value:
            await _move_employment(uow, expert, request.new_value)
        expert.updated_at = now
        uow.session.add(expert)
    request.status = "approved" if approve else "rejected"
    request.decided_at, request.decided_by = now, actor.label
    request.decision_note = note.strip()[:500] or None
    uow.session.add(request)
    await audit.record(uow, at=now, actor=actor.label, action=f"expert.change_{request.status}", object_type="person",
                       object_id=request.expert_id, details={"request_id": request.id, "field": request.field})
    await notify.to_person(uow, person_id=request.expert_id, key=f"pool.change_{request.status}",
                           params={"field_key": f"pool.field.{request.field}", "note": request.decision_note or "-"})
    if shown_in is not None:
        await notify.edit(uow, channel=shown_in.channel, address=shown_in.address,
                          external_message_id=shown_in.message_id, key="pool.change_decided", language=language,
                          params={"request_id": request.id, "decision_key": f"pool.decision.{request.status}"})
    await uow.commit()
    return request


async def _move_employment(uow: UnitOfWork, expert: Expert, new_value: dict[str, Any]) -> None:
    """Close the open work-history period and open one at the new employer (000 §15(一) reads it)."""
    today = uow.today()
    open_periods = (await uow.session.exec(
        select(ExpertEmployment).where(ExpertEmployment.expert_id == expert.person_id,
                                       col(ExpertEmployment.end_date).is_(None))
    )).all()
    for period in open_periods:
        period.end_date = today
        uow.session.add(period)
    uow.session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=new_value["employer_id"],
                                     institution_name=str(new_value.get("employer_name", "")), start_date=today))


async def declare_interest(
    uow: UnitOfWork, *, actor: Actor, institution_id: int, kind: str, note: str = ""
) -> ExpertInterest:
    """The expert declares an interest or dispute with an institution (000 §15): future draws recuse them."""
    if actor.person_id is None or await uow.people.expert(actor.person_id) is None:
        raise PermissionDenied("only experts declare interests")
    if kind not in INTEREST_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(INTEREST_KINDS)}", field="kind")
    institution = await get_institution(uow, institution_id)
    now = uow.now()
    interest = ExpertInterest(expert_id=actor.person_id, institution_id=institution_id, kind=kind,
                              note=" ".join(note.split())[:500], declared_on=uow.today(), declared_at=now)
    uow.session.add(interest)
    await uow.session.flush()
    await audit.record(uow, at=now, actor=actor.label, action="expert.interest_declared", object_type="person",
                       object_id=actor.person_id,
                       details={"interest_id": interest.id, "institution_id": institution.id, "kind": kind})
    await uow.commit()
    return interest


async def withdraw_interest(uow: UnitOfWork, *, actor: Actor, interest_id: int) -> ExpertInterest:
    """The expert withdraws one of their own declarations (it stays in the history)."""
    interest = await uow.session.get(ExpertInterest, interest_id)
    if interest is None or interest.expert_id != actor.person_id:
        raise NotFound(str(interest_id))
    if interest.withdrawn_at is not None:
        raise InvalidTransition("already withdrawn", action_key="pool.action.withdraw",
                                state_key="pool.interest_withdrawn")
    interest.withdrawn_at = uow.now()
    uow.session.add(interest)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.interest_withdrawn",
                       object_type="person", object_id=interest.expert_id, details={"interest_id": interest.id})
    await uow.commit()
    return interest


@dataclass(frozen=True)
class DeclaredInterest:
    """One current declaration of interest, with the institution's name."""

    id: int
    institution: str
    kind: str
    declared_on: date


async def interests(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Sequence[DeclaredInterest]:
    """An expert's current declarations with the institutions' names (the expert, or staff in scope)."""
    if actor.person_id != expert_id:
        await require_scope_over_person(uow, actor, expert_id)
    rows = (await uow.session.exec(
        select(ExpertInterest, Institution).join(Institution, col(Institution.id) == col(ExpertInterest.institution_id))
        .where(ExpertInterest.expert_id == expert_id, col(ExpertInterest.withdrawn_at).is_(None))
        .order_by(col(ExpertInterest.id))
    )).all()
    return [DeclaredInterest(id=interest.id or 0, institution=institution.name, kind=interest.kind,
                             declared_on=interest.declared_on) for interest, institution in rows]


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
