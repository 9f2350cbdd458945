"""Repositories: the queries of each table group. They add and read; they never commit.

Each repository is bound to the unit of work's session; services reach them as ``uow.accounts``,
``uow.outbox`` and so on.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    CursorResult,
    Executable,
    Insert,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    or_,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import manager_of_class, set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    SEALED_NAME,
    Account,
    AuditEntry,
    AuditHead,
    Expert,
    InviteCode,
    OrgUnit,
    OutboxMessage,
    Person,
    ProcessedUpdate,
    ReceivedUpdate,
    RedeemFailure,
    Staff,
    StaffChat,
    Supervisor,
    hashed_columns,
)

SEALED_VALUES: dict[str, Any] = {"person_id": None, "address": None, "sent_address": None, "params": {},
                                 "buttons": []}
"""What a sealed outbox row keeps of its recipient and content once it is no longer pending: nothing (issue 19)."""


@dataclass(frozen=True)
class Identity:
    """A bound account and the facts its roles are derived from."""

    account_id: int
    person_id: int
    language: str | None
    name: str
    staff_role: str | None
    staff_org_unit_id: int | None
    is_expert: bool
    is_supervisor: bool
    menu: str | None = None


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class OrgUnitRepository(_Repository):
    """Org units (the bureau tree)."""

    async def add(self, unit: OrgUnit) -> OrgUnit:
        self.session.add(unit)
        await self.session.flush()
        return unit

    async def get(self, unit_id: int) -> OrgUnit | None:
        return await self.session.get(OrgUnit, unit_id)

    async def by_code(self, code: str) -> OrgUnit | None:
        result = await self.session.exec(select(OrgUnit).where(OrgUnit.code == code))
        return result.first()

    async def all(self) -> Sequence[OrgUnit]:
        result = await self.session.exec(select(OrgUnit).order_by(col(OrgUnit.id)))
        return result.all()


class PersonRepository(_Repository):
    """People and their roles (staff, expert, supervisor)."""

    async def add(self, person: Person) -> Person:
        self.session.add(person)
        await self.session.flush()
        return person

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def add_role_row(self, row: Staff | Expert | Supervisor) -> None:
        self.session.add(row)
        await self.session.flush()

    async def staff(self, person_id: int) -> Staff | None:
        return await self.session.get(Staff, person_id)

    async def expert(self, person_id: int) -> Expert | None:
        return await self.session.get(Expert, person_id)

    async def supervisor(self, person_id: int) -> Supervisor | None:
        return await self.session.get(Supervisor, person_id)

    async def name_of(self, person: Person) -> str:
        """The person's name: a social supervisor's is kept encrypted in ``supervisor.name`` (issue 19), the person
        row holding :data:`SEALED_NAME`."""
        if person.name != SEALED_NAME or person.id is None:
            return person.name
        supervisor = await self.supervisor(person.id)
        return supervisor.name if supervisor is not None and supervisor.name else person.name

    async def staff_of_units(self, unit_ids: Sequence[int], *, role: str | None = None) -> Sequence[Staff]:
        query = select(Staff).where(col(Staff.org_unit_id).in_(unit_ids), Staff.active == True)  # noqa: E712
        if role is not None:
            query = query.where(Staff.role == role)
        result = await self.session.exec(query.order_by(col(Staff.person_id)))
        return result.all()


class AccountRepository(_Repository):
    """Channel accounts bound to people."""

    async def set_language(self, account_id: int, language: str) -> int | None:
        """Set an active account's language in one prebuilt statement (a button press is the hot path); its
        person id, or ``None`` when there is no such active account."""
        result = await _core(self.session, _set_language_statement(), params={"account": account_id, "lang": language})
        person_id: int | None = result.scalar_one_or_none()
        return person_id

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def active_by_user(self, channel: str, external_user_id: str) -> Account | None:
        result = await self.session.exec(
            select(Account).where(
                Account.channel == channel,
                Account.external_user_id == external_user_id,
                col(Account.unbound_at).is_(None),
            )
        )
        return result.first()

    async def identity(self, channel: str, external_user_id: str) -> Identity | None:
        """The active account of a channel user with everything roles depend on, in one query."""
        query = (
            sa_select(
                col(Account.id), col(Account.person_id), col(Account.language), col(Person.name),
                col(Staff.role), col(Staff.active), col(Staff.org_unit_id), col(Expert.person_id),
                col(Supervisor.person_id), col(Supervisor.name),
            )
            .join(Person, col(Person.id) == col(Account.person_id))
            .outerjoin(Staff, col(Staff.person_id) == col(Account.person_id))
            .outerjoin(Expert, col(Expert.person_id) == col(Account.person_id))
            .outerjoin(Supervisor, col(Supervisor.person_id) == col(Account.person_id))
            .where(
                col(Account.channel) == channel,
                col(Account.external_user_id) == external_user_id,
                col(Account.unbound_at).is_(None),
            )
        )
        row = (await self.session.exec(query)).first()  # type: ignore[call-overload]
        if row is None:
            return None
        (account_id, person_id, language, name, staff_role, staff_active, staff_unit, expert_id, supervisor_id,
         supervisor_name) = row
        name = supervisor_name if name == SEALED_NAME and supervisor_name else name
        assert account_id is not None
        return Identity(
            account_id=account_id, person_id=person_id, language=language, name=name,
            staff_role=staff_role if staff_active else None, staff_org_unit_id=staff_unit if staff_active else None,
            is_expert=expert_id is not None, is_supervisor=supervisor_id is not None,
        )

    async def identity_core(self, channel: str, external_user_id: str) -> Identity | None:
        """:meth:`identity` through a prebuilt Core statement (no ORM compilation per call)."""
        result = await _core(self.session, _identity_statement(), params={"channel": channel, "user": external_user_id})
        row = result.first()
        if row is None:
            return None
        (account_id, person_id, language, name, staff_role, staff_active, staff_unit, expert_id, supervisor_id,
         supervisor_name, menu) = row
        name = supervisor_name if name == SEALED_NAME and supervisor_name else name
        return Identity(
            account_id=account_id, person_id=person_id, language=language, name=name,
            staff_role=staff_role if staff_active else None, staff_org_unit_id=staff_unit if staff_active else None,
            is_expert=expert_id is not None, is_supervisor=supervisor_id is not None, menu=menu,
        )

    async def set_menu(self, account_id: int, menu: str) -> None:
        """Record the menu last set for an active account's chat (one prebuilt statement)."""
        await _core(self.session, _set_menu_statement(), params={"account": account_id, "menu": menu})

    async def active_chats_of_people(self, person_ids: Sequence[int]) -> dict[tuple[int, str], tuple[str, str | None]]:
        """(person, channel) → (chat id, language) of each active account, the oldest when there are several."""
        if not person_ids:
            return {}
        result = await _core(self.session, _active_chats_statement(), params={"people": list(person_ids)})
        found: dict[tuple[int, str], tuple[str, str | None]] = {}
        for person_id, channel, chat_id, language in result.all():
            found.setdefault((person_id, channel), (chat_id, language))
        return found

    async def active_for_person(self, person_id: int, channel: str | None = None) -> Sequence[Account]:
        query = select(Account).where(Account.person_id == person_id, col(Account.unbound_at).is_(None))
        if channel is not None:
            query = query.where(Account.channel == channel)
        result = await self.session.exec(query)
        return result.all()


