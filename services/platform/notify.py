"""Writing notifications into the outbox, in the caller's transaction.

A notification is a message key with parameters and optional buttons, addressed to a person, to an
org unit (its staff chats and the staff who opted in) or to a raw chat address. The front end
renders and sends it later (see ``bot.dispatcher``); if the transaction rolls back, nothing is sent.

Each row is written at once with a Core INSERT (it has its id when the function returns); the
returned ``OutboxMessage`` is a detached copy of it, not tracked by the session: change a queued
row through these functions or ``services.platform.outbox``, never by editing the returned object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from services.platform import outbox
from services.platform.actions import Action
from storage.models import OutboxMessage
from storage.repositories import detached_row
from storage.uow import UnitOfWork

TELEGRAM = "telegram"


@dataclass(frozen=True)
class Button:
    """A button: the label's message key (with parameters) and the typed action it triggers
    (:mod:`services.platform.actions`; encoded when stored, at most 64 bytes)."""

    text_key: str
    action: Action
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"text_key": self.text_key, "action": self.data, "params": self.params}

    @property
    def data(self) -> str:
        """The callback data (the action's encoding, checked against Telegram's 64 bytes)."""
        return self.action.encode()


ButtonRows = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class MessageRef:
    """A message already shown in a chat (e.g. the one whose button was pressed), to edit in place."""

    channel: str
    address: str
    message_id: str


def _buttons_json(buttons: ButtonRows | None) -> list[Any]:
    return [[button.to_json() for button in row] for row in (buttons or [])]


async def to_person(
    uow: UnitOfWork,
    *,
    person_id: int,
    key: str,
    params: dict[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    channel: str = TELEGRAM,
    sealed: bool = False,
) -> OutboxMessage:
    """Queue a message to a person, reached through their bound account when it is sent, in the language they had
    chosen when it was written (a message delayed by an outage reads as it would have read on time). ``sealed``:
    once sent (or given up) the row forgets whom it went to and what it said (a reporter's message about their
    lead: the database then does not link them, issue 19, 003 三(四))."""
    languages = await _languages(uow, [person_id], channel)
    recipient = {"channel": channel, "person_id": person_id, "language": languages.get(person_id), "sealed": sealed}
    return await _add(uow, recipient, key, params, buttons)


async def _languages(uow: UnitOfWork, person_ids: Sequence[int], channel: str) -> dict[int, str]:
    """The chosen language of each person with a bound account on ``channel`` (none chosen: left out)."""
    chats = await uow.accounts.active_chats_of_people(person_ids)
    return {person: language for (person, on), (_, language) in chats.items() if on == channel and language}


async def to_address(
    uow: UnitOfWork,
    *,
    address: str,
    key: str,
    params: dict[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    language: str | None = None,
    channel: str = TELEGRAM,
) -> OutboxMessage:
    """Queue a message to a chat address (e.g. a reply to someone not yet bound)."""
    return await _add(uow, {"channel": channel, "address": address, "language": language}, key, params, buttons)


async def edit(
    uow: UnitOfWork,
    *,
    original: OutboxMessage | None = None,
    address: str | None = None,
    external_message_id: str | None = None,
    key: str,
    params: dict[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    language: str | None = None,
    channel: str = TELEGRAM,
) -> OutboxMessage:
    """Queue an edit in place: of a message this outbox sent, or of a known chat message."""
    if original is None and (address is None or external_message_id is None):
        raise ValueError("an edit needs the original outbox row or an address and a message id")
    recipient = {
        "channel": channel,
        "kind": "edit",
        "edit_of_id": original.id if original is not None else None,
        "address": address,
        "external_message_id": external_message_id,
        "language": language,
    }
    return await _add(uow, recipient, key, params, buttons)


async def edit_copies(uow: UnitOfWork, row_ids: Sequence[int], *, key: str, params: dict[str, Any] | None = None,
                      shown_in: MessageRef | None = None, language: str | None = None) -> None:
    """Every copy of a message sent to several chats (its outbox rows) now reads ``key``, without buttons; the
    one pressed (``shown_in``) is edited straight away (a decision taken in one chat shows in all of them)."""
    if shown_in is not None:
        await edit(uow, channel=shown_in.channel, address=shown_in.address, external_message_id=shown_in.message_id,
                   key=key, params=params, language=language)
    for row_id in row_ids:
        copy = await uow.session.get(OutboxMessage, row_id)
        if copy is None or (shown_in is not None and copy.sent_address == shown_in.address
                            and copy.external_message_id == shown_in.message_id):
            continue
        if not await _rewrite_unsent(uow, row_id, key, params):
            await edit(uow, original=copy, key=key, params=params)


async def _rewrite_unsent(uow: UnitOfWork, row_id: int, key: str, params: dict[str, Any] | None) -> bool:
    """A copy not yet sent nor claimed goes out already showing the decision (no send-then-edit); False when it
    was sent or is being sent (then it is edited)."""
    return await uow.outbox.rewrite_unsent(row_id, {"message_key": key, "params": dict(params or {}),
                                                    "buttons": []})


async def to_org_unit(
    uow: UnitOfWork,
    *,
    org_unit_id: int,
    key: str,
    params: dict[str, Any] | None = None,
    buttons: ButtonRows | None = None,
    stored_buttons: list[Any] | None = None,
) -> list[OutboxMessage]:
    """Alert an org unit: one message per bound staff chat and per staff member who opted in.

    A unit with neither falls back to its admins; a unit with none of these passes the alert up
    to its parent, so an alert never goes nowhere while anyone above can receive it.
    """
    unit_id: int | None = org_unit_id
    seen: set[int] = set()
    while unit_id is not None and unit_id not in seen:
        seen.add(unit_id)
        rows = await _to_unit_only(uow, unit_id, key, params, buttons, stored_buttons=stored_buttons)
        if rows:
            return rows
        unit = await uow.org_units.get(unit_id)
        unit_id = unit.parent_id if unit is not None else None
    return []


async def redirect_to_unit(uow: UnitOfWork, *, row_id: int, org_unit_id: int) -> int:
    """Queue again, for whoever now receives the unit's alerts (:func:`to_org_unit`), a message a staff group never
    got (the bot had been removed from it); how many copies. Only a new message goes again, never an edit."""
    row = await uow.session.get(OutboxMessage, row_id)
    if row is None or row.kind != "send" or row.staff_chat_id is None:
        return 0
    copies = await to_org_unit(uow, org_unit_id=org_unit_id, key=row.message_key, params=dict(row.params),
                               stored_buttons=list(row.buttons))
    return len(copies)


async def _to_unit_only(
    uow: UnitOfWork, unit_id: int, key: str, params: dict[str, Any] | None, buttons: ButtonRows | None,
    *, stored_buttons: list[Any] | None = None,
) -> list[OutboxMessage]:
    rows: list[OutboxMessage] = []
    for chat in await uow.staff_chats.active_for_unit(unit_id):
        recipient = {"channel": chat.channel, "staff_chat_id": chat.id, "language": chat.language}
        rows.append(await _add(uow, recipient, key, params, buttons, stored_buttons=stored_buttons))
    staff = await uow.people.staff_of_units([unit_id])
    recipients = [s for s in staff if s.alerts_opt_in] or ([] if rows else [s for s in staff if s.role == "admin"])
    languages = await _languages(uow, [m.person_id for m in recipients], TELEGRAM)  # one lookup for them all
    for member in recipients:
        recipient = {"channel": TELEGRAM, "person_id": member.person_id, "language": languages.get(member.person_id)}
        rows.append(await _add(uow, recipient, key, params, buttons, stored_buttons=stored_buttons))
    return rows


async def _add(
    uow: UnitOfWork,
    recipient: dict[str, Any],
    key: str,
    params: dict[str, Any] | None,
    buttons: ButtonRows | None,
    *,
    stored_buttons: list[Any] | None = None,
) -> OutboxMessage:
    now = uow.now()
    values = {
        **_NEW_ROW, **recipient, "message_key": key, "params": dict(params or {}),
        "buttons": _buttons_json(buttons) if stored_buttons is None else list(stored_buttons),
        "created_at": now, "next_attempt_at": now,
    }
    handed = await _can_hand_off(uow, values)
    if handed:
        values["claimed_until"] = now + outbox.LEASE  # leased by this process, as a claim would
    else:
        uow.outbox_written = True  # the dispatcher is woken to claim it
    values["id"] = await uow.outbox.insert(values)
    if handed:
        uow.hand_off(outbox.delivery_of(values))
    return detached_row(OutboxMessage, values)


async def _can_hand_off(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """Whether a new row can skip the dispatcher's claim and go to it straight after commit.

    Only a row whose chat address is already known (a reply to a chat, an edit of a known message: the
    press of a button), while the dispatcher runs in this process, and when no older row to the same
    address waits unclaimed: messages to a chat keep their order (a waiting one is backing off or not
    yet claimed; the claimed ones are already in the dispatcher's per-chat queue, which this joins at
    the end). The row is written leased, so a crash before it is sent leaves it to the next start.
    """
    if not uow.accepts_handoff or values["address"] is None or outbox.REFRESH in values["params"]:
        return False
    if values["kind"] == "edit" and values["external_message_id"] is None:
        return False
    return not await uow.outbox.waiting_to_address(values["channel"], values["address"])


# Every column of a new row but the recipient, the content and the times.
_NEW_ROW: dict[str, Any] = {
    "kind": "send", "person_id": None, "staff_chat_id": None, "address": None, "language": None, "edit_of_id": None,
    "status": "pending", "attempts": 0, "claimed_until": None, "sent_at": None, "sent_address": None,
    "external_message_id": None, "last_error": None, "sealed": False,
}


@dataclass(frozen=True)
class Draft:
    """A message to queue with :func:`queue_many`: the recipient columns (as :func:`to_person` or :func:`edit`
    set them), the key, the parameters and the buttons."""

    recipient: dict[str, Any]
    key: str
    params: dict[str, Any] | None = None
    buttons: ButtonRows | None = None


class _Unknown(Enum):
    """A person's language not read yet (:func:`person_draft` looks it up)."""

    UNKNOWN = "unknown"


