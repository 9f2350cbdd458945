"""Triage of leads by staff (002 §12(二), §12(四)): accept (a case is opened) or not (with the reason), assign a
handler, investigate, conclude (substantiated or not), reward, close, extend a deadline with a reason, link a
duplicate; each change feeds back to the reporter in plain words (002 §12(二): handle promptly and feed back; when it
cannot be done in time, tell them why). Also the scheduler's sweep: reminders before a deadline, escalation to admins
after it, and the reward claim window (the reporter is reminded to claim before it ends, then the reward lapses).

The reporter's feedback never names the staff member; staff-facing texts never name the reporter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from services.leads import retention
from services.leads.actions import ShowLeadCard
from services.leads.lead_rules import (
    DEFAULT_RULES,
    OPEN_STATES,
    LeadState,
    RewardOutOfBounds,
    add_months,
    can_move,
    check_reward,
    deadline,
    reminder_time,
    reward_reminder_step,
)
from services.leads.leads import staff_lead
from services.leads.refs import LeadLine, lead_line
from services.leads.reporters import reporter_id
from services.leads.retention import reporter_of
from services.people.orgs import admins_up, subtree
from services.platform import audit, notify, policy
from services.platform.errors import InvalidInput, LeadRefused, PermissionDenied
from services.platform.policy import LeadRules
from services.platform.roles import SCHEDULER, Actor, Role
from services.platform.workdays import WorkingCalendar, default_calendar
from storage.leads import Lead
from storage.uow import UnitOfWork, UnitOfWorkFactory

MIN_REASON = 2


def _feedback_params(lead: Lead, uow: UnitOfWork, **more: Any) -> dict[str, Any]:
    due = lead.due_at.astimezone(uow.zone).strftime("%Y-%m-%d") if lead.due_at is not None else "—"
    return {"number": lead.number, "due": due, **more}


async def _move(uow: UnitOfWork, actor: Actor, lead: Lead, target: LeadState, *, details: dict[str, Any],
                feedback: str, params: dict[str, Any] | None = None) -> None:
    if not can_move(lead.state, target):
        raise LeadRefused(f"{lead.state} -> {target}", reason_key="lead.invalid.transition",
                          state_key=f"lead.state.{lead.state}")
    before = lead.state
    lead.state = target
    lead.updated_at = uow.now()
    if target == LeadState.CLOSED:
        lead.closed_at = uow.now()
    if target not in OPEN_STATES:
        lead.due_at = lead.remind_at = None
        lead.due_kind = None
    uow.session.add(lead)
    await retention.start(uow, lead, target)
    await audit.record(uow, at=uow.now(), actor=actor.label, action=f"lead.{target}", object_type="lead",
                       object_id=int(lead.id or 0), details={"from": before, **details})
    if (reporter := reporter_id(lead)) is not None:  # purged under retention: no one to tell
        await notify.to_person(uow, person_id=reporter, key=feedback, sealed=True,
                               params=params or _feedback_params(lead, uow))


def _reason(text: str) -> str:
    text = text.strip()
    if len(text) < MIN_REASON:
        raise LeadRefused("reason", reason_key="lead.invalid.reason")
    return text[:1000]


async def accept(uow: UnitOfWork, *, actor: Actor, lead_id: int, rules: LeadRules = DEFAULT_RULES,
                 calendar: WorkingCalendar | None = None) -> Lead:
    """Accept the lead (a case is opened); the handling deadline starts. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    calendar = calendar or default_calendar()
    now = uow.now()
    if lead.handler_person_id is None and actor.person_id is not None:
        lead.handler_person_id = actor.person_id
    lead.due_at = deadline(calendar, now, rules.handle_working_days, uow.zone)
    lead.due_kind = "handle"
    lead.remind_at = reminder_time(calendar, now, lead.due_at, rules.remind_working_days_before, uow.zone)
    await _move(uow, actor, lead, LeadState.ACCEPTED, details={"due_at": lead.due_at.isoformat()},
                feedback="lead.feedback.accepted")
    await uow.commit()
    return lead


async def reject(uow: UnitOfWork, *, actor: Actor, lead_id: int, reason: str) -> Lead:
    """Do not accept the lead, with the reason the reporter is told. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    lead.reason = _reason(reason)
    await _move(uow, actor, lead, LeadState.NOT_ACCEPTED, details={"reason": lead.reason},
                feedback="lead.feedback.not_accepted", params=_feedback_params(lead, uow, reason=lead.reason))
    await uow.commit()
    return lead


async def investigate(uow: UnitOfWork, *, actor: Actor, lead_id: int) -> Lead:
    """Mark the lead under investigation. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    await _move(uow, actor, lead, LeadState.INVESTIGATING, details={}, feedback="lead.feedback.investigating")
    await uow.commit()
    return lead


