"""Tables of activities and draws: the activity and what it concerns, its composition, required recusals, draw
requests and their approval, the stored draw records, and the roster of drawn experts. Also the state of guided
conversations (a dialog per account), so a flow survives a restart. Rules live in ``services/``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class Activity(SQLModel, table=True):
    """An inspection, review or consultation that experts are drawn for (000 §16–§19, annex 3)."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_span", "starts_at", "ends_at"),
                      Index("ix_activity_unit_start", "org_unit_id", "starts_at"),
                      Index("ix_activity_record_pending", "record_pending", "ends_at"))

    id: int | None = Field(default=None, primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="the organizer")
    kind: str = Field(max_length=24, description="services.activities.draw_rules.ActivityKind")
    title: str = Field(max_length=200)
    place: str = Field(default="", max_length=200)
    starts_at: datetime = _ts()
    ends_at: datetime = _ts()
    response_deadline: datetime = _ts()
    double_blind: bool = False
    allow_even_group: bool = Field(default=False, description="000 §18(一) waived by the organizer")
    even_group_reason: str | None = Field(default=None, max_length=500)
    notes: str = Field(default="", max_length=2000)
    status: str = Field(default="planned", max_length=16, description="planned | drawn | cancelled")
    record_pending: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()},
                                 description="the work-record sweep has yet to look at it once it ends (issue 21)")
    leader_id: int | None = Field(default=None, foreign_key="person.id")
    target_draw_id: int | None = Field(default=None, description="the draw of inspection targets it came from")
    roster_messages: list[int] = Field(default_factory=list, sa_type=JSON,
                                       description="outbox rows of the live roster message in staff chats")
    roster_closed_at: datetime | None = _ts(nullable=True)
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ActivityInstitution(SQLModel, table=True):
    """An institution the activity concerns (inspected, or a party of a review): the recusal rules read it."""

    __tablename__ = "activity_institution"

    activity_id: int = Field(foreign_key="activity.id", primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", primary_key=True, index=True)


class ActivityRequirement(SQLModel, table=True):
    """One line of the composition: ``count`` principals and ``backups`` backups of a category (annex 3)."""

    __tablename__ = "activity_requirement"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True)
    position: int
    category: str = Field(max_length=16)
    subcategory: str | None = Field(default=None, max_length=16)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    count: int
    backups: int = 0


