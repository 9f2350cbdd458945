"""The tunable numbers of the rules, set once at start-up from the settings (``bot.settings``) and read by the
services: the draw's rotation window and limits (001 §14, ``DrawSettings``) and the chasing of invitations
(reminder offsets, quiet hours; ``ChaseSettings``), the numbers of leads that the scheduler's sweep reads (the reward
claim reminders, ``LeadRules``), the row limit of table imports (``ImportSettings``), how long lead records are kept
(``RetentionSettings``). Tests and the sandbox may
:func:`configure` other values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path


@dataclass(frozen=True)
class DrawSettings:
    """Tunable limits (defaults: 001 §14 practice, 000 §8(四), 000 §15(一))."""

    rotation_window_days: int = 180
    rotation_max: int = 2
    rotation_gap_days: int = 30
    age_limit: int = 65
    recusal_years: int = 2


@dataclass(frozen=True)
class ChaseSettings:
    """When to remind about an invitation and when to stay quiet (issue defaults: 2 h and 6 h, 22:00–08:00)."""

    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=2), timedelta(hours=6))
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    late_window: timedelta = timedelta(hours=24)  # a backup invited after the deadline gets this long
    sign_reminder_before: timedelta = timedelta(hours=24)
    eve_reminder_at: time = time(18, 0)  # the local hour of the reminder the day before the start (issue 13)


# Points per credit-file event (000 §25). Defaults from provincial practice (the examples: absent without
# notice −20, failure to recuse −20, late −10); the others are this project's defaults, documented in
# services/records/credit.py. Override with the setting ``credit_points`` ("kind=points,kind=points").
DEFAULT_CREDIT_POINTS: dict[str, int] = {
    "no_response": -5,  # invitation left unanswered until the deadline (slot expired)
    "decline_after_accept": -10,  # withdrew after accepting
    "absent_without_notice": -20,  # 000 §27(一)
    "late": -10,
    "failure_to_recuse": -20,  # 000 §27(四), 001 §22(七)
    "serious_violation": -50,  # 000 §23: false application, leaks, corruption, other serious violations
    "refusal_to_sign": -10,  # the commitment (000 §14)
    "discipline_breach": -20,  # 000 §27(五)(七)
    "poor_performance": -10,  # 000 §27(二)
    "reprimand": -10,  # 通报批评 confirmed by staff (000 §27)
    "attended": 2,  # took part (000 §20 evaluation)
    "excellent_performance": 5,  # rated excellent in the work record (000 §20)
    "praise": 10,
}


def parse_credit_points(text: str) -> dict[str, int]:
    """``"late=-5, praise=8"`` → ``{"late": -5, "praise": 8}``; only known kinds (ValueError otherwise)."""
    table: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in DEFAULT_CREDIT_POINTS:
            raise ValueError(f"unknown credit event kind in {part!r}; known: {', '.join(DEFAULT_CREDIT_POINTS)}")
        table[kind] = int(value.strip())
    return table


@dataclass(frozen=True)
class RecordSettings:
    """After the activity: the work record's deadline (000 §25), the credit points table, the removal rule's
    numbers (001 §22(三): 3 unexcused absences within 1 year) and when reminders go out (local hour)."""

    work_record_working_days: int = 5
    credit_points: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CREDIT_POINTS))
    absence_removal_count: int = 3
    absence_window_days: int = 365
    reminder_hour: int = 9


@dataclass(frozen=True)
class LeadRules:
    """The configurable numbers (``bot.settings``: LEAD_*, REWARD_*); defaults from the national reporting rules."""

    accept_working_days: int = 15
    handle_working_days: int = 30
    remind_working_days_before: int = 3
    duplicate_window_days: int = 90
    reward_min: int = 200
    reward_max: int = 200_000
    reward_claim_months: int = 2
    max_extension_working_days: int = 30
    reward_reminder_days_before: tuple[int, ...] = (14, 3)  # calendar days before the claim window's last day
    reward_reminder_hour: int = 9  # local hour from which a day's claim reminder goes out (not at midnight)


@dataclass(frozen=True)
class ImportSettings:
    """Table imports (experts, institutions): the most data rows a file may have, checked while the file is read
    (issue 21: a province's pool, 50,000 experts, fits in one file)."""

    max_rows: int = 50_000


@dataclass(frozen=True)
class RetentionSettings:
    """How long lead records are kept (PIPL storage limitation; ``services/leads/retention.py``): evidence of a closed
    lead ``evidence_months`` after closure, everything of a lead not accepted ``rejected_months`` after the decision,
    the reporter link ``reporter_days`` after the reward window; staff warned ``warning_days`` before. 0 months: kept
    forever. ``evidence_dir`` is where the files are (``EVIDENCE_DIR``)."""

    evidence_months: int = 60
    rejected_months: int = 12
    reporter_days: int = 0
    warning_days: int = 30
    evidence_dir: Path = Path("./var/evidence")


@dataclass(frozen=True)
class Policy:
    """Every tunable rule number in one value."""

    draw: DrawSettings = field(default_factory=DrawSettings)
    chase: ChaseSettings = field(default_factory=ChaseSettings)
    records: RecordSettings = field(default_factory=RecordSettings)
    leads: LeadRules = field(default_factory=LeadRules)
    imports: ImportSettings = field(default_factory=ImportSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)


_current: list[Policy] = [Policy()]


def current() -> Policy:
    """The policy in force."""
    return _current[0]


def configure(policy: Policy) -> None:
    """Set the policy (at start-up)."""
    _current[0] = policy
