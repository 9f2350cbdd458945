"""The expert life cycle (000 §10, §21–§23; 001 §8, §22) and availability periods.

::

    applicant ──start_review──▶ under_review ──approve──▶ public_notice ──appoint──▶ active
        │                          │   ▲                     │ record_objection       │ renew (same state,
        └──────── reject ──────────┘   └─────────────────────┘                        │  next term)
                     ▼                                                                 ▼
                  exited ◀──────────────── exit (voluntary, term end, age 65) ─────────┘
    any state but removed ── remove ──▶ removed (barred for 5 years, 001 §22)
    exited / removed ── readmit (a new application, 000 §10; refused while a bar runs, 001 §22) ──▶ applicant

Leave and suspension are periods (``ExpertPeriod``), not states: history is never lost, and an
expert on leave stays active. Every transition is a service function: it checks the state,
changes it, appends an audit entry and tells the expert (and staff, where it matters) through
the outbox, in one transaction; a transition that is not allowed raises ``InvalidTransition``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.people.orgs import TERM_YEARS, add_years, require_scope_over_person
from services.platform import audit, notify
from services.platform.errors import InvalidInput, InvalidTransition, NotEligible, PersonNotFound, StillBarred
from services.platform.roles import Actor
from services.platform.workdays import default_calendar
from services.pool.eligibility import barred_until_for, check_eligibility
from services.pool.experts import profile_of
from services.pool.standing import Standing, standing_of
from storage.models import Expert
from storage.pool import ExpertPeriod, ExpertTenure
from storage.uow import UnitOfWork

NOTICE_WORKING_DAYS = 5  # length of the public notice (公示) unless staff set an end date
REVIEW_NOTICE_DAYS = 31  # 000 §10(七): review in the month before the term ends


class ExpertState(StrEnum):
    """Where an expert stands in the pool."""

    APPLICANT = "applicant"
    UNDER_REVIEW = "under_review"
    PUBLIC_NOTICE = "public_notice"
    ACTIVE = "active"
    EXITED = "exited"
    REMOVED = "removed"


class ExitReason(StrEnum):
    """Why an expert left the pool without being removed."""

    VOLUNTARY = "voluntary"  # 000 §21
    TERM_END = "term_end"  # 000 §10(七), §22
    AGE_LIMIT = "age_limit"  # 000 §22
    NOT_ADMITTED = "not_admitted"  # 000 §10(三)(四): refused at review
    OTHER = "other"  # 000 §11: retirement, leaving the post


async def _expert(uow: UnitOfWork, actor: Actor, expert_id: int) -> Expert:
    await require_scope_over_person(uow, actor, expert_id)
    expert = await uow.people.expert(expert_id)
    if expert is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    return expert


def _require(expert: Expert, action: str, *allowed: ExpertState) -> ExpertState:
    state = ExpertState(expert.state)
    if state not in allowed:
        raise InvalidTransition(f"{action} not allowed from {state}", action_key=f"lifecycle.action.{action}",
                                state_key=f"lifecycle.state.{state.value}")
    return state


async def _save(
    uow: UnitOfWork, actor: Actor, expert: Expert, action: str, details: dict[str, object], *, tell: str | None
) -> Standing:
    expert.updated_at = uow.now()
    uow.session.add(expert)
    await audit.record(uow, at=uow.now(), actor=actor.label, action=f"expert.{action}", object_type="person",
                       object_id=expert.person_id, details={"state": expert.state, **details})
    if tell is not None:
        await notify.to_person(uow, person_id=expert.person_id, key=tell, params=_params(expert))
    await uow.commit()
    return standing_of(expert)


def _params(expert: Expert) -> dict[str, object]:
    return {
        "state_key": f"lifecycle.state.{expert.state}",
        "term_end": expert.term_end.isoformat() if expert.term_end else "-",
        "notice_ends_on": expert.notice_ends_on.isoformat() if expert.notice_ends_on else "-",
        "reason": _reason_words(expert.end_reason),
    }


def _reason_words(end_reason: str | None) -> str:
    """The person's words behind an ending: the exit code (``other: 调离原岗位``) is the message's own key, never
    shown again (issue 20)."""
    text = end_reason or "-"
    for code in ExitReason:
        if text == code.value:
            return "-"
        if text.startswith(f"{code.value}: "):
            return text[len(code.value) + 2:]
    return text


async def start_review(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Standing:
    """Preliminary review of an application begins (000 §10(三))."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "start_review", ExpertState.APPLICANT)
    expert.state = ExpertState.UNDER_REVIEW.value
    return await _save(uow, actor, expert, "review_started", {}, tell=None)