class InviteRepository(_Repository):
    """Invite codes (hashed) and failed redemption attempts."""

    async def add(self, invite: InviteCode) -> InviteCode:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_hash(self, code_hash: str) -> InviteCode | None:
        result = await self.session.exec(select(InviteCode).where(InviteCode.code_hash == code_hash))
        return result.first()

    async def claim(self, invite_id: int, *, now: datetime, account_id: int) -> bool:
        """Mark an invite used if nobody used it first; the WHERE makes the race resolve to one winner."""
        result = await self.session.exec(
            update(InviteCode)
            .where(col(InviteCode.id) == invite_id, col(InviteCode.used_at).is_(None))
            .values(used_at=now, used_by_account_id=account_id)
        )
        return bool(result.rowcount == 1)

    async def revoke_open_for_person(self, person_id: int, *, now: datetime) -> int:
        result = await self.session.exec(
            update(InviteCode)
            .where(
                col(InviteCode.person_id) == person_id,
                col(InviteCode.used_at).is_(None),
                col(InviteCode.revoked_at).is_(None),
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount)

    async def record_failure(self, channel: str, external_user_id: str, at: datetime) -> None:
        self.session.add(RedeemFailure(channel=channel, external_user_id=external_user_id, at=at))
        await self.session.flush()

    async def failures_since(self, channel: str, external_user_id: str, since: datetime) -> int:
        result = await self.session.exec(
            select(func.count())
            .select_from(RedeemFailure)
            .where(
                RedeemFailure.channel == channel,
                RedeemFailure.external_user_id == external_user_id,
                col(RedeemFailure.at) >= since,
            )
        )
        return int(result.one())

    async def prune_failures(self, before: datetime) -> int:
        result = await self.session.exec(delete(RedeemFailure).where(col(RedeemFailure.at) < before))
        return int(result.rowcount)


class StaffChatRepository(_Repository):
    """Group chats bound to org units."""

    async def add(self, chat: StaffChat) -> StaffChat:
        self.session.add(chat)
        await self.session.flush()
        return chat

    async def get(self, staff_chat_id: int) -> StaffChat | None:
        return await self.session.get(StaffChat, staff_chat_id)

    async def chats(self, staff_chat_ids: Sequence[int]) -> dict[int, tuple[str, str | None, bool]]:
        """Staff chat id → (chat id, language, still bound), in one query."""
        if not staff_chat_ids:
            return {}
        result = await _core(self.session, _staff_chats_statement(), params={"ids": list(staff_chat_ids)})
        return {row[0]: (row[1], row[2], row[3] is None) for row in result.all()}

    async def active_by_chat(self, channel: str, chat_id: str) -> StaffChat | None:
        result = await self.session.exec(
            select(StaffChat).where(
                StaffChat.channel == channel, StaffChat.chat_id == chat_id, col(StaffChat.unbound_at).is_(None)
            )
        )
        return result.first()

    async def active_for_unit(self, org_unit_id: int) -> Sequence[StaffChat]:
        result = await self.session.exec(
            select(StaffChat).where(StaffChat.org_unit_id == org_unit_id, col(StaffChat.unbound_at).is_(None))
        )
        return result.all()


class OutboxRepository(_Repository):
    """Pending, sent and failed notifications."""

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        """Queue a row; it is written (and gets its id) at the next flush or commit."""
        self.session.add(message)
        return message

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def insert(self, values: Mapping[str, Any]) -> int:
        """Write one row at once with a Core INSERT (no unit-of-work flush); returns its id."""
        result = await _core(self.session, _outbox_insert_statement(), params=dict(values))
        new_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        assert isinstance(new_id, int)
        return new_id

    async def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write several rows (every row the same columns) with one Core executemany (no ids read back:
        asking for them in order makes SQLite insert row by row)."""
        if rows:
            await _core(self.session, _outbox_insert_statement(), params=[dict(r) for r in rows])

    async def insert_many_returning(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
        """:meth:`insert_many` in one statement that reads back each new row's (id, message key), in no particular
        order (asking for the rows' order makes SQLite insert row by row)."""
        if not rows:
            return []
        result = await _core(self.session, _outbox_insert_returning_statement(), params=[dict(r) for r in rows])
        return [(int(row[0]), str(row[1])) for row in result.all()]

    async def supersede_edits(self, original_ids: Sequence[int], *, now: datetime, reason: str) -> int:
        """Skip the edits of these messages still waiting and not claimed (a newer edit replaces them, so the latest
        state wins and at most the one being sent is in flight); how many. Uses ``ix_outbox_edit_of``."""
        if not original_ids:
            return 0
        table = _table(OutboxMessage)
        result = await _core(self.session, update(table).where(
            table.c.edit_of_id.in_(list(original_ids)), table.c.status == "pending", table.c.kind == "edit",
            or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
        ).values(status="skipped", last_error=reason))
        return int(result.rowcount or 0)

    async def lease_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Row[*tuple[Any, ...]]]:
        """Lease up to ``limit`` due rows in one statement (``SKIP LOCKED`` on PostgreSQL), oldest first.

        The same rows as :meth:`claim_due`, as Core rows of the columns in :data:`CLAIM_COLUMNS`.
        """
        params = {"now": now, "lease_until": lease_until, "limit": limit}
        result = await _core(self.session, _lease_statement(), params=params)
        rows = list(result.all())
        rows.sort(key=lambda row: (row.next_attempt_at, row.id))
        return rows

    async def backing_off(
        self, *, person_ids: Sequence[int], staff_chat_ids: Sequence[int], addresses: Sequence[str], now: datetime
    ) -> list[Row[*tuple[Any, ...]]]:
        """Pending rows not due yet (backing off after a failure) to any of these recipients, in one query."""
        if not (person_ids or staff_chat_ids or addresses):
            return []
        result = await _core(self.session, _backing_off_statement(),
            params={
                "now": now, "people": list(person_ids), "chats": list(staff_chat_ids), "addresses": list(addresses),
            },
        )
        return list(result.all())

    async def waiting_to_address(self, channel: str, address: str) -> bool:
        """Whether a pending row to this chat address waits unclaimed (not yet due, or not yet claimed): a
        newer message to the address must then queue behind it rather than be handed off."""
        result = await _core(self.session, _waiting_to_address_statement(),
                             params={"channel": channel, "address": address})
        return result.first() is not None

    async def states(self, message_ids: Sequence[int]) -> dict[int, Row[*tuple[Any, ...]]]:
        """Status, sent address and message id of rows, by id, in one query."""
        if not message_ids:
            return {}
        result = await _core(self.session, _outbox_states_statement(), params={"ids": list(message_ids)})
        return {row.id: row for row in result.all()}

    async def seal(self, message_ids: Sequence[int]) -> None:
        """Clear the recipient, addresses and content of the sealed rows among ``message_ids`` that are no longer
        pending (:data:`SEALED_VALUES`); the others are left alone."""
        if message_ids:
            table = _table(OutboxMessage)
            await self.session.exec(update(table).where(
                table.c.id.in_(list(message_ids)), table.c.sealed.is_(True), table.c.status != "pending",
            ).values(**SEALED_VALUES))

    async def set_fields(self, message_id: int, values: Mapping[str, Any]) -> None:
        """Change some columns of one row with a Core UPDATE."""
        table = _table(OutboxMessage)
        await self.session.exec(update(table).where(table.c.id == message_id).values(**values))

    async def rewrite_unsent(self, message_id: int, values: Mapping[str, Any]) -> bool:
        """Change a row still pending and not claimed by a sender; False when it was sent or is being sent."""
        table = _table(OutboxMessage)
        result = await self.session.exec(update(table).where(
            table.c.id == message_id, table.c.status == "pending", table.c.claimed_until.is_(None)).values(**values))
        return bool(result.rowcount)

    async def mark_sent(self, sent: Sequence[Mapping[str, Any]], *, now: datetime) -> None:
        """Record sends in one executemany UPDATE; rows no longer pending are left alone.

        Each item has ``id``, ``address`` and ``message_id`` (None keeps the stored one).
        """
        if not sent:
            return
        params = [
            {"b_id": item["id"], "b_now": now, "b_address": item["address"], "b_message_id": item["message_id"]}
            for item in sent
        ]
        await _core(self.session, _mark_sent_statement(), params=params)

    async def many(self, message_ids: Sequence[int]) -> dict[int, OutboxMessage]:
        """Rows by id, in one query."""
        if not message_ids:
            return {}
        result = await self.session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(message_ids)))
        return {row.id: row for row in result.all() if row.id is not None}

    async def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> Sequence[OutboxMessage]:
        """Lock and lease up to ``limit`` due rows (``SKIP LOCKED`` on PostgreSQL), oldest first."""
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                col(OutboxMessage.next_attempt_at) <= now,
                or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now),
            )
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.exec(query)).all()
        for row in rows:
            row.claimed_until = lease_until
            self.session.add(row)
        await self.session.flush()
        return rows

    async def older_backing_off(self, recipient: tuple[str, str], *, before_id: int, now: datetime) -> datetime | None:
        """When the oldest earlier pending row to the same recipient is next due, if it is not due yet.

        ``recipient`` is ``("person_id" | "staff_chat_id" | "address", value)``.
        """
        column_name, value = recipient
        column = getattr(OutboxMessage, column_name)
        typed: int | str = int(value) if column_name != "address" else value
        result = await self.session.exec(
            select(func.max(OutboxMessage.next_attempt_at)).where(
                column == typed,
                OutboxMessage.status == "pending",
                col(OutboxMessage.id) < before_id,
                col(OutboxMessage.next_attempt_at) > now,
            )
        )
        value_at = result.one()
        return value_at if isinstance(value_at, datetime) else None

    async def release_claims(self) -> int:
        result = await self.session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == "pending", col(OutboxMessage.claimed_until).is_not(None))
            .values(claimed_until=None)
        )
        return int(result.rowcount)

    async def next_due_at(self) -> datetime | None:
        result = await self.session.exec(
            select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
        )
        value = result.one()
        return value if isinstance(value, datetime) else None

    async def count_by_status(self) -> dict[str, int]:
        result = await self.session.exec(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in result.all()}


