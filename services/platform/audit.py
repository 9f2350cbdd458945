"""The audit trail: every state change by a person or the scheduler appends an entry chained to
the previous one by a SHA-256 hash, so an edited, inserted or deleted row breaks the chain.

The hash covers the entry's id, time, actor, action, object and details in a canonical JSON form
plus the previous entry's hash. Appending locks the chain head row, so concurrent transactions
append one after the other (PostgreSQL row lock; SQLite's ``BEGIN IMMEDIATE``). Appends are Core
statements, two in the usual case (move the head from where this process last left it, insert
the entry): every button press writes one.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Sequence
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


# The head each database's chain had after this process's last append: the next append first tries
# to move the head from there in one statement, and reads the head only when that fails (another
# process appended, or that transaction rolled back).
_last_heads: weakref.WeakKeyDictionary[Any, tuple[int, str]] = weakref.WeakKeyDictionary()


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
    """Append an entry to the chain inside the caller's transaction.

    Changes the caller has pending in the session are flushed first (their rows get ids here, as
    they always did); the head and the entry are then written with Core statements. The returned
    entry is a detached copy of what was written.
    """
    session = uow.session
    if session.new or session.dirty or session.deleted:
        await session.flush()
    # JSON round trip so the hashed details are exactly what the database gives back.
    clean_details: dict[str, Any] = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    fields = {"at": at, "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
              "details": clean_details}
    database = session.sync_session.get_bind()
    last = _last_heads.get(database)
    values: dict[str, Any] | None = None
    if last is not None:
        candidate = _entry(last, fields)
        if await uow.audit.move_head_from(last, candidate["id"], candidate["hash"]):
            values = candidate
    if values is None:
        head = await uow.audit.head_values()
        if head is None:  # the very first entry: create the head row
            created = await uow.audit.lock_head()
            head = (created.last_entry_id, created.last_hash)
        values = _entry(head, fields)
        await uow.audit.move_head(values["id"], values["hash"])
    await uow.audit.insert_entry(values)
    _last_heads[database] = (values["id"], values["hash"])
    return detached_row(AuditEntry, values)


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
    """Append several entries in order, inside the caller's transaction: the same chain (ids, hashes) as
    calling :func:`record` for each in turn, in three statements (flush pending changes, move the head over
    all of them, insert them with one executemany) instead of two per entry."""
    if not entries:
        return []
    session = uow.session
    if session.new or session.dirty or session.deleted:
        await session.flush()
    fields = [{"at": e.at, "actor": e.actor, "action": e.action, "object_type": e.object_type,
               "object_id": str(e.object_id),
               "details": json.loads(json.dumps(e.details or {}, ensure_ascii=False, default=str))}
              for e in entries]
    database = session.sync_session.get_bind()
    last = _last_heads.get(database)
    rows: list[dict[str, Any]] | None = None
    if last is not None:
        candidate = _chain(last, fields)
        if await uow.audit.move_head_from(last, candidate[-1]["id"], candidate[-1]["hash"]):
            rows = candidate
    if rows is None:
        head = await uow.audit.head_values()
        if head is None:  # the very first entry: create the head row
            created = await uow.audit.lock_head()
            head = (created.last_entry_id, created.last_hash)
        rows = _chain(head, fields)
        await uow.audit.move_head(rows[-1]["id"], rows[-1]["hash"])
    await uow.audit.insert_entries(rows)
    _last_heads[database] = (rows[-1]["id"], rows[-1]["hash"])
    return [detached_row(AuditEntry, values) for values in rows]


def _chain(head: tuple[int, str], fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries that follow ``head``, each chained to the one before."""
    rows: list[dict[str, Any]] = []
    for item in fields:
        rows.append(_entry(head, item))
        head = (rows[-1]["id"], rows[-1]["hash"])
    return rows


def _entry(head: tuple[int, str], fields: dict[str, Any]) -> dict[str, Any]:
    """Every column of the entry that follows ``head`` (its last entry id and hash)."""
    entry_id, prev_hash = head[0] + 1, head[1]
    digest = entry_hash(entry_id=entry_id, prev_hash=prev_hash, **fields)
    return {"id": entry_id, **fields, "prev_hash": prev_hash, "hash": digest}


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: ``first_bad_id`` is None when it is intact."""

    checked: int
    first_bad_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether every entry checked out."""
        return self.first_bad_id is None


async def verify_chain(uow: UnitOfWork, *, batch: int = 1000) -> ChainReport:
    """Recompute every hash in order and name the first entry that does not match."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        entries = await uow.audit.in_order(after_id=last_id, limit=batch)
        if not entries:
            break
        for entry in entries:
            assert entry.id is not None
            if entry.id != expected_id:
                return ChainReport(checked, expected_id, f"entry {expected_id} is missing")
            if entry.prev_hash != expected_prev:
                return ChainReport(checked, entry.id, "previous-hash link does not match")
            digest = entry_hash(
                entry_id=entry.id,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                details=entry.details,
                prev_hash=entry.prev_hash,
            )
            if digest != entry.hash:
                return ChainReport(checked, entry.id, "content does not match its hash")
            expected_prev = entry.hash
            expected_id += 1
            checked += 1
            last_id = entry.id
    return _check_head(await uow.audit.head(), checked, last_id, expected_prev)


def _check_head(head: AuditHead | None, checked: int, last_id: int, last_hash: str) -> ChainReport:
    """The chain's end against the head row, which every append moves: an entry rewritten at the end (hash and all)
    no longer matches the head's hash; an entry written past the head was not appended through the chain; an
    entry removed from the end leaves the head pointing past the last one."""
    if head is None:
        return ChainReport(checked, 1, "the chain head is missing") if last_id else ChainReport(checked)
    if head.last_entry_id < last_id:
        return ChainReport(checked, head.last_entry_id + 1,
                           f"entries {head.last_entry_id + 1}–{last_id} were added outside the chain")
    if head.last_entry_id > last_id:
        return ChainReport(checked, last_id + 1, f"entries {last_id + 1}–{head.last_entry_id} were removed")
    if head.last_hash != last_hash:
        return ChainReport(checked, last_id, "the last entry does not match the chain head (rewritten)")
    return ChainReport(checked)