async def approve(
    uow: UnitOfWork, *, actor: Actor, expert_id: int, notice_ends_on: date | None = None
) -> Standing:
    """Approved at review: the name goes on public notice until ``notice_ends_on`` (000 §10(四)(五))."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "approve", ExpertState.UNDER_REVIEW)
    today = uow.today()
    _require_eligible(expert, today)
    ends = notice_ends_on or default_calendar().add_working_days(today, NOTICE_WORKING_DAYS)
    if ends <= today:
        raise InvalidInput("the public notice must end after today", field="notice_ends_on")
    expert.state = ExpertState.PUBLIC_NOTICE.value
    expert.notice_ends_on = ends
    expert.objection_note = None
    return await _save(uow, actor, expert, "notice_started", {"notice_ends_on": ends.isoformat()},
                       tell="lifecycle.notice_started")


async def reject(uow: UnitOfWork, *, actor: Actor, expert_id: int, reason: str) -> Standing:
    """Not admitted at review."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "reject", ExpertState.APPLICANT, ExpertState.UNDER_REVIEW)
    _end(expert, uow.today(), f"{ExitReason.NOT_ADMITTED.value}: {_reason(reason)}")
    expert.state = ExpertState.EXITED.value
    return await _save(uow, actor, expert, "rejected", {"reason": expert.end_reason}, tell="lifecycle.rejected")


async def record_objection(uow: UnitOfWork, *, actor: Actor, expert_id: int, note: str) -> Standing:
    """An objection was raised during the public notice: back to review (000 §10(五))."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "record_objection", ExpertState.PUBLIC_NOTICE)
    expert.state = ExpertState.UNDER_REVIEW.value
    expert.objection_note = _reason(note)
    return await _save(uow, actor, expert, "objection_recorded", {"note": expert.objection_note}, tell=None)


async def appoint(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Standing:
    """The public notice ended without objection: appointed for a three-year term (000 §10(六)(七))."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "appoint", ExpertState.PUBLIC_NOTICE)
    today = uow.today()
    if expert.notice_ends_on is not None and today < expert.notice_ends_on:
        raise InvalidTransition("the public notice has not ended", action_key="lifecycle.action.appoint",
                                state_key="lifecycle.state.public_notice")
    expert.state = ExpertState.ACTIVE.value
    expert.term_start, expert.term_end = today, add_years(today, TERM_YEARS)
    return await _save(uow, actor, expert, "appointed", {"term_end": expert.term_end.isoformat()},
                       tell="lifecycle.appointed")


async def renew(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Standing:
    """Review passed and the expert is willing: a new term follows the current one (000 §10(七))."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "renew", ExpertState.ACTIVE)
    today = uow.today()
    _require_eligible(expert, today)
    if expert.term_end is None or expert.term_end - today > timedelta(days=REVIEW_NOTICE_DAYS):
        raise InvalidTransition("renewal is decided in the month before the term ends",
                                action_key="lifecycle.action.renew", state_key="lifecycle.state.active")
    expert.term_start, expert.term_end = expert.term_end, add_years(expert.term_end, TERM_YEARS)
    expert.review_notice_for = None
    return await _save(uow, actor, expert, "renewed", {"term_end": expert.term_end.isoformat()},
                       tell="lifecycle.renewed")


async def request_extension(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Standing:
    """The expert (or staff for them) asks to stay past 65 (000 §22); the pool's staff are alerted and decide
    (:mod:`services.pool.extensions`)."""
    expert = await uow.people.expert(expert_id) if actor.person_id == expert_id else await _expert(
        uow, actor, expert_id)
    if expert is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    _require(expert, "request_extension", ExpertState.ACTIVE)
    expert.extension_requested = True
    person = await uow.people.get(expert_id)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="lifecycle.extension_requested_staff",
                             params={"name": person.name if person else "", "person_id": expert_id})
    return await _save(uow, actor, expert, "extension_requested", {}, tell=None)


async def exit_pool(
    uow: UnitOfWork, *, actor: Actor, expert_id: int, reason: ExitReason, note: str = ""
) -> Standing:
    """Leave the pool without blame: voluntary (000 §21), term end or age 65 (000 §22), other (000 §11)."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "exit", ExpertState.ACTIVE, ExpertState.PUBLIC_NOTICE, ExpertState.UNDER_REVIEW,
             ExpertState.APPLICANT)
    expert.state = ExpertState.EXITED.value
    _end(expert, uow.today(), f"{reason.value}: {note.strip()}" if note.strip() else reason.value)
    return await _save(uow, actor, expert, "exited", {"reason": expert.end_reason},
                       tell=f"lifecycle.exited.{reason.value}")


