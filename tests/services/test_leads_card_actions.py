"""The lead buttons as typed actions, which card actions a lead offers in each state (``lead_rules.staff_verbs``),
the card's verbs carried out by ``services.leads.card_actions``, and the staff copies of evidence
(``services.leads.staff_files``): renamed, scrubbed, a broken original reported, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from services.buttons import parse
from services.leads import card_actions, evidence, leads, staff_files
from services.leads.actions import (
    CARD_BUTTONS,
    AcceptLead,
    AskReporterSigned,
    DoneAdding,
    LinkLead,
    ReplyToStaff,
    ReportButton,
    ReportCategory,
    ReportChoice,
    ShowLeadCard,
)
from services.leads.lead_rules import LeadCategory, LeadState, StaffVerb, accepts_additions, staff_verbs
from services.platform import errors
from services.platform.actions import Refusal
from services.platform.policy import LeadRules
from services.platform.roles import Actor, Role
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org, lead_row, staff_actor
from tests.services.test_evidence_scrub import EXIF_APP1, jpeg


def test_buttons_already_in_chats_keep_their_wire_strings() -> None:
    assert ShowLeadCard(42).encode() == "ld:card:42"
    assert ReplyToStaff(42).encode() == "lx:reply:42"
    assert parse("ld:card:42") == ShowLeadCard(42)
    assert parse("lx:reply:42") == ReplyToStaff(42)
    assert parse("ld:accept:7") == AcceptLead(7)
    assert parse("ld:asks:7") == AskReporterSigned(7)
    assert parse("ld:link:9:3") == LinkLead(9, 3)
    assert parse("lx:done") == DoneAdding()
    assert {verb.value: cls(5).encode() for verb, cls in CARD_BUTTONS.items()}["yes"] == "ld:yes:5"


@pytest.mark.parametrize("data", ["ld:card:x", "ld:link:9", "ld:link:9:x", "lx:reply:", "lx:done:1", "ld:zap:1",
                                  "lr:abc123:1:maybe", "lrc:abc123:1:bogus", "ld:accept:0"])
def test_crafted_lead_buttons_are_refused(data: str) -> None:
    assert isinstance(parse(data), Refusal)


def test_the_report_dialog_buttons_carry_the_dialog_stamp() -> None:
    assert ReportButton("a1b2c3", 4, ReportChoice.SKIP).encode() == "lr:a1b2c3:4:skip"
    assert parse("lrc:a1b2c3:2:over_charging") == ReportCategory("a1b2c3", 2, LeadCategory.OVER_CHARGING)


def test_a_received_lead_offers_acceptance_or_rejection_and_the_open_actions() -> None:
    assert staff_verbs(LeadState.RECEIVED, rewarded=False, reward_offered=False, has_evidence=True) == (
        StaffVerb.ACCEPT, StaffVerb.REJECT, StaffVerb.TAKE, StaffVerb.ASK, StaffVerb.ASK_SIGNED, StaffVerb.EXTEND,
        StaffVerb.FILES)


def test_an_accepted_lead_may_be_investigated_or_concluded() -> None:
    assert staff_verbs(LeadState.ACCEPTED, rewarded=False, reward_offered=False, has_evidence=False)[:3] == (
        StaffVerb.INVESTIGATE, StaffVerb.SUBSTANTIATED, StaffVerb.UNSUBSTANTIATED)
    assert StaffVerb.INVESTIGATE not in staff_verbs(LeadState.INVESTIGATING, rewarded=False, reward_offered=False,
                                                    has_evidence=False)


def test_a_substantiated_lead_is_rewarded_once_then_closed() -> None:
    assert staff_verbs(LeadState.SUBSTANTIATED, rewarded=False, reward_offered=False, has_evidence=False) == (
        StaffVerb.REWARD, StaffVerb.CLOSE)
    assert staff_verbs(LeadState.SUBSTANTIATED, rewarded=True, reward_offered=True, has_evidence=False) == (
        StaffVerb.CLAIMED, StaffVerb.CLOSE)


def test_a_closed_lead_offers_only_its_files() -> None:
    assert staff_verbs(LeadState.CLOSED, rewarded=False, reward_offered=False, has_evidence=True) == (StaffVerb.FILES,)
    assert staff_verbs(LeadState.CLOSED, rewarded=False, reward_offered=False, has_evidence=False) == ()


def test_only_an_open_lead_takes_additions_from_its_reporter() -> None:
    assert [s for s in LeadState if accepts_additions(s)] == [LeadState.RECEIVED, LeadState.ACCEPTED,
                                                              LeadState.INVESTIGATING]


def _reporter(person_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.SUPERVISOR}))


async def _lead(uow_factory: UnitOfWorkFactory, root: Path | None = None) -> tuple[int, Actor]:
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    files = []
    if root is not None:
        for name, data in (("IMG_0001.jpg", jpeg(EXIF_APP1)), ("陈监督的说明.txt", "收费单据\n".encode())):
            stored = evidence.store(root, data, max_bytes=1 << 20)
            files.append({"kind": "document", "file_name": name, "size": stored.size, "sha256": stored.sha256,
                          "stored_path": stored.stored_path})
    async with uow_factory() as uow:
        lead = await leads.submit(uow, actor=_reporter(org.supervisor_id), draft=leads.LeadDraft(
            category="over_charging", what="重复收取护理费", institution_id=hospital, evidence=files))
    assert lead.id is not None
    return lead.id, staff_actor(org.div1_staff_id, org.div1_id)


async def test_unreadable_days_or_amount_are_refused_without_a_change(uow_factory: UnitOfWorkFactory) -> None:
    lead_id, staff = await _lead(uow_factory)
    for verb, text in ((StaffVerb.EXTEND, "十 天"), (StaffVerb.EXTEND, "²"), (StaffVerb.REWARD, "很多")):
        async with uow_factory() as uow:
            with pytest.raises(errors.LeadRefused):
                await card_actions.act_with_text(uow, actor=staff, verb=verb, lead_id=lead_id, text=text)
    async with uow_factory() as uow:
        assert (await leads.get_lead(uow, lead_id)).extensions == []


async def test_the_card_verbs_carry_a_lead_through_its_life_cycle(uow_factory: UnitOfWorkFactory) -> None:
    lead_id, staff = await _lead(uow_factory)
    rules = LeadRules(reward_min=200, reward_max=1000)
    async with uow_factory() as uow:
        assert (await card_actions.act(uow, actor=staff, verb=StaffVerb.ACCEPT, lead_id=lead_id)).state == "accepted"
    async with uow_factory() as uow:
        await card_actions.act_with_text(uow, actor=staff, verb=StaffVerb.EXTEND, lead_id=lead_id, text="5 调取数据")
    assert [e["days"] for e in (await lead_row(uow_factory, lead_id)).extensions] == [5]
    async with uow_factory() as uow:
        await card_actions.act_with_text(uow, actor=staff, verb=StaffVerb.SUBSTANTIATED, lead_id=lead_id,
                                         text="追回基金")
    async with uow_factory() as uow:
        await card_actions.act_with_text(uow, actor=staff, verb=StaffVerb.REWARD, lead_id=lead_id, text="800元",
                                         rules=rules)
    assert (await lead_row(uow_factory, lead_id)).reward_amount == 800
    async with uow_factory() as uow:
        with pytest.raises(errors.LeadRefused):
            await card_actions.act(uow, actor=staff, verb=StaffVerb.FILES, lead_id=lead_id)


async def test_staff_copies_are_renamed_scrubbed_and_a_broken_original_is_reported(
    uow_factory: UnitOfWorkFactory, tmp_path: Path,
) -> None:
    root = tmp_path / "evidence"
    lead_id, staff = await _lead(uow_factory, root)
    async with uow_factory(readonly=True) as uow:
        copies = await staff_files.staff_copies(uow, actor=staff, lead_id=lead_id, root=root)
    number = copies[0].number
    assert [(c.file_name, c.n, c.total, c.status) for c in copies] == [
        (f"{number}-1.jpg", 1, 2, "scrubbed"), (f"{number}-2.txt", 2, 2, "clean")]
    assert "exif" in copies[0].removed and copies[0].note_key == "evidence.scrub.scrubbed"
    assert copies[0].data is not None and b"Exif" not in copies[0].data
    for stored in root.rglob("*"):
        if stored.is_file():
            stored.write_bytes(b"tampered")
    async with uow_factory(readonly=True) as uow:
        broken = await staff_files.staff_copies(uow, actor=staff, lead_id=lead_id, root=root)
    assert [c.data for c in broken] == [None, None]


async def test_captions_sent_with_evidence_are_kept_bounded_and_reach_the_staff_copies_and_alerts(
    uow_factory: UnitOfWorkFactory, tmp_path: Path,
) -> None:
    root = tmp_path / "evidence"
    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])

    def item(data: bytes, caption: str | None) -> dict[str, object]:
        stored = evidence.store(root, data, max_bytes=1 << 20)
        return {"kind": "photo", "file_name": "photo-1.jpg", "size": stored.size, "sha256": stored.sha256,
                "stored_path": stored.stored_path, "caption": caption}

    reporter = _reporter(org.supervisor_id)
    async with uow_factory() as uow:
        lead = await leads.submit(uow, actor=reporter, draft=leads.LeadDraft(
            category="over_charging", what="重复收取护理费", institution_id=hospital,
            evidence=[item(jpeg(), "  三月五日的单据  "), item(b"plain text", None)]))
    assert lead.id is not None
    async with uow_factory() as uow:
        await leads.add_information(uow, actor=reporter, lead_id=lead.id, text="",
                                    evidence=[item(b"later", "说" * 2000)])
    staff = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory(readonly=True) as uow:
        stored = await leads.evidence_of(uow, lead.id)
        copies = await staff_files.staff_copies(uow, actor=staff, lead_id=lead.id, root=root)
        alert = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "lead.from_reporter"))).one()
    assert [e.caption for e in stored] == ["三月五日的单据", None, "说" * 1024]
    assert [c.caption for c in copies] == ["三月五日的单据", None, "说" * 1024]
    assert alert.params["text"] == "说" * 1024 and alert.params["files"] == 1


async def test_a_text_verb_the_lead_no_longer_offers_is_refused_before_anyone_types(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Issue 20: an old "不予受理" button on a concluded lead is refused when pressed, not after the reason."""
    lead_id, staff = await _lead(uow_factory)
    async with uow_factory() as uow:
        await card_actions.prepare_text(uow, actor=staff, lead_id=lead_id, verb=StaffVerb.REJECT)  # offered now
    async with uow_factory() as uow:
        await card_actions.act(uow, actor=staff, verb=StaffVerb.ACCEPT, lead_id=lead_id)
    async with uow_factory() as uow:
        await card_actions.act_with_text(uow, actor=staff, verb=StaffVerb.SUBSTANTIATED, lead_id=lead_id,
                                         text="追回基金")
    async with uow_factory() as uow:
        with pytest.raises(errors.LeadRefused) as refused:
            await card_actions.prepare_text(uow, actor=staff, lead_id=lead_id, verb=StaffVerb.REJECT)
    assert refused.value.reason_key == "lead.invalid.transition"
