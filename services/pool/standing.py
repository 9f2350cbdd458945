"""Where an expert stands after a life-cycle step, as a plain value for the front ends (issue 16: services hand
the bot values, never table rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage.models import Expert


@dataclass(frozen=True)
class Standing:
    """The expert's state and the dates of the life cycle (000 §10, §21–§23; 001 §22)."""

    person_id: int
    state: str
    term_start: date | None
    term_end: date | None
    notice_ends_on: date | None
    objection_note: str | None
    ended_on: date | None
    end_reason: str | None
    barred_until: date | None
    extension_requested: bool
    extended_until: date | None


def standing_of(expert: Expert) -> Standing:
    return Standing(person_id=expert.person_id, state=expert.state, term_start=expert.term_start,
                    term_end=expert.term_end, notice_ends_on=expert.notice_ends_on,
                    objection_note=expert.objection_note, ended_on=expert.ended_on, end_reason=expert.end_reason,
                    barred_until=expert.barred_until, extension_requested=expert.extension_requested,
                    extended_until=expert.extended_until)
