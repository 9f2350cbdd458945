"""Retention of leads' records (issue 19; PIPL art. 19 storage limitation, 000 §25, 003 三(四)) against a real
database, driven by the clock: the unit is warned once, 30 days before; nothing goes a day early; at the due time the
evidence bytes are destroyed and the deletion is audited without content; a lead with an open case on it is kept; a
lead not accepted loses its content and its reporter after a year; the reporter link goes after the reward window;
evidence checks and the audit chain still pass."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from services.leads import evidence, lead_privacy, lead_triage, leads, retention, retention_hold
from services.leads.retention_rules import hold_end, shift_months
from services.platform import audit
from services.platform.clock import FixedClock
from services.platform.errors import LeadRefused
from services.platform.policy import RetentionSettings
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.leads import Lead, LeadEvidence, LeadMessage, LeadRetention
from storage.models import AuditEntry, OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org, lead_row, staff_actor

ZONE = ZoneInfo("Asia/Shanghai")
WHAT = "住院病人每天被重复收取护理费"
CAPTION = "收费单据，患者王某某"
PHOTO = b"\xff\xd8\xff" + b"evidence-bytes" * 500


def _reporter(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.SUPERVISOR}))


@pytest.fixture
def settings(tmp_path: Path) -> RetentionSettings:
    """Defaults (5 years, 1 year, 30 days' warning), the reporter clock out of the way unless a test wants it."""
    return RetentionSettings(evidence_dir=tmp_path / "evidence", reporter_days=36_500)


async def _lead(uow_factory: UnitOfWorkFactory, org_supervisor: int, hospital: int, root: Path,
                data: bytes = PHOTO) -> Lead:
    stored = evidence.store(root, data, max_bytes=1 << 20)
    async with uow_factory() as u:
        filed = await leads.submit(u, actor=_reporter(org_supervisor), draft=leads.LeadDraft(
            category="over_charging", what=WHAT, institution_id=hospital, insured_name="王某某", evidence=[{
                "kind": "photo", "file_name": "王某某收费单.jpg", "size": stored.size, "sha256": stored.sha256,
                "stored_path": stored.stored_path, "caption": CAPTION}]))
    return await lead_row(uow_factory, filed.id)


async def _closed(uow_factory: UnitOfWorkFactory, staff: Actor, lead_id: int) -> Lead:
    async with uow_factory() as u:
        await lead_triage.accept(u, actor=staff, lead_id=lead_id)
    async with uow_factory() as u:
        await lead_triage.conclude(u, actor=staff, lead_id=lead_id, substantiated=False, summary="查无实据")
    async with uow_factory() as u:
        return await lead_triage.close(u, actor=staff, lead_id=lead_id)


async def _notices(uow_factory: UnitOfWorkFactory) -> list[OutboxMessage]:
    async with uow_factory() as u:
        query = select(OutboxMessage).where(OutboxMessage.message_key == "retention.notice")
        return list((await u.session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def _audit(uow_factory: UnitOfWorkFactory, action: str) -> list[AuditEntry]:
    async with uow_factory() as u:
        return list((await u.session.exec(select(AuditEntry).where(AuditEntry.action == action))).all())


def _counts(**given: int) -> dict[str, int]:
    """What a sweep returns: these counts, the others 0."""
    return {"warned": 0, "deleted": 0, "held": 0, "on_hold": 0, "shredded": 0} | given


def _at(clock: FixedClock, moment: datetime) -> None:
    clock.advance(moment - clock.now())


async def test_the_unit_is_warned_once_30_days_ahead_nothing_goes_a_day_early_and_at_due_the_bytes_are_gone(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    closed = await _closed(uow_factory, staff_actor(org.div1_staff_id, org.div1_id), lead.id)
    assert closed.closed_at is not None
    due = shift_months(closed.closed_at, 60, ZONE)
    [row] = (await evidence_rows(uow_factory))
    stored = settings.evidence_dir / row.stored_path

    _at(clock, due - timedelta(days=30, minutes=1))
    assert await retention.sweep(uow_factory, settings) == _counts()
    _at(clock, due - timedelta(days=30))
    assert (await retention.sweep(uow_factory, settings))["warned"] == 1
    assert (await retention.sweep(uow_factory, settings))["warned"] == 0  # once
    [notice] = await _notices(uow_factory)
    assert notice.params["count"] == 1
    assert notice.params["items_lines"] == [["retention.line", {
        "number": lead.number, "what_key": "retention.kind.evidence", "on": due.astimezone(ZONE).strftime("%Y-%m-%d")}]]
    assert "陈监督" not in json.dumps(notice.params, ensure_ascii=False)
    assert lead.reporter_pseudonym not in json.dumps(notice.params)  # the lead's number, never the reporter

    _at(clock, due - timedelta(days=1))
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 0
    assert stored.read_bytes() == PHOTO and len(await _notices(uow_factory)) == 1

    _at(clock, due)
    assert await retention.sweep(uow_factory, settings) == _counts(deleted=1, shredded=1)
    assert not stored.exists()
    [row] = await evidence_rows(uow_factory)
    assert row.purged_at == due and row.file_name == "" and row.caption is None and row.sha256  # the record stays
    [purged] = await _audit(uow_factory, "lead.retention_purged")
    details = json.dumps(purged.details, ensure_ascii=False)
    assert purged.details["kind"] == "evidence" and purged.details["number"] == lead.number
    assert purged.details["files"] == 1 and "PIPL" in purged.details["rule"] and purged.at == due
    assert WHAT not in details and CAPTION not in details and "收费单" not in details
    async with uow_factory() as u:
        kept = await u.session.get(Lead, lead.id)
        assert kept is not None and kept.what == WHAT and kept.state == "closed"  # only the files went
        assert await evidence.verify_stored(u, settings.evidence_dir) == (0, [])  # purged, not missing
        assert (await audit.verify_chain(u)).ok
        staff_card = await leads.card(u, actor=staff_actor(org.div1_staff_id, org.div1_id), lead_id=lead.id)
        assert list(staff_card.evidence) == []
    assert await retention.sweep(uow_factory, settings) == _counts()


async def evidence_rows(uow_factory: UnitOfWorkFactory) -> list[LeadEvidence]:
    async with uow_factory() as u:
        return list((await u.session.exec(select(LeadEvidence).order_by(col(LeadEvidence.id)))).all())


async def test_a_lead_with_an_open_case_on_it_is_kept_until_the_case_closes_then_warned_first(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    first = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    later = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir, data=b"other file")
    assert first.id is not None and later.id is not None and later.duplicate_candidates == [first.id]
    async with uow_factory() as u:
        await lead_triage.link(u, actor=staff, lead_id=later.id, other_id=first.id)
    closed = await _closed(uow_factory, staff, first.id)
    async with uow_factory() as u:
        await lead_triage.accept(u, actor=staff, lead_id=later.id)  # a case open on the first lead's facts
    assert closed.closed_at is not None
    due = shift_months(closed.closed_at, 60, ZONE)

    _at(clock, due + timedelta(days=400))
    assert await retention.sweep(uow_factory, settings) == _counts(held=1)
    assert await _notices(uow_factory) == [] and len(list(settings.evidence_dir.rglob("*"))) > 2
    await _closed_from_accepted(uow_factory, staff, later.id)
    assert (await retention.sweep(uow_factory, settings))["warned"] == 1  # the warning first, the whole notice
    _at(clock, clock.now() + timedelta(days=29))
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 0
    _at(clock, clock.now() + timedelta(days=1))
    counts = await retention.sweep(uow_factory, settings)
    assert counts["deleted"] == 1 and counts["shredded"] == 1
    rows = await evidence_rows(uow_factory)
    assert [r.purged_at is not None for r in rows] == [True, False]  # the later lead's own clock started just now


async def _closed_from_accepted(uow_factory: UnitOfWorkFactory, staff: Actor, lead_id: int) -> None:
    async with uow_factory() as u:
        await lead_triage.conclude(u, actor=staff, lead_id=lead_id, substantiated=False, summary="查无实据")
    async with uow_factory() as u:
        await lead_triage.close(u, actor=staff, lead_id=lead_id)


async def test_a_lead_not_accepted_loses_its_words_files_and_reporter_after_a_year_and_keeps_its_record(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    async with uow_factory() as u:
        await leads.ask_reporter(u, actor=staff, lead_id=lead.id, text="请补充就诊日期")
    async with uow_factory() as u:
        await leads.add_information(u, actor=_reporter(org.supervisor_id), lead_id=lead.id, text="2026年3月住院")
    async with uow_factory() as u:
        rejected = await lead_triage.reject(u, actor=staff, lead_id=lead.id, reason="不属于医保基金监管范围")
    due = shift_months(rejected.updated_at, 12, ZONE)

    _at(clock, due - timedelta(days=30))
    assert (await retention.sweep(uow_factory, settings))["warned"] == 1
    [notice] = await _notices(uow_factory)
    assert notice.params["items_lines"][0][1]["what_key"] == "retention.kind.rejected"
    _at(clock, due)
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 1
    async with uow_factory() as u:
        kept = await u.session.get(Lead, lead.id)
        assert kept is not None
        assert (kept.what, kept.insured_name, kept.reporter_ref, kept.reporter_pseudonym) == ("", None, None, "—")
        assert (kept.number, kept.state, kept.category, kept.reason) == (
            lead.number, "not_accepted", "over_charging", "不属于医保基金监管范围")  # the record of the decision
        texts = (await u.session.exec(select(LeadMessage.text).where(LeadMessage.lead_id == lead.id))).all()
        assert list(texts) == ["", ""]
        assert await leads.my_leads(u, actor=_reporter(org.supervisor_id)) == []
        with pytest.raises(LeadRefused) as refused:
            await leads.ask_reporter(u, actor=staff, lead_id=lead.id, text="还在吗")
        assert refused.value.params["reason_key"] == "lead.invalid.reporter_purged"
    assert list(settings.evidence_dir.rglob("*.jpg")) == [] and not any(p.is_file() for p in
                                                                        settings.evidence_dir.rglob("*"))


async def test_the_reporter_link_goes_after_the_reward_window_and_a_custodian_then_has_nothing_to_reveal(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    async with uow_factory() as u:
        await lead_triage.accept(u, actor=staff, lead_id=lead.id)
    async with uow_factory() as u:
        await lead_triage.conclude(u, actor=staff, lead_id=lead.id, substantiated=True, summary="查实")
    async with uow_factory() as u:
        rewarded = await lead_triage.reward(u, actor=staff, lead_id=lead.id, amount=1000)
    async with uow_factory() as u:
        await lead_triage.close(u, actor=staff, lead_id=lead.id)
    assert rewarded.reward_claim_until is not None
    window_end = datetime.combine(rewarded.reward_claim_until + timedelta(days=1), datetime.min.time(), ZONE)
    async with uow_factory() as u:
        [clock_row] = (await u.session.exec(select(LeadRetention).where(LeadRetention.kind == "reporter"))).all()
    assert clock_row.since == window_end  # the claim window's last day is the reporter's
    async with uow_factory() as u:
        await lead_privacy.grant_custodian(u, actor=SYSTEM_CLI, person_id=org.div1_staff_id, org="div1")
    reporter_clock = replace(settings, reporter_days=0)

    _at(clock, window_end - timedelta(days=1))
    assert (await retention.sweep(uow_factory, reporter_clock))["warned"] == 1  # first seen late: whole notice
    _at(clock, window_end + timedelta(days=28))
    assert (await retention.sweep(uow_factory, reporter_clock))["deleted"] == 0
    async with uow_factory() as u:
        shown = await lead_privacy.reveal(u, actor=staff, lead_id=lead.id, reason="核实奖励发放")
    assert shown.name == "陈监督"
    _at(clock, window_end + timedelta(days=29))
    assert (await retention.sweep(uow_factory, reporter_clock))["deleted"] == 1
    async with uow_factory() as u:
        with pytest.raises(LeadRefused):
            await lead_privacy.reveal(u, actor=staff, lead_id=lead.id, reason="再次核实身份")
        kept = await u.session.get(Lead, lead.id)
        assert kept is not None and kept.what == WHAT and kept.reward_amount == 1000
    assert any(p.is_file() for p in settings.evidence_dir.rglob("*"))  # the evidence clock runs 5 years


async def test_a_file_another_kept_lead_still_names_is_not_destroyed(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [first_hospital, second_hospital] = await add_institutions(uow_factory, ["第一医院", "第二医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    rejected = await _lead(uow_factory, org.supervisor_id, first_hospital, settings.evidence_dir)
    await _lead(uow_factory, org.supervisor_id, second_hospital, settings.evidence_dir)  # the same photo
    assert rejected.id is not None
    async with uow_factory() as u:
        await lead_triage.reject(u, actor=staff, lead_id=rejected.id, reason="不属于受理范围")
    _at(clock, clock.now() + timedelta(days=340))
    await retention.sweep(uow_factory, settings)
    _at(clock, clock.now() + timedelta(days=60))
    counts = await retention.sweep(uow_factory, settings)
    assert counts["deleted"] == 1 and counts["shredded"] == 0
    async with uow_factory() as u:
        assert await evidence.verify_stored(u, settings.evidence_dir) == (1, [])


def test_shred_overwrites_the_bytes_in_place_before_unlinking(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"secret evidence" * 10_000)
    witness = tmp_path / "witness"
    os.link(path, witness)  # a second name for the same bytes on disk
    assert retention.shred(path) is True
    assert not path.exists() and witness.read_bytes() == bytes(150_000)
    assert retention.shred(path) is False


async def test_the_preview_says_what_will_be_warned_and_deleted_and_when(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    async with uow_factory() as u:
        rejected = await lead_triage.reject(u, actor=staff_actor(org.div1_staff_id, org.div1_id), lead_id=lead.id,
                                            reason="不属于受理范围")
    due = shift_months(rejected.updated_at, 12, ZONE)
    _at(clock, due - timedelta(days=40))
    async with uow_factory(readonly=True) as u:
        assert await retention.plan(u, settings=settings) == []
        [ahead] = await retention.plan(u, settings=settings, horizon=timedelta(days=15))
    assert (ahead.number, ahead.kind, ahead.action) == (lead.number, "rejected", "wait")
    assert (ahead.timing.warn_on, ahead.timing.delete_on) == (due - timedelta(days=30), due)
    async with uow_factory() as u:
        rows = (await u.session.exec(select(LeadRetention))).all()
    assert [(r.kind, r.warned_at, r.done_at) for r in rows] == [("rejected", None, None)]  # a preview changes nothing


async def test_the_retention_sweep_reads_through_indexes_while_it_warns_holds_and_deletes(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    from typing import Any

    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.services.test_sweep_plans import _plans, _scans

    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    first = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    later = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir, data=b"other")
    assert first.id is not None and later.id is not None
    async with uow_factory() as u:
        await lead_triage.reject(u, actor=staff, lead_id=later.id, reason="重复线索")
    await _closed(uow_factory, staff, first.id)
    engine: AsyncEngine = uow_factory.session_factory.kw["bind"]
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            captured.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        for moment in (timedelta(days=340), timedelta(days=400), timedelta(days=5 * 366)):
            _at(clock, first.created_at + moment)
            await retention.sweep(uow_factory, settings)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    assert len(await _audit(uow_factory, "lead.retention_purged")) == 1
    postgres = engine.dialect.name == "postgresql"
    bad = [(s[:160], scans) for s, plan in await _plans(engine, captured) if (scans := _scans(plan, postgres))]
    assert bad == []


async def test_a_period_of_zero_months_keeps_the_evidence_forever(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    await _closed(uow_factory, staff_actor(org.div1_staff_id, org.div1_id), lead.id)
    forever = replace(settings, evidence_months=0)
    _at(clock, clock.now() + timedelta(days=50 * 366))  # the reporter clock is set at 100 years here
    assert await retention.sweep(uow_factory, forever) == _counts()
    assert any(p.is_file() for p in settings.evidence_dir.rglob("*"))


# ---- the hold: staff postpone a pending deletion (retention_hold) ------------------------------------------------


async def _closed_with_evidence(uow_factory: UnitOfWorkFactory, settings: RetentionSettings) -> tuple[Lead, Actor,
                                                                                                      datetime]:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    closed = await _closed(uow_factory, staff, lead.id)
    assert closed.closed_at is not None
    return closed, staff, shift_months(closed.closed_at, 60, ZONE)


async def test_a_dated_hold_keeps_the_evidence_past_its_due_time_then_staff_are_warned_again_with_full_notice(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    lead, staff, due = await _closed_with_evidence(uow_factory, settings)
    assert lead.id is not None
    _at(clock, due - timedelta(days=30))
    assert (await retention.sweep(uow_factory, settings))["warned"] == 1
    until = (due + timedelta(days=90)).astimezone(ZONE).date()
    async with uow_factory() as u:
        held = await retention_hold.hold(u, actor=staff, lead_id=lead.id, until=until, reason="  案件 复查 ")
    assert (held.number, held.kinds, held.until, held.reason) == (lead.number, ("evidence", "reporter"), until,
                                                                 "案件 复查")  # the reporter clock far off here
    [entry] = await _audit(uow_factory, "lead.retention_held")
    assert entry.actor == staff.label and entry.details["until"] == until.isoformat()

    _at(clock, due + timedelta(days=1))  # past the due time: kept
    assert await retention.sweep(uow_factory, settings) == _counts(on_hold=1)
    async with uow_factory(readonly=True) as u:
        [planned] = await retention.plan(u, settings=settings)
    assert planned.action == "on_hold" and planned.held_until == hold_end(until, ZONE)
    _at(clock, hold_end(until, ZONE) - timedelta(minutes=1))  # the last minute of the day held
    assert (await retention.sweep(uow_factory, settings))["on_hold"] == 1

    _at(clock, hold_end(until, ZONE))  # the hold ended: warned again, not deleted at once
    assert await retention.sweep(uow_factory, settings) == _counts(warned=1)
    assert len(await _notices(uow_factory)) == 2
    _at(clock, hold_end(until, ZONE) + timedelta(days=30) - timedelta(minutes=1))
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 0
    _at(clock, hold_end(until, ZONE) + timedelta(days=30))
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 1


async def test_an_open_hold_lasts_until_released_and_release_is_audited(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    lead, staff, due = await _closed_with_evidence(uow_factory, settings)
    assert lead.id is not None
    async with uow_factory() as u:
        with pytest.raises(LeadRefused) as nothing_said:
            await retention_hold.hold(u, actor=staff, lead_id=lead.id, until=None, reason=" ")
    assert nothing_said.value.reason_key == "lead.invalid.hold_what"
    async with uow_factory() as u:
        with pytest.raises(LeadRefused) as none_held:
            await retention_hold.release(u, actor=staff, lead_id=lead.id)
    assert none_held.value.reason_key == "lead.invalid.hold_none"
    async with uow_factory() as u:
        await retention_hold.hold(u, actor=staff, lead_id=lead.id, until=None, reason="涉嫌刑事案件移送公安")
    _at(clock, due + timedelta(days=3 * 366))
    assert (await retention.sweep(uow_factory, settings))["on_hold"] == 1
    assert any(p.is_file() for p in settings.evidence_dir.rglob("*"))
    async with uow_factory() as u:
        released = await retention_hold.release(u, actor=staff, lead_id=lead.id)
    assert released.kinds == ("evidence", "reporter")
    [entry] = await _audit(uow_factory, "lead.retention_released")
    assert entry.details == {"number": lead.number, "kinds": ["evidence", "reporter"]}
    assert await retention.sweep(uow_factory, settings) == _counts(warned=1)  # full notice again
    _at(clock, clock.now() + timedelta(days=30))
    assert (await retention.sweep(uow_factory, settings))["deleted"] == 1


async def test_a_hold_is_refused_outside_the_line_before_a_decision_and_for_a_day_not_ahead(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, settings: RetentionSettings
) -> None:
    from datetime import date

    from services.platform.errors import LeadNotFound

    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    lead = await _lead(uow_factory, org.supervisor_id, hospital, settings.evidence_dir)
    assert lead.id is not None
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as u:
        with pytest.raises(LeadRefused) as undecided:
            await retention_hold.hold(u, actor=staff, lead_id=lead.id, until=None, reason="复查")
    assert undecided.value.reason_key == "lead.invalid.hold_nothing"
    await _closed(uow_factory, staff, lead.id)
    outsider = Actor(label="person:999", person_id=org.div2_expert_id, roles=frozenset({Role.STAFF}),
                     staff_org_unit_id=org.div2_id)
    async with uow_factory() as u:
        with pytest.raises(LeadNotFound):
            await retention_hold.hold(u, actor=outsider, lead_id=lead.id, until=None, reason="复查")
    today = clock.now().astimezone(ZONE).date()
    for day in (today, today + timedelta(days=3 * 366 + 1)):
        async with uow_factory() as u:
            with pytest.raises(LeadRefused) as bad_day:
                await retention_hold.hold(u, actor=staff, lead_id=lead.id, until=day, reason="")
        assert bad_day.value.reason_key == "lead.invalid.hold_until"
    async with uow_factory() as u:  # the system (CLI) may hold any lead
        held = await retention_hold.hold(u, actor=SYSTEM_CLI, lead_id=lead.id, until=date(today.year + 1, 1, 1),
                                         reason="")
    assert set(held.kinds) == {"evidence", "reporter"}