class AuditRepository(_Repository):
    """The hash-chained audit trail."""

    async def lock_head(self) -> AuditHead:
        """The chain head, locked for the rest of the transaction (created on first use)."""
        result = await self.session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update())
        head = result.first()
        if head is None:
            head = AuditHead(id=1, last_entry_id=0, last_hash="0" * 64)
            self.session.add(head)
            try:
                async with self.session.begin_nested():
                    await self.session.flush()
            except IntegrityError:
                result = await self.session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update())
                head = result.one()
        return head

    async def add(self, entry: AuditEntry) -> AuditEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def head_values(self) -> tuple[int, str] | None:
        """The chain head's last entry id and hash, locked for the rest of the transaction (Core)."""
        row = (await _core(self.session, _head_statement())).first()
        return (row[0], row[1]) if row is not None else None

    async def insert_entry(self, values: Mapping[str, Any]) -> int:
        """Insert a pending entry (no chain position yet) with a Core statement; returns its id."""
        result = await _core(self.session, _audit_insert_statement(), params=dict(values))
        return int(result.scalar_one())

    async def insert_entries(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert several pending entries with as few statements as the driver allows; returns their ids in order."""
        return await insert_rows(self.session, AuditEntry, rows, return_ids=True)

    async def move_head(self, entry_id: int, entry_hash: str) -> None:
        """Point the (locked) head at a new entry."""
        await _core(self.session, _head_move_statement(), params={"entry_id": entry_id, "hash": entry_hash})
        self._sync_loaded_head(entry_id, entry_hash)

    async def create_head(self) -> None:
        """Create the chain head (empty chain) unless it exists; concurrent creators do not fail (Core)."""
        from sqlalchemy.dialects import postgresql, sqlite  # on first use: start-up loads no dialect it does not need

        dialect = self.session.sync_session.get_bind().dialect.name
        insert_head = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_table(AuditHead))
        await _core(self.session, insert_head.values(id=1, last_entry_id=0, last_hash="0" * 64)
                    .on_conflict_do_nothing(index_elements=["id"]))

    async def pending(self, *, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` entries not yet in the chain, in id order: the columns their hash covers (Core)."""
        result = await _core(self.session, _pending_statement(), params={"limit": limit})
        return [dict(row._mapping) for row in result]

    async def has_pending(self) -> bool:
        """Whether any committed entry waits to be linked into the chain."""
        return (await _core(self.session, _has_pending_statement())).first() is not None

    async def link(self, links: Sequence[Mapping[str, Any]]) -> None:
        """Give pending entries their chain position and links (``b_id``, ``seq``, ``prev_hash``, ``hash``), in
        one executemany; the caller holds the head's lock."""
        if links:
            await _core(self.session, _link_statement(), params=[dict(link) for link in links])

    def _sync_loaded_head(self, entry_id: int, entry_hash: str) -> None:
        loaded = self.session.sync_session.identity_map.get(identity_key(AuditHead, 1))
        if loaded is not None:  # a head object read through the ORM in this session: keep it truthful
            set_committed_value(loaded, "last_entry_id", entry_id)
            set_committed_value(loaded, "last_hash", entry_hash)

    async def in_order(self, *, after_id: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        """Entries in id order (pending ones included)."""
        result = await self.session.exec(
            select(AuditEntry).where(col(AuditEntry.id) > after_id).order_by(col(AuditEntry.id)).limit(limit)
        )
        return result.all()

    async def in_chain_order(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        """Linked entries in chain order (by position, ``seq``)."""
        result = await self.session.exec(
            select(AuditEntry).where(col(AuditEntry.seq) > after_seq).order_by(col(AuditEntry.seq)).limit(limit)
        )
        return result.all()

    async def count_pending(self) -> int:
        """How many committed entries wait to be linked into the chain."""
        result = await self.session.exec(select(func.count()).where(col(AuditEntry.seq).is_(None)))
        return int(result.one())

    async def head(self) -> AuditHead | None:
        return await self.session.get(AuditHead, 1)


class ProcessedUpdateRepository(_Repository):
    """Ids of updates already handled."""

    async def exists(self, channel: str, update_id: int) -> bool:
        result = await self.session.exec(
            select(ProcessedUpdate.id).where(
                ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id
            )
        )
        return result.first() is not None

    async def highest(self, channel: str) -> int | None:
        """The highest update id recorded for a channel."""
        result = await self.session.exec(
            select(func.max(ProcessedUpdate.update_id)).where(ProcessedUpdate.channel == channel)
        )
        value = result.one()
        return int(value) if value is not None else None

    async def add(self, channel: str, update_id: int, at: datetime) -> None:
        self.session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=at))
        await self.session.flush()

    async def prune(self, before: datetime) -> int:
        result = await self.session.exec(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before)
        )
        return int(result.rowcount)


