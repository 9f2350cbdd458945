"""Tables of social supervisors' leads (002 §9(二), §11, §12): the lead, its evidence files, the messages
relayed between staff and the reporter, the identity custodians per org unit and every reveal of a
reporter's identity. Rules live in ``services/leads/leads.py``; the supervisor registry is
``storage.models.Supervisor``.

Due times (``due_at``, ``remind_at``, ``reward_claim_until``) are indexed columns: the scheduler's sweep
finds what is due through them (``docs/ARCHITECTURE.md``, "How a deadline flows").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from storage.types import Encrypted, KeyedHash, UTCDateTime

MAX_CAPTION = 1024  # Telegram's limit on a caption


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Lead(SQLModel, table=True):
    """A fraud lead reported by a social supervisor. The reporter (003 三(四)) is never shown to staff: staff
    see ``reporter_pseudonym`` (S-xxxx); a custodian may reveal the reporter with a reason (audited). Who reported
    it is ``reporter_ref``, the reporter's person id encrypted at rest (issue 19; no foreign key, so the database
    file alone does not say who reported which lead), found through its keyed hash ``reporter_ref_hmac``
    (``services.leads.reporters``)."""

    __tablename__ = "lead"
    __table_args__ = (Index("ix_lead_dup", "institution_id", "category", "created_at"),
                      Index("ix_lead_unit_created", "org_unit_id", "created_at"),
                      Index("ix_lead_linked_to", "linked_to_id"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True, description="the tracking number given to the reporter")
    org_unit_id: int = Field(foreign_key="org_unit.id", index=True, description="the responsible division")
    reporter_ref: str | None = Field(default=None, sa_type=Encrypted,
                                     description="the reporter's person id, encrypted at rest (issue 19); None once "
                                                 "purged under retention (lead_retention)")
    reporter_ref_hmac: str | None = Field(default=None, sa_type=KeyedHash, index=True,
                                          sa_column_kwargs={"info": {"hash_of": "reporter_ref"}})
    reporter_pseudonym: str = Field(max_length=16)
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    institution_text: str | None = Field(default=None, max_length=200, description="when not in the directory")
    insured_name: str | None = Field(default=None, max_length=100)
    insured_id_number: str | None = Field(default=None, sa_type=Encrypted, description="encrypted at rest (issue 19)")
    insured_id_number_hmac: str | None = Field(default=None, sa_type=KeyedHash, index=True,
                                               sa_column_kwargs={"info": {"hash_of": "insured_id_number"}})
    category: str = Field(max_length=32)
    what: str = Field(max_length=4000)
    happened: str = Field(default="", max_length=200, description="when, as the reporter put it")
    place: str = Field(default="", max_length=200)
    interest_declared: bool = Field(default=False, description="002 §11(四): the reporter declared an interest")
    interest_note: str | None = Field(default=None, max_length=1000)
    state: str = Field(default="received", max_length=24, index=True)
    handler_person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    duplicate_candidates: list[int] = Field(default_factory=list, sa_type=JSON)
    linked_to_id: int | None = Field(default=None, foreign_key="lead.id")
    due_at: datetime | None = _ts(nullable=True, index=True)
    due_kind: str | None = Field(default=None, max_length=16, description="accept | handle")
    remind_at: datetime | None = _ts(nullable=True, index=True)
    reminded_for: datetime | None = _ts(nullable=True)
    escalated_for: datetime | None = _ts(nullable=True)
    extensions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    reason: str | None = Field(default=None, max_length=1000, description="not accepted: why; concluded: summary")
    reward_amount: int | None = Field(default=None, description="yuan (002 §12(四))")
    reward_claim_until: date | None = Field(default=None, index=True)
    reward_state: str | None = Field(default=None, max_length=16, description="offered | claimed | lapsed")
    reward_reminders_sent: int = Field(default=0, description="how many of the claim reminders (days before "
                                       "reward_claim_until) are done; the sweep sends each at most once")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    closed_at: datetime | None = _ts(nullable=True)


class LeadEvidence(SQLModel, table=True):
    """A file sent as evidence: the bytes are kept by the product (``services.leads.evidence``), named by SHA-256;
    the caption sent with it is kept as part of the lead (002 §9(二))."""

    __tablename__ = "lead_evidence"
    __table_args__ = (Index("ix_lead_evidence_stored_path", "stored_path"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    kind: str = Field(max_length=16, description="photo | document")
    file_name: str = Field(max_length=200)
    mime_type: str | None = Field(default=None, max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    stored_path: str = Field(max_length=200, description="relative to the evidence directory")
    caption: str | None = Field(default=None, max_length=MAX_CAPTION,
                                description="the reporter's words sent with the file (002 §9(二)), shown as sent")
    added_at: datetime = _ts()
    purged_at: datetime | None = _ts(nullable=True, index=True)  # bytes deleted under retention; the row stays


class LeadMessage(SQLModel, table=True):
    """A message in a lead's thread, relayed by the bot as a new message (never forwarded)."""

    __tablename__ = "lead_message"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    direction: str = Field(max_length=16, description="to_reporter | from_reporter")
    staff_person_id: int | None = Field(default=None, foreign_key="person.id")
    signed: bool = False
    text: str = Field(max_length=4000)
    at: datetime = _ts()


class LeadCustodian(SQLModel, table=True):
    """A staff member allowed to reveal reporters' identities for an org unit and the units below it."""

    __tablename__ = "lead_custodian"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    org_unit_id: int = Field(foreign_key="org_unit.id", primary_key=True)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = _ts()


class IdentityReveal(SQLModel, table=True):
    """One reveal of a lead's reporter by a custodian, with the reason given."""

    __tablename__ = "identity_reveal"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    custodian_person_id: int = Field(foreign_key="person.id")
    reason: str = Field(max_length=1000)
    at: datetime = _ts(index=True)


class LeadRetention(SQLModel, table=True):
    """One retention clock of a lead (PIPL storage limitation; ``services/leads/retention.py``): what is deleted
    (``kind``: evidence | rejected | reporter), counted from ``since``; when staff were warned (once) and when it
    was done. The sweep reads the pending clocks through ``ix_lead_retention_due``."""

    __tablename__ = "lead_retention"
    __table_args__ = (Index("ix_lead_retention_due", "kind", "done_at", "since"),)

    lead_id: int = Field(foreign_key="lead.id", primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    since: datetime = _ts()
    warned_at: datetime | None = _ts(nullable=True)
    done_at: datetime | None = _ts(nullable=True)
    held_at: datetime | None = _ts(nullable=True)
    held_until: datetime | None = _ts(nullable=True)
    hold_reason: str | None = Field(default=None, max_length=500, description="a hold postpones the deletion "
                                    "(None until: until released); services/leads/retention_hold.py")
