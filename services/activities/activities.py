"""Activities (专家使用活动): what experts are drawn for, its composition and the recusals staff require.

An activity belongs to its organizer's org unit; staff of that unit or any unit above it see and manage it
(000 §25 traceability, secrecy of the draw: the issue's "organizer staff and admins only"). Times are stored in
UTC; the draw reasons in calendar days of the bureau's time zone, both ends inclusive
(``services.activities.draw_rules``).

Rules checked when an activity is created or its composition changes:

- the kind is one of :class:`services.activities.draw_rules.ActivityKind`; double blind only for project reviews (001
§14);
- it starts after now, ends after it starts, and invitations are due after now and no later than the start
  (000 §19: experts are told before the activity);
- each requirement names a category (000 §7), a clinical sub-category only with the clinical category
  (000 §7(二)), at most :data:`MAX_TAGS` specialty tags, a count of principals and backups (000 §17, annex 3);
- principals in total are an odd number ≥3 (000 §18(一)) unless the organizer waives it with a reason, which is
  recorded (a single adviser, a consultation that is not a group);
- the inspected institutions exist in the directory (recusal reads them: 000 §15, 001 §17).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from services.activities.draw_rules import MIN_GROUP, ActivityKind, Requirement
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import (
    ActivityInvalid,
    ActivityNotFound,
    InstitutionNotFound,
    NotFound,
    PermissionDenied,
    PersonNotFound,
)
from services.platform.roles import Actor
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.activities import Activity, ActivityInstitution, ActivityMember, ActivityRecusal, ActivityRequirement
from storage.models import Expert, OrgUnit, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

MAX_REQUIREMENTS = 10
MAX_COUNT = 25
MAX_BACKUPS = 20
MAX_TAGS = 5
MAX_TAG_LENGTH = 30
MAX_INSTITUTIONS = 20


@dataclass(frozen=True)
class RequirementInput:
    """One line of the composition as entered."""

    category: str
    count: int
    backups: int = 0
    subcategory: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivityInput:
    """An activity as entered by staff (bot flow or CLI)."""

    org: str | int
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    response_deadline: datetime
    requirements: tuple[RequirementInput, ...]
    institution_ids: tuple[int, ...] = ()
    place: str = ""
    double_blind: bool = False
    allow_even_group: bool = False
    even_group_reason: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class ActivityView:
    """An activity with what it concerns, for a card or the draw."""

    activity: Activity
    organizer: OrgUnit
    institutions: tuple[Institution, ...]
    requirements: tuple[ActivityRequirement, ...]
    recusals: tuple[ActivityRecusal, ...] = ()
    members: tuple[tuple[ActivityMember, str], ...] = field(default=())

    @property
    def principals(self) -> int:
        """How many principals the composition asks for."""
        return sum(r.count for r in self.requirements)


def _invalid(reason: str, **params: object) -> ActivityInvalid:
    return ActivityInvalid(reason, reason_key=f"activity.invalid.{reason}", **params)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day of ``moment`` in the bureau's time zone."""
    return moment.astimezone(zone).date()


def requirement_key(requirement: ActivityRequirement) -> str:
    """The draw's key for a requirement row (stable across relaxations: the row id)."""
    return f"r{requirement.id}"


def as_rule(requirement: ActivityRequirement, *, count: int | None = None, backups: int | None = None) -> Requirement:
    """The pure-rule form of a requirement row (optionally with other counts, for a top-up)."""
    return Requirement(
        key=requirement_key(requirement),
        category=Category(requirement.category),
        count=requirement.count if count is None else count,
        backups=requirement.backups if backups is None else backups,
        subcategory=None if requirement.subcategory is None else ClinicalSubcategory(requirement.subcategory),
        tags=frozenset(requirement.tags),
    )


def clean_kind(raw: str) -> ActivityKind:
    """The kind of activity named ``raw`` (:class:`services.activities.draw_rules.ActivityKind`)."""
    try:
        return ActivityKind(raw)
    except ValueError:
        raise _invalid("kind", value=raw) from None