class ReceivedUpdateRepository(_Repository):
    """Updates acknowledged to the channel and not yet processed (the durable intake)."""

    async def receive(self, channel: str, updates: Sequence[tuple[int, str]], at: datetime) -> None:
        """Add ``(update_id, body)`` rows; an id already received is left as it is."""
        rows = [{"channel": channel, "update_id": i, "body": body, "received_at": at} for i, body in updates]
        await _core(self.session, _receive_statement(self.session.get_bind().dialect.name), rows)

    async def waiting(self, channel: str, *, after: int | None = None, limit: int = 500) -> list[tuple[int, str]]:
        """Up to ``limit`` received ``(update_id, body)`` rows above ``after``, in update id order."""
        statement = (
            select(ReceivedUpdate.update_id, ReceivedUpdate.body)
            .where(ReceivedUpdate.channel == channel)
            .order_by(col(ReceivedUpdate.update_id))
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(col(ReceivedUpdate.update_id) > after)
        return [(int(update_id), body) for update_id, body in (await self.session.exec(statement)).all()]

    async def forget(self, channel: str, update_ids: Sequence[int]) -> None:
        """Delete the rows of ``update_ids`` (they have been processed)."""
        for start in range(0, len(update_ids), 500):  # bounded parameter lists
            chunk = update_ids[start:start + 500]
            await self.session.exec(
                delete(ReceivedUpdate).where(
                    col(ReceivedUpdate.channel) == channel, col(ReceivedUpdate.update_id).in_(chunk)
                )
            )

    async def forget_processed(self) -> int:
        """Delete every row whose id is recorded as processed; returns how many."""
        processed = sa_select(ProcessedUpdate.id).where(  # type: ignore[call-overload]
            ProcessedUpdate.channel == ReceivedUpdate.channel, ProcessedUpdate.update_id == ReceivedUpdate.update_id
        )
        result = await self.session.exec(delete(ReceivedUpdate).where(processed.exists()))
        return int(result.rowcount)


# ---- rows written with Core, as model objects ----------------------------------------------------

_Model = TypeVar("_Model", bound=SQLModel)


def detached_row(model: type[_Model], values: Mapping[str, Any]) -> _Model:
    """A ``model`` object holding ``values`` (a row written with Core), attached to no session.

    SQLModel's constructor runs pydantic's per-field machinery (a default factory such as ``dict``
    costs a signature inspection each time): tenths of a millisecond per object. This fills the
    instance the way ``sqlmodel_table_construct`` does, in microseconds. Fields missing from
    ``values`` get their defaults.
    """
    instance: _Model = manager_of_class(model).new_instance()
    data = instance.__dict__
    for name, (factory, default) in _field_defaults(model).items():
        if name in values:
            data[name] = values[name]
        else:
            data[name] = factory() if factory is not None else default
    object.__setattr__(instance, "__pydantic_fields_set__", set(values) & set(data))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


@functools.cache
def _field_defaults(model: type[SQLModel]) -> dict[str, tuple[Any, Any]]:
    configure_mappers()  # a detached row may be the first ORM object of the process: attributes need their mapper
    defaults: dict[str, tuple[Any, Any]] = {}
    for name, field in model.model_fields.items():
        factory = field.default_factory
        default = None if field.is_required() else field.default
        defaults[name] = (factory, default)
    return defaults


# ---- prebuilt Core statements of the hot paths --------------------------------------------------
# Built once per process (they hold no connection): executing the same statement object lets
# SQLAlchemy reuse its cache key and compiled form.


_AnySelect = Select[Any]


async def _core(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
) -> CursorResult[*tuple[Any, ...]]:
    """Execute a prebuilt Core statement in the session's transaction (no autoflush, no ORM loading)."""
    result: CursorResult[*tuple[Any, ...]] = await session.exec(statement, params=params)  # type: ignore[call-overload]
    return result


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


CLAIM_COLUMNS = (
    "id", "channel", "kind", "person_id", "staff_chat_id", "address", "language", "message_key", "params",
    "buttons", "edit_of_id", "created_at", "next_attempt_at", "external_message_id",
)


@functools.cache
def _identity_statement() -> _AnySelect:
    account, person = _table(Account), _table(Person)
    staff, expert, supervisor = _table(Staff), _table(Expert), _table(Supervisor)
    return (
        sa_select(
            account.c.id, account.c.person_id, account.c.language, person.c.name, staff.c.role, staff.c.active,
            staff.c.org_unit_id, expert.c.person_id, supervisor.c.person_id, supervisor.c.name, account.c.menu,
        )
        .join(person, person.c.id == account.c.person_id)
        .outerjoin(staff, staff.c.person_id == account.c.person_id)
        .outerjoin(expert, expert.c.person_id == account.c.person_id)
        .outerjoin(supervisor, supervisor.c.person_id == account.c.person_id)
        .where(
            account.c.channel == bindparam("channel"),
            account.c.external_user_id == bindparam("user"),
            account.c.unbound_at.is_(None),
        )
    )


@functools.cache
def _set_menu_statement() -> Update:
    account = _table(Account)
    return (update(account).where(account.c.id == bindparam("account"), account.c.unbound_at.is_(None))
            .values(menu=bindparam("menu")))


@functools.cache
def _receive_statement(dialect: str) -> Insert:
    from sqlalchemy.dialects import postgresql, sqlite  # the PostgreSQL dialect loads on PostgreSQL only

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_table(ReceivedUpdate)).on_conflict_do_nothing()


