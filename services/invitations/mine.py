"""An expert's own assignments (issue 13, ``/mine``): the upcoming ones (activity, dates, place, role, group
leader, the staff contact, their own state: invited / accepted / signed), with the buttons that still apply, and
the past ones of the last twelve months, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, func, select

from services.invitations import keyboards
from services.invitations.keyboards import Rows
from services.invitations.slots import OPEN, _local
from services.platform.roles import Actor
from storage.activities import Activity, ActivityMember
from storage.models import Person
from storage.uow import UnitOfWork

PAST_PAGE = 10
PAST_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Assignment:
    """One slot of the expert's, as ``/mine`` shows it."""

    member_id: int
    activity_id: int
    title: str
    start: str
    end: str
    place: str
    role: str
    leader: str
    contact: str
    status: str
    buttons: Rows


@dataclass(frozen=True)
class Mine:
    """The upcoming assignments and one page of the past ones (``page`` of ``pages``)."""

    upcoming: tuple[Assignment, ...]
    past: tuple[Assignment, ...]
    page: int
    pages: int


async def my_assignments(uow: UnitOfWork, *, actor: Actor, page: int = 1) -> Mine:
    """The actor's own slots: open ones on activities not yet ended, and the past year's (1-based ``page``)."""
    if actor.person_id is None:
        return Mine((), (), 1, 1)
    now = uow.now()
    mine = select(ActivityMember, Activity).join(Activity, col(Activity.id) == ActivityMember.activity_id).where(
        ActivityMember.person_id == actor.person_id, Activity.status != "cancelled")
    upcoming = (await uow.session.exec(mine.where(col(ActivityMember.status).in_(OPEN), col(Activity.ends_at) > now)
                                       .order_by(col(Activity.starts_at)))).all()
    past_query = mine.where(col(Activity.ends_at) <= now, col(Activity.ends_at) > now - PAST_WINDOW,
                            col(ActivityMember.status).in_(("accepted", "signed")))
    total = (await uow.session.exec(select(func.count()).select_from(past_query.subquery()))).one()
    pages = max(1, -(-int(total) // PAST_PAGE))
    page = min(max(page, 1), pages)
    past = (await uow.session.exec(past_query.order_by(col(Activity.starts_at).desc())
                                   .offset((page - 1) * PAST_PAGE).limit(PAST_PAGE))).all()
    names = await _names(uow, [p for _, a in [*upcoming, *past] for p in (a.leader_id, a.created_by) if p])
    return Mine(tuple(_line(uow, m, a, names, now > a.starts_at) for m, a in upcoming),
                tuple(_line(uow, m, a, names, True) for m, a in past), page, pages)


async def _names(uow: UnitOfWork, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await uow.session.exec(select(Person.id, Person.name).where(col(Person.id).in_(sorted(set(ids)))))
    return {pid: name for pid, name in rows.all() if pid is not None}


def _line(uow: UnitOfWork, member: ActivityMember, activity: Activity, names: dict[int, str],
          started: bool) -> Assignment:
    member_id = member.id or 0
    if started:
        rows: Rows = []
    elif member.status == "invited":
        rows = keyboards.answers(member_id)
    else:
        rows = keyboards.assignment(member_id)
    return Assignment(member_id, activity.id or 0, activity.title, _local(activity.starts_at, uow.zone),
                      _local(activity.ends_at, uow.zone), activity.place or "—", member.role,
                      names.get(activity.leader_id or 0, "—"), names.get(activity.created_by, "—"), member.status,
                      rows)
