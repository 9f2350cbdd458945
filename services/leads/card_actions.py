"""What a lead card's buttons do (``services.leads.actions``): one service call per staff verb (002 §12(二), §12(四)).

Verbs that act at once (accept, investigate, take, close, reward claimed) go through :func:`act`; verbs that need a
text from staff first (ask, ask signed, reject, extend, conclude, reward) go through :func:`act_with_text` once the
text arrives. Which verbs a lead offers now: ``lead_rules.staff_verbs``.
"""

from __future__ import annotations

from services.leads import lead_triage, leads
from services.leads.lead_rules import DEFAULT_RULES, StaffVerb, parse_amount
from services.leads.refs import LeadRef, lead_ref
from services.platform.actions import parse_index
from services.platform.errors import LeadRefused
from services.platform.policy import LeadRules
from services.platform.roles import Actor
from storage.leads import Lead
from storage.uow import UnitOfWork

NEEDS_TEXT = frozenset({StaffVerb.ASK, StaffVerb.ASK_SIGNED, StaffVerb.REJECT, StaffVerb.EXTEND,
                        StaffVerb.SUBSTANTIATED, StaffVerb.UNSUBSTANTIATED, StaffVerb.REWARD})


async def act(uow: UnitOfWork, *, actor: Actor, verb: StaffVerb, lead_id: int,
              rules: LeadRules = DEFAULT_RULES) -> LeadRef:
    """Carry out a card verb that needs no text. Commits; a refusal is a ``LeadRefused``."""
    return lead_ref(await _act(uow, actor, verb, lead_id, rules))


async def _act(uow: UnitOfWork, actor: Actor, verb: StaffVerb, lead_id: int, rules: LeadRules) -> Lead:
    if verb is StaffVerb.ACCEPT:
        return await lead_triage.accept(uow, actor=actor, lead_id=lead_id, rules=rules)
    if verb is StaffVerb.INVESTIGATE:
        return await lead_triage.investigate(uow, actor=actor, lead_id=lead_id)
    if verb is StaffVerb.TAKE and actor.person_id is not None:
        return await lead_triage.assign(uow, actor=actor, lead_id=lead_id, handler_person_id=actor.person_id)
    if verb is StaffVerb.CLOSE:
        return await lead_triage.close(uow, actor=actor, lead_id=lead_id)
    if verb is StaffVerb.CLAIMED:
        return await lead_triage.reward_claimed(uow, actor=actor, lead_id=lead_id)
    raise LeadRefused("action", reason_key="lead.invalid.transition")


async def prepare_text(uow: UnitOfWork, *, actor: Actor, lead_id: int, verb: StaffVerb | None = None) -> None:
    """Before asking staff for the text of a verb: the lead, when the caller may handle it (else LeadNotFound) and
    the verb is one the lead's state offers now (002 §12, :func:`lead_rules.staff_verbs`; else LeadRefused), so an
    old button on a concluded lead is refused before anyone types a reason for nothing."""
    lead = await leads.staff_lead(uow, actor, lead_id)
    if verb is not None:
        offered = (await leads.card(uow, actor=actor, lead_id=lead_id)).verbs
        if verb not in offered:
            raise LeadRefused(f"{verb} not offered in state {lead.state}", reason_key="lead.invalid.transition")


async def act_with_text(uow: UnitOfWork, *, actor: Actor, verb: StaffVerb, lead_id: int, text: str,
                        rules: LeadRules = DEFAULT_RULES) -> LeadRef:
    """Carry out a card verb with the text staff typed: the question, the reason, the summary, ``<days> <reason>``
    for an extension, or the reward amount. Commits; a refusal (unreadable days or amount too) is a
    ``LeadRefused`` and changes nothing."""
    return lead_ref(await _act_with_text(uow, actor, verb, lead_id, text=text, rules=rules))


async def _act_with_text(uow: UnitOfWork, actor: Actor, verb: StaffVerb, lead_id: int, *, text: str,
                         rules: LeadRules) -> Lead:
    text = text.strip()
    if verb in (StaffVerb.ASK, StaffVerb.ASK_SIGNED):
        return await leads.ask_reporter(uow, actor=actor, lead_id=lead_id, text=text,
                                        signed=verb is StaffVerb.ASK_SIGNED)
    if verb is StaffVerb.REJECT:
        return await lead_triage.reject(uow, actor=actor, lead_id=lead_id, reason=text)
    if verb in (StaffVerb.SUBSTANTIATED, StaffVerb.UNSUBSTANTIATED):
        return await lead_triage.conclude(uow, actor=actor, lead_id=lead_id,
                                          substantiated=verb is StaffVerb.SUBSTANTIATED, summary=text)
    if verb is StaffVerb.EXTEND:
        days, _, reason = text.partition(" ")
        working_days = parse_index(days)
        if working_days is None:
            raise LeadRefused("days", reason_key="leadstaff.extend_bad")
        return await lead_triage.extend(uow, actor=actor, lead_id=lead_id, working_days=working_days, reason=reason,
                                        rules=rules)
    if verb is StaffVerb.REWARD:
        amount = parse_amount(text)
        if amount is None:
            raise LeadRefused("amount", reason_key="leadstaff.reward_bad", min=rules.reward_min,
                                    max=rules.reward_max)
        return await lead_triage.reward(uow, actor=actor, lead_id=lead_id, amount=amount, rules=rules)
    raise LeadRefused("action", reason_key="lead.invalid.transition")


async def link(uow: UnitOfWork, *, actor: Actor, lead_id: int, other_id: int) -> LeadRef:
    """Link a lead to an earlier one about the same matter (:func:`lead_triage.link`)."""
    return lead_ref(await lead_triage.link(uow, actor=actor, lead_id=lead_id, other_id=other_id))


async def assign(uow: UnitOfWork, *, actor: Actor, lead_id: int, handler_person_id: int) -> LeadRef:
    """Give a lead to a handler (:func:`lead_triage.assign`)."""
    return lead_ref(await lead_triage.assign(uow, actor=actor, lead_id=lead_id, handler_person_id=handler_person_id))


async def may_report(uow: UnitOfWork, actor: Actor) -> None:
    """Refuse (NotSupervisor) before a report dialog opens for someone who is not an active supervisor."""
    await leads.active_supervisor(uow, actor)


async def may_add_to(uow: UnitOfWork, actor: Actor, lead_id: int) -> str:
    """Refuse (LeadNotFound) before the "add to my lead" dialog opens on a lead that is not the caller's; the
    lead's tracking number otherwise."""
    return (await leads.own_lead(uow, actor, lead_id)).number
