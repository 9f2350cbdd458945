"""Tables of the expert pool: the institution directory and what belongs to an expert's record
besides its main row (work history, declared interests, leave and suspension periods, requested
profile changes). Rules about them live in ``services/``; this module only stores.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class Institution(SQLModel, table=True):
    """An institution: an employer, a recommending unit, an inspected or reported institution."""

    __tablename__ = "institution"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    credit_code: str | None = Field(default=None, max_length=18, unique=True, description="GB 32100")
    kind: str = Field(max_length=16, description="hospital|pharmacy|clinic|insurer|government|university|other")
    level: str | None = Field(default=None, max_length=32, description="e.g. 三级甲等")
    org_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True, description="division")
    designated: bool = Field(default=False, description="a designated (定点) medical institution or pharmacy")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ExpertEmployment(SQLModel, table=True):
    """A period of an expert's work history (the two-year recusal rule reads it: 000 §15(一))."""

    __tablename__ = "expert_employment"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.person_id", index=True)
    institution_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    institution_name: str = Field(max_length=200)
    post: str | None = Field(default=None, max_length=100)
    start_date: date | None = None
    end_date: date | None = Field(default=None, description="None: current employer")


class ExpertInterest(SQLModel, table=True):
    """A declared interest or dispute of the expert, spouse or close relatives (000 §15(二)(三))."""

    __tablename__ = "expert_interest"
    __table_args__ = (Index("ix_expert_interest_active", "expert_id", "withdrawn_at"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.person_id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    kind: str = Field(max_length=16, description="interest | dispute | worked | other")
    note: str = Field(default="", max_length=500)
    declared_on: date
    declared_at: datetime = _ts()
    withdrawn_at: datetime | None = _ts(nullable=True)


class ExpertPeriod(SQLModel, table=True):
    """A period the expert is unavailable: leave (declared by the expert) or suspension (by staff)."""

    __tablename__ = "expert_period"
    __table_args__ = (Index("ix_expert_period_span", "expert_id", "start_date", "end_date"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.person_id")
    kind: str = Field(max_length=16, description="leave | suspension")
    start_date: date
    end_date: date
    reason: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts()
    cancelled_at: datetime | None = _ts(nullable=True)


class ExpertChangeRequest(SQLModel, table=True):
    """A profile change the expert asked for (000 §13(五)); staff approve or reject it. History is kept."""

    __tablename__ = "expert_change_request"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.person_id", index=True)
    field: str = Field(max_length=32, description="employer | title | mobile | email")
    old_value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    new_value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", max_length=16, description="pending | approved | rejected")
    requested_at: datetime = _ts()
    decided_at: datetime | None = _ts(nullable=True)
    decided_by: str | None = Field(default=None, max_length=64)
    decision_note: str | None = Field(default=None, max_length=500)


class ExpertTenure(SQLModel, table=True):
    """A past time in the pool, kept when the expert applies again after exit or removal (000 §10; 001 §22): the
    record's life-cycle fields as they were when it ended. The credit file is the person's and stays with them."""

    __tablename__ = "expert_tenure"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.person_id", index=True)
    org_unit_id: int = Field(foreign_key="org_unit.id")
    state: str = Field(max_length=16, description="exited | removed")
    term_start: date | None = None
    term_end: date | None = None
    ended_on: date | None = None
    end_reason: str | None = Field(default=None, max_length=500)
    barred_until: date | None = None
    archived_at: datetime = _ts()
    archived_by: str = Field(max_length=64)


class PoolShare(SQLModel, table=True):
    """A unit lends its expert pool to another unit for a period (003 三(八)): the borrower's draws may take the
    lender's experts from ``starts_on`` to ``ends_on`` inclusive, until revoked."""

    __tablename__ = "pool_share"
    __table_args__ = (Index("ix_pool_share_borrower", "borrower_unit_id", "starts_on", "ends_on"),)

    id: int | None = Field(default=None, primary_key=True)
    lender_unit_id: int = Field(foreign_key="org_unit.id", index=True)
    borrower_unit_id: int = Field(foreign_key="org_unit.id")
    starts_on: date
    ends_on: date
    note: str = Field(default="", max_length=500)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class PoolVersion(SQLModel, table=True):
    """How many times the expert table changed (migration 0019: database triggers write it, nothing else does), so
    the draw's in-memory index of the pool (``services.activities.pool_index``) knows when to rebuild. At most one
    row (id 1), made by the first change; ``epoch`` tells databases apart. Derived state: ``db copy`` skips it."""

    __tablename__ = "pool_version"

    id: int = Field(primary_key=True)
    epoch: str = Field(max_length=32)
    version: int = Field(sa_type=BigInteger)
