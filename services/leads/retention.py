"""Retention of leads' records (issue 19; PIPL art. 19 storage limitation; 000 §25; 003 三(四)): the clocks started
when a lead is decided, the sweep that warns the staff of the lead's unit once and then deletes at the due time, the
preview of what is coming, and :func:`shred` (the one place a file's bytes are destroyed). The periods and the
interpretation are in ``retention_rules``.

What a deletion keeps (000 §25: the records stay traceable): the lead's row with its number, unit, category, state,
dates, decisions and reward; each evidence row with its SHA-256, size and type, marked ``purged_at`` (so an evidence
check reads it as purged, not missing); the relayed messages' rows with their dates; the audit trail, which gains one
entry per deletion (kind, lead number, rule, time; never the content). What goes: the files (overwritten with zeros,
then unlinked), file names and captions; for a lead not accepted also what was reported and about whom and the
messages' words; the reporter link (``reporter_ref`` with its keyed hash, and the pseudonym on the lead).

Files are destroyed after the transaction marking their rows purged commits, and only when no other lead's
evidence row still names the same content-addressed file; a crash in between leaves the file for the next sweep,
which looks again at the rows purged in the last week (``ix_lead_evidence_purged_at``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from services.leads.evidence import key_path
from services.leads.lead_rules import OPEN_STATES, LeadState
from services.leads.reporters import reporter_id, set_reporter
from services.leads.retention_rules import (
    RetentionKind,
    Timing,
    due,
    kept_forever,
    latest_since,
    on_hold,
    reward_window_end,
    rule_text,
    timing,
)
from services.platform import audit, notify, policy
from services.platform.errors import LeadRefused
from services.platform.policy import RetentionSettings
from services.platform.roles import SCHEDULER
from storage.leads import Lead, LeadEvidence, LeadMessage, LeadRetention
from storage.uow import UnitOfWork, UnitOfWorkFactory

RESHRED_WINDOW = timedelta(days=7)
PURGED_PSEUDONYM = "—"
_OPEN = [str(s) for s in OPEN_STATES]


def reporter_of(lead: Lead) -> int:
    """The reporter's person id; LeadRefused once the link was purged under retention."""
    reporter = reporter_id(lead)
    if reporter is None:
        raise LeadRefused("reporter purged", reason_key="lead.invalid.reporter_purged")
    return reporter


async def start(uow: UnitOfWork, lead: Lead, target: str) -> None:
    """Start the clocks of a lead that was just not accepted (``rejected``) or closed (``reporter``; ``evidence``
    unless it was not accepted). In the caller's transaction."""
    assert lead.id is not None
    now = uow.now()
    if target == LeadState.NOT_ACCEPTED:
        await _clock(uow, lead.id, RetentionKind.REJECTED, now)
    elif target == LeadState.CLOSED:
        closed = lead.closed_at or now
        window = reward_window_end(closed, lead.reward_claim_until, policy.current().leads.reward_claim_months,
                                   uow.zone)
        await _clock(uow, lead.id, RetentionKind.REPORTER, window)
        if await uow.session.get(LeadRetention, (lead.id, str(RetentionKind.REJECTED))) is None:
            await _clock(uow, lead.id, RetentionKind.EVIDENCE, closed)


async def _clock(uow: UnitOfWork, lead_id: int, kind: RetentionKind, since: datetime) -> None:
    if await uow.session.get(LeadRetention, (lead_id, str(kind))) is None:
        uow.session.add(LeadRetention(lead_id=lead_id, kind=str(kind), since=since))


@dataclass(frozen=True)
class Planned:
    """One clock as the sweep sees it at a moment: ``action`` is ``warn``, ``delete``, ``wait``, ``held`` (a case
    is open on the lead) or ``on_hold`` (staff postponed it: ``retention_hold``)."""

    lead_id: int
    number: str
    org_unit_id: int
    kind: RetentionKind
    timing: Timing
    warned: bool
    action: str
    held_until: datetime | None = None  # for ``on_hold``: the hold's end (None: until released)


