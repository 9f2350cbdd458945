"""An expert's dated work history (000 annex 1 "工作经历"): reading the periods written in the annex, matching each
to the institution directory, and merging them into the stored history that the two-year past-employer recusal
reads (000 §15(一), ``services.activities.draw_rules`` point 5).

Interpretations
---------------
1. **A period is one line**: ``YYYY.MM–YYYY.MM 单位名称 职务``. A month is written ``2019.03``, ``2019-3``,
   ``2019/03`` or ``2019年3月``; the two months are separated by ``–``, ``—``, ``-``, ``~``, ``至`` or ``到``; the end
   may be ``至今`` (also 今, 现在, 目前: still there). Full-width characters are read as their ASCII forms. The
   institution is the first word after the dates (a name, or an 18-character credit code), the rest is the post.
   Lines not starting with a digit are the annex's free text (专业特长) and are not periods.
2. **Dates are months**: a period starts on the first day of its first month and ends on the last day of its last
   month (the person was there in that month). So someone who left in January 2025 is recused from an activity
   starting before the same day of 2027 (inclusive; ``draw_rules`` point 5).
3. **Matching**: a credit code is looked up by code, a name by exact name; a name shared by several institutions,
   or found nowhere, leaves the period unmatched: it is kept (the history stays complete) but cannot recuse
   anyone, and the import report lists it for staff to correct (``/history``, ``expert history``).
4. **Merging** (re-import, corrections): a period replaces the stored one at the same institution with the same
   start, or one at that institution with no start (opened or closed by an employer change, dated the day it was
   recorded): the dates given in the row are the real ones. Anything else is added. Merging twice changes nothing.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from services.platform.errors import InvalidInput
from services.platform.identifiers import InvalidIdentifier, validate_credit_code
from storage.pool import ExpertEmployment, Institution
from storage.uow import UnitOfWork

__all__ = ["Period", "Unreadable", "find_institution", "merge_period", "month_bound", "parse_history"]

_MONTH = r"(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*月?"
_NOW = ("至今", "今", "现在", "目前", "now")
_LINE = re.compile(
    rf"^{_MONTH}\s*(?:[-–—~至到]+)\s*(?:{_MONTH}|(?P<now>{'|'.join(_NOW)}))\s*(?P<rest>.*)$", re.IGNORECASE)
_WORDS = re.compile(r"[\s，,、；;]+")


@dataclass(frozen=True)
class Period:
    """A period as written: the institution (a name or a credit code), the post, the first and last day
    (``end`` None: still there)."""

    institution: str
    post: str | None
    start: date
    end: date | None


@dataclass(frozen=True)
class Unreadable:
    """A line that looks like a period but cannot be read: ``code`` says why."""

    line: str
    code: str


def _first_day(year: str, month: str) -> date | None:
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _last_day(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_bound(text: str, *, end: bool) -> date | None:
    """A month (``2019-03``, ``2019.3``, ``2019年3月``) or a day (``2019-03-15``) as the first day of a period or,
    with ``end``, its last (a month's last day); ``至今`` with ``end`` is None (still there). Raises InvalidInput."""
    value = unicodedata.normalize("NFKC", text).strip()
    if end and value.lower() in _NOW:
        return None
    try:
        return date.fromisoformat(value.replace("/", "-").replace(".", "-"))
    except ValueError:
        pass
    found = re.fullmatch(_MONTH, value)
    first = _first_day(found.group(1), found.group(2)) if found else None
    if first is None:
        raise InvalidInput(f"{text!r} is not a month such as 2019-03", field="end" if end else "start")
    return _last_day(first) if end else first


def parse_history(text: str, *, today: date) -> tuple[list[Period], list[Unreadable]]:
    """The periods of a work-history cell, and the lines that look like periods but cannot be read."""
    periods: list[Period] = []
    unreadable: list[Unreadable] = []
    for raw in text.splitlines():
        line = unicodedata.normalize("NFKC", raw).strip()
        if not line or not line[0].isdigit():
            continue  # interpretation 1: the annex's free text
        found = _LINE.match(line)
        if found is None:
            unreadable.append(Unreadable(line, "history_unreadable"))
            continue
        start = _first_day(found.group(1), found.group(2))
        end_first = None if found.group("now") else _first_day(found.group(3), found.group(4))
        words = [w for w in _WORDS.split(found.group("rest")) if w]
        if start is None or (end_first is None and not found.group("now")):
            unreadable.append(Unreadable(line, "history_bad_month"))
        elif not words:
            unreadable.append(Unreadable(line, "history_no_institution"))
        elif (end_first is not None and end_first < start) or start > today:
            unreadable.append(Unreadable(line, "history_bad_dates"))
        else:
            periods.append(Period(words[0][:200], " ".join(words[1:])[:100] or None, start,
                                  _last_day(end_first) if end_first else None))
    return periods, unreadable


async def find_institution(uow: UnitOfWork, text: str) -> Institution | None:
    """The directory's institution with this credit code, or this exact name when only one has it (interpretation
    3); a number is an institution id."""
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) < 10:
        return await uow.session.get(Institution, int(value))
    try:
        code = validate_credit_code(value)
    except InvalidIdentifier:
        code = None
    if code is not None:
        return (await uow.session.exec(select(Institution).where(Institution.credit_code == code))).first()
    found = (await uow.session.exec(select(Institution).where(Institution.name == value).limit(2))).all()
    return found[0] if len(found) == 1 else None


