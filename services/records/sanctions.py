"""Sanctions proposed to staff with their evidence, never applied by a rule alone (000 §23, §27; 001 §22).

The rules (pure, :func:`propose`) read an expert's credit events:

- ``absences`` — removal after ``absence_removal_count`` (3) unexcused absences (``absent_without_notice``) within
  ``absence_window_days`` (365) (001 §22(三): "1年内3次以上（含）无故不参加"); the evidence is those absences.
- ``failed_recusal`` — removal for failing to recuse (001 §22(七) "应当回避，却没有主动申请回避的"; also 000 §23(六)).
- ``serious_violation`` — removal for a ground of 000 §23 recorded by staff (false application materials, leaking
  secrets, seeking improper benefits, other serious violations): staff record the event with its facts, the rule
  proposes the removal, staff of the line decide.
- ``reprimand_absence`` / ``reprimand_performance`` / ``reprimand_discipline`` — reprimand (通报批评) fed back to
  the employer for the cases of 000 §27: accepted but absent without notice (一), improper performance (二),
  discipline breaches (五)(七).

Each proposal has a key made of its rule and evidence, so it is proposed once. Staff of the deciding org unit's
line confirm or dismiss it with a reason. Confirming a removal calls :func:`services.pool.lifecycle.remove` (removed,
barred for 5 years: blacklisted experts are never drawn, ``services.activities.draw_rules``); confirming a reprimand
adds a
``reprimand`` event to the credit file and tells the expert; the letter to the employer is :func:`reprimand_letter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from services.documents.reprimand_letter import Evidence, ReprimandLetter
from services.documents.reprimand_letter import render as render_letter
from services.people.orgs import require_scope_over_units, subtree
from services.platform import audit, notify, policy
from services.platform.errors import InvalidInput, PermissionDenied, ProposalDecided, ProposalNotFound
from services.platform.roles import Actor
from services.pool import lifecycle
from services.records import ledger
from services.records.actions import BackToSanction, ConfirmSanction, ReallyConfirmSanction
from storage.models import Expert, Person
from storage.pool import Institution
from storage.records import CreditEvent, SanctionProposal
from storage.uow import UnitOfWork

ARTICLES = {
    "absences": "001 §22(三)",
    "failed_recusal": "001 §22(七)",
    "serious_violation": "000 §23",
    "reprimand_absence": "000 §27(一)",
    "reprimand_performance": "000 §27(二)",
    "reprimand_discipline": "000 §27(五)(七)",
}
REPRIMANDS = {"absent_without_notice": "reprimand_absence", "poor_performance": "reprimand_performance",
              "discipline_breach": "reprimand_discipline"}


@dataclass(frozen=True)
class EventFact:
    """What the rules read of a credit event."""

    id: int
    kind: str
    occurred_at: datetime


@dataclass(frozen=True)
class Proposal:
    """A sanction a rule proposes: removal or reprimand, the rule, its key and the evidence (event ids)."""

    sanction: str
    rule: str
    key: str
    evidence: tuple[int, ...]


def propose(person_id: int, events: Sequence[EventFact], *, now: datetime, count: int = 3,
            window: timedelta = timedelta(days=365)) -> list[Proposal]:
    """Every sanction the events call for (see the module docstring); pure."""
    found: list[Proposal] = []
    absences = sorted((e for e in events if e.kind == "absent_without_notice" and now - window < e.occurred_at <= now),
                      key=lambda e: (e.occurred_at, e.id))
    if len(absences) >= count:
        evidence = tuple(e.id for e in absences)
        found.append(Proposal("removal", "absences", f"absences:{person_id}:{absences[-1].id}", evidence))
    for event in events:
        if event.kind == "failure_to_recuse":
            found.append(Proposal("removal", "failed_recusal", f"failed_recusal:{event.id}", (event.id,)))
        if event.kind == "serious_violation":  # 000 §23: staff recorded a ground of removal
            found.append(Proposal("removal", "serious_violation", f"serious_violation:{event.id}", (event.id,)))
        rule = REPRIMANDS.get(event.kind)
        if rule is not None:
            found.append(Proposal("reprimand", rule, f"{rule}:{event.id}", (event.id,)))
    return found


async def evaluate(uow: UnitOfWork, *, person_id: int, org_unit_id: int | None = None) -> list[SanctionProposal]:
    """Store and announce the proposals the expert's credit events call for (no commit). The deciding unit is
    ``org_unit_id`` (the organizer whose record produced the event) or the expert's own unit."""
    expert = await uow.session.get(Expert, person_id)
    if expert is None:
        return []
    unit = org_unit_id or expert.org_unit_id
    settings = policy.current().records
    facts = [EventFact(e.id or 0, e.kind, e.occurred_at) for e in await ledger.events_of(uow, person_id)]
    wanted = propose(person_id, facts, now=uow.now(), count=settings.absence_removal_count,
                     window=timedelta(days=settings.absence_window_days))
    if not wanted:
        return []
    known = set((await uow.session.exec(select(SanctionProposal.key).where(
        col(SanctionProposal.key).in_([p.key for p in wanted])))).all())
    person = await uow.session.get(Person, person_id)
    added: list[SanctionProposal] = []
    for proposal in wanted:
        if proposal.key in known or (proposal.sanction == "removal" and expert.state == "removed"):
            continue
        row = SanctionProposal(person_id=person_id, org_unit_id=unit, sanction=proposal.sanction,
                               rule=proposal.rule, key=proposal.key, evidence=list(proposal.evidence),
                               created_at=uow.now())
        uow.session.add(row)
        await uow.session.flush()
        assert row.id is not None
        await audit.record(uow, at=uow.now(), actor="system:sanctions", action="sanction.proposed",
                           object_type="person", object_id=person_id,
                           details={"proposal_id": row.id, "rule": row.rule, "evidence": row.evidence})
        copies = await notify.to_org_unit(uow, org_unit_id=unit, key="sanction.proposed",
                                          params=await _params(uow, row, person.name if person else str(person_id)),
                                          buttons=confirm_buttons(row.id))
        row.message_ids = [copy.id for copy in copies if copy.id is not None]
        uow.session.add(row)
        added.append(row)
    return added