class ActivityRecusal(SQLModel, table=True):
    """Staff required this expert to recuse from this activity (000 §15 last paragraph, 001 §17)."""

    __tablename__ = "activity_recusal"
    __table_args__ = (UniqueConstraint("activity_id", "expert_id"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True)
    expert_id: int = Field(foreign_key="expert.person_id")
    reason: str = Field(max_length=500)
    required_by: int = Field(foreign_key="person.id")
    at: datetime = _ts()


class DrawRequest(SQLModel, table=True):
    """A request to draw for an activity (000 §17, annex 3), approved by a second person (four-eyes)."""

    __tablename__ = "draw_request"
    __table_args__ = (Index("ix_draw_request_open", "activity_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id")
    kind: str = Field(default="initial", max_length=16, description="initial | top_up")
    places: dict[str, Any] = Field(default_factory=dict, sa_type=JSON,
                                   description="top-up: requirement id → [principals, backups] to draw")
    requested_by: int = Field(foreign_key="person.id")
    requested_at: datetime = _ts()
    status: str = Field(default="pending", max_length=16,
                        description="pending | approved | rejected | withdrawn | drawn | short")
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = _ts(nullable=True)
    decision_note: str | None = Field(default=None, max_length=500)
    draw_id: int | None = Field(default=None, description="the draw record, once run")
    message_ids: list[int] = Field(default_factory=list, sa_type=JSON,
                                   description="outbox rows of every copy with Approve / Reject (issue 13)")


class DrawRecord(SQLModel, table=True):
    """A draw as it happened: the seed, the algorithm version, the inputs (compressed canonical snapshot and
    its hash), who requested and who approved it, when, and the ordered result. Never updated."""

    __tablename__ = "draw_record"
    __table_args__ = (Index("ix_draw_record_unit_drawn", "org_unit_id", "drawn_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=16, description="experts | institutions")
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    activity_id: int | None = Field(default=None, foreign_key="activity.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="draw_request.id")
    algorithm_version: str = Field(max_length=16)
    seed: str = Field(max_length=64, description="hex, from secrets")
    snapshot: bytes = Field(sa_type=LargeBinary, description="zlib of the canonical JSON snapshot")
    snapshot_hash: str = Field(max_length=64)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    outcome: str = Field(max_length=16, description="drawn | short")
    operator_id: int = Field(foreign_key="person.id")
    approver_id: int | None = Field(default=None, foreign_key="person.id")
    drawn_at: datetime = _ts()
    lending_unit_ids: list[int] = Field(default_factory=list, sa_type=JSON,
                                        description="units whose lent pools the draw took experts from (003 三(八))")


class ActivityMember(SQLModel, table=True):
    """A drawn expert on the activity's roster: principal or backup of a requirement, in draw order, and where
    their invitation stands (000 §14, §19): ``drawn`` (a backup not yet needed) → ``invited`` → ``accepted`` →
    ``signed``; or ``declined``, ``recused``, ``expired`` (no answer), ``refused`` (the commitment),
    ``cancelled`` (by staff). ``due_at`` is when the chasing sweep must next look at the slot (indexed)."""

    __tablename__ = "activity_member"
    __table_args__ = (
        UniqueConstraint("activity_id", "person_id"),
        Index("ix_activity_member_person", "person_id", "status"),
        Index("ix_activity_member_due", "due_at"),
        Index("ix_activity_member_invited", "invited_at"),
        Index("ix_activity_member_status", "status", "credit_swept"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True)
    requirement_id: int = Field(foreign_key="activity_requirement.id")
    draw_id: int = Field(foreign_key="draw_record.id")
    person_id: int = Field(foreign_key="expert.person_id")
    role: str = Field(max_length=16, description="principal | backup")
    position: int = Field(description="1-based order within the requirement and role")
    status: str = Field(default="drawn", max_length=16)
    credit_swept: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""},
                              description="the status the credit sweep last looked at it in ('' never; issue 21)")
    created_at: datetime = _ts()
    invited_at: datetime | None = _ts(nullable=True)
    respond_by: datetime | None = _ts(nullable=True)
    answered_at: datetime | None = _ts(nullable=True)
    reason: str | None = Field(default=None, max_length=32, description="decline reason, recusal ground, ...")
    reason_text: str | None = Field(default=None, max_length=500)
    reminders_sent: int = 0
    due_at: datetime | None = _ts(nullable=True)
    invitation_message_id: int | None = Field(default=None, description="outbox row of the invitation")
    commitment_message_id: int | None = Field(default=None, description="outbox row of the commitment")
    signed_at: datetime | None = _ts(nullable=True)
    commitment_hash: str | None = Field(default=None, max_length=64, description="SHA-256 of the text signed")
    employer_informed_at: datetime | None = _ts(nullable=True)
    attendance: str | None = Field(default=None, max_length=24,
                                   description="attended | absent_with_notice | absent_without_notice")
    contact: str | None = Field(default=None, max_length=16,
                                description='"phone": the invitation could not be delivered, staff call (issue 13)')
    eve_reminded_at: datetime | None = _ts(nullable=True)
    removal_message_ids: list[int] = Field(default_factory=list, sa_type=JSON,
                                           description="outbox rows of the removal proposal's copies (000 §14)")


class Dialog(SQLModel, table=True):
    """Where an account is in a guided conversation (e.g. creating an activity): flow, step and answers so far."""

    __tablename__ = "dialog"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _ts()
