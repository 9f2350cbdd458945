"""The outbox's life cycle, as seen by whatever sends it: claim what is due, record what happened.

A row is ``pending`` until it is ``sent``, ``failed`` (after the last attempt, or at once for a
permanent refusal such as a blocked chat) or ``skipped`` (nobody to send it to). Claims are leases
(``claimed_until``) so a crashed sender's rows become due again; a sender that starts alone
releases every claim at once. Delivery is at least once: a crash between sending and recording
may repeat a message, never lose one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.platform import notify
from storage.models import OutboxMessage
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)
FAILED_ALERT_KEY = "outbox.delivery_failed"
REFRESH = "refresh"
"""A row whose parameters hold this key is rendered from the state when it is sent, not when it was written: its
value names the refresher the sender calls (:func:`refreshed`) just before sending (issue 21: a roster edit)."""

Refresher = Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[dict[str, Any]]]


def backoff(attempts: int) -> timedelta:
    """Wait before retry number ``attempts`` (1, 2, ...): 2 s doubling, at most 10 minutes."""
    return timedelta(seconds=min(600, 2 ** max(1, attempts)))


@dataclass(frozen=True)
class Delivery:
    """A claimed row, resolved to an address and a language, ready to render and send."""

    outbox_id: int
    channel: str
    kind: str
    address: str
    language: str | None
    message_key: str
    params: dict[str, Any]
    buttons: list[Any]
    edit_message_id: str | None = None
    created_at: datetime | None = None


class OutcomeKind(StrEnum):
    """What happened to one delivery."""

    SENT = "sent"
    RETRY = "retry"  # transient: network error, 5xx, timeout
    THROTTLED = "throttled"  # 429 with retry_after: not the message's fault, no attempt counted
    PERMANENT = "permanent"  # refused for good (400/403)
    SKIPPED = "skipped"  # not sent, and not to be: superseded before it went, or its parameters could not be read


@dataclass(frozen=True)
class Outcome:
    """The sender's report on one delivery."""

    outbox_id: int
    kind: OutcomeKind
    external_message_id: str | None = None
    address: str | None = None
    error: str = ""
    retry_after: float = 0.0


@dataclass
class ClaimResult:
    """Deliveries to make now, and rows that had to be put back or skipped."""

    deliveries: list[Delivery] = field(default_factory=list)
    skipped: int = 0
    deferred: int = 0


async def release_claims(uow: UnitOfWork) -> int:
    """Free every lease (the sender is starting and is the only one)."""
    count = await uow.outbox.release_claims()
    await uow.commit()
    return count


async def claim(uow: UnitOfWork, *, limit: int, exclude: set[int] | None = None) -> ClaimResult:
    """Lease up to ``limit`` due rows and resolve each to an address.

    A recipient's messages keep their order: a row waits while an older row to the same
    recipient is backing off after a failure.

    Core statements throughout: one to lease the rows, one for the recipients' backing-off rows,
    one per kind of lookup (people's accounts, staff chats, originals of edits) for the whole batch.
    """
    now = uow.now()
    leased = await uow.outbox.lease_due(now=now, lease_until=now + LEASE, limit=limit)
    rows = [row for row in leased if not (exclude and row.id in exclude)]
    result = ClaimResult()
    holds = await _holds(uow, rows, now)
    lookups = _Lookups(
        accounts=await uow.accounts.active_chats_of_people(
            sorted({r.person_id for r in rows if r.person_id is not None})
        ),
        chats=await uow.staff_chats.chats(sorted({r.staff_chat_id for r in rows if r.staff_chat_id is not None})),
        originals=await uow.outbox.states(
            sorted({r.edit_of_id for r in rows if r.kind == "edit" and r.edit_of_id is not None})
        ),
    )
    for row in rows:
        hold = holds.get(_recipient(row))
        if hold is not None:
            await uow.outbox.set_fields(row.id, {"claimed_until": None, "next_attempt_at": hold})
            result.deferred += 1
            continue
        delivery = await _resolve(uow, row, now, result, lookups)
        if delivery is not None:
            result.deliveries.append(delivery)
    await uow.commit()
    return result


async def _holds(uow: UnitOfWork, rows: Sequence[Any], now: datetime) -> dict[tuple[str, str], datetime]:
    """Per recipient: until when its first row here waits behind an older row that is backing off."""
    first_id: dict[tuple[str, str], int] = {}
    for row in rows:
        first_id.setdefault(_recipient(row), row.id)
    waiting = await uow.outbox.backing_off(
        person_ids=[int(v) for (kind, v) in first_id if kind == "person_id"],
        staff_chat_ids=[int(v) for (kind, v) in first_id if kind == "staff_chat_id"],
        addresses=[v for (kind, v) in first_id if kind == "address"],
        now=now,
    )
    holds: dict[tuple[str, str], datetime] = {}
    for (kind, value), before_id in first_id.items():
        times = [
            w.next_attempt_at for w in waiting
            if w.id < before_id and getattr(w, kind) is not None and str(getattr(w, kind)) == value
        ]
        if times:
            holds[(kind, value)] = max(times)
    return holds


