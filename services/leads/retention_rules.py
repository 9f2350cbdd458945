"""How long the records of a lead are kept, as pure functions (PIPL art. 19 storage limitation: personal information is
kept no longer than its purpose needs; 000 §25: the records stay traceable; 003 三(四): the reporter is protected).

Three clocks per lead (``lead_retention`` rows, started when the lead is decided: ``retention.start``):

- ``evidence``: the evidence files of a closed lead, ``evidence_months`` (default 60: 5 years) after its closure;
- ``rejected``: everything personal of a lead not accepted (its files, the messages relayed, what was reported and
  about whom, the reporter link), ``rejected_months`` (default 12) after the decision;
- ``reporter``: who reported a closed lead, ``reporter_days`` (default 0) after the reward window (002 §12(四): the
  reporter claims a reward within ``reward_claim_months`` of the notice; a lead closed without a reward is counted
  from its closure, the same window): the reward is the only reason left to know the reporter.

Nothing of a lead is deleted while a case is open on it: the lead itself or a lead linked to it (a duplicate, either
way) is still open. Staff of the lead's unit are warned ``warning_days`` before (GlobaLeaks warns recipients before
expiry), once; the deletion comes at the due time and never less than ``warning_days`` after the warning, so a clock
first seen late (the bot was down, a period was shortened) still gives staff the whole notice.

A **hold** (``retention_hold``): staff of the lead's line postpone its pending deletions until a day or until
released, with a reason (audited); the sweep leaves a held clock alone, and the warning starts over once the hold
ends, so staff again get the whole notice before anything goes (PIPL art. 19 allows keeping what a purpose still
needs; 000 §25: records traceable while a case needs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.leads.lead_rules import add_months
from services.platform.policy import RetentionSettings


class RetentionKind(StrEnum):
    """What a retention clock deletes."""

    EVIDENCE = "evidence"
    REJECTED = "rejected"
    REPORTER = "reporter"


RULES: dict[RetentionKind, str] = {
    RetentionKind.EVIDENCE: "PIPL art. 19; evidence of a closed lead kept {months} months after closure",
    RetentionKind.REJECTED: "PIPL art. 19; a lead not accepted kept {months} months after the decision",
    RetentionKind.REPORTER: "PIPL art. 19, 003 三(四); reporter link kept {days} days after the reward window "
                            "(002 §12(四))",
}
SLACK = timedelta(days=4)  # month lengths differ: candidates are read a little early, then checked exactly


def rule_text(kind: RetentionKind, settings: RetentionSettings) -> str:
    """The rule a deletion is made under, as the audit records it."""
    return RULES[kind].format(months=_months(kind, settings), days=settings.reporter_days)


def _months(kind: RetentionKind, settings: RetentionSettings) -> int:
    return settings.evidence_months if kind == RetentionKind.EVIDENCE else settings.rejected_months


def kept_forever(kind: RetentionKind, settings: RetentionSettings) -> bool:
    """Whether the settings switch the clock off (0 months)."""
    return kind != RetentionKind.REPORTER and _months(kind, settings) == 0


def shift_months(moment: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The same local time ``months`` later (earlier when negative), the day clamped to the month's end."""
    local = moment.astimezone(zone)
    day = add_months(local.date(), months)
    return datetime.combine(day, local.timetz())


def due(kind: RetentionKind, since: datetime, settings: RetentionSettings, zone: ZoneInfo) -> datetime:
    """When the clock started at ``since`` runs out."""
    if kind == RetentionKind.REPORTER:
        return since + timedelta(days=settings.reporter_days)
    return shift_months(since, _months(kind, settings), zone)


def latest_since(kind: RetentionKind, by: datetime, settings: RetentionSettings, zone: ZoneInfo) -> datetime:
    """The latest start of a clock that may be due (or to be warned about) by ``by``: what the sweep reads."""
    warn_by = by + timedelta(days=settings.warning_days)
    if kind == RetentionKind.REPORTER:
        return warn_by - timedelta(days=settings.reporter_days)
    return shift_months(warn_by, -_months(kind, settings), zone) + SLACK


def reward_window_end(closed_at: datetime, claim_until: date | None, claim_months: int, zone: ZoneInfo) -> datetime:
    """When the reward window of a lead closed at ``closed_at`` ends: the claim window of an offered reward (the end
    of its last day), else ``claim_months`` after closure (the window a reward would have had)."""
    end = shift_months(closed_at, claim_months, zone)
    if claim_until is not None:
        end = max(end, datetime.combine(claim_until + timedelta(days=1), time(0), tzinfo=zone))
    return end


@dataclass(frozen=True)
class Timing:
    """When a clock is due, when staff are (or were) warned and when it is deleted, seen at ``now``."""

    due: datetime
    warn_on: datetime
    delete_on: datetime


MAX_HOLD_DAYS = 3 * 366  # a dated hold reaches at most this far; longer needs a renewed hold (or an open one)


def on_hold(held_at: datetime | None, held_until: datetime | None, now: datetime) -> bool:
    """Whether a hold placed at ``held_at`` still stands at ``now``: until ``held_until`` (None: until released)."""
    return held_at is not None and (held_until is None or now < held_until)


def hold_end(until: date, zone: ZoneInfo) -> datetime:
    """The end of a hold "until ``until``": the start of the next day, local time (the day itself is held)."""
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)


def timing(due_at: datetime, warned_at: datetime | None, now: datetime, settings: RetentionSettings) -> Timing:
    """The warning ``warning_days`` before ``due_at`` (or at once, if that has passed unwarned); the deletion at
    ``due_at``, never sooner than ``warning_days`` after the warning."""
    notice = timedelta(days=settings.warning_days)
    warn_on = warned_at if warned_at is not None else max(due_at - notice, now)
    return Timing(due_at, warn_on, max(due_at, warn_on + notice))