@functools.cache
def _set_language_statement() -> Update:
    account = _table(Account)
    return (
        update(account)
        .where(account.c.id == bindparam("account"), account.c.unbound_at.is_(None))
        .values(language=bindparam("lang"))
        .returning(account.c.person_id)
    )


@functools.cache
def _active_chats_statement() -> _AnySelect:
    account = _table(Account)
    return (
        sa_select(account.c.person_id, account.c.channel, account.c.chat_id, account.c.language)
        .where(account.c.person_id.in_(bindparam("people", expanding=True)), account.c.unbound_at.is_(None))
        .order_by(account.c.id)
    )


@functools.cache
def _staff_chats_statement() -> _AnySelect:
    chat = _table(StaffChat)
    return sa_select(chat.c.id, chat.c.chat_id, chat.c.language, chat.c.unbound_at).where(
        chat.c.id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _outbox_insert_statement() -> Insert:
    return sa_insert(_table(OutboxMessage))


@functools.cache
def _outbox_insert_returning_statement() -> Insert:
    table = _table(OutboxMessage)
    return sa_insert(table).returning(table.c.id, table.c.message_key)


@functools.cache
def _lease_statement() -> Update:
    table = _table(OutboxMessage)
    due = (
        sa_select(table.c.id)
        .where(
            table.c.status == "pending",
            table.c.next_attempt_at <= bindparam("now"),
            or_(table.c.claimed_until.is_(None), table.c.claimed_until < bindparam("now")),
        )
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=bindparam("lease_until"))
        .returning(*(table.c[name] for name in CLAIM_COLUMNS))
    )