def _source(source: str) -> dict[str, object]:
    key, params = ledger.source_label(source)
    return {"source_key": key, **params}


def confirm_buttons(proposal_id: int) -> list[list[notify.Button]]:
    """The proposal's one button: confirm (a second confirmation follows)."""
    return [[notify.Button("sanction.button.confirm", ConfirmSanction(proposal_id))]]


async def confirmation(uow: UnitOfWork, *, actor: Actor, proposal_id: int) -> tuple[dict[str, object],
                                                                                   list[list[notify.Button]]]:
    """The second confirmation (issue 13: a removal bars for five years, a reprimand goes to the employer): the
    expert's name, the sanction and its consequence, and the buttons (confirm naming the expert, back)."""
    row = await _decidable(uow, actor, proposal_id)
    person = await uow.session.get(Person, row.person_id)
    name = person.name if person is not None else str(row.person_id)
    params: dict[str, object] = {"proposal_id": proposal_id, "name": name, "person_id": row.person_id,
                                 "article": ARTICLES[row.rule]}
    return params, [[notify.Button(f"sanction.button.really.{row.sanction}", ReallyConfirmSanction(proposal_id),
                                   {"name": name})],
                    [notify.Button("sanction.button.back", BackToSanction(proposal_id))]]


async def _params(uow: UnitOfWork, row: SanctionProposal, name: str) -> dict[str, object]:
    events = (await uow.session.exec(select(CreditEvent).where(col(CreditEvent.id).in_(row.evidence))
                                     .order_by(col(CreditEvent.occurred_at)))).all()
    lines = [["sanction.evidence_line", {"date": e.occurred_at.astimezone(uow.zone).date().isoformat(),
                                         "kind_key": f"credit.kind.{e.kind}", "points": e.points,
                                         "activity_id": e.activity_id or "—", **_source(e.source)}]
             for e in events]
    return {"proposal_id": row.id, "name": name, "person_id": row.person_id,
            "sanction_key": f"sanction.kind.{row.sanction}", "article": ARTICLES[row.rule], "evidence_lines": lines}


async def _decidable(uow: UnitOfWork, actor: Actor, proposal_id: int) -> SanctionProposal:
    row = await uow.session.get(SanctionProposal, proposal_id, with_for_update=True)
    if row is None:
        raise ProposalNotFound(str(proposal_id), proposal_id=proposal_id)
    try:
        await require_scope_over_units(uow, actor, {row.org_unit_id})
    except PermissionDenied as error:  # outside the line the proposal does not exist
        raise ProposalNotFound(str(proposal_id), proposal_id=proposal_id) from error
    if row.status != "proposed":
        raise ProposalDecided(str(proposal_id), proposal_id=proposal_id, status_key=f"sanction.status.{row.status}")
    return row


@dataclass(frozen=True)
class Decided:
    """A sanction proposal after staff decided it."""

    id: int
    person_id: int
    sanction: str
    status: str
    reason: str | None


def _decided(row: SanctionProposal) -> Decided:
    assert row.id is not None
    return Decided(id=row.id, person_id=row.person_id, sanction=row.sanction, status=row.status, reason=row.reason)