def clean_requirement(raw: RequirementInput) -> RequirementInput:
    """Check one composition line (000 §7, §17, annex 3) and normalise it."""
    try:
        category = Category(raw.category.strip().lower())
    except ValueError:
        raise _invalid("category", value=raw.category) from None
    subcategory = None
    if raw.subcategory:
        if category != Category.CLINICAL:
            raise _invalid("subcategory_not_clinical")
        try:
            subcategory = ClinicalSubcategory(raw.subcategory.strip().lower()).value
        except ValueError:
            raise _invalid("subcategory", value=raw.subcategory) from None
    if not 0 <= raw.count <= MAX_COUNT:
        raise _invalid("count", max=MAX_COUNT)
    if not 0 <= raw.backups <= MAX_BACKUPS:
        raise _invalid("backups", max=MAX_BACKUPS)
    if raw.count + raw.backups == 0:
        raise _invalid("count", max=MAX_COUNT)
    tags = tuple(dict.fromkeys(t.strip() for t in raw.tags if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise _invalid("tags", max=MAX_TAGS, length=MAX_TAG_LENGTH)
    return RequirementInput(category.value, raw.count, raw.backups, subcategory, tags)


def check_group_size(total: int, *, allow_even_group: bool, reason: str | None) -> None:
    """000 §18(一): an odd number of principals, at least three, unless waived with a recorded reason."""
    if total < 1:
        raise _invalid("no_principals")
    if allow_even_group:
        if not (reason or "").strip():
            raise _invalid("even_group_reason")
        return
    if total < MIN_GROUP or total % 2 == 0:
        raise _invalid("group_size", total=total, min=MIN_GROUP)


def clean_composition(requirements: Sequence[RequirementInput], *, allow_even_group: bool,
                      reason: str | None) -> list[RequirementInput]:
    """Check and normalise a whole composition: 1 to :data:`MAX_REQUIREMENTS` lines, each by
    :func:`clean_requirement`, and the group size over all of them (:func:`check_group_size`)."""
    if not requirements or len(requirements) > MAX_REQUIREMENTS:
        raise _invalid("requirements", max=MAX_REQUIREMENTS)
    lines = [clean_requirement(r) for r in requirements]
    check_group_size(sum(r.count for r in lines), allow_even_group=allow_even_group, reason=reason)
    return lines


def add_requirements(uow: UnitOfWork, *, activity_id: int, lines: Sequence[RequirementInput]) -> None:
    """Add the composition rows of a new activity, in order (positions from 1)."""
    for position, line in enumerate(lines, start=1):
        uow.session.add(ActivityRequirement(
            activity_id=activity_id, position=position, category=line.category, subcategory=line.subcategory,
            tags=list(line.tags), count=line.count, backups=line.backups))


def check_times(*, starts_at: datetime, ends_at: datetime, response_deadline: datetime, now: datetime) -> None:
    """000 §19: an activity starts after now, ends after it starts, and invitations are due after now and no
    later than the start. Times must be timezone-aware (``ValueError`` otherwise)."""
    for moment in (starts_at, ends_at, response_deadline):
        if moment.tzinfo is None:
            raise ValueError("activity times must be timezone-aware")
    check_time_answer("starts", starts_at, starts_at=None, now=now)
    check_time_answer("ends", ends_at, starts_at=starts_at, now=now)
    check_time_answer("deadline", response_deadline, starts_at=starts_at, now=now)


def check_time_answer(which: str, moment: datetime, *, starts_at: datetime | None, now: datetime) -> None:
    """000 §19 for one time of :func:`check_times` (``starts``, ``ends`` or ``deadline``), as far as the start is
    known (a dialog asks the three in turn): the start after now, the end not before the start, the response
    deadline after now and no later than the start."""
    if which == "starts" and moment <= now:
        raise _invalid("starts_in_past")
    if which == "ends" and starts_at is not None and moment < starts_at:
        raise _invalid("ends_before_start")
    if which == "deadline" and (moment <= now or (starts_at is not None and moment > starts_at)):
        raise _invalid("deadline")


async def _institutions(uow: UnitOfWork, ids: Sequence[int]) -> list[Institution]:
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_INSTITUTIONS:
        raise _invalid("too_many_institutions", max=MAX_INSTITUTIONS)
    found = {i.id: i for i in (await uow.session.exec(select(Institution).where(col(Institution.id).in_(unique))))}
    for institution_id in unique:
        if institution_id not in found:
            raise InstitutionNotFound(str(institution_id), institution_id=institution_id)
    return [found[i] for i in unique]


async def create_activity(uow: UnitOfWork, *, actor: Actor, data: ActivityInput) -> Activity:
    """Create an activity with its composition and inspected institutions (see the module's rules)."""
    if actor.person_id is None:
        raise PermissionDenied("an activity is created by a staff member")
    unit = await get_unit(uow, data.org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    kind = clean_kind(data.kind)
    title = " ".join(data.title.split())
    if not 1 <= len(title) <= 200:
        raise _invalid("title")
    if len(data.place) > 200 or len(data.notes) > 2000:
        raise _invalid("too_long")
    if data.double_blind and kind != ActivityKind.PROJECT_REVIEW:
        raise _invalid("double_blind")
    now = uow.now()
    check_times(starts_at=data.starts_at, ends_at=data.ends_at, response_deadline=data.response_deadline,
                now=now)
    lines = clean_composition(data.requirements, allow_even_group=data.allow_even_group,
                              reason=data.even_group_reason)
    institutions = await _institutions(uow, data.institution_ids)
    activity = Activity(
        org_unit_id=unit.id, kind=kind.value, title=title, place=data.place.strip(), starts_at=data.starts_at,
        ends_at=data.ends_at, response_deadline=data.response_deadline, double_blind=data.double_blind,
        allow_even_group=data.allow_even_group,
        even_group_reason=(data.even_group_reason or "").strip() or None if data.allow_even_group else None,
        notes=data.notes.strip(), created_by=actor.person_id, created_at=now, updated_at=now,
    )
    uow.session.add(activity)
    await uow.session.flush()
    assert activity.id is not None
    for institution in institutions:
        assert institution.id is not None
        uow.session.add(ActivityInstitution(activity_id=activity.id, institution_id=institution.id))
    add_requirements(uow, activity_id=activity.id, lines=lines)
    await audit.record(
        uow, at=now, actor=actor.label, action="activity.created", object_type="activity", object_id=activity.id,
        details={"org_unit_id": unit.id, "kind": kind.value, "title": title, "starts_at": data.starts_at.isoformat(),
                 "ends_at": data.ends_at.isoformat(), "institutions": [i.id for i in institutions],
                 "requirements": [line.__dict__ for line in lines], "double_blind": data.double_blind,
                 "allow_even_group": data.allow_even_group, "even_group_reason": data.even_group_reason},
    )
    await uow.commit()
    return activity


async def _visible(uow: UnitOfWork, actor: Actor, activity_id: int) -> Activity:
    activity = await uow.session.get(Activity, activity_id)
    if activity is None:
        raise ActivityNotFound(str(activity_id), activity_id=activity_id)
    if actor.person_id is not None and (actor.staff_org_unit_id is None or activity.org_unit_id
                                        not in await subtree(uow, actor.staff_org_unit_id)):
        # Secrecy of the draw: outside the organizer's line the activity does not exist.
        raise ActivityNotFound(str(activity_id), activity_id=activity_id)
    return activity


async def requirements_of(uow: UnitOfWork, activity_id: int) -> list[ActivityRequirement]:
    """The composition, in order."""
    rows = await uow.session.exec(select(ActivityRequirement).where(ActivityRequirement.activity_id == activity_id)
                                  .order_by(col(ActivityRequirement.position)))
    return list(rows)


async def inspected_of(uow: UnitOfWork, activity_id: int) -> list[Institution]:
    """The institutions the activity concerns."""
    rows = await uow.session.exec(
        select(Institution).join(ActivityInstitution, col(ActivityInstitution.institution_id) == Institution.id)
        .where(ActivityInstitution.activity_id == activity_id).order_by(col(Institution.id)))
    return list(rows)


async def recusals_of(uow: UnitOfWork, activity_id: int) -> list[ActivityRecusal]:
    """The recusals staff required for the activity."""
    rows = await uow.session.exec(select(ActivityRecusal).where(ActivityRecusal.activity_id == activity_id)
                                  .order_by(col(ActivityRecusal.id)))
    return list(rows)


async def members_of(uow: UnitOfWork, activity_id: int) -> list[tuple[ActivityMember, str]]:
    """The roster with names, by requirement, role and order."""
    rows = await uow.session.exec(
        select(ActivityMember, Person.name).join(Person, col(Person.id) == ActivityMember.person_id)
        .join(ActivityRequirement, col(ActivityRequirement.id) == ActivityMember.requirement_id)
        .where(ActivityMember.activity_id == activity_id)
        .order_by(col(ActivityRequirement.position), col(ActivityMember.role).desc(), col(ActivityMember.position)))
    return [(member, name) for member, name in rows]


async def view(uow: UnitOfWork, *, actor: Actor, activity_id: int, with_members: bool = False) -> ActivityView:
    """The activity for someone allowed to see it (organizer's line of staff)."""
    activity = await _visible(uow, actor, activity_id)
    organizer = await get_unit(uow, activity.org_unit_id)
    return ActivityView(
        activity=activity,
        organizer=organizer,
        institutions=tuple(await inspected_of(uow, activity_id)),
        requirements=tuple(await requirements_of(uow, activity_id)),
        recusals=tuple(await recusals_of(uow, activity_id)),
        members=tuple(await members_of(uow, activity_id)) if with_members else (),
    )


@dataclass(frozen=True)
class CompositionLine:
    """One line of an activity's composition, as shown."""

    category: str
    subcategory: str | None
    tags: tuple[str, ...]
    count: int
    backups: int


@dataclass(frozen=True)
class ActivityCard:
    """An activity as its card shows it: plain values, times in UTC."""

    id: int
    kind: str
    title: str
    status: str
    organizer: str
    place: str
    starts_at: datetime
    ends_at: datetime
    response_deadline: datetime
    institutions: tuple[str, ...]
    lines: tuple[CompositionLine, ...]
    principals: int
    double_blind: bool
    allow_even_group: bool
    even_group_reason: str | None


def card_of(shown: ActivityView) -> ActivityCard:
    """The card of a viewed activity."""
    a = shown.activity
    assert a.id is not None
    return ActivityCard(
        id=a.id, kind=a.kind, title=a.title, status=a.status,
        organizer=f"{shown.organizer.name}（{shown.organizer.code}）",
        place=a.place or "", starts_at=a.starts_at, ends_at=a.ends_at, response_deadline=a.response_deadline,
        institutions=tuple(i.name for i in shown.institutions),
        lines=tuple(CompositionLine(r.category, r.subcategory, tuple(r.tags), r.count, r.backups)
                    for r in shown.requirements),
        principals=shown.principals, double_blind=a.double_blind, allow_even_group=a.allow_even_group,
        even_group_reason=a.even_group_reason)


@dataclass(frozen=True)
class ActivitySummary:
    """One activity of a list."""

    id: int
    kind: str
    title: str
    status: str
    starts_at: datetime


async def summaries(uow: UnitOfWork, *, actor: Actor) -> list[ActivitySummary]:
    """:func:`list_activities` as plain values."""
    return [ActivitySummary(a.id, a.kind, a.title, a.status, a.starts_at)
            for a in await list_activities(uow, actor=actor) if a.id is not None]


async def list_activities(uow: UnitOfWork, *, actor: Actor, include_past: bool = False,
                          limit: int = 20) -> list[Activity]:
    """Activities of the actor's org subtree, soonest first (ongoing and upcoming unless ``include_past``)."""
    if actor.staff_org_unit_id is None:
        return []
    units = await subtree(uow, actor.staff_org_unit_id)
    query = select(Activity).where(col(Activity.org_unit_id).in_(units))
    if not include_past:
        query = query.where(col(Activity.ends_at) >= uow.now())
    rows = await uow.session.exec(query.order_by(col(Activity.starts_at), col(Activity.id)).limit(limit))
    return list(rows)


async def require_recusal(uow: UnitOfWork, *, actor: Actor, activity_id: int, expert_id: int,
                          reason: str) -> ActivityRecusal:
    """Staff require an expert to recuse from this activity (000 §15 last paragraph, 001 §17 last paragraph).
    The next draw excludes them; if already on the roster, the confirmation loop replaces them."""
    await _visible(uow, actor, activity_id)
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= 500:
        raise _invalid("reason")
    if await uow.session.get(Expert, expert_id) is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    existing = (await uow.session.exec(select(ActivityRecusal).where(
        ActivityRecusal.activity_id == activity_id, ActivityRecusal.expert_id == expert_id))).first()
    if existing is not None:
        return existing
    if actor.person_id is None:
        raise PermissionDenied("a recusal is required by a staff member")
    row = ActivityRecusal(activity_id=activity_id, expert_id=expert_id, reason=reason,
                          required_by=actor.person_id, at=uow.now())
    uow.session.add(row)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.recusal_required",
                       object_type="activity", object_id=activity_id,
                       details={"expert_id": expert_id, "reason": reason})
    await uow.commit()
    return row


class Relaxation(enum.StrEnum):
    """The ways a composition may be relaxed after a shortfall (001 §11(二) "重新设定条件")."""

    DROP_TAGS = "tags"
    DROP_SUBCATEGORY = "subcategory"
    FEWER_BACKUPS = "backups"


def offered_relaxations(requirement: ActivityRequirement) -> tuple[Relaxation, ...]:
    """The relaxations that would change ``requirement`` (001 §11(二)): tags to drop, a sub-category to drop,
    a backup fewer; :func:`relax` refuses the others."""
    offered = []
    if requirement.tags:
        offered.append(Relaxation.DROP_TAGS)
    if requirement.subcategory is not None:
        offered.append(Relaxation.DROP_SUBCATEGORY)
    if requirement.backups > 0:
        offered.append(Relaxation.FEWER_BACKUPS)
    return tuple(offered)


async def relax(uow: UnitOfWork, *, actor: Actor, activity_id: int, requirement_id: int,
                what: str) -> ActivityRequirement:
    """Relax one requirement after a shortfall (001 §11(二)): drop its specialty tags, drop its clinical
    sub-category, or ask for one backup fewer. Recorded; the organizer then files the draw again."""
    activity = await _visible(uow, actor, activity_id)
    if activity.status != "planned":
        raise _invalid("already_drawn")
    requirement = await uow.session.get(ActivityRequirement, requirement_id)
    if requirement is None or requirement.activity_id != activity_id:
        raise ActivityNotFound(str(requirement_id), activity_id=activity_id)
    before = {"tags": list(requirement.tags), "subcategory": requirement.subcategory, "backups": requirement.backups}
    if what not in offered_relaxations(requirement):
        raise _invalid("relaxation")
    if what == Relaxation.DROP_TAGS:
        requirement.tags = []
    elif what == Relaxation.DROP_SUBCATEGORY:
        requirement.subcategory = None
    else:
        requirement.backups -= 1
    uow.session.add(requirement)
    activity.updated_at = uow.now()
    uow.session.add(activity)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.relaxed", object_type="activity",
                       object_id=activity_id,
                       details={"requirement_id": requirement_id, "what": what, "before": before,
                                "article": "001 §11(二)"})
    await uow.commit()
    return requirement


async def relax_requirement(uow: UnitOfWork, *, actor: Actor, requirement_id: int, what: str) -> ActivityRequirement:
    """:func:`relax` for a requirement known by its id alone (a button); an unknown id is not found."""
    requirement = await uow.session.get(ActivityRequirement, requirement_id)
    if requirement is None:
        raise NotFound(str(requirement_id))
    return await relax(uow, actor=actor, activity_id=requirement.activity_id, requirement_id=requirement_id,
                       what=what)
