"""The audit trail: every state change by a person or the scheduler appends an entry chained to
the previous one by a SHA-256 hash, so an edited, inserted or deleted row breaks the chain.

The hash covers the entry's id, time, actor, action, object and details in a canonical JSON form
plus the previous entry's hash. Appending locks the chain head row, so concurrent transactions
append one after the other (PostgreSQL row lock; SQLite's ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import AuditEntry
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
    """Append an entry to the chain inside the caller's transaction."""
    head = await uow.audit.lock_head()
    entry_id = head.last_entry_id + 1
    # JSON round trip so the hashed details are exactly what the database gives back.
    clean_details: dict[str, Any] = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    digest = entry_hash(
        entry_id=entry_id,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=clean_details,
        prev_hash=head.last_hash,
    )
    entry = await uow.audit.add(
        AuditEntry(
            id=entry_id,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=clean_details,
            prev_hash=head.last_hash,
            hash=digest,
        )
    )
    head.last_entry_id = entry_id
    head.last_hash = digest
    uow.session.add(head)
    return entry


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
    head = await uow.audit.head()
    if head is not None and head.last_entry_id != last_id:
        return ChainReport(checked, last_id + 1, "entries after the last one were removed")
    return ChainReport(checked)
