"""Tables of what happens after an activity (000 §20, §25, §27; 001 §16, §22): the work record of annex 4 with one
entry per expert, the credit file's events, the sanctions proposed to staff, and the yearly excellent-expert lists.
Rules live in ``services/`` (work_records, credit, sanctions, excellence).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class WorkRecord(SQLModel, table=True):
    """The work record (工作登记表, annex 4) of one activity, due 5 working days after it ends (000 §25)."""

    __tablename__ = "work_record"

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", unique=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="the organizer")
    status: str = Field(default="open", max_length=16, description="open | submitted")
    due_at: datetime = _ts()
    remind_at: datetime | None = _ts(nullable=True, index=True)
    reminders_sent: int = 0
    escalated_at: datetime | None = _ts(nullable=True)
    final_opinion: str = Field(default="", max_length=2000)
    decision: str | None = Field(default=None, max_length=16, description="consensus | majority (001 §16)")
    submitted_by: int | None = Field(default=None, foreign_key="person.id")
    submitted_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class WorkRecordEntry(SQLModel, table=True):
    """One expert's line of the work record: attendance, performance, recusal, discipline, credit opinion."""

    __tablename__ = "work_record_entry"
    __table_args__ = (UniqueConstraint("record_id", "member_id", name="uq_work_record_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="work_record.id", index=True)
    member_id: int = Field(foreign_key="activity_member.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    attendance: str | None = Field(default=None, max_length=24)
    performance: str | None = Field(default=None, max_length=16, description="excellent | good | fair | poor")
    recusal: str | None = Field(default=None, max_length=16, description="none_needed | declared | failed")
    discipline: str | None = Field(default=None, max_length=16, description="good | breach")
    discipline_note: str = Field(default="", max_length=1000)
    credit_opinion: str = Field(default="", max_length=1000)


class CreditEvent(SQLModel, table=True):
    """An event in an expert's credit file (000 §25), with its source and points (``services.records.credit``)."""

    __tablename__ = "credit_event"
    __table_args__ = (Index("ix_credit_event_person_at", "person_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    kind: str = Field(max_length=32)
    points: int
    occurred_at: datetime = _ts()
    source: str = Field(max_length=64, unique=True, description="what produced it, e.g. slot:12:expired")
    activity_id: int | None = Field(default=None, foreign_key="activity.id")
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    note: str = Field(default="", max_length=1000)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = _ts()


class SanctionProposal(SQLModel, table=True):
    """A sanction a rule proposes to staff with its evidence (000 §27, 001 §22): confirmed or dismissed."""

    __tablename__ = "sanction_proposal"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="who decides")
    sanction: str = Field(max_length=16, description="removal | reprimand")
    rule: str = Field(max_length=32, description="services.records.sanctions rule code")
    key: str = Field(max_length=96, unique=True, description="the rule and its evidence: proposed once")
    evidence: list[int] = Field(default_factory=list, sa_type=JSON, description="credit_event ids")
    status: str = Field(default="proposed", max_length=16, description="proposed | confirmed | dismissed")
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts(nullable=True)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = _ts()
    message_ids: list[int] = Field(default_factory=list, sa_type=JSON,
                                   description="outbox rows of the proposal's copies, edited once decided")


class ExcellenceList(SQLModel, table=True):
    """The yearly excellent-expert proposal of an org unit (000 §20): ranked entries, then published."""

    __tablename__ = "excellence_list"
    __table_args__ = (UniqueConstraint("org_unit_id", "year", name="uq_excellence_list"),)

    id: int | None = Field(default=None, primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    year: int
    status: str = Field(default="proposed", max_length=16, description="proposed | published")
    entries: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = _ts()
    published_by: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = _ts(nullable=True)
