"""Leads reported by social supervisors: submitting (002 §9(二), §11(四)), what the reporter and staff may read,
later additions and the two-way thread relayed by the bot (never forwarded), all without the reporter's identity
reaching staff (003 三(四): protect reporters). Triage and deadlines: ``services.leads.lead_triage``; identity
custodians:
``services.leads.lead_privacy``; the pure rules: ``services.leads.lead_rules``.

Staff-facing texts carry only the pseudonym ("S-xxxx", stored once per supervisor); the audit entries of the
reporter's own actions name that pseudonym too, not the person, so the trail itself does not identify them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from services.leads.actions import ReplyToStaff, ShowLeadCard
from services.leads.evidence import caption_of
from services.leads.lead_rules import (
    DEFAULT_RULES,
    LeadCategory,
    LeadState,
    PastLead,
    StaffVerb,
    accepts_additions,
    deadline,
    institution_key,
    mask_name,
    new_pseudonym,
    possible_duplicates,
    reminder_time,
    staff_verbs,
    tracking_number,
)
from services.leads.refs import LeadRef, lead_ref
from services.leads.reporters import reported_by, reporter_id
from services.leads.retention import reporter_of
from services.people.orgs import require_scope_over_units
from services.platform import audit, notify
from services.platform.errors import InvalidInput, LeadNotFound, LeadRefused, NotSupervisor, PermissionDenied
from services.platform.identifiers import InvalidIdentifier, mask_id_number, validate_id_number
from services.platform.policy import LeadRules
from services.platform.roles import Actor
from services.platform.workdays import WorkingCalendar, default_calendar
from storage.leads import Lead, LeadEvidence, LeadMessage
from storage.models import Supervisor
from storage.pool import Institution
from storage.types import hashed_match
from storage.uow import UnitOfWork

MAX_TEXT = 4000


@dataclass
class LeadDraft:
    """What the reporting dialog gathered."""

    category: str
    what: str
    institution_id: int | None = None
    institution_text: str | None = None
    insured_name: str | None = None
    insured_id_number: str | None = None
    happened: str = ""
    place: str = ""
    interest_declared: bool = False
    interest_note: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)


def reporter_label(pseudonym: str) -> str:
    """The audit label of a reporter's own actions: the pseudonym, never the person."""
    return f"supervisor:{pseudonym}"


async def active_supervisor(uow: UnitOfWork, actor: Actor) -> Supervisor:
    """The caller's supervisor row (active), or NotSupervisor."""
    row = await uow.people.supervisor(actor.person_id) if actor.person_id is not None else None
    if row is None or row.status != "active":
        raise NotSupervisor("not an active social supervisor")
    return row


async def pseudonym_of(uow: UnitOfWork, supervisor: Supervisor) -> str:
    """The supervisor's stable pseudonym, created on first use."""
    if supervisor.pseudonym:
        return supervisor.pseudonym
    candidate = new_pseudonym()
    while await _pseudonym_taken(uow, candidate):
        candidate = new_pseudonym()
    supervisor.pseudonym = candidate
    uow.session.add(supervisor)
    await uow.session.flush()
    return candidate


async def _pseudonym_taken(uow: UnitOfWork, candidate: str) -> bool:
    """Whether another supervisor has ``candidate`` (pseudonyms are encrypted: looked up by their keyed hash)."""
    taken = hashed_match(Supervisor.pseudonym_hmac, Supervisor.pseudonym, [candidate])
    return (await uow.session.exec(select(Supervisor.person_id).where(taken).limit(1))).first() is not None


def check_draft(draft: LeadDraft, *, today: Any) -> LeadDraft:
    """Validate what the dialog gathered; refusals name the field (reason keys under ``lead.invalid``)."""
    try:
        LeadCategory(draft.category)
    except ValueError:
        raise LeadRefused("category", reason_key="lead.invalid.category") from None
    if not draft.what.strip() or len(draft.what) > MAX_TEXT:
        raise LeadRefused("what", reason_key="lead.invalid.what")
    if draft.institution_id is None and not (draft.institution_text or "").strip() and not draft.insured_name:
        raise LeadRefused("target", reason_key="lead.invalid.target")
    if draft.insured_id_number:
        try:
            draft.insured_id_number = validate_id_number(draft.insured_id_number, today=today).number
        except InvalidIdentifier:
            raise LeadRefused("id", reason_key="lead.invalid.id_number") from None
    return draft


