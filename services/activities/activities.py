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
from dataclasses import dataclass

from sqlmodel import col, select

from services.activities.activity_rules import (
    MAX_BACKUPS,
    MAX_COUNT,
    MAX_INSTITUTIONS,
    MAX_REQUIREMENTS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ActivityInput,
    RequirementInput,
    as_rule,
    check_group_size,
    check_time_answer,
    check_times,
    clean_composition,
    clean_kind,
    clean_requirement,
    invalid,
    local_day,
    requirement_key,
)
from services.activities.activity_views import (
    ActivityCard,
    ActivitySummary,
    ActivityView,
    CompositionLine,
    card_of,
    inspected_of,
    list_activities,
    members_of,
    recusals_of,
    requirements_of,
    summaries,
    view,
    visible,
)
from services.activities.draw_rules import ActivityKind
from services.people.orgs import get_unit, require_scope_over_units
from services.platform import audit
from services.platform.errors import (
    ActivityNotFound,
    InstitutionNotFound,
    NotFound,
    PermissionDenied,
    PersonNotFound,
)
from services.platform.roles import Actor
from storage.activities import Activity, ActivityInstitution, ActivityRecusal, ActivityRequirement
from storage.models import Expert
from storage.pool import Institution
from storage.uow import UnitOfWork

__all__ = [
    "MAX_BACKUPS",
    "MAX_COUNT",
    "MAX_INSTITUTIONS",
    "MAX_REQUIREMENTS",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "ActivityCard",
    "ActivityInput",
    "ActivitySummary",
    "ActivityView",
    "CompositionLine",
    "Relaxation",
    "RequirementInput",
    "add_requirements",
    "as_rule",
    "card_of",
    "check_group_size",
    "check_time_answer",
    "check_times",
    "clean_composition",
    "clean_kind",
    "clean_requirement",
    "create_activity",
    "inspected_of",
    "list_activities",
    "local_day",
    "members_of",
    "offered_relaxations",
    "recusals_of",
    "relax",
    "relax_requirement",
    "require_recusal",
    "requirement_key",
    "requirements_of",
    "summaries",
    "view",
]


def add_requirements(uow: UnitOfWork, *, activity_id: int, lines: Sequence[RequirementInput]) -> None:
    """Add the composition rows of a new activity, in order (positions from 1)."""
    for position, line in enumerate(lines, start=1):
        uow.session.add(ActivityRequirement(
            activity_id=activity_id, position=position, category=line.category, subcategory=line.subcategory,
            tags=list(line.tags), count=line.count, backups=line.backups))



async def _institutions(uow: UnitOfWork, ids: Sequence[int]) -> list[Institution]:
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_INSTITUTIONS:
        raise invalid("too_many_institutions", max=MAX_INSTITUTIONS)
    found = {i.id: i for i in (await uow.session.exec(select(Institution).where(col(Institution.id).in_(unique))))}
    for institution_id in unique:
        if institution_id not in found:
            raise InstitutionNotFound(str(institution_id), institution_id=institution_id)
    return [found[i] for i in unique]


async def create_activity(uow: UnitOfWork, *, actor: Actor, data: ActivityInput) -> ActivityRef:
    """Create an activity with its composition and inspected institutions (see the module's rules)."""
    if actor.person_id is None:
        raise PermissionDenied("an activity is created by a staff member")
    unit = await get_unit(uow, data.org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    kind = clean_kind(data.kind)
    title = " ".join(data.title.split())
    if not 1 <= len(title) <= 200:
        raise invalid("title")
    if len(data.place) > 200 or len(data.notes) > 2000:
        raise invalid("too_long")
    if data.double_blind and kind != ActivityKind.PROJECT_REVIEW:
        raise invalid("double_blind")
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
    return ActivityRef(id=activity.id, title=activity.title, status=activity.status)



async def require_recusal(uow: UnitOfWork, *, actor: Actor, activity_id: int, expert_id: int,
                          reason: str) -> None:
    """Staff require an expert to recuse from this activity (000 §15 last paragraph, 001 §17 last paragraph).
    The next draw excludes them; if already on the roster, the confirmation loop replaces them."""
    await visible(uow, actor, activity_id)
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= 500:
        raise invalid("reason")
    if await uow.session.get(Expert, expert_id) is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    existing = (await uow.session.exec(select(ActivityRecusal).where(
        ActivityRecusal.activity_id == activity_id, ActivityRecusal.expert_id == expert_id))).first()
    if existing is not None:
        return
    if actor.person_id is None:
        raise PermissionDenied("a recusal is required by a staff member")
    row = ActivityRecusal(activity_id=activity_id, expert_id=expert_id, reason=reason,
                          required_by=actor.person_id, at=uow.now())
    uow.session.add(row)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="activity.recusal_required",
                       object_type="activity", object_id=activity_id,
                       details={"expert_id": expert_id, "reason": reason})
    await uow.commit()


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
    activity = await visible(uow, actor, activity_id)
    if activity.status != "planned":
        raise invalid("already_drawn")
    requirement = await uow.session.get(ActivityRequirement, requirement_id)
    if requirement is None or requirement.activity_id != activity_id:
        raise ActivityNotFound(str(requirement_id), activity_id=activity_id)
    before = {"tags": list(requirement.tags), "subcategory": requirement.subcategory, "backups": requirement.backups}
    if what not in offered_relaxations(requirement):
        raise invalid("relaxation")
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


@dataclass(frozen=True)
class ActivityRef:
    """An activity just created: its number, title and status."""

    id: int
    title: str
    status: str


@dataclass(frozen=True)
class Relaxed:
    """A requirement line after it was relaxed: its activity and position."""

    activity_id: int
    position: int


async def relax_requirement(uow: UnitOfWork, *, actor: Actor, requirement_id: int, what: str) -> Relaxed:
    """:func:`relax` for a requirement known by its id alone (a button); an unknown id is not found."""
    requirement = await uow.session.get(ActivityRequirement, requirement_id)
    if requirement is None:
        raise NotFound(str(requirement_id))
    relaxed = await relax(uow, actor=actor, activity_id=requirement.activity_id, requirement_id=requirement_id,
                          what=what)
    return Relaxed(activity_id=relaxed.activity_id, position=relaxed.position)