def person_draft(
    *, person_id: int, key: str, params: dict[str, Any] | None = None, buttons: ButtonRows | None = None,
    channel: str = TELEGRAM, language: str | _Unknown | None = _Unknown.UNKNOWN,
) -> Draft:
    """What :func:`to_person` would queue, to be written by :func:`queue_many`; ``language``, when the caller
    has read it already (the person's account's, None if none chosen), saves the lookup."""
    if isinstance(language, _Unknown):
        return Draft({"channel": channel, "person_id": person_id}, key, params, buttons)
    return Draft({"channel": channel, "person_id": person_id, "language": language}, key, params, buttons)


def edit_draft(*, original_id: int, key: str, params: dict[str, Any] | None = None,
               buttons: ButtonRows | None = None, channel: str = TELEGRAM) -> Draft:
    """What :func:`edit` of an outbox row would queue, to be written by :func:`queue_many`."""
    recipient = {"channel": channel, "kind": "edit", "edit_of_id": original_id, "address": None,
                 "external_message_id": None, "language": None}
    return Draft(recipient, key, params, buttons)


async def queue_many(uow: UnitOfWork, drafts: Sequence[Draft]) -> int:
    """Write several messages at once (one Core executemany): the same rows, in the same order, as calling
    :func:`to_person` / :func:`edit` for each. Returns how many; the rows' ids are not read back (for that,
    use :func:`queue_many_ids`). A person's draft whose recipient names the language (``language`` given, even
    None) is written in it; otherwise their account's is looked up."""
    rows = await _rows(uow, drafts)
    await uow.outbox.insert_many(rows)
    return len(rows)


