"""The tables of the foundation: org units, people and their roles, channel accounts, invites,
staff chats, the outbox, the audit trail, received updates and processed update ids.

Later capabilities (expert records, draws, leads) extend these through Alembic migrations.
Times are UTC (:class:`storage.types.UTCDateTime`); identifiers that come from a messaging
channel (user ids, chat ids) are strings, so another channel (WeCom, DingTalk, Feishu) fits
the same columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text, UniqueConstraint, event, false, inspect, text
from sqlmodel import Field, SQLModel

from storage.types import Encrypted, KeyedHash, UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _encrypted(description: str) -> Any:
    """A text column encrypted at rest (issue 19, :class:`storage.types.Encrypted`)."""
    return Field(default=None, sa_type=Encrypted, description=description)


def _keyed_hash(of: str, *, unique: bool = False) -> Any:
    """The keyed hash of column ``of`` (:class:`storage.types.KeyedHash`), kept in step with it on every ORM
    write and by ``storage.repositories.insert_rows``; ``unique``: the uniqueness of ``of`` (its ciphertexts all
    differ) is enforced here."""
    return Field(default=None, sa_type=KeyedHash, index=True, unique=unique,
                 sa_column_kwargs={"info": {"hash_of": of}})


ACTIVE = "unbound_at IS NULL"


def _active_only(name: str, *columns: str) -> Index:
    """A unique index over the rows not unbound (partial on SQLite and PostgreSQL, as the migrations create it).
    PostgreSQL's predicate is set when the index is created there: naming ``postgresql_where`` here would load
    SQLAlchemy's PostgreSQL dialect at every start, on SQLite too (issue 21)."""
    index = Index(name, *columns, unique=True, sqlite_where=text(ACTIVE))
    event.listen(index, "before_create", _postgresql_predicate)
    return index


def _postgresql_predicate(index: Index, connection: Any, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        index.dialect_options["postgresql"]["where"] = text(ACTIVE)


class OrgUnit(SQLModel, table=True):
    """A node of the bureau's tree: the bureau at the root, divisions or cities below it."""

    __tablename__ = "org_unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, description="short handle used in commands")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16, description="bureau | division | city")
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    draw_approval: bool = Field(default=True, description="draws need a second person's approval (000 §17)")
    draws_from_parent: bool = Field(default=False, description="its draws also take the parent's pool (000 §5)")
    created_at: datetime = _ts()


SEALED_NAME = "***"  # person.name of a social supervisor: the name is kept encrypted in supervisor.name (issue 19)


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
    """A person's record in an expert pool: the fields of 000 annex 1 and the pool life cycle.

    Enumerated values are the names of ``services.pool.eligibility`` (degree, title level, post level,
    categories) and ``services.pool.experts`` (state). Dates of the life cycle are calendar dates in the
    bureau's time zone.
    """

    __tablename__ = "expert"
    __table_args__ = (Index("ix_expert_state", "state", "term_end"),
                      Index("ix_expert_unit_state", "org_unit_id", "state"))

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="the pool's owner")
    created_at: datetime = _ts()
    updated_at: datetime | None = _ts(nullable=True)
    # identity (annex 1)
    gender: str | None = Field(default=None, max_length=8)
    ethnicity: str | None = Field(default=None, max_length=32)
    id_number: str | None = _encrypted("GB 11643; encrypted at rest (issue 19)")
    id_number_hmac: str | None = _keyed_hash("id_number", unique=True)
    political_status: str | None = Field(default=None, max_length=32)
    birth_date: date | None = Field(default=None, index=True)
    work_start_date: date | None = None
    # education and qualification
    school: str | None = Field(default=None, max_length=100)
    highest_degree: str | None = Field(default=None, max_length=16)
    major: str | None = Field(default=None, max_length=100)
    major_is_finance_audit: bool = False
    title: str | None = Field(default=None, max_length=64, description="e.g. 主任医师")
    title_level: str | None = Field(default=None, max_length=16)
    title_is_finance_audit: bool = False
    title_is_informatics: bool = False
    has_cpa: bool = False
    specialty: str | None = Field(default=None, max_length=500)
    specialty_tags: list[str] = Field(default_factory=list, sa_type=JSON)
    categories: list[str] = Field(default_factory=list, sa_type=JSON)
    clinical_subcategories: list[str] = Field(default_factory=list, sa_type=JSON)
    is_chief: bool = False
    # employment and contact
    employer_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    post: str | None = Field(default=None, max_length=100)
    post_level: str | None = Field(default=None, max_length=16)
    is_insurance_staff: bool = False
    address: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=6)
    email: str | None = Field(default=None, max_length=120)
    mobile: str | None = _encrypted("encrypted at rest (issue 19)")
    mobile_hmac: str | None = _keyed_hash("mobile")
    recommending_unit_id: int | None = Field(default=None, foreign_key="institution.id")
    # free text of annex 1
    academic_memberships: str | None = Field(default=None, max_length=2000)
    rewards_penalties: str | None = Field(default=None, max_length=2000)
    publications: str | None = Field(default=None, max_length=4000)
    education: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    flight_inspection: bool = False
    # declarations of 000 §9
    full_civil_capacity: bool = True
    criminal_record: bool = False
    administrative_penalty: bool = False
    insurance_violation: bool = False
    # life cycle (000 §10, §21-§23; 001 §22)
    state: str = Field(default="applicant", max_length=16)
    notice_ends_on: date | None = None
    objection_note: str | None = Field(default=None, max_length=500)
    term_start: date | None = None
    term_end: date | None = None
    review_notice_for: date | None = Field(default=None, description="term end whose review notice was sent")
    extension_requested: bool = False
    extended_until: date | None = Field(default=None, description="a granted extension past 65 ends (000 §22)")
    extension_reminded_for: date | None = Field(default=None, description="extension end whose reminder was sent")
    ended_on: date | None = None
    end_reason: str | None = Field(default=None, max_length=500)
    barred_until: date | None = None