@functools.cache
def _waiting_to_address_statement() -> _AnySelect:
    table = _table(OutboxMessage)
    return sa_select(table.c.id).where(
        table.c.address == bindparam("address"),
        table.c.status == "pending",
        table.c.channel == bindparam("channel"),
        table.c.claimed_until.is_(None),
    ).limit(1)


@functools.cache
def _backing_off_statement() -> _AnySelect:
    table = _table(OutboxMessage)
    return sa_select(
        table.c.id, table.c.person_id, table.c.staff_chat_id, table.c.address, table.c.next_attempt_at
    ).where(
        table.c.status == "pending",
        table.c.next_attempt_at > bindparam("now"),
        or_(
            table.c.person_id.in_(bindparam("people", expanding=True)),
            table.c.staff_chat_id.in_(bindparam("chats", expanding=True)),
            table.c.address.in_(bindparam("addresses", expanding=True)),
        ),
    )


@functools.cache
def _outbox_states_statement() -> _AnySelect:
    table = _table(OutboxMessage)
    return sa_select(table.c.id, table.c.status, table.c.sent_address, table.c.external_message_id).where(
        table.c.id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _mark_sent_statement() -> Update:
    table = _table(OutboxMessage)
    sealed = table.c.sealed.is_(True)  # a sealed row forgets its recipient and content once sent (SEALED_VALUES)
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == "pending")
        .values(
            status="sent",
            claimed_until=None,
            sent_at=bindparam("b_now", type_=table.c.sent_at.type),
            sent_address=case((sealed, None), else_=bindparam("b_address", type_=table.c.sent_address.type)),
            person_id=case((sealed, None), else_=table.c.person_id),
            address=case((sealed, None), else_=table.c.address),
            params=case((sealed, literal_column("'{}'")), else_=table.c.params),
            buttons=case((sealed, literal_column("'[]'")), else_=table.c.buttons),
            external_message_id=func.coalesce(
                bindparam("b_message_id", type_=table.c.external_message_id.type), table.c.external_message_id
            ),
        )
    )