async def queue_many_ids(uow: UnitOfWork, drafts: Sequence[Draft]) -> dict[str, list[int]]:
    """:func:`queue_many` in one statement that also reads back the new rows' ids, by message key, each key's in
    ascending order (the drafts' order: one multi-row INSERT numbers its rows in order)."""
    written = await uow.outbox.insert_many_returning(await _rows(uow, drafts))
    ids: dict[str, list[int]] = {}
    for outbox_id, key in sorted(written):
        ids.setdefault(key, []).append(outbox_id)
    return ids


async def _rows(uow: UnitOfWork, drafts: Sequence[Draft]) -> list[dict[str, Any]]:
    if not drafts:
        return []
    now = uow.now()
    rows = [{**_NEW_ROW, **d.recipient, "message_key": d.key, "params": dict(d.params or {}),
             "buttons": _buttons_json(d.buttons), "created_at": now, "next_attempt_at": now} for d in drafts]
    unknown = [row for row, d in zip(rows, drafts, strict=True)
               if row["person_id"] is not None and "language" not in d.recipient]
    for channel in {row["channel"] for row in unknown}:
        people = sorted({row["person_id"] for row in unknown if row["channel"] == channel})
        languages = await _languages(uow, people, channel)
        for row in unknown:
            if row["channel"] == channel:
                row["language"] = languages.get(row["person_id"])
    uow.outbox_written = True
    return rows