class Supervisor(SQLModel, table=True):
    """A person's appointment as social supervisor of a division (002 §3–§8).

    Enumerated values are the names of ``services.supervisors.supervisors`` (source 002 §4, appointment method 002 §6,
    status, termination ground 002 §8). ``pseudonym`` (S-xxxx) is what staff see on the supervisor's leads.
    The supervisor's name, ID number, mobile and pseudonym are encrypted at rest (issue 19; 002 §11, 003 三(四)): the
    pseudonym on a lead and in the audit trail then leads to no one, and the person row of a supervisor holds
    :data:`SEALED_NAME` instead of the name (``PersonRepository.name_of`` reads the real one).
    """

    __tablename__ = "supervisor"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    created_at: datetime = _ts()
    name: str | None = _encrypted("the supervisor's name, encrypted at rest (issue 19); person.name is SEALED_NAME")
    id_number: str | None = _encrypted("GB 11643; encrypted at rest (issue 19)")
    id_number_hmac: str | None = _keyed_hash("id_number", unique=True)
    mobile: str | None = _encrypted("encrypted at rest (issue 19)")
    mobile_hmac: str | None = _keyed_hash("mobile")
    source: str = Field(default="other", max_length=24, sa_column_kwargs={"server_default": "other"})
    appointment_method: str = Field(default="open_selection", max_length=24,
                                    sa_column_kwargs={"server_default": "open_selection"})
    certificate_number: str | None = Field(default=None, max_length=32)
    work_id_number: str | None = Field(default=None, max_length=32)
    status: str = Field(default="active", max_length=16, sa_column_kwargs={"server_default": "active"})
    term_start: date | None = None
    term_end: date | None = Field(default=None, index=True)
    term_notice_for: date | None = Field(default=None, description="term end whose reminder was sent")
    ended_on: date | None = None
    end_reason: str | None = Field(default=None, max_length=24, description="002 §8 ground")
    end_note: str | None = Field(default=None, max_length=500)
    pseudonym: str | None = _encrypted("S-xxxx, encrypted at rest (issue 19): unlinked from the leads' pseudonym")
    pseudonym_hmac: str | None = _keyed_hash("pseudonym", unique=True)


