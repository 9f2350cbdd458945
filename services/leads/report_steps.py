"""The steps of a social supervisor's guided report (002 §9(二), §11(四)): which question comes next, what a typed
answer or a pressed choice keeps, and the lead it files. Pure functions over the answers kept in the ``dialog`` row;
the front end renders the questions and buttons (``bot/dialogs/lead_report.py``).

Order: who is reported (an institution of the directory, or as typed, or skipped), the insured person (name and
an optional ID number, checked), the category, what happened, when, where, evidence files, a declared interest
(and its note), then the review. From the review one answer can be fixed, then the review again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.leads.actions import ReportChoice, ReportField
from services.leads.leads import LeadDraft
from services.platform.identifiers import InvalidIdentifier, validate_id_number

TARGET, INSURED, CATEGORY, WHAT, WHEN, WHERE, EVIDENCE, INTEREST, INTEREST_NOTE, REVIEW = (
    "target", "insured", "category", "what", "when", "where", "evidence", "interest", "interest_note", "review")
ORDER = (TARGET, INSURED, CATEGORY, WHAT, WHEN, WHERE, EVIDENCE, INTEREST)
TYPED_FIELDS = {WHAT: ("what", 4000), WHEN: ("when", 200), WHERE: ("where", 200),
                INTEREST_NOTE: ("interest_note", 1000)}  # the answer's key and its limit, stated when exceeded
EDITS = {ReportField.TARGET: TARGET, ReportField.CATEGORY: CATEGORY, ReportField.WHAT: WHAT,
         ReportField.EVIDENCE: EVIDENCE, ReportField.INTEREST: INTEREST}
SKIPPABLE = (TARGET, INSURED, WHERE)


def next_step(step: str, data: dict[str, Any]) -> str:
    """The step after ``step``; when fixing one answer from the review, back to the review after it (and its
    companion questions)."""
    if step == INTEREST:
        return INTEREST_NOTE if data.get("interest") else REVIEW
    if step == INTEREST_NOTE:
        return REVIEW
    if data.get("fix"):
        return {TARGET: INSURED, WHAT: WHEN, WHEN: WHERE}.get(step, REVIEW)
    return ORDER[ORDER.index(step) + 1]


def takes_text(step: str) -> bool:
    """Whether ``step`` is answered by typing."""
    return step == INSURED or step in TYPED_FIELDS


def text_limit(step: str) -> int | None:
    """The most characters a typed answer of ``step`` may have (None: no stated limit)."""
    return TYPED_FIELDS[step][1] if step in TYPED_FIELDS else None


def keep_typed(step: str, data: dict[str, Any], text: str, today: date) -> str | None:
    """Keep a typed answer of ``step`` in ``data``; the reason an insured person's ID number is refused (GB 11643),
    or None."""
    if step == INSURED:
        parts = text.split()
        number = parts[1] if len(parts) > 1 else None
        if number is not None:
            try:
                number = validate_id_number(number, today=today).number
            except InvalidIdentifier as error:
                return error.reason
        data["insured_name"], data["insured_id_number"] = parts[0][:100], number
    else:
        field, limit = TYPED_FIELDS[step]
        data[field] = text[:limit]
    return None


def after_choice(step: str, choice: ReportChoice, data: dict[str, Any]) -> str:
    """The step after a plain choice at ``step`` (``step`` itself when the choice does not belong there); the
    choice's answer is kept in ``data``."""
    if step == TARGET and choice is ReportChoice.TYPED_NAME and data.get("search"):
        data.update(institution_id=None, institution_name=None, institution_text=data["search"])
    elif step in SKIPPABLE and choice is ReportChoice.SKIP:
        if step == TARGET:
            data.update(institution_id=None, institution_name=None, institution_text=None)
    elif step == INTEREST and choice in (ReportChoice.NO_INTEREST, ReportChoice.INTEREST):
        data["interest"] = choice is ReportChoice.INTEREST
        if choice is ReportChoice.NO_INTEREST:
            data["interest_note"] = None
    elif not (step == EVIDENCE and choice is ReportChoice.DONE):
        return step
    return next_step(step, data)


def draft_of(data: dict[str, Any]) -> LeadDraft:
    """The lead the answers describe, for :func:`services.leads.leads.submit` (which checks it again)."""
    return LeadDraft(
        category=str(data.get("category", "")), what=str(data.get("what", "")),
        institution_id=data.get("institution_id"), institution_text=data.get("institution_text"),
        insured_name=data.get("insured_name"), insured_id_number=data.get("insured_id_number"),
        happened=str(data.get("when") or ""), place=str(data.get("where") or ""),
        interest_declared=bool(data.get("interest")), interest_note=data.get("interest_note"),
        evidence=list(data.get("evidence", [])),
    )
