"""Staff group chats: an admin binds a group chat to an org unit so the unit's alerts go there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from services.people.orgs import get_unit, require_scope_over_units
from services.platform import audit, notify
from services.platform.errors import PermissionDenied
from services.platform.roles import Actor, Role
from storage.models import StaffChat
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class GroupBinding:
    """A group chat now receiving an org unit's alerts."""

    staff_chat_id: int
    org_unit_id: int
    org_unit_name: str
    replaced_org_unit_id: int | None


async def bind_group(
    uow: UnitOfWork,
    *,
    actor: Actor,
    channel: str,
    chat_id: str,
    title: str | None,
    org: str,
    language: str | None = None,
) -> GroupBinding:
    """Bind a group chat to an org unit (admins only, within their own unit's subtree).

    A chat serves one org unit: binding it again moves it to the new unit.
    """
    if Role.ADMIN not in actor.roles:
        raise PermissionDenied("only admins bind group chats")
    unit = await get_unit(uow, org)
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    now = uow.now()
    previous = await uow.staff_chats.active_by_chat(channel, chat_id)
    replaced = None
    if previous is not None:
        replaced = previous.org_unit_id
        previous.unbound_at = now
        uow.session.add(previous)
        await uow.session.flush()
    assert actor.person_id is not None
    chat = await uow.staff_chats.add(
        StaffChat(
            channel=channel,
            chat_id=chat_id,
            title=(title or "")[:200] or None,
            org_unit_id=unit.id,
            language=language,
            bound_by_person_id=actor.person_id,
            bound_at=now,
        )
    )
    assert chat.id is not None
    await audit.record(
        uow, at=now, actor=actor.label, action="staff_chat.bound", object_type="staff_chat", object_id=chat.id,
        details={"org_unit_id": unit.id, "chat_id": chat_id, "replaced_org_unit_id": replaced},
    )
    await notify.to_address(
        uow, address=chat_id, channel=channel, language=language, key="group.bound",
        params={"org_unit": unit.name},
    )
    await uow.commit()
    return GroupBinding(chat.id, unit.id, unit.name, replaced)


@dataclass(frozen=True)
class GroupMoved:
    """A bound group chat that Telegram upgraded to a supergroup: its binding now names the new chat."""

    staff_chat_id: int
    org_unit_id: int
    old_chat_id: str
    new_chat_id: str


async def chat_migrated(uow: UnitOfWork, *, channel: str, old_chat_id: str, new_chat_id: str) -> GroupMoved | None:
    """Follow a group chat to its new id (a group upgraded to a supergroup gets a new chat id, and the old one
    refuses every message): the binding, and so every alert still to send, moves to the new chat. Idempotent (the
    messenger reports it twice, once in each chat); None when the old chat was not bound or the move was recorded.

    Not a staff decision, so no role is checked: only the messenger reports a migration, and it moves a binding an
    admin made, never makes one. Should the new chat already be bound (an admin bound it first), that binding
    stays and the old one ends."""
    if old_chat_id == new_chat_id:
        return None
    old = await uow.staff_chats.active_by_chat(channel, old_chat_id)
    if old is None or old.id is None:
        return None
    now = uow.now()
    already = await uow.staff_chats.active_by_chat(channel, new_chat_id)
    change: dict[str, Any] = {"unbound_at": now} if already is not None else {"chat_id": new_chat_id}
    if not await _change_if_still_bound(uow, old.id, old_chat_id, change):
        return None  # the report from the other chat moved it first
    await audit.record(
        uow, at=now, actor="system:messenger", action="staff_chat.migrated", object_type="staff_chat", object_id=old.id,
        details={"from_chat_id": old_chat_id, "to_chat_id": new_chat_id, "org_unit_id": old.org_unit_id,
                 "kept_binding_of_new_chat": already is not None},
    )
    await uow.commit()
    return GroupMoved(old.id, old.org_unit_id, old_chat_id, new_chat_id)


@dataclass(frozen=True)
class GroupLost:
    """A bound group chat the bot can no longer write to: its binding ended."""

    staff_chat_id: int
    org_unit_id: int
    chat_id: str
    redirected: int = 0  # copies of the refused message queued for the unit's staff


async def bot_removed(uow: UnitOfWork, *, channel: str, chat_id: str,
                      undelivered: int | None = None) -> GroupLost | None:
    """The bot was removed from a bound group chat (or the group is gone): end the binding, so the unit's alerts go
    where they go without a group (another bound group, the staff who asked for them privately, else its admins,
    else the unit above: :func:`notify.to_org_unit`), and tell those who now receive them, once. None when the chat
    was not bound (already handled, or never a staff chat).

    ``undelivered``: the outbox row the group refused, queued again for the unit's new recipients (nothing lost).

    Not a staff decision, so no role is checked: only the messenger reports it (a membership update, or a send
    refused with 403), and it only ends a binding."""
    chat = await uow.staff_chats.active_by_chat(channel, chat_id)
    if chat is None or chat.id is None:
        return None
    now = uow.now()
    if not await _change_if_still_bound(uow, chat.id, chat_id, {"unbound_at": now}):
        return None  # a membership update and a refused send both said it: ended once
    unit = await get_unit(uow, chat.org_unit_id)
    await audit.record(
        uow, at=now, actor="system:messenger", action="staff_chat.lost", object_type="staff_chat", object_id=chat.id,
        details={"chat_id": chat_id, "org_unit_id": chat.org_unit_id},
    )
    await notify.to_org_unit(uow, org_unit_id=chat.org_unit_id, key="group.lost",
                             params={"title": chat.title or chat_id, "org_unit": unit.name, "org_code": unit.code})
    redirected = 0
    if undelivered is not None:
        redirected = await notify.redirect_to_unit(uow, row_id=undelivered, org_unit_id=chat.org_unit_id)
    await uow.commit()
    return GroupLost(chat.id, chat.org_unit_id, chat_id, redirected)


async def _change_if_still_bound(uow: UnitOfWork, staff_chat_id: int, chat_id: str, values: dict[str, Any]) -> bool:
    """Change the binding only if it still names ``chat_id`` and is active, in one conditional UPDATE: the messenger
    reports a migration in two chats, a removal by an update and a refused send, and these may be handled at once
    (on PostgreSQL the second UPDATE waits for the first and then matches nothing)."""
    connection = await uow.session.connection()
    result = await connection.execute(
        update(StaffChat)
        .where(col(StaffChat.id) == staff_chat_id, col(StaffChat.chat_id) == chat_id,
               col(StaffChat.unbound_at).is_(None))
        .values(**values)
    )
    return result.rowcount == 1