class Account(SQLModel, table=True):
    """A messaging-channel account bound to a person. Unbinding keeps the row (history)."""

    __tablename__ = "account"
    __table_args__ = (
        _active_only("uq_account_active_user", "channel", "external_user_id"),
        _active_only("uq_account_active_person", "channel", "person_id"),
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
    menu: str | None = Field(default=None, max_length=64,
                             description="the roles and language of the menu last set for the chat (bot/menus.py)")


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
    __table_args__ = (Index("ix_redeem_failure_user_at", "channel", "external_user_id", "at"),
                      Index("ix_redeem_failure_at", "at"))

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_user_id: str = Field(max_length=64)
    at: datetime = _ts()


class StaffChat(SQLModel, table=True):
    """A group chat that receives an org unit's alerts."""

    __tablename__ = "staff_chat"
    __table_args__ = (
        _active_only("uq_staff_chat_active", "channel", "chat_id"),
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
        Index("ix_outbox_edit_of", "edit_of_id", "status"),
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
    sealed: bool = Field(default=False, sa_column_kwargs={"server_default": false()},
                         description="once sent (or failed, skipped) the recipient, addresses, parameters and "
                                     "buttons are cleared: a message to a reporter about their lead (issue 19, "
                                     "003 三(四))")


class AuditEntry(SQLModel, table=True):
    """One state change, chained to the previous entry by its hash (see services.platform.audit).

    Written pending (``seq``, ``prev_hash`` and ``hash`` empty) inside the change's transaction; the sequencer then
    gives it the next position in the chain (``seq``) and its links."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    seq: int | None = Field(default=None, unique=True)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row that points at the end of the audit chain (``last_entry_id`` is the last chained entry's
    position, ``seq``); locking it serialises the sequencer's linking."""

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


class ReceivedUpdate(SQLModel, table=True):
    """An update acknowledged to the channel (webhook answered 200, or fetched by ``getUpdates``) and not yet
    processed, with its JSON as received: a restart feeds it again, so a crash cannot lose it.

    The row is deleted in the transaction that records its id as processed (:class:`ProcessedUpdate`).
    """

    __tablename__ = "received_update"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_received_update"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = _ts()


from storage import activities as _activities  # noqa: E402,F401  (registers the activity and draw tables)
from storage import leads as _leads  # noqa: E402  (registers the supervisor lead tables)
from storage import pool as _pool  # noqa: E402,F401  (registers the expert-pool tables with the metadata)
from storage import records as _records  # noqa: E402,F401  (registers the work record and credit tables)


class DataKey(SQLModel, table=True):
    """A data key wrapped by the master key (issue 19, ``services.platform.column_keys``): never the key itself."""

    __tablename__ = "data_key"

    purpose: str = Field(primary_key=True, max_length=32, description="columns")
    wrapped: str = Field(max_length=200, description="v1:<master key id>:<base64>")
    created_at: datetime = _ts()
    rotated_at: datetime | None = _ts(nullable=True)


def hashed_columns(table: Any) -> list[tuple[str, str]]:
    """(keyed hash column, the column it hashes) of ``table``."""
    return [(column.name, column.info["hash_of"]) for column in table.columns if "hash_of" in column.info]


def _mirror_on_insert(_mapper: Any, _connection: Any, target: Any) -> None:
    for hashed, source in hashed_columns(type(target).__table__):
        setattr(target, hashed, getattr(target, source))  # KeyedHash stores the hash of this plaintext


def _mirror_on_update(_mapper: Any, _connection: Any, target: Any) -> None:
    state = inspect(target)
    for hashed, source in hashed_columns(type(target).__table__):
        if state.attrs[source].history.has_changes():
            setattr(target, hashed, getattr(target, source))


for _model in (Expert, Supervisor, _leads.Lead):
    event.listen(_model, "before_insert", _mirror_on_insert)
    event.listen(_model, "before_update", _mirror_on_update)
