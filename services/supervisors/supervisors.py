"""The social supervisor registry (002 §3–§8): appointment records with a validated ID number (masked when shown),
source (002 §4), appointment method (002 §6), certificate and work-ID numbers, division, a 3-year term (002 §7),
status, and termination with a ground of 002 §8. A daily sweep reminds the division before a term ends and ends
expired terms (002 §8(六): 聘用期满未续聘). Binding to Telegram is by invite (``services.people.accounts``).

The pseudonym a supervisor's leads carry is never part of the registry's views or exports, so the registry cannot
be used to link a lead to its reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlmodel import col, select

from services.people.orgs import TERM_YEARS, add_years, get_unit, require_scope_over_units
from services.platform import audit, notify
from services.platform.errors import InvalidInput, PermissionDenied, PersonNotFound
from services.platform.identifiers import InvalidIdentifier, mask_id_number, validate_id_number, validate_mobile
from services.platform.roles import SCHEDULER, Actor, Role
from storage.models import SEALED_NAME, OrgUnit, Person, Supervisor
from storage.types import hashed_match
from storage.uow import UnitOfWork, UnitOfWorkFactory

TERM_NOTICE_DAYS = 30


class Source(StrEnum):
    """Where a supervisor comes from (002 §4)."""

    DEPUTY = "deputy"  # 人大代表
    CPPCC = "cppcc"  # 政协委员
    MEDIA = "media"  # 媒体代表
    INSTITUTION = "institution"  # 定点医药机构代表
    EXPERT = "expert"  # 专家学者
    INSURED = "insured"  # 参保群众
    OTHER = "other"  # 其他热心人士


class AppointmentMethod(StrEnum):
    """How a supervisor was appointed (002 §6)."""

    OPEN_SELECTION = "open_selection"  # 公开选聘
    SPECIAL_INVITATION = "special_invitation"  # 特邀聘任
    SELF_RECOMMENDATION = "self_recommendation"  # 个人自荐
    UNIT_RECOMMENDATION = "unit_recommendation"  # 单位推荐


class EndReason(StrEnum):
    """Grounds to terminate an appointment (002 §8(一)–(七))."""

    DUTY_BREACH = "duty_breach"  # (一) 不履行职责，情节严重
    PENALTY = "penalty"  # (二) 刑事处罚、行政处分、严重失信
    FALSE_INFORMATION = "false_information"  # (三) 个人信息与事实不符
    UNABLE = "unable"  # (四) 因个人原因无法胜任
    RESIGNED = "resigned"  # (五) 本人申请解除
    TERM_EXPIRED = "term_expired"  # (六) 聘用期满未续聘
    OTHER = "other"  # (七) 其他原因


ARTICLE = {reason: f"002 §8({n})" for n, reason in zip("一二三四五六七", EndReason, strict=True)}


@dataclass
class SupervisorInput:
    """One supervisor's record as entered or imported."""

    name: str
    id_number: str
    org: str
    source: str = Source.OTHER
    appointment_method: str = AppointmentMethod.OPEN_SELECTION
    certificate_number: str | None = None
    work_id_number: str | None = None
    mobile: str | None = None
    term_start: date | None = None


@dataclass(frozen=True)
class SupervisorView:
    """A registry row for display; the ID number masked unless the viewer may see it in full."""

    person_id: int
    name: str
    id_number: str
    mobile: str
    org_code: str
    source: str
    appointment_method: str
    certificate_number: str
    work_id_number: str
    term_start: date | None
    term_end: date | None
    status: str
    end_reason: str


def name_of(row: Supervisor, person: Person) -> str:
    """A supervisor's name: kept encrypted in ``supervisor.name`` (issue 19; 003 三(四)); a row from before that
    reads the person's."""
    return row.name or person.name


def may_end(actor: Actor, view: SupervisorView) -> bool:
    """Whether ``actor`` may end this appointment (002 §8): an admin, while the appointment is active."""
    return actor.has_any(frozenset({Role.ADMIN})) and view.status == "active"


def clean(data: SupervisorInput, *, today: date) -> SupervisorInput:
    """Validate a record (refusals are InvalidInput naming the field)."""
    data.name = data.name.strip()
    if not data.name or len(data.name) > 100:
        raise InvalidInput("name must be 1-100 characters", field="name")
    try:
        data.id_number = validate_id_number(data.id_number, today=today).number
    except InvalidIdentifier as error:
        raise InvalidInput(f"ID number: {error}", field="id_number") from None
    if data.source not in {s.value for s in Source}:
        raise InvalidInput(f"source must be one of {', '.join(Source)}", field="source")
    if data.appointment_method not in {m.value for m in AppointmentMethod}:
        raise InvalidInput(f"appointment method must be one of {', '.join(AppointmentMethod)}", field="method")
    if data.mobile:
        try:
            data.mobile = validate_mobile(data.mobile)
        except InvalidIdentifier as error:
            raise InvalidInput(str(error), field="mobile") from None
    for name in ("certificate_number", "work_id_number"):
        value = (getattr(data, name) or "").strip()
        if len(value) > 32:
            raise InvalidInput(f"{name} must be at most 32 characters", field=name)
        setattr(data, name, value or None)
    return data