async def confirm(uow: UnitOfWork, *, actor: Actor, proposal_id: int, shown_in: notify.MessageRef | None = None,
                  language: str | None = None) -> Decided:
    """Staff confirm (the second time, :func:`confirmation`): a removal removes and bars the expert (000 §23,
    001 §22); a reprimand is recorded (000 §27). Every copy of the proposal shows who decided and when."""
    row = await _decidable(uow, actor, proposal_id)
    row.status, row.decided_by, row.decided_at = "confirmed", actor.label, uow.now()
    uow.session.add(row)
    person = await uow.session.get(Person, row.person_id)
    await notify.edit_copies(uow, row.message_ids, key="sanction.decided_by", shown_in=shown_in, language=language,
                             params={"proposal_id": row.id, "name": person.name if person else row.person_id,
                                     "person_id": row.person_id, "sanction_key": f"sanction.kind.{row.sanction}",
                                     "article": ARTICLES[row.rule], "by": actor.name or actor.label,
                                     "at": uow.now().astimezone(uow.zone).strftime("%Y-%m-%d %H:%M")})
    await audit.record(uow, at=uow.now(), actor=actor.label, action="sanction.confirmed", object_type="person",
                       object_id=row.person_id, details={"proposal_id": row.id, "rule": row.rule})
    if row.sanction == "removal":
        await lifecycle.remove(uow, actor=actor, expert_id=row.person_id,
                               reason=f"{ARTICLES[row.rule]}（处理建议 {row.id}）")  # commits
        return _decided(row)
    await ledger.record(uow, person_id=row.person_id, kind="reprimand", source=f"sanction:{row.id}",
                        recorded_by=actor.label, org_unit_id=row.org_unit_id, note=ARTICLES[row.rule])
    await notify.to_person(uow, person_id=row.person_id, key="sanction.reprimanded",
                           params={"article": ARTICLES[row.rule], "proposal_id": row.id})
    await uow.commit()
    return _decided(row)


async def dismiss(uow: UnitOfWork, *, actor: Actor, proposal_id: int, reason: str) -> Decided:
    """Staff dismiss a proposal, with a reason (kept and audited)."""
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInput("a reason is required", field="reason")
    row = await _decidable(uow, actor, proposal_id)
    row.status, row.decided_by, row.decided_at, row.reason = "dismissed", actor.label, uow.now(), cleaned[:500]
    uow.session.add(row)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="sanction.dismissed", object_type="person",
                       object_id=row.person_id, details={"proposal_id": row.id, "reason": row.reason})
    await uow.commit()
    return _decided(row)


@dataclass(frozen=True)
class ProposalView:
    """An open proposal as a list shows it."""

    id: int
    person_id: int
    sanction: str
    rule: str
    article: str
    evidence: tuple[int, ...]
    name: str = ""


async def pending(uow: UnitOfWork, *, actor: Actor) -> list[ProposalView]:
    """Open proposals the actor may decide."""
    if actor.staff_org_unit_id is None:
        return []
    units = await subtree(uow, actor.staff_org_unit_id)
    rows = await uow.session.exec(select(SanctionProposal, Person.name)
                                  .join(Person, col(Person.id) == SanctionProposal.person_id).where(
        SanctionProposal.status == "proposed", col(SanctionProposal.org_unit_id).in_(units))
        .order_by(col(SanctionProposal.id)))
    return [ProposalView(row.id, row.person_id, row.sanction, row.rule, ARTICLES[row.rule], tuple(row.evidence),
                         name) for row, name in rows.all() if row.id is not None]


async def reprimand_letter(uow: UnitOfWork, *, actor: Actor, proposal_id: int) -> tuple[str, bytes]:
    """The letter feeding a confirmed reprimand back to the employer (000 §27 "反馈其工作单位"), as DOCX
    (wording and layout: :mod:`services.documents.reprimand_letter`)."""
    row = await uow.session.get(SanctionProposal, proposal_id)
    if row is None or row.sanction != "reprimand":
        raise ProposalNotFound(str(proposal_id), proposal_id=proposal_id)
    await require_scope_over_units(uow, actor, {row.org_unit_id})
    if row.status != "confirmed":
        raise ProposalDecided(str(proposal_id), proposal_id=proposal_id, status_key=f"sanction.status.{row.status}")
    person = await uow.session.get(Person, row.person_id)
    expert = await uow.session.get(Expert, row.person_id)
    employer = await uow.session.get(Institution, expert.employer_id) if expert and expert.employer_id else None
    events = (await uow.session.exec(select(CreditEvent).where(col(CreditEvent.id).in_(row.evidence)))).all()
    letter = ReprimandLetter(
        employer=employer.name if employer else None, name=person.name if person else str(row.person_id),
        article=ARTICLES[row.rule],
        evidence=tuple(Evidence(e.occurred_at.astimezone(uow.zone).date(), e.kind, e.activity_id) for e in events),
        day=(row.decided_at or uow.now()).astimezone(uow.zone).date())
    return f"reprimand-{proposal_id}.docx", render_letter(letter)


__all__ = [
    "ARTICLES",
    "EventFact",
    "Proposal",
    "ProposalView",
    "confirm",
    "dismiss",
    "evaluate",
    "pending",
    "propose",
    "reprimand_letter",
]