async def submit(uow: UnitOfWork, *, actor: Actor, draft: LeadDraft, rules: LeadRules = DEFAULT_RULES,
                 calendar: WorkingCalendar | None = None) -> LeadRef:
    """File a lead (002 §9(二)): a tracking number and receipt to the reporter, an alert to the division's staff
    without the reporter's identity, the acceptance deadline started, possible duplicates flagged, a declared
    interest (002 §11(四)) flagged. Commits."""
    calendar = calendar or default_calendar()
    supervisor = await active_supervisor(uow, actor)
    check_draft(draft, today=uow.today())
    pseudonym = await pseudonym_of(uow, supervisor)
    now = uow.now()
    if draft.institution_id is not None and await uow.session.get(Institution, draft.institution_id) is None:
        raise LeadRefused("institution", reason_key="lead.invalid.target")
    due = deadline(calendar, now, rules.accept_working_days, uow.zone)
    lead = Lead(
        number="pending", org_unit_id=supervisor.org_unit_id, reporter_ref=str(supervisor.person_id),
        reporter_pseudonym=pseudonym, institution_id=draft.institution_id,
        institution_text=(draft.institution_text or "").strip()[:200] or None,
        insured_name=(draft.insured_name or "").strip()[:100] or None, insured_id_number=draft.insured_id_number,
        category=draft.category, what=draft.what.strip(), happened=draft.happened.strip()[:200],
        place=draft.place.strip()[:200], interest_declared=draft.interest_declared,
        interest_note=(draft.interest_note or "").strip()[:1000] or None, state=LeadState.RECEIVED,
        due_at=due, due_kind="accept",
        remind_at=reminder_time(calendar, now, due, rules.remind_working_days_before, uow.zone),
        created_at=now, updated_at=now,
    )
    uow.session.add(lead)
    await uow.session.flush()
    assert lead.id is not None
    lead.number = tracking_number(lead.id, uow.today())
    lead.duplicate_candidates = await _duplicates(uow, lead, rules)
    for item in draft.evidence:
        uow.session.add(_evidence_row(lead.id, item, now))
    uow.session.add(lead)
    await audit.record(
        uow, at=now, actor=reporter_label(pseudonym), action="lead.submitted", object_type="lead",
        object_id=lead.id, details={"number": lead.number, "org_unit_id": lead.org_unit_id,
                                    "category": lead.category, "interest_declared": lead.interest_declared,
                                    "evidence": [e["sha256"] for e in draft.evidence],
                                    "duplicates": lead.duplicate_candidates},
    )
    await notify.to_person(uow, person_id=supervisor.person_id, key="lead.receipt", sealed=True, params={
        "number": lead.number, "category_key": f"lead.category.{lead.category}", "files": len(draft.evidence),
        "hashes": "".join(f"\n{e['file_name']}  SHA-256 {e['sha256'][:16]}…" for e in draft.evidence),
        "due": _local(lead.due_at, uow),
    })
    await notify.to_org_unit(uow, org_unit_id=lead.org_unit_id, key="lead.alert", params=await _alert_params(uow, lead),
                             buttons=[[notify.Button("lead.button.card", ShowLeadCard(int(lead.id or 0)))]])
    await uow.commit()
    return lead_ref(lead)


def _evidence_row(lead_id: int, item: dict[str, Any], now: datetime) -> LeadEvidence:
    return LeadEvidence(lead_id=lead_id, kind=str(item["kind"]), file_name=str(item["file_name"])[:200],
                        mime_type=item.get("mime_type"), size=int(item["size"]), sha256=str(item["sha256"]),
                        stored_path=str(item["stored_path"]), caption=caption_of(item.get("caption")),
                        added_at=now)


async def _duplicates(uow: UnitOfWork, lead: Lead, rules: LeadRules) -> list[int]:
    from datetime import timedelta

    since = lead.created_at - timedelta(days=rules.duplicate_window_days)
    query = select(Lead).where(Lead.category == lead.category, col(Lead.created_at) >= since, Lead.id != lead.id)
    if lead.institution_id is not None:
        query = query.where(Lead.institution_id == lead.institution_id)
    else:
        query = query.where(col(Lead.institution_id).is_(None))
    earlier = [PastLead(int(o.id or 0), institution_key(o.institution_id, o.institution_text), o.category,
                        o.created_at) for o in (await uow.session.exec(query)).all()]
    return possible_duplicates(institution_key(lead.institution_id, lead.institution_text), lead.category,
                               lead.created_at, earlier, rules.duplicate_window_days)


def _local(moment: datetime | None, uow: UnitOfWork) -> str:
    return moment.astimezone(uow.zone).strftime("%Y-%m-%d") if moment is not None else "—"