@dataclass(frozen=True)
class _Lookups:
    """What a batch of claimed rows refers to, read in one query per kind."""

    accounts: dict[tuple[int, str], tuple[str, str | None]]  # (person, channel) -> (chat id, language)
    chats: dict[int, tuple[str, str | None, bool]]  # staff chat -> (chat id, language, still bound)
    originals: dict[int, Any]  # original of an edit -> its id, status, sent address, message id


async def _resolve(uow: UnitOfWork, row: Any, now: datetime, result: ClaimResult, lookups: _Lookups) -> Delivery | None:
    address, language = row.address, row.language
    edit_message_id = row.external_message_id
    if row.person_id is not None:
        account = lookups.accounts.get((row.person_id, row.channel))
        if account is None:
            await _skip(uow, row.id, now, "the person has no bound account", result)
            return None
        address, language = account[0], language or account[1]
    elif row.staff_chat_id is not None:
        chat = lookups.chats.get(row.staff_chat_id)
        if chat is None or not chat[2]:
            await _skip(uow, row.id, now, "the staff chat is no longer bound", result)
            return None
        address, language = chat[0], language or chat[1]
    if row.kind == "edit" and row.edit_of_id is not None:
        original = lookups.originals.get(row.edit_of_id)
        if original is None or original.status in ("failed", "skipped"):
            await _skip(uow, row.id, now, "the original message was never sent", result)
            return None
        if original.status != "sent":
            await uow.outbox.set_fields(row.id, {"claimed_until": None, "next_attempt_at": now + timedelta(seconds=2)})
            result.deferred += 1
            return None
        address, edit_message_id = original.sent_address, original.external_message_id
    if address is None:
        await _skip(uow, row.id, now, "no address", result)
        return None
    return Delivery(
        outbox_id=row.id,
        channel=row.channel,
        kind=row.kind,
        address=address,
        language=language,
        message_key=row.message_key,
        params=dict(row.params),
        buttons=list(row.buttons),
        edit_message_id=edit_message_id,
        created_at=row.created_at,
    )


async def refreshed(uow: UnitOfWork, delivery: Delivery, refreshers: Mapping[str, Refresher]) -> dict[str, Any] | None:
    """The parameters of a delivery to refresh (:data:`REFRESH`), read now, just before it is sent; None when no
    refresher knows it or it fails (logged): the sender then reports it :attr:`OutcomeKind.SKIPPED`."""
    name = str(delivery.params[REFRESH])
    refresher = refreshers.get(name)
    if refresher is None:
        logger.error("outbox row %s: no refresher for %r", delivery.outbox_id, name)
        return None
    try:
        return await refresher(uow, delivery.params)
    except Exception:
        logger.exception("outbox row %s: refreshing its parameters (%r) failed", delivery.outbox_id, name)
        return None


def same_refreshed_message(first: Delivery, later: Delivery) -> bool:
    """Whether ``later`` refreshes the same message as ``first`` (both rows to refresh, edits of one chat message):
    sending ``first`` is then pointless, ``later`` will show a state at least as new (issue 21)."""
    return (REFRESH in first.params and first.kind == "edit" and later.kind == "edit"
            and later.params.get(REFRESH) == first.params[REFRESH] and later.address == first.address
            and later.edit_message_id == first.edit_message_id and later.channel == first.channel)


def delivery_of(row: Mapping[str, Any]) -> Delivery:
    """The delivery of a row (its column values) written with its chat address, handed off to the dispatcher
    without a claim."""
    if row.get("id") is None or row.get("address") is None:
        raise ValueError("only a stored row with an address can be handed off")
    return Delivery(
        outbox_id=row["id"], channel=row["channel"], kind=row["kind"], address=row["address"],
        language=row["language"], message_key=row["message_key"], params=dict(row["params"]),
        buttons=list(row["buttons"]), edit_message_id=row["external_message_id"], created_at=row["created_at"],
    )


async def _skip(uow: UnitOfWork, outbox_id: int, _now: datetime, error: str, result: ClaimResult) -> None:
    await uow.outbox.set_fields(outbox_id, {"status": "skipped", "claimed_until": None, "last_error": error[:500]})
    await uow.outbox.seal([outbox_id])
    result.skipped += 1


