"""Turning a target draw into activities (003 三(一)): one inspection per drawn institution, in draw order, each
linked to the draw (``target_draw_id``) with the institution as the inspected one, checked by the rules of
``services.activities.activities`` and written in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.activities.activities import (
    RequirementInput,
    add_requirements,
    check_times,
    clean_composition,
    clean_kind,
)
from services.activities.draw_rules import ActivityKind
from services.draws.target_draws import get_target_draw, refused
from services.people.orgs import get_unit, require_scope_over_units
from services.platform import audit
from services.platform.errors import ActivityInvalid
from services.platform.roles import Actor
from storage.activities import Activity, ActivityInstitution
from storage.pool import Institution
from storage.uow import UnitOfWork

__all__ = ["INSPECTION_KINDS", "TargetActivityTemplate", "to_activities"]

INSPECTION_KINDS = (ActivityKind.ROUTINE_INSPECTION, ActivityKind.SPECIAL_INSPECTION, ActivityKind.FLIGHT_INSPECTION)


@dataclass(frozen=True)
class TargetActivityTemplate:
    """The activity made for each drawn institution: everything of ``services.activities.activities.ActivityInput`` but
    the institutions; the title is ``title_prefix`` followed by the institution's name."""

    kind: str
    title_prefix: str
    starts_at: datetime
    ends_at: datetime
    response_deadline: datetime
    requirements: tuple[RequirementInput, ...]
    org: str | int | None = None  # default: the org unit that drew
    place: str = ""
    notes: str = ""
    allow_even_group: bool = False
    even_group_reason: str | None = None


def _invalid(reason: str, **params: object) -> ActivityInvalid:
    return ActivityInvalid(reason, reason_key=f"activity.invalid.{reason}", **params)


@dataclass(frozen=True)
class CreatedActivity:
    """An activity made from a drawn institution: its number and title."""

    id: int
    title: str


@dataclass(frozen=True)
class _Checked:
    """A template checked by the activity rules: the kind, the composition lines and the waiver's reason."""

    kind: ActivityKind
    lines: list[RequirementInput]
    reason: str | None


def _check_template(template: TargetActivityTemplate, now: datetime) -> _Checked:
    """The rules of ``services.activities.activities`` for the template: an inspection kind, lengths, times
    (000 §19) and the composition (000 §17, §18)."""
    kind = clean_kind(template.kind)
    if kind not in INSPECTION_KINDS:
        raise _invalid("kind", value=template.kind)
    if len(template.place) > 200 or len(template.notes) > 2000:
        raise _invalid("too_long")
    check_times(starts_at=template.starts_at, ends_at=template.ends_at,
                response_deadline=template.response_deadline, now=now)
    lines = clean_composition(template.requirements, allow_even_group=template.allow_even_group,
                              reason=template.even_group_reason)
    reason = (template.even_group_reason or "").strip() or None if template.allow_even_group else None
    return _Checked(kind, lines, reason)


async def _create(uow: UnitOfWork, actor: Actor, *, unit_id: int, draw_id: int, institution: Institution,
                  title: str, template: TargetActivityTemplate, checked: _Checked, now: datetime) -> Activity:
    """One activity inspecting ``institution``, linked to the draw, with its composition and audit entry."""
    assert institution.id is not None and actor.person_id is not None
    kind, lines, reason = checked.kind, checked.lines, checked.reason
    activity = Activity(
        org_unit_id=unit_id, kind=kind.value, title=title, place=template.place.strip(),
        starts_at=template.starts_at, ends_at=template.ends_at, response_deadline=template.response_deadline,
        allow_even_group=template.allow_even_group, even_group_reason=reason, notes=template.notes.strip(),
        target_draw_id=draw_id, created_by=actor.person_id, created_at=now, updated_at=now,
    )
    uow.session.add(activity)
    await uow.session.flush()
    assert activity.id is not None
    uow.session.add(ActivityInstitution(activity_id=activity.id, institution_id=institution.id))
    add_requirements(uow, activity_id=activity.id, lines=lines)
    await audit.record(
        uow, at=now, actor=actor.label, action="activity.created", object_type="activity",
        object_id=activity.id,
        details={"org_unit_id": unit_id, "kind": kind.value, "title": title,
                 "starts_at": template.starts_at.isoformat(), "ends_at": template.ends_at.isoformat(),
                 "institutions": [institution.id], "requirements": [line.__dict__ for line in lines],
                 "double_blind": False, "allow_even_group": template.allow_even_group,
                 "even_group_reason": reason, "target_draw_id": draw_id},
    )
    return activity


async def to_activities(uow: UnitOfWork, *, actor: Actor, draw_id: int,
                        template: TargetActivityTemplate) -> list[CreatedActivity]:
    """One activity per drawn institution, in draw order, each linked to the draw (``target_draw_id``) and with
    the institution as the inspected one; checked by the rules of ``services.activities.activities`` and written in one
    transaction."""
    if actor.person_id is None:
        raise refused("not_staff")
    view = await get_target_draw(uow, actor=actor, draw_id=draw_id)
    if view.record.outcome != "drawn":
        raise refused("short")
    if view.activity_ids:
        raise refused("already_converted")
    unit = await get_unit(uow, view.record.org_unit_id if template.org is None else template.org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    now = uow.now()
    checked = _check_template(template, now)
    titles = [" ".join(f"{template.title_prefix}{i.name}".split()) for i in view.institutions]
    if len(view.institutions) != len(view.result.picks) or any(not 1 <= len(t) <= 200 for t in titles):
        raise _invalid("title")
    created = [await _create(uow, actor, unit_id=unit.id, draw_id=draw_id, institution=institution, title=title,
                             template=template, checked=checked, now=now)
               for institution, title in zip(view.institutions, titles, strict=True)]
    await audit.record(uow, at=now, actor=actor.label, action="draw.targets_to_activities", object_type="draw",
                       object_id=draw_id, details={"activity_ids": [a.id for a in created]})
    await uow.commit()
    return [CreatedActivity(id=a.id or 0, title=a.title) for a in created]
