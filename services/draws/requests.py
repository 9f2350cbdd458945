"""Draw requests and their approval (four-eyes, 000 §17): filing (or a top-up, 001 §11(二)), approving, rejecting,
the pending list."""

from __future__ import annotations

from sqlmodel import col, select

from services.activities.activities import ActivityView, view
from services.draws.actions import ApproveDrawRequest, RejectDrawRequest
from services.draws.outcomes import DrawOutcome, _refused
from services.draws.running import _run
from services.people.orgs import subtree
from services.platform import audit, notify
from services.platform.errors import DrawRequestNotFound, InvalidInput
from services.platform.notify import Button
from services.platform.roles import Actor
from services.platform.roles import Role as ActorRole
from storage.activities import (
    Activity,
    DrawRequest,
)
from storage.uow import UnitOfWork


async def _open_request(uow: UnitOfWork, activity_id: int) -> DrawRequest | None:
    return (await uow.session.exec(select(DrawRequest).where(
        DrawRequest.activity_id == activity_id, col(DrawRequest.status).in_(("pending", "approved"))))).first()


def _kind_and_places(info: ActivityView, places: dict[int, tuple[int, int]] | None) -> tuple[str, dict[str, list[int]]]:
    """An initial draw of a planned activity, or a top-up of a drawn one (001 §11(二)) with its places checked
    (requirement id → [principals, backups], the empty lines left out)."""
    activity = info.activity
    if not places:
        if activity.status != "planned":
            raise _refused("already_drawn")
        return "initial", {}
    if activity.status != "drawn":
        raise _refused("top_up_before_draw")
    ids = {r.id for r in info.requirements}
    clean_places: dict[str, list[int]] = {}
    for requirement_id, (principals, backups) in places.items():
        if requirement_id not in ids or principals < 0 or backups < 0:
            raise _refused("bad_places")
        if principals + backups:
            clean_places[str(requirement_id)] = [principals, backups]
    if not clean_places:
        raise _refused("bad_places")
    return "top_up", clean_places


async def file_request(uow: UnitOfWork, *, actor: Actor, activity_id: int,
                       places: dict[int, tuple[int, int]] | None = None) -> DrawOutcome:
    """File the draw request for an activity (000 §17, annex 3). ``places`` (requirement id → principals,
    backups) makes it a top-up of an activity already drawn (001 §11(二)). Without four-eyes for the organizer,
    the draw runs at once."""
    if actor.person_id is None:
        raise _refused("not_staff")
    info = await view(uow, actor=actor, activity_id=activity_id)
    activity = info.activity
    if activity.status == "cancelled":
        raise _refused("cancelled")
    if await _open_request(uow, activity_id) is not None:
        raise _refused("open_request")
    if activity.starts_at <= uow.now():
        raise _refused("started")
    kind, clean_places = _kind_and_places(info, places)
    now = uow.now()
    request = DrawRequest(activity_id=activity_id, kind=kind, places=clean_places, requested_by=actor.person_id,
                          requested_at=now)
    uow.session.add(request)
    await uow.session.flush()
    assert request.id is not None
    await audit.record(uow, at=now, actor=actor.label, action="draw.requested", object_type="draw_request",
                       object_id=request.id, details={"activity_id": activity_id, "kind": kind,
                                                      "places": clean_places})
    if not info.organizer.draw_approval:
        record, result = await _run(uow, request, info, approver_id=None)
        await uow.commit()
        return DrawOutcome(request, record, result)
    await _send_for_approval(uow, request, info, actor)
    await uow.commit()
    return DrawOutcome(request)


async def _approvers(uow: UnitOfWork, org_unit_id: int) -> list[int]:
    """Who may approve a request of ``org_unit_id``: the admins of that unit and of the units above it."""
    units: list[int] = []
    unit_id: int | None = org_unit_id
    while unit_id is not None and unit_id not in units:
        units.append(unit_id)
        unit = await uow.org_units.get(unit_id)
        unit_id = unit.parent_id if unit is not None else None
    return [s.person_id for s in await uow.people.staff_of_units(units, role="admin")]


async def _send_for_approval(uow: UnitOfWork, request: DrawRequest, info: ActivityView, actor: Actor) -> None:
    """The request with Approve / Reject to the unit's staff chats and, privately, to every approver (issue 13);
    each copy's outbox row is kept so all of them show the decision once one is pressed. The approver also sees
    how many active experts of the pool have no bound account (drawn, they are called by phone)."""
    from services.invitations.unreached import unbound_in_pool

    activity = info.activity
    assert request.id is not None
    params = {"request_id": request.id, "activity_id": activity.id, "title": activity.title,
              "kind_key": f"draw.request_kind.{request.kind}", "requested_by": actor.name or await _name(uow, actor),
              "unbound": await unbound_in_pool(uow)}
    buttons = decision_buttons(request.id)
    rows = await notify.to_org_unit(uow, org_unit_id=activity.org_unit_id, key="draw.approval_needed",
                                    params=params, buttons=buttons)
    told = {row.person_id for row in rows if row.person_id is not None}
    for approver in await _approvers(uow, activity.org_unit_id):
        if approver != request.requested_by and approver not in told:
            rows.append(await notify.to_person(uow, person_id=approver, key="draw.approval_needed", params=params,
                                               buttons=buttons))
    request.message_ids = [row.id for row in rows if row.id is not None]
    uow.session.add(request)