@functools.cache
def _head_statement() -> _AnySelect:
    head = _table(AuditHead)
    return sa_select(head.c.last_entry_id, head.c.last_hash).where(head.c.id == 1).with_for_update()


@functools.cache
def _audit_insert_statement() -> ReturningInsert[tuple[int]]:
    table = _table(AuditEntry)
    return sa_insert(table).returning(table.c.id)


_HASHED_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "details")


@functools.cache
def _pending_statement() -> _AnySelect:
    table = _table(AuditEntry)
    return (sa_select(*(table.c[name] for name in _HASHED_COLUMNS)).where(table.c.seq.is_(None))
            .order_by(table.c.id).limit(bindparam("limit")))


@functools.cache
def _has_pending_statement() -> _AnySelect:
    table = _table(AuditEntry)
    return sa_select(table.c.id).where(table.c.seq.is_(None)).limit(1)


@functools.cache
def _link_statement() -> Update:
    table = _table(AuditEntry)
    return (update(table).where(table.c.id == bindparam("b_id"), table.c.seq.is_(None))
            .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")))


@functools.cache
def _head_move_statement() -> Update:
    head = _table(AuditHead)
    return update(head).where(head.c.id == 1).values(last_entry_id=bindparam("entry_id"), last_hash=bindparam("hash"))


async def insert_rows(session: AsyncSession, model: type[SQLModel], rows: Sequence[Mapping[str, Any]], *,
                      return_ids: bool = False) -> list[int]:
    """Insert ``rows`` (column name → value; every row the same columns) in as few statements as the driver allows,
    inside the session's transaction: bulk writes such as an import's. With ``return_ids``, the new ids in the
    order of ``rows``.

    PostgreSQL returns them (``RETURNING`` sorted by SQLAlchemy's sentinel). SQLite has no sentinel, so SQLAlchemy
    would insert one row per statement; instead the rows go in one ``executemany`` and their ids are read from
    SQLite's rule for a rowid table (a new row gets the largest rowid + 1): the writer holds the database's write
    lock (``BEGIN IMMEDIATE``), and the ids are checked to be exactly the next ``len(rows)`` before they are used."""
    if not rows:
        return []
    table = _table(model)
    keyed = hashed_columns(table)
    if keyed:  # each keyed hash column gets its source's plaintext, which its type hashes
        rows = [{**row, **{hashed: row.get(source) for hashed, source in keyed}} for row in rows]
    if not return_ids:
        await _core(session, table.insert(), params=list(rows))
        return []
    if session.sync_session.get_bind().dialect.name != "sqlite":
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        result = await _core(session, statement, params=list(rows))
        return [int(value) for value in result.scalars()]
    before = int((await _core(session, sa_select(func.coalesce(func.max(table.c.id), 0)))).scalar_one())
    await _core(session, table.insert(), params=list(rows))
    span = (await _core(session, sa_select(func.min(table.c.id), func.max(table.c.id), func.count())
                        .where(table.c.id > before))).one()
    ids = list(range(before + 1, before + 1 + len(rows)))
    if tuple(span) != (ids[0], ids[-1], len(rows)):
        raise RuntimeError(f"{table.name}: new ids are not {ids[0]}..{ids[-1]} but {tuple(span)}")
    return ids
