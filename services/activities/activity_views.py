"""Reading activities (专家使用活动) for those allowed to see them: staff of the organizer's unit or any unit above
it (000 §25 traceability, secrecy of the draw: outside that line an activity does not exist); the full view
(:class:`ActivityView`), its card as plain values, and the lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from services.people.orgs import get_unit, subtree
from services.platform.errors import ActivityNotFound
from services.platform.roles import Actor
from storage.activities import Activity, ActivityInstitution, ActivityMember, ActivityRecusal, ActivityRequirement
from storage.models import OrgUnit, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

__all__ = [
    "ActivityCard",
    "ActivitySummary",
    "ActivityView",
    "CompositionLine",
    "card_of",
    "inspected_of",
    "list_activities",
    "members_of",
    "recusals_of",
    "requirements_of",
    "summaries",
    "view",
    "visible",
]


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



async def visible(uow: UnitOfWork, actor: Actor, activity_id: int) -> Activity:
    """The activity if ``actor`` may see it (organizer's line of staff), else :class:`ActivityNotFound`."""
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
    activity = await visible(uow, actor, activity_id)
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
