"""Buttons of leads (002 §9(二), §12(二)).

Wire formats kept from before the codec, because the outbox puts some of them into people's chats for days:
``ld:card:<lead>`` (alerts, reminders, escalations) and ``lx:reply:<lead>`` (a staff question to the reporter).
The card's buttons keep their old strings too: ``ld:<verb>:<lead>`` and ``ld:link:<lead>:<other>``; the reporter's
``lx:add:<lead>`` and ``lx:done``.

The reporting dialog's buttons carry the dialog's ``token`` and ``seq`` (a button of an older step is stale):
``lr:<token>:<seq>:<choice>``, ``lri:…:<institution>``, ``lrc:…:<category>``, ``lre:…:<field>``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from services.leads.lead_rules import LeadCategory, StaffVerb
from services.platform.actions import Action, Index


@dataclass(frozen=True)
class ShowLeadCard(Action):
    """Send the staff card of a lead."""

    prefix: ClassVar[str] = "ld:card"
    lead_id: int


@dataclass(frozen=True)
class OnLead(Action):
    """A card button acting on one lead (abstract); ``verb`` says which."""

    verb: ClassVar[StaffVerb]
    lead_id: int


@dataclass(frozen=True)
class SendLeadFiles(OnLead):
    """Send the lead's evidence files (scrubbed copies)."""

    prefix: ClassVar[str] = "ld:files"
    verb: ClassVar[StaffVerb] = StaffVerb.FILES


@dataclass(frozen=True)
class AcceptLead(OnLead):
    """Accept the lead: a case is opened."""

    prefix: ClassVar[str] = "ld:accept"
    verb: ClassVar[StaffVerb] = StaffVerb.ACCEPT


@dataclass(frozen=True)
class InvestigateLead(OnLead):
    """Mark the lead under investigation."""

    prefix: ClassVar[str] = "ld:investigate"
    verb: ClassVar[StaffVerb] = StaffVerb.INVESTIGATE


@dataclass(frozen=True)
class TakeLead(OnLead):
    """Become the lead's handler."""

    prefix: ClassVar[str] = "ld:take"
    verb: ClassVar[StaffVerb] = StaffVerb.TAKE


@dataclass(frozen=True)
class CloseLead(OnLead):
    """Close a decided lead."""

    prefix: ClassVar[str] = "ld:close"
    verb: ClassVar[StaffVerb] = StaffVerb.CLOSE


@dataclass(frozen=True)
class RewardClaimed(OnLead):
    """Record that the reporter claimed the reward."""

    prefix: ClassVar[str] = "ld:claimed"
    verb: ClassVar[StaffVerb] = StaffVerb.CLAIMED


@dataclass(frozen=True)
class AskReporter(OnLead):
    """Write to the reporter, unsigned (the text follows)."""

    prefix: ClassVar[str] = "ld:ask"
    verb: ClassVar[StaffVerb] = StaffVerb.ASK


@dataclass(frozen=True)
class AskReporterSigned(OnLead):
    """Write to the reporter, signed (the text follows)."""

    prefix: ClassVar[str] = "ld:asks"
    verb: ClassVar[StaffVerb] = StaffVerb.ASK_SIGNED


@dataclass(frozen=True)
class RejectLead(OnLead):
    """Do not accept the lead (the reason follows)."""

    prefix: ClassVar[str] = "ld:reject"
    verb: ClassVar[StaffVerb] = StaffVerb.REJECT


@dataclass(frozen=True)
class ExtendLead(OnLead):
    """Extend the deadline (days and reason follow)."""

    prefix: ClassVar[str] = "ld:extend"
    verb: ClassVar[StaffVerb] = StaffVerb.EXTEND


@dataclass(frozen=True)
class ConcludeSubstantiated(OnLead):
    """Conclude: substantiated (the summary follows)."""

    prefix: ClassVar[str] = "ld:yes"
    verb: ClassVar[StaffVerb] = StaffVerb.SUBSTANTIATED


@dataclass(frozen=True)
class ConcludeUnsubstantiated(OnLead):
    """Conclude: not substantiated (the summary follows)."""

    prefix: ClassVar[str] = "ld:no"
    verb: ClassVar[StaffVerb] = StaffVerb.UNSUBSTANTIATED


@dataclass(frozen=True)
class RewardLead(OnLead):
    """Record the reward (the amount follows)."""

    prefix: ClassVar[str] = "ld:reward"
    verb: ClassVar[StaffVerb] = StaffVerb.REWARD


CARD_BUTTONS: dict[StaffVerb, type[OnLead]] = {cls.verb: cls for cls in (
    SendLeadFiles, AcceptLead, InvestigateLead, TakeLead, CloseLead, RewardClaimed, AskReporter, AskReporterSigned,
    RejectLead, ExtendLead, ConcludeSubstantiated, ConcludeUnsubstantiated, RewardLead)}
"""The button of each card verb."""

INSTANT = (AcceptLead, InvestigateLead, TakeLead, CloseLead, RewardClaimed)
"""Card buttons that act at once."""

NEEDS_TEXT = (AskReporter, AskReporterSigned, RejectLead, ExtendLead, ConcludeSubstantiated, ConcludeUnsubstantiated,
              RewardLead)
"""Card buttons that ask staff for a text first (the ``lead_staff`` dialog)."""


@dataclass(frozen=True)
class LinkLead(Action):
    """Link the lead to an earlier possible duplicate."""

    prefix: ClassVar[str] = "ld:link"
    lead_id: int
    other_id: int


@dataclass(frozen=True)
class ReplyToStaff(Action):
    """The reporter answers a staff question about their lead (sent by the outbox)."""

    prefix: ClassVar[str] = "lx:reply"
    lead_id: int


@dataclass(frozen=True)
class AddToLead(Action):
    """The reporter adds information or evidence to their lead (under /myleads)."""

    prefix: ClassVar[str] = "lx:add"
    lead_id: int


@dataclass(frozen=True)
class DoneAdding(Action):
    """The reporter has added all they wanted."""

    prefix: ClassVar[str] = "lx:done"


class ReportChoice(enum.StrEnum):
    """A plain button of the reporting dialog."""

    SKIP = "skip"
    TYPED_NAME = "t"  # use the typed institution name as it is
    DONE = "done"  # no more evidence
    NO_INTEREST = "ni"
    INTEREST = "yi"
    SUBMIT = "ok"
    CANCEL = "x"


class ReportField(enum.StrEnum):
    """What the reporter may go back to from the review."""

    TARGET = "target"
    CATEGORY = "category"
    WHAT = "what"
    EVIDENCE = "evidence"
    INTEREST = "interest"


@dataclass(frozen=True)
class ReportButton(Action):
    """A plain choice of the reporting dialog's current step."""

    prefix: ClassVar[str] = "lr"
    token: str
    seq: Index
    choice: ReportChoice


@dataclass(frozen=True)
class ReportInstitution(Action):
    """The reported institution, chosen among the matches of the typed name."""

    prefix: ClassVar[str] = "lri"
    token: str
    seq: Index
    institution_id: int


@dataclass(frozen=True)
class ReportCategory(Action):
    """The lead's category."""

    prefix: ClassVar[str] = "lrc"
    token: str
    seq: Index
    category: LeadCategory


@dataclass(frozen=True)
class ReportEdit(Action):
    """Go back from the review to change one answer."""

    prefix: ClassVar[str] = "lre"
    token: str
    seq: Index
    field: ReportField


REPORT_BUTTONS = (ReportButton, ReportInstitution, ReportCategory, ReportEdit)