async def target_label(uow: UnitOfWork, lead: Lead) -> str:
    """Who is reported, for display: the directory name or the free text, and the insured person masked."""
    parts = []
    if lead.institution_id is not None:
        institution = await uow.session.get(Institution, lead.institution_id)
        parts.append(institution.name if institution is not None else f"#{lead.institution_id}")
    elif lead.institution_text:
        parts.append(lead.institution_text)
    if lead.insured_name or lead.insured_id_number:
        insured = mask_name(lead.insured_name or "")
        if lead.insured_id_number:
            insured += f"（{mask_id_number(lead.insured_id_number)}）"
        parts.append(insured)
    return "；".join(parts) or "—"


async def _alert_params(uow: UnitOfWork, lead: Lead) -> dict[str, Any]:
    return {"number": lead.number, "pseudonym": lead.reporter_pseudonym, "target": await target_label(uow, lead),
            "category_key": f"lead.category.{lead.category}", "due": _local(lead.due_at, uow),
            "interest_key": "lead.flag.interest" if lead.interest_declared else "lead.flag.no_interest",
            "duplicates": duplicates_text(lead)}


def duplicates_text(lead: Lead) -> str:
    """The possible duplicates as ``#3, #5`` (or ``—``)."""
    return ", ".join(f"#{i}" for i in lead.duplicate_candidates) or "—"


# ---- reading ---------------------------------------------------------------------------------------------


async def get_lead(uow: UnitOfWork, lead_id: int) -> Lead:
    """The lead, or LeadNotFound."""
    lead = await uow.session.get(Lead, lead_id)
    if lead is None:
        raise LeadNotFound(str(lead_id))
    return lead


async def own_lead(uow: UnitOfWork, actor: Actor, lead_id: int) -> Lead:
    """The caller's own lead; another supervisor's lead is "not found" (they cannot see or act on it)."""
    lead = await uow.session.get(Lead, lead_id)
    if lead is None or actor.person_id is None or reporter_id(lead) != actor.person_id:
        raise LeadNotFound(str(lead_id))
    return lead


async def staff_lead(uow: UnitOfWork, actor: Actor, lead_id: int) -> Lead:
    """A lead the staff member may handle: within their org unit's subtree."""
    lead = await get_lead(uow, lead_id)
    try:
        await require_scope_over_units(uow, actor, {lead.org_unit_id})
    except PermissionDenied:
        raise LeadNotFound(str(lead_id)) from None
    return lead


@dataclass(frozen=True)
class MyLead:
    """One of the reporter's own leads as /myleads lists it."""

    id: int
    number: str
    created_at: datetime
    category: str
    state: str
    open: bool  # the reporter may still add to it (``lead_rules.accepts_additions``)


async def my_leads(uow: UnitOfWork, *, actor: Actor) -> list[MyLead]:
    """The caller's leads, newest first."""
    if actor.person_id is None:
        return []
    query = select(Lead).where(reported_by(actor.person_id)).order_by(col(Lead.id).desc())
    return [MyLead(int(lead.id or 0), lead.number, lead.created_at, lead.category, lead.state,
                   accepts_additions(lead.state)) for lead in (await uow.session.exec(query)).all()]


async def evidence_of(uow: UnitOfWork, lead_id: int) -> Sequence[LeadEvidence]:
    """The lead's evidence files, in the order received (not those deleted under retention)."""
    query = select(LeadEvidence).where(LeadEvidence.lead_id == lead_id, col(LeadEvidence.purged_at).is_(None))
    return (await uow.session.exec(query.order_by(col(LeadEvidence.id)))).all()


async def thread_of(uow: UnitOfWork, lead_id: int) -> Sequence[LeadMessage]:
    """The lead's relayed messages, oldest first."""
    query = select(LeadMessage).where(LeadMessage.lead_id == lead_id).order_by(col(LeadMessage.id))
    return (await uow.session.exec(query)).all()


@dataclass(frozen=True)
class LeadCard:
    """What staff see of a lead: the lead, not the reporter."""

    lead: Lead
    target: str
    evidence: Sequence[LeadEvidence]
    thread: Sequence[LeadMessage]
    handler_name: str | None
    duplicates: Sequence[tuple[int, str]] = ()  # (id, number) of the possible duplicates the caller may link to
    verbs: tuple[StaffVerb, ...] = ()  # the card's actions available now (``lead_rules.staff_verbs``)


async def card(uow: UnitOfWork, *, actor: Actor, lead_id: int) -> LeadCard:
    """The staff card of a lead within the caller's scope."""
    lead = await staff_lead(uow, actor, lead_id)
    handler = await uow.people.get(lead.handler_person_id) if lead.handler_person_id is not None else None
    evidence = await evidence_of(uow, lead_id)
    verbs = staff_verbs(lead.state, rewarded=lead.reward_amount is not None,
                        reward_offered=lead.reward_state == "offered", has_evidence=bool(evidence))
    return LeadCard(lead, await target_label(uow, lead), evidence, await thread_of(uow, lead_id),
                    handler.name if handler is not None else None, await _linkable(uow, actor, lead), verbs)