async def conclude(uow: UnitOfWork, *, actor: Actor, lead_id: int, substantiated: bool, summary: str) -> Lead:
    """Conclude the investigation: substantiated or not, with a summary the reporter is told. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    lead.reason = _reason(summary)
    target = LeadState.SUBSTANTIATED if substantiated else LeadState.UNSUBSTANTIATED
    await _move(uow, actor, lead, target, details={"summary": lead.reason}, feedback=f"lead.feedback.{target}",
                params=_feedback_params(lead, uow, summary=lead.reason))
    await uow.commit()
    return lead


async def close(uow: UnitOfWork, *, actor: Actor, lead_id: int) -> Lead:
    """Close a decided lead. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    await _move(uow, actor, lead, LeadState.CLOSED, details={}, feedback="lead.feedback.closed")
    await uow.commit()
    return lead


async def assign(uow: UnitOfWork, *, actor: Actor, lead_id: int, handler_person_id: int) -> Lead:
    """Make a staff member of the lead's line its handler. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    handler = await uow.people.staff(handler_person_id)
    if handler is None or not handler.active or lead.org_unit_id not in await subtree(uow, handler.org_unit_id):
        raise LeadRefused("handler", reason_key="lead.invalid.handler")
    lead.handler_person_id = handler_person_id
    lead.updated_at = uow.now()
    uow.session.add(lead)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.assigned", object_type="lead",
                       object_id=lead_id, details={"handler": handler_person_id})
    if handler_person_id != actor.person_id:
        await notify.to_person(uow, person_id=handler_person_id, key="lead.assigned_to_you",
                               params={"number": lead.number},
                               buttons=[[notify.Button("lead.button.card", ShowLeadCard(lead_id))]])
    await uow.commit()
    return lead


async def extend(uow: UnitOfWork, *, actor: Actor, lead_id: int, working_days: int, reason: str,
                 rules: LeadRules = DEFAULT_RULES, calendar: WorkingCalendar | None = None) -> Lead:
    """Extend the running deadline by ``working_days`` with a reason the reporter is told (002 §12(二)). Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    if lead.due_at is None or LeadState(lead.state) not in OPEN_STATES:
        raise LeadRefused("no deadline", reason_key="lead.invalid.no_deadline")
    if not 1 <= working_days <= rules.max_extension_working_days:
        raise LeadRefused("days", reason_key="lead.invalid.extension_days", max=rules.max_extension_working_days)
    text = _reason(reason)
    calendar = calendar or default_calendar()
    before = lead.due_at
    lead.due_at = deadline(calendar, before, working_days, uow.zone)
    lead.remind_at = reminder_time(calendar, uow.now(), lead.due_at, rules.remind_working_days_before, uow.zone)
    lead.extensions = [*lead.extensions, {"at": uow.now().isoformat(), "from": before.isoformat(),
                                          "to": lead.due_at.isoformat(), "days": working_days, "reason": text}]
    lead.updated_at = uow.now()
    uow.session.add(lead)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.extended", object_type="lead",
                       object_id=lead_id, details={"days": working_days, "reason": text,
                                                         "due_at": lead.due_at.isoformat()})
    await notify.to_person(uow, person_id=reporter_of(lead), key="lead.feedback.extended", sealed=True,
                           params=_feedback_params(lead, uow, reason=text, days=working_days))
    await uow.commit()
    return lead


