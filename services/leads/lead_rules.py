"""The rules of leads as pure functions over plain data (002 §9(二), §11(四), §12(二), §12(四)).

- categories of fraud a supervisor can report (issue 8, list of ten);
- the life cycle: received → accepted (a case is opened) | not accepted (with the reason) → under investigation →
  substantiated | unsubstantiated → closed (002 §12(二): handle promptly and feed back);
- deadlines in working days (national reporting rules: decide on acceptance within 15 working days, handle within
  30, extendable with a reason that the reporter is told, 002 §12(二));
- reward bounds and the claim window (002 §12(四); national rules: 200 to 200,000 yuan, claim within 2 months),
  and the days before its last day on which the reporter is reminded to claim (this project's default: 14 and 3);
- possible duplicates (same institution and category within a window);
- pseudonyms and masking: staff see "S-xxxx", never the reporter (003 三(四): protect the reporter's privacy).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.platform.policy import LeadRules
from services.platform.workdays import WorkingCalendar


class LeadCategory(StrEnum):
    """What the reported party is suspected of."""

    FAKE_HOSPITALISATION = "fake_hospitalisation"  # 虚假住院、挂床住院
    SWAPPING = "swapping"  # 串换药品、耗材
    FICTITIOUS_SERVICES = "fictitious_services"  # 虚构医疗服务
    OVER_TREATMENT = "over_treatment"  # 过度诊疗
    OVER_CHARGING = "over_charging"  # 重复收费、超标准收费
    SPLIT_ADMISSIONS = "split_admissions"  # 分解住院
    FORGED_DOCUMENTS = "forged_documents"  # 伪造医疗文书
    RESELLING_DRUGS = "reselling_drugs"  # 倒卖医保药品
    CARD_MISUSE = "card_misuse"  # 冒用他人医保卡
    OTHER = "other"


class LeadState(StrEnum):
    """Where a lead is in its handling."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    INVESTIGATING = "investigating"
    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"
    CLOSED = "closed"


TRANSITIONS: dict[LeadState, frozenset[LeadState]] = {
    LeadState.RECEIVED: frozenset({LeadState.ACCEPTED, LeadState.NOT_ACCEPTED}),
    LeadState.ACCEPTED: frozenset({LeadState.INVESTIGATING, LeadState.SUBSTANTIATED, LeadState.UNSUBSTANTIATED}),
    LeadState.INVESTIGATING: frozenset({LeadState.SUBSTANTIATED, LeadState.UNSUBSTANTIATED}),
    LeadState.NOT_ACCEPTED: frozenset({LeadState.CLOSED}),
    LeadState.SUBSTANTIATED: frozenset({LeadState.CLOSED}),
    LeadState.UNSUBSTANTIATED: frozenset({LeadState.CLOSED}),
    LeadState.CLOSED: frozenset(),
}
OPEN_STATES = frozenset({LeadState.RECEIVED, LeadState.ACCEPTED, LeadState.INVESTIGATING})


def accepts_additions(state: str) -> bool:
    """Whether the reporter may still add information or evidence to a lead in ``state`` (002 §12(二)): while open."""
    return state in {str(s) for s in OPEN_STATES}


class StaffVerb(StrEnum):
    """What staff may do from a lead's card (the card's buttons, in the order shown)."""

    ACCEPT = "accept"
    REJECT = "reject"
    INVESTIGATE = "investigate"
    SUBSTANTIATED = "yes"
    UNSUBSTANTIATED = "no"
    TAKE = "take"
    ASK = "ask"
    ASK_SIGNED = "asks"
    EXTEND = "extend"
    REWARD = "reward"
    CLAIMED = "claimed"
    CLOSE = "close"
    FILES = "files"


def staff_verbs(state: str, *, rewarded: bool, reward_offered: bool, has_evidence: bool) -> tuple[StaffVerb, ...]:
    """The card actions available to staff of the lead's line for a lead in ``state``, read from
    :data:`TRANSITIONS`: accept or not while received, investigate once accepted, conclude while accepted or under
    investigation, take/ask/extend while open, reward a substantiated lead once (002 §12(四)), record an offered
    reward as claimed, close a decided lead, send the files when there are any (002 §12(二))."""
    verbs: list[StaffVerb] = []
    if can_move(state, LeadState.ACCEPTED) and can_move(state, LeadState.NOT_ACCEPTED):
        verbs += [StaffVerb.ACCEPT, StaffVerb.REJECT]
    if can_move(state, LeadState.INVESTIGATING):
        verbs.append(StaffVerb.INVESTIGATE)
    if can_move(state, LeadState.SUBSTANTIATED):
        verbs += [StaffVerb.SUBSTANTIATED, StaffVerb.UNSUBSTANTIATED]
    if accepts_additions(state):
        verbs += [StaffVerb.TAKE, StaffVerb.ASK, StaffVerb.ASK_SIGNED, StaffVerb.EXTEND]
    if state == LeadState.SUBSTANTIATED and not rewarded:
        verbs.append(StaffVerb.REWARD)
    if reward_offered:
        verbs.append(StaffVerb.CLAIMED)
    if can_move(state, LeadState.CLOSED):
        verbs.append(StaffVerb.CLOSE)
    if has_evidence:
        verbs.append(StaffVerb.FILES)
    return tuple(verbs)