async def plan(uow: UnitOfWork, *, settings: RetentionSettings | None = None,
               horizon: timedelta = timedelta(0)) -> list[Planned]:
    """The pending clocks whose warning falls before now + ``horizon``, with what the sweep does with each now;
    read through ``ix_lead_retention_due``. Ordered by deletion time."""
    settings = settings or policy.current().retention
    now = uow.now()
    found: list[Planned] = []
    for kind in RetentionKind:
        if kept_forever(kind, settings):
            continue
        query = select(LeadRetention).where(LeadRetention.kind == str(kind), col(LeadRetention.done_at).is_(None),
                                            col(LeadRetention.since) <= latest_since(kind, now + horizon, settings,
                                                                                     uow.zone))
        for row in (await uow.session.exec(query)).all():
            seen = timing(due(kind, row.since, settings, uow.zone), row.warned_at, now, settings)
            if seen.warn_on > now + horizon:
                continue
            lead = await uow.session.get(Lead, row.lead_id)
            assert lead is not None and lead.id is not None
            if on_hold(row.held_at, row.held_until, now):
                found.append(Planned(lead.id, lead.number, lead.org_unit_id, kind, seen, row.warned_at is not None,
                                     "on_hold", row.held_until))
                continue
            found.append(Planned(lead.id, lead.number, lead.org_unit_id, kind, seen, row.warned_at is not None,
                                 await _action(uow, lead, seen, row.warned_at is not None, now)))
    return sorted(found, key=lambda p: (p.timing.delete_on, p.number, p.kind))


async def _action(uow: UnitOfWork, lead: Lead, seen: Timing, warned: bool, now: datetime) -> str:
    if await case_open(uow, lead):
        return "held"
    if not warned:
        return "warn" if seen.warn_on <= now else "wait"
    return "delete" if seen.delete_on <= now else "wait"


async def case_open(uow: UnitOfWork, lead: Lead) -> bool:
    """Whether a case is open on the lead: it is still open, or a lead linked to it (either way) is."""
    if lead.state in _OPEN:
        return True
    if lead.linked_to_id is not None:
        other = await uow.session.get(Lead, lead.linked_to_id)
        if other is not None and other.state in _OPEN:
            return True
    linked = select(Lead.id).where(Lead.linked_to_id == lead.id, col(Lead.state).in_(_OPEN)).limit(1)
    return (await uow.session.exec(linked)).first() is not None


async def sweep(uow_factory: UnitOfWorkFactory, settings: RetentionSettings | None = None) -> dict[str, int]:
    """Warn the units of what comes due (one message per unit, once per clock), delete what is due, then destroy
    the files no longer named. Idempotent (``warned_at``, ``done_at``)."""
    settings = settings or policy.current().retention
    async with uow_factory() as uow:
        planned = await plan(uow, settings=settings)
        warned = await _warn(uow, [p for p in planned if p.action == "warn"], settings)
        deleting = [p for p in planned if p.action == "delete"]
        for item in deleting:
            await _purge(uow, item, settings)
        await uow.commit()
    shredded = await shred_purged(uow_factory, settings.evidence_dir)
    return {"warned": warned, "deleted": len(deleting), "held": sum(1 for p in planned if p.action == "held"),
            "on_hold": sum(1 for p in planned if p.action == "on_hold"), "shredded": shredded}


async def _warn(uow: UnitOfWork, items: Sequence[Planned], settings: RetentionSettings) -> int:
    """One message per unit listing its leads by number, what goes and when (never the reporter); each clock
    marked warned and audited."""
    by_unit: dict[int, list[Planned]] = defaultdict(list)
    for item in items:
        by_unit[item.org_unit_id].append(item)
    now = uow.now()
    for unit_id, listed in sorted(by_unit.items()):
        lines = [["retention.line", {"number": p.number, "what_key": f"retention.kind.{p.kind}",
                                     "on": p.timing.delete_on.astimezone(uow.zone).strftime("%Y-%m-%d")}]
                 for p in listed]
        await notify.to_org_unit(uow, org_unit_id=unit_id, key="retention.notice",
                                 params={"count": len({p.lead_id for p in listed}), "items_lines": lines})
        for p in listed:
            row = await uow.session.get(LeadRetention, (p.lead_id, str(p.kind)))
            assert row is not None
            row.warned_at = now
            uow.session.add(row)
            await audit.record(uow, at=now, actor=SCHEDULER.label, action="lead.retention_warned",
                               object_type="lead", object_id=p.lead_id,
                               details={"kind": str(p.kind), "number": p.number, "rule": rule_text(p.kind, settings),
                                        "delete_on": p.timing.delete_on.isoformat()})
    return len(items)