async def reward(uow: UnitOfWork, *, actor: Actor, lead_id: int, amount: int, rules: LeadRules = DEFAULT_RULES) -> Lead:
    """Record the reward of a substantiated lead (002 §12(四)); the reporter is told and may claim within the window.
    Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    if lead.state != LeadState.SUBSTANTIATED:  # recorded before the lead is closed
        raise LeadRefused("not substantiated", reason_key="lead.invalid.reward_state")
    if lead.reward_amount is not None:
        raise LeadRefused("rewarded", reason_key="lead.invalid.rewarded")
    try:
        check_reward(amount, rules)
    except RewardOutOfBounds:
        raise LeadRefused("amount", reason_key="lead.invalid.reward_amount", min=rules.reward_min,
                          max=rules.reward_max) from None
    lead.reward_amount = amount
    lead.reward_state = "offered"
    lead.reward_claim_until = add_months(uow.today(), rules.reward_claim_months)
    lead.updated_at = uow.now()
    uow.session.add(lead)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.rewarded", object_type="lead",
                       object_id=lead_id, details={"amount": amount,
                                                         "claim_until": lead.reward_claim_until.isoformat()})
    await notify.to_person(uow, person_id=reporter_of(lead), key="lead.feedback.reward", sealed=True, params={
        "number": lead.number, "amount": amount, "until": lead.reward_claim_until.isoformat()})
    await uow.commit()
    return lead


async def reward_claimed(uow: UnitOfWork, *, actor: Actor, lead_id: int) -> Lead:
    """Record that the reporter claimed the reward. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    if lead.reward_state != "offered":
        raise LeadRefused("no reward", reason_key="lead.invalid.no_reward")
    lead.reward_state = "claimed"
    uow.session.add(lead)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.reward_claimed", object_type="lead",
                       object_id=lead_id, details={})
    await uow.commit()
    return lead


async def link(uow: UnitOfWork, *, actor: Actor, lead_id: int, other_id: int) -> Lead:
    """Link a lead to an earlier one flagged as its possible duplicate; both within the caller's scope. Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    other = await staff_lead(uow, actor, other_id)
    if other.id == lead.id:
        raise InvalidInput("same lead", field="other")
    if lead.linked_to_id is not None:
        raise LeadRefused("linked", reason_key="lead.invalid.linked")
    if other_id not in lead.duplicate_candidates:
        raise LeadRefused("not a candidate", reason_key="lead.invalid.not_duplicate")
    lead.linked_to_id = other.id
    uow.session.add(lead)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="lead.linked", object_type="lead",
                       object_id=lead_id, details={"to": other.id})
    await uow.commit()
    return lead


async def staff_leads(uow: UnitOfWork, *, actor: Actor, which: str = "open", limit: int = 30) -> list[LeadLine]:
    """Leads of the caller's org subtree, filtered; newest first."""
    if actor.staff_org_unit_id is None or not actor.has_any(frozenset({Role.STAFF, Role.ADMIN})):
        raise PermissionDenied("only staff may do this")
    units = await subtree(uow, actor.staff_org_unit_id)
    query = select(Lead).where(col(Lead.org_unit_id).in_(units))
    if which == "new":
        query = query.where(Lead.state == LeadState.RECEIVED)
    elif which == "overdue":
        query = query.where(col(Lead.due_at) < uow.now())
    elif which == "mine":
        query = query.where(Lead.handler_person_id == actor.person_id)
    elif which == "open":
        query = query.where(col(Lead.state).in_([str(s) for s in OPEN_STATES]))
    elif which in {str(s) for s in LeadState}:
        query = query.where(Lead.state == which)
    else:
        raise LeadRefused("filter", reason_key="lead.invalid.filter")
    return [lead_line(lead) for lead in (await uow.session.exec(query.order_by(col(Lead.id).desc()).limit(limit)))]


# ---- the sweep -------------------------------------------------------------------------------------------


async def _remind_due(uow: UnitOfWork, now: datetime) -> int:
    """Remind the handler (or the unit) of each lead whose deadline is near, once per deadline."""
    reminded = 0
    soon = select(Lead).where(col(Lead.remind_at) <= now, col(Lead.due_at) > now)
    due_soon = (await uow.session.exec(soon)).all()
    for lead in due_soon:
        if lead.reminded_for == lead.due_at:
            continue
        lead.reminded_for = lead.due_at
        uow.session.add(lead)
        params = _due_params(lead, uow)
        buttons = [[notify.Button("lead.button.card", ShowLeadCard(int(lead.id or 0)))]]
        if lead.handler_person_id is not None:
            await notify.to_person(uow, person_id=lead.handler_person_id, key="lead.reminder", params=params,
                                   buttons=buttons)
        else:
            await notify.to_org_unit(uow, org_unit_id=lead.org_unit_id, key="lead.reminder", params=params,
                                     buttons=buttons)
        reminded += 1
    return reminded