async def remove(uow: UnitOfWork, *, actor: Actor, expert_id: int, reason: str) -> Standing:
    """Removed for a ground of 000 §23: announced, and barred for five years (001 §22)."""
    expert = await _expert(uow, actor, expert_id)
    _require(expert, "remove", *(s for s in ExpertState if s is not ExpertState.REMOVED))
    today = uow.today()
    expert.state = ExpertState.REMOVED.value
    _end(expert, today, _reason(reason))
    expert.barred_until = barred_until_for(today)
    return await _save(uow, actor, expert, "removed",
                       {"reason": expert.end_reason, "barred_until": expert.barred_until.isoformat()},
                       tell="lifecycle.removed")


async def readmit(uow: UnitOfWork, *, actor: Actor, expert_id: int) -> Standing:
    """Back into the pool after exit or term end (000 §10): a new application, the previous time in the pool kept as
    an :class:`ExpertTenure` (the credit file is the person's and stays linked). Refused with the reason and the
    end date while a removal's five-year bar runs (001 §22)."""
    expert = await _expert(uow, actor, expert_id)
    state = _require(expert, "readmit", ExpertState.EXITED, ExpertState.REMOVED)
    today = uow.today()
    bar = expert.barred_until or (barred_until_for(expert.ended_on)
                                  if state is ExpertState.REMOVED and expert.ended_on else None)
    if bar is not None and bar > today:
        raise StillBarred("a removal's bar runs", reason=expert.end_reason or "-",
                          ended_on=expert.ended_on.isoformat() if expert.ended_on else "-",
                          barred_until=bar.isoformat())
    tenure = ExpertTenure(expert_id=expert_id, org_unit_id=expert.org_unit_id, state=state.value,
                          term_start=expert.term_start, term_end=expert.term_end, ended_on=expert.ended_on,
                          end_reason=expert.end_reason, barred_until=expert.barred_until, archived_at=uow.now(),
                          archived_by=actor.label)
    uow.session.add(tenure)
    await uow.session.flush()
    expert.state = ExpertState.APPLICANT.value
    expert.term_start = expert.term_end = expert.notice_ends_on = expert.review_notice_for = None
    expert.ended_on = expert.end_reason = expert.objection_note = expert.barred_until = None
    expert.extension_requested, expert.extended_until, expert.extension_reminded_for = False, None, None
    return await _save(uow, actor, expert, "readmitted", {"tenure_id": tenure.id, "previous_state": state.value},
                       tell="lifecycle.readmitted")


def _require_eligible(expert: Expert, today: date) -> None:
    """Admission and review check the conditions of 000 §7-§9, §22 and 001 §22 (warnings do not block)."""
    verdict = check_eligibility(profile_of(expert), today)
    if not verdict.eligible:
        raise NotEligible("admission conditions not met", articles="; ".join(
            dict.fromkeys(f"{reason.article} {reason.code}" for reason in verdict.failures)))


def _end(expert: Expert, today: date, reason: str) -> None:
    expert.ended_on = today
    expert.end_reason = reason[:500]


def _reason(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput("a reason is required", field="reason")
    return cleaned[:500]


@dataclass(frozen=True)
class PeriodRef:
    """A leave or suspension just recorded."""

    id: int
    kind: str
    start: date
    end: date


async def add_period(
    uow: UnitOfWork, *, actor: Actor, expert_id: int, kind: str, start: date, end: date, reason: str = ""
) -> PeriodRef:
    """Record leave (the expert, or staff for them) or a suspension (staff) over [start, end]."""
    if kind not in ("leave", "suspension"):
        raise InvalidInput("kind must be leave or suspension", field="kind")
    if end < start:
        raise InvalidInput("the period ends before it starts", field="end")
    if kind == "suspension" and actor.person_id == expert_id:
        raise InvalidInput("a suspension is decided by staff", field="kind")
    if actor.person_id != expert_id:
        await require_scope_over_person(uow, actor, expert_id)
    expert = await uow.people.expert(expert_id)
    if expert is None:
        raise PersonNotFound(str(expert_id), person_id=expert_id)
    now = uow.now()
    period = ExpertPeriod(expert_id=expert_id, kind=kind, start_date=start, end_date=end,
                          reason=reason.strip()[:500], created_by=actor.label, created_at=now)
    uow.session.add(period)
    await uow.session.flush()
    await audit.record(uow, at=now, actor=actor.label, action=f"expert.{kind}_added", object_type="person",
                       object_id=expert_id, details={"period_id": period.id, "start": start.isoformat(),
                                                     "end": end.isoformat()})
    await uow.commit()
    assert period.id is not None
    return PeriodRef(id=period.id, kind=kind, start=start, end=end)