async def _purge(uow: UnitOfWork, item: Planned, settings: RetentionSettings) -> None:
    """Delete what the clock covers, mark it done and audit it (kind, number, rule, time; never the content)."""
    now = uow.now()
    lead = await uow.session.get(Lead, item.lead_id)
    assert lead is not None
    files = 0
    if item.kind in (RetentionKind.EVIDENCE, RetentionKind.REJECTED):
        files = await _purge_evidence(uow, item.lead_id, now)
    if item.kind in (RetentionKind.REJECTED, RetentionKind.REPORTER):
        set_reporter(lead, None)
        lead.reporter_pseudonym = PURGED_PSEUDONYM
    if item.kind == RetentionKind.REJECTED:
        await _blank_content(uow, lead)
    uow.session.add(lead)
    row = await uow.session.get(LeadRetention, (item.lead_id, str(item.kind)))
    assert row is not None
    row.done_at = now
    uow.session.add(row)
    await audit.record(uow, at=now, actor=SCHEDULER.label, action="lead.retention_purged", object_type="lead",
                       object_id=item.lead_id,
                       details={"kind": str(item.kind), "number": item.number, "rule": rule_text(item.kind, settings),
                                "due": item.timing.due.isoformat(), "files": files})


async def _purge_evidence(uow: UnitOfWork, lead_id: int, now: datetime) -> int:
    query = select(LeadEvidence).where(LeadEvidence.lead_id == lead_id, col(LeadEvidence.purged_at).is_(None))
    rows = (await uow.session.exec(query)).all()
    for row in rows:
        row.purged_at, row.file_name, row.caption = now, "", None
        uow.session.add(row)
    return len(rows)


async def _blank_content(uow: UnitOfWork, lead: Lead) -> None:
    """What a lead not accepted said and about whom; the relayed messages' words."""
    lead.what = lead.happened = lead.place = ""
    lead.insured_name = lead.insured_id_number = lead.interest_note = None
    for message in (await uow.session.exec(select(LeadMessage).where(LeadMessage.lead_id == lead.id))).all():
        message.text = ""
        uow.session.add(message)


async def shred_purged(uow_factory: UnitOfWorkFactory, root: Path) -> int:
    """Destroy the files of the evidence rows purged in the last week that no unpurged row names any more; how many
    were destroyed."""
    async with uow_factory(readonly=True) as uow:
        recent = select(LeadEvidence.stored_path).where(col(LeadEvidence.purged_at) >= uow.now() - RESHRED_WINDOW)
        orphans = []
        for stored_path in sorted(set((await uow.session.exec(recent)).all())):
            named = select(LeadEvidence.id).where(LeadEvidence.stored_path == stored_path,
                                                  col(LeadEvidence.purged_at).is_(None)).limit(1)
            if (await uow.session.exec(named)).first() is None:
                orphans.append(stored_path)
    return sum(1 for stored_path in orphans if _inside(root, stored_path) and _destroy(root / stored_path))


def _destroy(path: Path) -> bool:
    """Shred an evidence file and its wrapped data key (encryption at rest): without the key the body is unreadable
    even where the overwrite is only best effort."""
    shred(key_path(path))
    return shred(path)


def _inside(root: Path, stored_path: str) -> bool:
    return root.resolve() in (root / stored_path).resolve().parents


def shred(path: Path) -> bool:
    """Overwrite a file with zeros, flush that to the disk, then unlink it; False when there was no file. Where the
    filesystem keeps old blocks (copy-on-write, snapshots, SSD wear levelling) the overwrite is best effort; the
    unlink is not. The one function that destroys a file's bytes."""
    try:
        with path.open("r+b") as handle:
            size, zeros, written = os.fstat(handle.fileno()).st_size, bytes(1 << 16), 0
            while written < size:
                written += handle.write(zeros[:min(len(zeros), size - written)])
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return False
    except OSError:
        pass  # not writable here: still unlinked below
    path.unlink(missing_ok=True)
    return True