async def _escalate_overdue(uow: UnitOfWork, now: datetime) -> int:
    """Tell the nearest admins of each lead past its deadline, once per deadline."""
    escalated = 0
    overdue = (await uow.session.exec(select(Lead).where(col(Lead.due_at) <= now))).all()
    for lead in overdue:
        if lead.escalated_for == lead.due_at:
            continue
        lead.escalated_for = lead.due_at
        uow.session.add(lead)
        params = _due_params(lead, uow)
        for admin in await admins_up(uow, lead.org_unit_id):
            await notify.to_person(uow, person_id=admin, key="lead.escalation", params=params,
                                   buttons=[[notify.Button("lead.button.card", ShowLeadCard(int(lead.id or 0)))]])
        await audit.record(uow, at=now, actor=SCHEDULER.label, action="lead.escalated", object_type="lead",
                           object_id=int(lead.id or 0), details={"due_at": _iso(lead.due_at)})
        escalated += 1
    return escalated


async def _lapse_rewards(uow: UnitOfWork, now: datetime) -> int:
    """Lapse the offered rewards whose claim window has ended, and tell the unit."""
    lapsed = 0
    lapsing = (await uow.session.exec(select(Lead).where(col(Lead.reward_claim_until) < uow.today(),
                                                         Lead.reward_state == "offered"))).all()
    for lead in lapsing:
        lead.reward_state = "lapsed"
        uow.session.add(lead)
        await audit.record(uow, at=now, actor=SCHEDULER.label, action="lead.reward_lapsed", object_type="lead",
                           object_id=int(lead.id or 0), details={})
        await notify.to_org_unit(uow, org_unit_id=lead.org_unit_id, key="lead.reward_lapsed",
                                 params={"number": lead.number})
        lapsed += 1
    return lapsed


async def sweep(uow_factory: UnitOfWorkFactory, rules: LeadRules | None = None) -> dict[str, int]:
    """Remind handlers before a deadline, escalate to admins after it, remind reporters to claim a reward before
    the claim window ends, lapse unclaimed rewards. Idempotent: each deadline is reminded and escalated once
    (``reminded_for``/``escalated_for`` hold the due time acted on), each claim reminder is sent once
    (``reward_reminders_sent``). ``rules`` default to the policy in force (``services.platform.policy``)."""
    if rules is None:
        rules = policy.current().leads
    counts = {"reminded": 0, "escalated": 0, "lapsed": 0}
    async with uow_factory() as uow:
        now = uow.now()
        counts["reminded"] = await _remind_due(uow, now)
        counts["escalated"] = await _escalate_overdue(uow, now)
        await _remind_reward_claims(uow, rules)
        counts["lapsed"] = await _lapse_rewards(uow, now)
        await uow.commit()
    return counts


async def _remind_reward_claims(uow: UnitOfWork, rules: LeadRules) -> int:
    """Remind the reporters of offered rewards whose claim window ends within the rules' reminder days (002 §12(四)),
    from the reminder hour of the bureau's day on. One message per reminder step reached; a sweep that missed a step
    (the bot was down) sends only the latest."""
    days_before = rules.reward_reminder_days_before
    if not days_before or uow.now().astimezone(uow.zone).hour < rules.reward_reminder_hour:
        return 0
    today = uow.today()
    query = select(Lead).where(Lead.reward_state == "offered", col(Lead.reward_claim_until) >= today,
                               col(Lead.reward_claim_until) <= today + timedelta(days=max(days_before)),
                               col(Lead.reward_reminders_sent) < len(set(days_before)))
    sent = 0
    for lead in (await uow.session.exec(query)).all():
        assert lead.reward_claim_until is not None  # selected on it
        if (reporter := reporter_id(lead)) is None:  # purged under retention
            continue
        step = reward_reminder_step((lead.reward_claim_until - today).days, days_before)
        if step <= lead.reward_reminders_sent:
            continue
        lead.reward_reminders_sent = step
        uow.session.add(lead)
        offset = sorted(set(days_before), reverse=True)[step - 1]
        await notify.to_person(uow, person_id=reporter, key="lead.feedback.reward_reminder", sealed=True, params={
            "number": lead.number, "amount": lead.reward_amount, "until": lead.reward_claim_until.isoformat()})
        await audit.record(uow, at=uow.now(), actor=SCHEDULER.label, action="lead.reward_reminded",
                           object_type="lead", object_id=int(lead.id or 0),
                           details={"days_before": offset, "claim_until": lead.reward_claim_until.isoformat()})
        sent += 1
    return sent


def _due_params(lead: Lead, uow: UnitOfWork) -> dict[str, Any]:
    return {"number": lead.number, "due": _day(lead.due_at, uow), "kind_key": f"lead.due_kind.{lead.due_kind}"}


def _day(moment: datetime | None, uow: UnitOfWork) -> str:
    return moment.astimezone(uow.zone).strftime("%Y-%m-%d") if moment is not None else "—"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None