async def _linkable(uow: UnitOfWork, actor: Actor, lead: Lead) -> list[tuple[int, str]]:
    """The possible duplicates of an unlinked lead that lie within the caller's scope, oldest first."""
    if lead.linked_to_id is not None or not lead.duplicate_candidates:
        return []
    query = select(Lead).where(col(Lead.id).in_(lead.duplicate_candidates)).order_by(col(Lead.id))
    found: list[tuple[int, str]] = []
    for other in (await uow.session.exec(query)).all():
        try:
            await require_scope_over_units(uow, actor, {other.org_unit_id})
        except PermissionDenied:
            continue
        found.append((int(other.id or 0), other.number))
    return found


# ---- the thread and additions ----------------------------------------------------------------------------


async def staff_recipients(uow: UnitOfWork, lead: Lead, *, key: str, params: dict[str, Any]) -> None:
    """Tell whoever handles the lead: its handler, else the responsible division's staff."""
    buttons = [[notify.Button("lead.button.card", ShowLeadCard(int(lead.id or 0)))]]
    if lead.handler_person_id is not None:
        await notify.to_person(uow, person_id=lead.handler_person_id, key=key, params=params, buttons=buttons)
    else:
        await notify.to_org_unit(uow, org_unit_id=lead.org_unit_id, key=key, params=params, buttons=buttons)


def captions_text(items: Sequence[dict[str, Any]]) -> str:
    """The captions sent with evidence files, one a line (empty when none was)."""
    return "\n".join(c for c in (caption_of(item.get("caption")) for item in items) if c)


def _stored_parts(text: str) -> list[str]:
    """``text`` in pieces that fit a stored thread message (``lead_message.text``), in order; nothing is cut."""
    return [text[i:i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)]


async def add_information(uow: UnitOfWork, *, actor: Actor, lead_id: int, text: str,
                          evidence: Sequence[dict[str, Any]] = ()) -> None:
    """The reporter adds information or evidence to their own open lead (or answers staff). Commits."""
    lead = await own_lead(uow, actor, lead_id)
    text = text.strip()
    if not text and not evidence:
        raise LeadRefused("empty", reason_key="lead.invalid.empty")
    if not accepts_additions(lead.state):
        raise LeadRefused("closed", reason_key="lead.invalid.closed")
    now = uow.now()
    assert lead.id is not None
    if text:
        for part in _stored_parts(text):  # a Telegram message (4,096) may exceed a stored row: kept whole, in rows
            uow.session.add(LeadMessage(lead_id=lead.id, direction="from_reporter", text=part, at=now))
    for item in evidence:
        uow.session.add(_evidence_row(lead.id, item, now))
    lead.updated_at = now
    uow.session.add(lead)
    await audit.record(uow, at=now, actor=reporter_label(lead.reporter_pseudonym), action="lead.reporter_added",
                       object_type="lead", object_id=lead.id,
                       details={"text": bool(text), "evidence": [e["sha256"] for e in evidence]})
    await staff_recipients(uow, lead, key="lead.from_reporter", params={
        "number": lead.number, "pseudonym": lead.reporter_pseudonym, "text": text or captions_text(evidence) or "—",
        "files": len(evidence)})
    await notify.to_person(uow, person_id=reporter_of(lead), key="lead.added", sealed=True,
                           params={"number": lead.number, "files": len(evidence)})
    await uow.commit()


async def ask_reporter(uow: UnitOfWork, *, actor: Actor, lead_id: int, text: str, signed: bool = False) -> Lead:
    """Staff write to the reporter through the bot: a new message in the lead's thread, unsigned unless the staff
    member chooses to sign (then their name is shown). Commits."""
    lead = await staff_lead(uow, actor, lead_id)
    reporter = reporter_of(lead)
    text = text.strip()
    if not text:
        raise InvalidInput("empty", field="text")
    now = uow.now()
    assert lead.id is not None
    for part in _stored_parts(text):
        uow.session.add(LeadMessage(lead_id=lead.id, direction="to_reporter", staff_person_id=actor.person_id,
                                    signed=signed, text=part, at=now))
    await audit.record(uow, at=now, actor=actor.label, action="lead.asked", object_type="lead", object_id=lead.id,
                       details={"signed": signed})
    await notify.to_person(uow, person_id=reporter, key="lead.to_reporter", sealed=True, params={
        "number": lead.number, "text": text, "signature": f"—— {actor.name}" if signed and actor.name else ""},
        buttons=[[notify.Button("lead.button.reply", ReplyToStaff(lead.id))]])
    await uow.commit()
    return lead