def decision_buttons(request_id: int) -> list[list[Button]]:
    """Approve / Reject under a pending draw request (four-eyes, 000 §17)."""
    return [[Button("draw.button.approve", ApproveDrawRequest(request_id)),
             Button("draw.button.reject", RejectDrawRequest(request_id))]]



async def _name(uow: UnitOfWork, actor: Actor) -> str:
    """The requester as staff know them: their name (a CLI actor carries only its label)."""
    person = await uow.people.get(actor.person_id) if actor.person_id is not None else None
    return person.name if person is not None else actor.label

async def file_top_up(uow: UnitOfWork, *, actor: Actor, activity_id: int, position: int, principals: int,
                      backups: int = 0) -> DrawOutcome:
    """:func:`file_request` for a top-up of the requirement on line ``position`` of the activity (001 §11(二))."""
    info = await view(uow, actor=actor, activity_id=activity_id)
    line = next((r for r in info.requirements if r.position == position), None)
    if line is None or line.id is None:
        raise InvalidInput("no such line", field="line")
    return await file_request(uow, actor=actor, activity_id=activity_id, places={line.id: (principals, backups)})


async def _request(uow: UnitOfWork, actor: Actor, request_id: int) -> tuple[DrawRequest, ActivityView]:
    request = await uow.session.get(DrawRequest, request_id)
    if request is None:
        raise DrawRequestNotFound(str(request_id), request_id=request_id)
    try:
        info = await view(uow, actor=actor, activity_id=request.activity_id)
    except Exception:
        raise DrawRequestNotFound(str(request_id), request_id=request_id) from None
    return request, info


async def may_approve(uow: UnitOfWork, actor: Actor, org_unit_id: int) -> bool:
    """Approval rights: an admin whose org unit is the organizer or above it."""
    if ActorRole.ADMIN not in actor.roles or actor.staff_org_unit_id is None:
        return False
    return org_unit_id in await subtree(uow, actor.staff_org_unit_id)


async def _replace_buttons(uow: UnitOfWork, shown_in: notify.MessageRef | None, language: str | None,
                           request: DrawRequest, actor: Actor) -> None:
    """Every copy of the request (staff chats, each approver's private chat) now shows who decided and when,
    without buttons; the pressed one is edited straight away (issue 13: the first press wins)."""
    params = {"request_id": request.id, "status_key": f"draw.status.{request.status}",
              "by": actor.name or actor.label, "at": uow.now().astimezone(uow.zone).strftime("%Y-%m-%d %H:%M")}
    await notify.edit_copies(uow, request.message_ids, key="draw.decided", params=params, shown_in=shown_in,
                             language=language)


async def approve(uow: UnitOfWork, *, actor: Actor, request_id: int, shown_in: notify.MessageRef | None = None,
                  language: str | None = None) -> DrawOutcome:
    """Approve a pending request (four-eyes: not one's own) and run the draw."""
    request, info = await _request(uow, actor, request_id)
    if request.status != "pending":
        raise _refused("not_pending", status_key=f"draw.status.{request.status}")
    if not await may_approve(uow, actor, info.activity.org_unit_id):
        raise _refused("no_approval_rights")
    if actor.person_id == request.requested_by:
        raise _refused("four_eyes")
    if info.activity.starts_at <= uow.now():
        raise _refused("started")
    request.status = "approved"
    request.decided_by = actor.person_id
    request.decided_at = uow.now()
    uow.session.add(request)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="draw.approved", object_type="draw_request",
                       object_id=request_id, details={"activity_id": request.activity_id})
    record, result = await _run(uow, request, info, approver_id=actor.person_id)
    await _replace_buttons(uow, shown_in, language, request, actor)
    await uow.commit()
    return DrawOutcome(request, record, result)


async def reject(uow: UnitOfWork, *, actor: Actor, request_id: int, note: str = "",
                 shown_in: notify.MessageRef | None = None, language: str | None = None) -> DrawRequest:
    """Reject a pending request (approval rights needed; the filer withdraws instead)."""
    request, info = await _request(uow, actor, request_id)
    if request.status != "pending":
        raise _refused("not_pending", status_key=f"draw.status.{request.status}")
    own = actor.person_id == request.requested_by
    if not own and not await may_approve(uow, actor, info.activity.org_unit_id):
        raise _refused("no_approval_rights")
    request.status = "withdrawn" if own else "rejected"
    request.decided_by = actor.person_id
    request.decided_at = uow.now()
    request.decision_note = " ".join(note.split())[:500] or None
    uow.session.add(request)
    await audit.record(uow, at=uow.now(), actor=actor.label, action=f"draw.{request.status}",
                       object_type="draw_request", object_id=request_id,
                       details={"activity_id": request.activity_id, "note": request.decision_note})
    if not own:
        await notify.to_person(uow, person_id=request.requested_by, key="draw.rejected",
                               params={"request_id": request_id, "title": info.activity.title,
                                       "note": request.decision_note or "-"})
    await _replace_buttons(uow, shown_in, language, request, actor)
    await uow.commit()
    return request


async def pending_requests(uow: UnitOfWork, *, actor: Actor) -> list[tuple[DrawRequest, Activity]]:
    """Pending requests of the actor's org subtree, oldest first."""
    if actor.staff_org_unit_id is None:
        return []
    units = await subtree(uow, actor.staff_org_unit_id)
    rows = await uow.session.exec(
        select(DrawRequest, Activity).join(Activity, col(Activity.id) == DrawRequest.activity_id)
        .where(DrawRequest.status == "pending", col(Activity.org_unit_id).in_(units))
        .order_by(col(DrawRequest.id)))
    return [(r, a) for r, a in rows]