def can_move(current: str, target: str) -> bool:
    """Whether a lead in ``current`` may move to ``target``."""
    try:
        return LeadState(target) in TRANSITIONS[LeadState(current)]
    except ValueError:
        return False


DEFAULT_RULES = LeadRules()


def reward_reminder_step(days_left: int, days_before: Iterable[int]) -> int:
    """How many of the claim reminders are due with ``days_left`` days to the claim window's last day: the number
    of offsets in ``days_before`` that have been reached (0 when none has, nor after the last day)."""
    if days_left < 0:
        return 0
    return sum(1 for offset in set(days_before) if days_left <= offset)


def deadline(calendar: WorkingCalendar, start: datetime, working_days: int, zone: ZoneInfo) -> datetime:
    """The end of the ``working_days``-th working day after ``start`` (local date in ``zone``)."""
    return calendar.deadline(start, working_days, zone)


def reminder_time(calendar: WorkingCalendar, start: datetime, due: datetime, before: int, zone: ZoneInfo) -> datetime:
    """When to remind the handler: the start of the day ``before`` working days ahead of the due day (not before
    ``start``)."""
    due_day = due.astimezone(zone).date()
    day = due_day
    counted = 0
    while counted < before and day > start.astimezone(zone).date():
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    moment = datetime(day.year, day.month, day.day, tzinfo=zone)
    return max(moment, start)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError("unreachable")


class RewardOutOfBounds(ValueError):
    """The reward amount is outside the configured bounds."""


def check_reward(amount: int, rules: LeadRules) -> int:
    """The amount if within [reward_min, reward_max] yuan (002 §12(四)); else RewardOutOfBounds."""
    if not rules.reward_min <= amount <= rules.reward_max:
        raise RewardOutOfBounds(f"{amount} not in [{rules.reward_min}, {rules.reward_max}]")
    return amount


def parse_amount(text: str) -> int | None:
    """A whole number of yuan as typed (``2000``, ``2,000``, ``2000元``, ``２０００``), or None."""
    raw = text.strip().translate(_FULL_WIDTH).replace(",", "").replace("，", "").removesuffix("元").strip()
    return int(raw) if raw.isdigit() else None


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass(frozen=True)
class PastLead:
    """What duplicate detection needs of an earlier lead."""

    id: int
    institution_key: str
    category: str
    created_at: datetime


def institution_key(institution_id: int | None, institution_text: str | None) -> str:
    """What identifies the reported institution for duplicate detection: its id, else its normalized name."""
    if institution_id is not None:
        return f"id:{institution_id}"
    return "name:" + re.sub(r"\s+", "", (institution_text or "")).lower()


def possible_duplicates(key: str, category: str, at: datetime, earlier: Iterable[PastLead],
                        window_days: int) -> list[int]:
    """Ids of earlier leads about the same institution and category within ``window_days`` before ``at``."""
    if key in ("name:", "id:"):
        return []
    since = at - timedelta(days=window_days)
    return sorted(p.id for p in earlier
                  if p.institution_key == key and p.category == category and since <= p.created_at <= at)


PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_pseudonym() -> str:
    """A random pseudonym S-xxxx for a supervisor (stable: stored once on the supervisor's row)."""
    return "S-" + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(4))


def mask_name(name: str) -> str:
    """A person's name for display to staff who need not know it: the first character, ``*`` for the rest."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def tracking_number(lead_id: int, created: date) -> str:
    """The number given to the reporter: ``XS`` + year + the lead's id (``XS2026-00042``)."""
    return f"XS{created.year}-{lead_id:05d}"


def parse_number(text: str) -> int | None:
    """The lead id in a tracking number or a bare id (``XS2026-00042``, ``42``, ``#42``), or None."""
    raw = text.strip().lstrip("#").upper()
    match = re.fullmatch(r"(?:XS\d{4}-)?0*(\d{1,9})", raw)
    return int(match.group(1)) if match else None
