"""Leads as the front ends see them after an action: plain values, never table rows (issue 16), and the checks a
front end makes before it opens a reporter's dialog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.leads import Lead


@dataclass(frozen=True)
class LeadRef:
    """A lead after an action: its number, tracking number, state and the reporter's pseudonym (never who)."""

    id: int
    number: str
    state: str
    reporter_pseudonym: str


@dataclass(frozen=True)
class LeadLine:
    """One line of a staff list of leads (002 §12)."""

    id: int
    number: str
    state: str
    category: str
    due_at: datetime | None


def lead_ref(lead: Lead) -> LeadRef:
    assert lead.id is not None
    return LeadRef(id=lead.id, number=lead.number, state=lead.state, reporter_pseudonym=lead.reporter_pseudonym)


def lead_line(lead: Lead) -> LeadLine:
    assert lead.id is not None
    return LeadLine(id=lead.id, number=lead.number, state=lead.state, category=lead.category, due_at=lead.due_at)