def _recipient(row: Any) -> tuple[str, str]:
    """Whom a row (ORM object or Core row) goes to: the column that names the recipient, and its value."""
    if row.person_id is not None:
        return ("person_id", str(row.person_id))
    if row.staff_chat_id is not None:
        return ("staff_chat_id", str(row.staff_chat_id))
    return ("address", row.address or "")


def _finish(row: OutboxMessage, status: str, now: datetime, error: str | None = None) -> None:
    row.status = status
    row.claimed_until = None
    if status == "sent":
        row.sent_at = now
    if error is not None:
        row.last_error = error[:500]


async def record(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> list[int]:
    """Store what happened to each delivery; returns the ids that failed for good.

    A batch of sends only (the usual case) is one executemany UPDATE; any other outcome in the
    batch takes the row-by-row path, which may alert staff.
    """
    now = uow.now()
    if all(outcome.kind is OutcomeKind.SENT for outcome in outcomes):
        await uow.outbox.mark_sent(
            [{"id": o.outbox_id, "address": o.address, "message_id": o.external_message_id} for o in outcomes], now=now
        )
        await uow.commit()
        return []
    failed: list[int] = []
    rows = await uow.outbox.many([o.outbox_id for o in outcomes])
    for outcome in outcomes:
        row = rows.get(outcome.outbox_id)
        if row is None or row.status != "pending":
            continue
        if outcome.kind is OutcomeKind.SENT:
            _finish(row, "sent", now)
            row.sent_address = outcome.address
            if outcome.external_message_id is not None:
                row.external_message_id = outcome.external_message_id
        elif outcome.kind is OutcomeKind.SKIPPED:
            _finish(row, "skipped", now, outcome.error or "skipped")
        elif outcome.kind is OutcomeKind.THROTTLED:
            row.claimed_until = None
            row.next_attempt_at = now + timedelta(seconds=max(outcome.retry_after, 1.0))
            row.last_error = outcome.error[:500] or "throttled"
        else:
            row.attempts += 1
            if outcome.kind is OutcomeKind.PERMANENT or row.attempts >= MAX_ATTEMPTS:
                _finish(row, "failed", now, outcome.error or "failed")
                failed.append(outcome.outbox_id)
                await _alert_failure(uow, row)
            else:
                row.claimed_until = None
                row.next_attempt_at = now + backoff(row.attempts)
                row.last_error = outcome.error[:500]
        uow.session.add(row)
    await uow.session.flush()
    await uow.outbox.seal([o.outbox_id for o in outcomes])  # sealed rows done with: recipient and content cleared
    await uow.commit()
    return failed


async def _alert_failure(uow: UnitOfWork, row: OutboxMessage) -> None:
    """Tell staff a notification could not be delivered (never about a failed alert itself)."""
    if row.message_key == FAILED_ALERT_KEY:
        logger.error("delivery-failure alert %s could not be delivered either", row.id)
        return
    unit_id = await _responsible_unit(uow, row)
    if unit_id is None:
        logger.error("outbox row %s failed and no org unit can be alerted", row.id)
        return
    await notify.to_org_unit(
        uow, org_unit_id=unit_id, key=FAILED_ALERT_KEY,
        params={"outbox_id": row.id, "kind_key": kind_of(row.message_key), "error": (row.last_error or "")[:200]},
    )


# The kinds of notification a failure alert names (its content stays out of the alert: a supervisor's feedback would
# tell staff who reported a lead, 003 三(四)); any other is "a notification".
KINDS = ("invite", "lead", "leadstaff", "lifecycle", "pool", "draw", "sanction", "workrecord", "supervisor",
         "binding", "excellence", "calendar", "notice", "language", "group")


def kind_of(message_key: str) -> str:
    """The catalog key naming the kind of a notification (``outbox.kind.invite``...)."""
    prefix = message_key.split(".", 1)[0]
    return f"outbox.kind.{prefix if prefix in KINDS else 'other'}"


async def _responsible_unit(uow: UnitOfWork, row: OutboxMessage) -> int | None:
    if row.person_id is not None:
        for getter in (uow.people.staff, uow.people.expert, uow.people.supervisor):
            holder = await getter(row.person_id)
            if holder is not None:
                return holder.org_unit_id
    if row.staff_chat_id is not None:
        chat = await uow.staff_chats.get(row.staff_chat_id)
        if chat is not None:
            return chat.org_unit_id
    units = await uow.org_units.all()
    roots = [u.id for u in units if u.parent_id is None]
    return roots[0] if roots else None


async def next_due_at(uow: UnitOfWork) -> datetime | None:
    """When the next pending row becomes due (None when nothing is pending)."""
    return await uow.outbox.next_due_at()


async def counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows per status, for metrics."""
    return await uow.outbox.count_by_status()