async def save_supervisor(uow: UnitOfWork, *, actor: Actor, data: SupervisorInput,
                          commit: bool = True) -> tuple[int, bool]:
    """Appoint a supervisor, or update the record with the same ID number; (person id, created)."""
    clean(data, today=uow.today())
    unit = await get_unit(uow, data.org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    existing = (await uow.session.exec(select(Supervisor).where(
        hashed_match(Supervisor.id_number_hmac, Supervisor.id_number, [data.id_number])))).first()
    now, start = uow.now(), data.term_start or uow.today()
    created = existing is None
    if existing is None:  # the name kept encrypted in the supervisor row (issue 19), the person row sealed
        person = await uow.people.add(Person(name=SEALED_NAME, created_at=now))
        assert person.id is not None
        row = Supervisor(person_id=person.id, org_unit_id=unit.id, created_at=now)
    else:
        row = existing
    row.name = data.name
    row.org_unit_id, row.id_number, row.mobile = unit.id, data.id_number, data.mobile
    row.source, row.appointment_method = data.source, data.appointment_method
    row.certificate_number, row.work_id_number = data.certificate_number, data.work_id_number
    if created or data.term_start is not None:
        row.term_start, row.term_end = start, add_years(start, TERM_YEARS)
    uow.session.add(row)
    await uow.session.flush()
    await audit.record(uow, at=now, actor=actor.label, action="supervisor.created" if created else "supervisor.updated",
                       object_type="person", object_id=row.person_id,
                       details={"org_unit_id": unit.id, "source": row.source, "method": row.appointment_method,
                                "term_end": row.term_end.isoformat() if row.term_end else None})
    if commit:
        await uow.commit()
    return row.person_id, created


@dataclass(frozen=True)
class Ended:
    """A supervisor's appointment after it ended (002 §8)."""

    person_id: int
    status: str
    end_reason: str


async def terminate(uow: UnitOfWork, *, actor: Actor, person_id: int, reason: str, note: str = "") -> Ended:
    """End an appointment on a ground of 002 §8. Commits."""
    row = await uow.people.supervisor(person_id)
    if row is None:
        raise PersonNotFound(str(person_id), person_id=person_id)
    await require_scope_over_units(uow, actor, {row.org_unit_id})
    if reason not in {r.value for r in EndReason}:
        raise InvalidInput(f"reason must be one of {', '.join(EndReason)} (002 §8)", field="reason")
    if row.status != "active":
        raise InvalidInput("the appointment has already ended", field="status")
    row.status, row.ended_on, row.end_reason, row.end_note = "ended", uow.today(), reason, note.strip()[:500] or None
    uow.session.add(row)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="supervisor.terminated", object_type="person",
                       object_id=person_id, details={"reason": reason, "article": ARTICLE[EndReason(reason)],
                                                     "note": row.end_note})
    await uow.commit()
    return Ended(person_id=person_id, status=row.status, end_reason=reason)


async def list_supervisors(uow: UnitOfWork, *, actor: Actor, org: str | None = None) -> Sequence[SupervisorView]:
    """The registry of the caller's line (or ``org``'s subtree); ID numbers in full for admins and the CLI only."""
    from services.people.orgs import subtree

    root = (await get_unit(uow, org)).id if org else actor.staff_org_unit_id
    query = select(Supervisor, Person, OrgUnit).where(Supervisor.person_id == Person.id,
                                                      Supervisor.org_unit_id == OrgUnit.id)
    if root is not None:
        await require_scope_over_units(uow, actor, {root})
        query = query.where(col(Supervisor.org_unit_id).in_(await subtree(uow, root)))
    full = actor.person_id is None or actor.has_any(frozenset({Role.ADMIN}))
    rows = (await uow.session.exec(query.order_by(col(Supervisor.person_id)))).all()
    return [SupervisorView(
        s.person_id, name_of(s, p), (s.id_number if full else mask_id_number(s.id_number)) if s.id_number else "",
        s.mobile or "", u.code, s.source, s.appointment_method, s.certificate_number or "", s.work_id_number or "",
        s.term_start, s.term_end, s.status, s.end_reason or "") for s, p, u in rows]


