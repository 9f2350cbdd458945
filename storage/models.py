"""The tables of the foundation: org units, people and their roles, channel accounts, invites,
staff chats, the outbox, the audit trail and processed update ids.

Later capabilities (expert records, draws, leads) extend these through Alembic migrations.
Times are UTC (:class:`storage.types.UTCDateTime`); identifiers that come from a messaging
channel (user ids, chat ids) are strings, so another channel (WeCom, DingTalk, Feishu) fits
the same columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class OrgUnit(SQLModel, table=True):
    """A node of the bureau's tree: the bureau at the root, divisions or cities below it."""

    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, description="short handle used in commands")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16, description="bureau | division | city")
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    created_at: datetime = _ts()


class Person(SQLModel, table=True):
    """Someone the bureau knows: staff, an expert, a social supervisor (or several of these)."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    created_at: datetime = _ts()


class Staff(SQLModel, table=True):
    """A person's employment as bureau staff in one org unit, as plain staff or as admin."""

    __tablename__ = "staff"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    role: str = Field(max_length=16, description="staff | admin")
    alerts_opt_in: bool = Field(default=False, description="also receive the org unit's alerts privately")
    active: bool = True
    created_at: datetime = _ts()


class Expert(SQLModel, table=True):
    """A person's membership of an expert pool (minimal now; the expert-pool capability extends it)."""

    __tablename__ = "expert"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="the pool's owner")
    created_at: datetime = _ts()


class Supervisor(SQLModel, table=True):
    """A person's appointment as social supervisor of a division (002 §3)."""

    __tablename__ = "supervisor"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    created_at: datetime = _ts()


class Account(SQLModel, table=True):
    """A messaging-channel account bound to a person. Unbinding keeps the row (history)."""

    __tablename__ = "account"
    __table_args__ = (
        Index(
            "uq_account_active_user",
            "channel",
            "external_user_id",
            unique=True,
            sqlite_where=text("unbound_at IS NULL"),
            postgresql_where=text("unbound_at IS NULL"),
        ),
        Index(
            "uq_account_active_person",
            "channel",
            "person_id",
            unique=True,
            sqlite_where=text("unbound_at IS NULL"),
            postgresql_where=text("unbound_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64, description="the private chat to reach the person in")
    person_id: int = Field(foreign_key="person.id", index=True)
    language: str | None = Field(default=None, max_length=8)
    bound_at: datetime = _ts()
    unbound_at: datetime | None = _ts(nullable=True)
    unbound_reason: str | None = Field(default=None, max_length=200)


class InviteCode(SQLModel, table=True):
    """A one-time code that binds an account to a person in a role. Only the code's hash is kept."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16, description="expert | supervisor | staff")
    person_id: int = Field(foreign_key="person.id", index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)
    used_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    revoked_at: datetime | None = _ts(nullable=True)


class RedeemFailure(SQLModel, table=True):
    """A failed attempt to redeem an invite code, for rate-limiting guessing."""

    __tablename__ = "redeem_failure"
    __table_args__ = (Index("ix_redeem_failure_user_at", "channel", "external_user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_user_id: str = Field(max_length=64)
    at: datetime = _ts()


class StaffChat(SQLModel, table=True):
    """A group chat that receives an org unit's alerts."""

    __tablename__ = "staff_chat"
    __table_args__ = (
        Index(
            "uq_staff_chat_active",
            "channel",
            "chat_id",
            unique=True,
            sqlite_where=text("unbound_at IS NULL"),
            postgresql_where=text("unbound_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    title: str | None = Field(default=None, max_length=200)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    language: str | None = Field(default=None, max_length=8)
    bound_by_person_id: int = Field(foreign_key="person.id")
    bound_at: datetime = _ts()
    unbound_at: datetime | None = _ts(nullable=True)


class OutboxMessage(SQLModel, table=True):
    """A notification waiting to be sent (or sent, or failed), written in the transaction that caused it.

    The recipient is a person (reached through their bound account at send time), a staff chat, or a
    raw chat address (replies to someone not bound). The content is a message key with parameters and
    optional buttons; the front end renders it in the recipient's language.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_person", "person_id", "status"),
        Index("ix_outbox_address", "address", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    kind: str = Field(default="send", max_length=16, description="send | edit | document")
    person_id: int | None = Field(default=None, foreign_key="person.id")
    staff_chat_id: int | None = Field(default=None, foreign_key="staff_chat.id")
    address: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    message_key: str = Field(max_length=100)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    buttons: list[Any] = Field(default_factory=list, sa_type=JSON)
    edit_of_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    status: str = Field(default="pending", max_length=16, description="pending | sent | failed | skipped")
    attempts: int = 0
    created_at: datetime = _ts()
    next_attempt_at: datetime = _ts()
    claimed_until: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    sent_address: str | None = Field(default=None, max_length=64)
    external_message_id: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)


class AuditEntry(SQLModel, table=True):
    """One state change, chained to the previous entry by its hash (see services.audit)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row that points at the newest audit entry; locking it serialises appends."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_entry_id: int = 0
    last_hash: str = Field(max_length=64)


class ProcessedUpdate(SQLModel, table=True):
    """An update id already handled, so a redelivered update is handled once."""

    __tablename__ = "processed_update"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_processed_update"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    processed_at: datetime = _ts(index=True)
