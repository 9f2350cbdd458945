"""The audit trail: every state change by a person or the scheduler appends an entry chained to
the previous one by a SHA-256 hash, so an edited, inserted or deleted row breaks the chain.

The hash covers the entry's id, time, actor, action, object and details in a canonical JSON form
plus the previous entry's hash. An entry is written in two steps (issue 21), so that appends no
longer queue on the chain head and every transaction does not wait for the one before to commit:

- :func:`record` / :func:`record_many` insert the entry *pending* (no chain position, ``seq``, no
  links) inside the caller's transaction: one Core statement, no lock beyond the new row;
- :func:`chain_pending`, run by one sequencer per database after commits (bot/audit_sequencer.py,
  in the active process) and by anything that needs the chain complete, links the committed
  pending entries in id order in its own short transaction: under the head row's lock (PostgreSQL
  row lock; SQLite's ``BEGIN IMMEDIATE``) each gets the next position, the previous hash and its
  hash, and the head moves to the last one.

An entry committed but not yet linked (the process stopped in between) stays pending in the table
and is linked by the next :func:`chain_pending`: nothing is lost. :func:`verify_chain` checks the
linked entries in chain order against the head as before and counts the pending ones, which are
verifiable once linked. Entries linked before issue 21 have ``seq`` = ``id``, so old chains verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import AuditEntry, AuditHead
from storage.repositories import detached_row
from storage.uow import UnitOfWork

GENESIS_HASH = "0" * 64


def entry_hash(
    *,
    entry_id: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """The hash of one entry given the previous entry's hash."""
    canonical = json.dumps(
        {
            "id": entry_id,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object": [object_type, object_id],
            "details": details,
            "prev": prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_wakers: list[Callable[[], None]] = []


def add_waker(callback: Callable[[], None]) -> None:
    """Call ``callback`` after every commit of a transaction that recorded entries (the sequencer's wake)."""
    _wakers.append(callback)


def remove_waker(callback: Callable[[], None]) -> None:
    """Stop calling ``callback`` (the sequencer stopped)."""
    if callback in _wakers:
        _wakers.remove(callback)


def _wake() -> None:
    for callback in list(_wakers):
        callback()


def _fields(*, at: datetime, actor: str, action: str, object_type: str, object_id: str | int,
            details: dict[str, Any] | None) -> dict[str, Any]:
    # JSON round trip so the hashed details are exactly what the database gives back.
    clean_details: dict[str, Any] = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    return {"at": at, "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
            "details": clean_details}


async def _flush_and_notify(uow: UnitOfWork) -> None:
    """Changes the caller has pending in the session are flushed first (their rows get ids here, as they always
    did); the sequencer is woken once the transaction commits."""
    session = uow.session
    if session.new or session.dirty or session.deleted:
        await session.flush()
    uow.after_commit(_wake)


async def record(
    uow: UnitOfWork,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry inside the caller's transaction, pending: linked into the chain after commit.

    The returned entry is a detached copy of what was written (its id; no position or hash yet).
    """
    await _flush_and_notify(uow)
    values = _fields(at=at, actor=actor, action=action, object_type=object_type, object_id=object_id,
                     details=details)
    entry_id = await uow.audit.insert_entry(values)
    return detached_row(AuditEntry, {"id": entry_id, **values})


@dataclass(frozen=True)
class Pending:
    """One entry for :func:`record_many`: the arguments :func:`record` takes."""

    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | int
    details: dict[str, Any] | None = None


async def record_many(uow: UnitOfWork, entries: Sequence[Pending]) -> list[AuditEntry]:
    """Append several entries in order inside the caller's transaction (as :func:`record` for each in turn: they
    get consecutive ids and are linked in that order), in as few statements as the driver allows."""
    if not entries:
        return []
    await _flush_and_notify(uow)
    rows = [_fields(at=e.at, actor=e.actor, action=e.action, object_type=e.object_type, object_id=e.object_id,
                    details=e.details) for e in entries]
    ids = await uow.audit.insert_entries(rows)
    return [detached_row(AuditEntry, {"id": entry_id, **values}) for entry_id, values in zip(ids, rows, strict=True)]


async def chain_pending(uow: UnitOfWork, *, batch: int = 500) -> int:
    """Link up to ``batch`` committed pending entries into the chain, in id order, inside ``uow`` (the caller
    commits); returns how many. Locks the head first, so two sequencers link one after the other and never the
    same entry twice (each reads the pending entries once it holds the lock)."""
    head = await uow.audit.head_values()
    if head is None:  # the very first entry: create the head row (another sequencer may be doing the same)
        await uow.audit.create_head()
        head = await uow.audit.head_values()
        assert head is not None
    pending = await uow.audit.pending(limit=batch)
    if not pending:
        return 0
    position, prev_hash = head
    links: list[dict[str, Any]] = []
    for row in pending:
        entry_id = int(row.pop("id"))
        position += 1
        digest = entry_hash(entry_id=entry_id, prev_hash=prev_hash, **row)
        links.append({"b_id": entry_id, "seq": position, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    await uow.audit.link(links)
    await uow.audit.move_head(position, prev_hash)
    return len(links)


async def has_pending(uow: UnitOfWork) -> bool:
    """Whether any committed entry waits to be linked (a cheap read, no lock)."""
    return await uow.audit.has_pending()


async def chain_all(uow_factory: Callable[[], UnitOfWork], *, batch: int = 500) -> int:
    """Link every committed pending entry, a batch per transaction; returns how many (the sequencer's work, and
    what a command that needs the whole chain runs first)."""
    total = 0
    while True:
        async with uow_factory() as uow:
            linked = await chain_pending(uow, batch=batch)
            await uow.commit()
        total += linked
        if linked < batch:
            return total


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: ``first_bad_id`` is None when it is intact. ``checked`` counts the linked
    entries checked and, when the chain is intact, the ``pending`` ones (committed, to be linked in id order)."""

    checked: int
    first_bad_id: int | None = None
    reason: str = ""
    pending: int = 0

    @property
    def ok(self) -> bool:
        """Whether every entry checked out."""
        return self.first_bad_id is None


async def verify_chain(uow: UnitOfWork, *, batch: int = 1000) -> ChainReport:
    """Recompute every linked entry's hash in chain order and name the first entry that does not match (by its
    id; a missing position by the position); then the end against the head, then count the pending entries."""
    expected_prev = GENESIS_HASH
    checked = last_seq = 0
    while True:
        entries = await uow.audit.in_chain_order(after_seq=last_seq, limit=batch)
        if not entries:
            break
        for entry in entries:
            assert entry.id is not None and entry.seq is not None
            if entry.seq != last_seq + 1:
                return ChainReport(checked, last_seq + 1, f"entry {last_seq + 1} is missing")
            if entry.prev_hash != expected_prev:
                return ChainReport(checked, entry.id, "previous-hash link does not match")
            digest = entry_hash(entry_id=entry.id, at=entry.at, actor=entry.actor, action=entry.action,
                                object_type=entry.object_type, object_id=entry.object_id, details=entry.details,
                                prev_hash=expected_prev)
            if digest != entry.hash:
                return ChainReport(checked, entry.id, "content does not match its hash")
            expected_prev = digest
            checked += 1
            last_seq = entry.seq
    report = _check_head(await uow.audit.head(), checked, last_seq, expected_prev)
    if not report.ok:
        return report
    pending = await uow.audit.count_pending()
    return ChainReport(checked + pending, pending=pending)


def _check_head(head: AuditHead | None, checked: int, last_seq: int, last_hash: str) -> ChainReport:
    """The chain's end against the head row, which every linking moves: an entry rewritten at the end (hash and
    all) no longer matches the head's hash; an entry linked past the head was not linked through the chain; an
    entry removed from the end leaves the head pointing past the last one. Positions, which are the ids of
    entries linked before issue 21."""
    if head is None:
        return ChainReport(checked, 1, "the chain head is missing") if last_seq else ChainReport(checked)
    if head.last_entry_id < last_seq:
        return ChainReport(checked, head.last_entry_id + 1,
                           f"entries {head.last_entry_id + 1}–{last_seq} were added outside the chain")
    if head.last_entry_id > last_seq:
        return ChainReport(checked, last_seq + 1, f"entries {last_seq + 1}–{head.last_entry_id} were removed")
    if head.last_hash != last_hash:
        return ChainReport(checked, last_seq, "the last entry does not match the chain head (rewritten)")
    return ChainReport(checked)