async def term_sweep(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """Remind the division a month before a term ends (once per term end); end terms that have expired (002 §7,
    §8(六)). Idempotent."""
    counts = {"reminded": 0, "ended": 0}
    async with uow_factory() as uow:
        today = uow.today()
        query = select(Supervisor, Person).where(Supervisor.person_id == Person.id, Supervisor.status == "active",
                                                 col(Supervisor.term_end) <= today + timedelta(days=TERM_NOTICE_DAYS))
        for row, person in (await uow.session.exec(query)).all():
            assert row.term_end is not None
            if row.term_end < today:
                row.status, row.ended_on, row.end_reason = "ended", today, EndReason.TERM_EXPIRED.value
                uow.session.add(row)
                await audit.record(uow, at=uow.now(), actor=SCHEDULER.label, action="supervisor.terminated",
                                   object_type="person", object_id=row.person_id,
                                   details={"reason": EndReason.TERM_EXPIRED.value, "article": "002 §8(六)"})
                await notify.to_org_unit(uow, org_unit_id=row.org_unit_id, key="supervisor.term_ended",
                                         params={"name": name_of(row, person), "id": row.person_id})
                counts["ended"] += 1
            elif row.term_notice_for != row.term_end:
                row.term_notice_for = row.term_end
                uow.session.add(row)
                await notify.to_org_unit(uow, org_unit_id=row.org_unit_id, key="supervisor.term_ending",
                                         params={"name": name_of(row, person), "id": row.person_id,
                                                 "term_end": row.term_end.isoformat()})
                counts["reminded"] += 1
        await uow.commit()
    return counts


# --- the registry as staff browse it in a front end (002 §3: each division's bureau keeps its own registry) -------

LIST_LIMIT = 30  # rows a front end shows at once; the rest are counted, to be narrowed with words


@dataclass(frozen=True)
class RegistryPage:
    """A cut of the registry: the rows shown, how many matched in all, and the division it was narrowed to."""

    items: Sequence[SupervisorView]
    total: int
    org_code: str | None


def matches(view: SupervisorView, words: Sequence[str]) -> bool:
    """Whether every word occurs (case-insensitively) in the row's name, division, source (002 §4), appointment
    method (002 §6), certificate or work-ID number, state or end reason. Pure."""
    haystack = " ".join((view.name, view.org_code, view.source, view.appointment_method, view.certificate_number,
                         view.work_id_number, view.status, view.end_reason)).lower()
    return all(word.lower() in haystack for word in words)


async def search_supervisors(uow: UnitOfWork, *, actor: Actor, words: Sequence[str] = (),
                             limit: int = LIST_LIMIT) -> RegistryPage:
    """The registry of the caller's line matching every word, cut to ``limit`` rows (002 §3). A first word that
    is an org unit's code narrows to that unit's subtree, refused outside the caller's line."""
    if actor.person_id is not None and (actor.staff_org_unit_id is None
                                        or not actor.has_any(frozenset({Role.STAFF, Role.ADMIN}))):
        raise PermissionDenied("only staff browse the supervisor registry")
    rest = [word for word in words if word.strip()]
    org = None
    if rest and await uow.org_units.by_code(rest[0].strip().lower()) is not None:
        org, rest = rest[0].strip().lower(), rest[1:]
    found = [view for view in await list_supervisors(uow, actor=actor, org=org) if matches(view, rest)]
    return RegistryPage(found[:limit], len(found), org)


async def get_supervisor(uow: UnitOfWork, *, actor: Actor, person_id: int) -> SupervisorView:
    """One registry row, for staff whose line covers the supervisor's division (002 §3); the ID number in full for
    admins and the CLI only, as in :func:`list_supervisors`."""
    row = await uow.people.supervisor(person_id)
    person = await uow.people.get(person_id)
    if row is None or person is None:
        raise PersonNotFound(str(person_id), person_id=person_id)
    await require_scope_over_units(uow, actor, {row.org_unit_id})
    unit = await uow.org_units.get(row.org_unit_id)
    full = actor.person_id is None or actor.has_any(frozenset({Role.ADMIN}))
    id_number = (row.id_number if full else mask_id_number(row.id_number)) if row.id_number else ""
    return SupervisorView(
        row.person_id, name_of(row, person), id_number, row.mobile or "", unit.code if unit else "", row.source,
        row.appointment_method, row.certificate_number or "", row.work_id_number or "", row.term_start, row.term_end,
        row.status, row.end_reason or "")