def _same_place(row: ExpertEmployment, institution: Institution | None, name: str) -> bool:
    if institution is not None:
        return row.institution_id == institution.id
    return row.institution_id is None and row.institution_name == name


async def merge_period(uow: UnitOfWork, expert_id: int, period: Period,
                       institution: Institution | None) -> ExpertEmployment | None:
    """Store ``period`` (interpretation 4); the row changed or added, or None when it was already there."""
    rows: Sequence[ExpertEmployment] = (await uow.session.exec(
        select(ExpertEmployment).where(ExpertEmployment.expert_id == expert_id).order_by(col(ExpertEmployment.id))
    )).all()
    name = institution.name if institution is not None else period.institution
    same = [r for r in rows if _same_place(r, institution, name)]
    target = next((r for r in same if r.start_date == period.start), None) or next(
        (r for r in same if r.start_date is None), None)
    if target is None:
        target = ExpertEmployment(expert_id=expert_id, institution_id=institution.id if institution else None,
                                  institution_name=name)
    elif (target.start_date, target.end_date) == (period.start, period.end) and (
            period.post is None or target.post == period.post):
        return None
    target.start_date, target.end_date = period.start, period.end
    if period.post is not None:
        target.post = period.post
    uow.session.add(target)
    await uow.session.flush()
    return target


def requested_value(period: Period, institution: Institution) -> dict[str, object]:
    """A period as a change request stores it (the first value is what staff read in ``/changes``)."""
    shown = f"{institution.name} {period.start.isoformat()} ~ {period.end.isoformat() if period.end else '至今'}"
    return {"period": f"{shown} {period.post or ''}".strip(), "institution_id": institution.id,
            "start": period.start.isoformat(), "end": period.end.isoformat() if period.end else None,
            "post": period.post}


async def merge_requested(uow: UnitOfWork, expert_id: int, value: dict[str, object]) -> None:
    """Apply an approved change request's period (see :func:`requested_value`)."""
    institution = await uow.session.get(Institution, int(str(value["institution_id"])))
    if institution is None:
        raise InvalidInput("the institution is no longer in the directory", field="institution")
    end = value.get("end")
    period = Period(institution.name, str(value["post"]) if value.get("post") else None,
                    date.fromisoformat(str(value["start"])), date.fromisoformat(str(end)) if end else None)
    await merge_period(uow, expert_id, period, institution)
