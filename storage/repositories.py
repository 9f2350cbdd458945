"""Repositories: the queries of each table group. They add and read; they never commit.

Each repository is bound to the unit of work's session; services reach them as ``uow.accounts``,
``uow.outbox`` and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Account,
    AuditEntry,
    AuditHead,
    Expert,
    InviteCode,
    OrgUnit,
    OutboxMessage,
    Person,
    ProcessedUpdate,
    RedeemFailure,
    Staff,
    StaffChat,
    Supervisor,
)


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

    async def staff_of_units(self, unit_ids: Sequence[int], *, role: str | None = None) -> Sequence[Staff]:
        query = select(Staff).where(col(Staff.org_unit_id).in_(unit_ids), Staff.active == True)  # noqa: E712
        if role is not None:
            query = query.where(Staff.role == role)
        result = await self.session.exec(query.order_by(col(Staff.person_id)))
        return result.all()


class AccountRepository(_Repository):
    """Channel accounts bound to people."""

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
                col(Supervisor.person_id),
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
        account_id, person_id, language, name, staff_role, staff_active, staff_unit, expert_id, supervisor_id = row
        assert account_id is not None
        return Identity(
            account_id=account_id, person_id=person_id, language=language, name=name,
            staff_role=staff_role if staff_active else None, staff_org_unit_id=staff_unit if staff_active else None,
            is_expert=expert_id is not None, is_supervisor=supervisor_id is not None,
        )

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

    async def in_order(self, *, after_id: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        result = await self.session.exec(
            select(AuditEntry).where(col(AuditEntry.id) > after_id).order_by(col(AuditEntry.id)).limit(limit)
        )
        return result.all()

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
