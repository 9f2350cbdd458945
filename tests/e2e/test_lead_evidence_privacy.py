"""End to end through the emulator (003 三(四), reporter privacy): a bound supervisor reports a lead with a phone
photo sent as a file (EXIF with their phone, their name and a GPS position) and a Word document whose author is their
name; a staff member asks for the lead's files and receives copies without that metadata, renamed, the caption
keeping the stored original's SHA-256 and saying the metadata was removed; the stored originals are untouched."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import docx
from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage
from services.leads import evidence
from storage.leads import Lead, LeadEvidence
from tests.builders import add_institutions, build_org
from tests.e2e.harness import start_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    data_of,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)
from tests.e2e.talk import bind as _bind
from tests.services.test_evidence_scrub import EXIF_APP1, PHONE, docx_by_reporter, jpeg

REPORTER, STAFF_ADMIN = 73201, 73202
SUPERVISOR_NAME = "陈监督"  # the supervisor build_org creates


async def test_staff_receive_a_leads_photo_and_document_without_the_metadata_naming_or_locating_the_reporter(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    photo, document = jpeg(EXIF_APP1), docx_by_reporter()
    assert PHONE in photo and SUPERVISOR_NAME.encode() in photo
    evidence_dir = tmp_path / "evidence"
    bot = await start_bot(emulator, database_url, evidence_dir=evidence_dir, evidence_max_bytes=100_000, **FAST)
    try:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        await _bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈", username="chen_jiandu")
        await _bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        reporter, admin = Chat(emulator, REPORTER), Chat(emulator, STAFF_ADMIN)

        await reporter.command("/report", expect=zh("report.ask_target"))
        results = await reporter.text("人民医院", zh("report.matches"))
        question = await reporter.press(results, f":{hospital}", zh("report.ask_insured"))
        question = await reporter.press(question, ":skip", zh("report.ask_category"))
        question = await reporter.press(question, ":over_charging", zh("report.ask_what"))
        await reporter.text("住院病人每天被重复收取护理费", zh("report.ask_when"))
        question = await reporter.text("2026年3月上旬", zh("report.ask_where"))
        await reporter.press(question, ":skip", "4/6")
        send = reporter.user.send_document
        await reporter.until(lambda: send(photo, file_name="IMG_0001.jpg", mime_type="image/jpeg"), "第 1 个文件")
        mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        await reporter.until(lambda: send(document, file_name="陈监督的举报材料.docx", mime_type=mime), "第 2 个文件")
        question = await reporter.press(reporter.last("第 2 个文件"), ":done", "5/6")
        review = await reporter.press(question, ":ni", "6/6")
        await reporter.press(review, ":ok", "受理编号")

        async with bot.uow() as u:
            lead = (await u.session.exec(select(Lead))).one()
            files = (await u.session.exec(select(LeadEvidence).order_by(LeadEvidence.id))).all()  # type: ignore[arg-type]
        assert [f.sha256 for f in files] == [hashlib.sha256(b).hexdigest() for b in (photo, document)]

        card = await admin.command("/lead", lead.number, expect="状态：已收到")
        before = len(emulator.messages(STAFF_ADMIN))
        await admin.user.press(card.message_id, data_of(card, f"ld:files:{lead.id}"))

        def documents() -> list[SentMessage]:
            return [m for m in emulator.messages(STAFF_ADMIN)[before:] if m.document is not None]

        await emulator.wait_for(lambda: len(documents()) == 2)
        sent_photo, sent_document = documents()
        assert sent_photo.document is not None and sent_document.document is not None

        # the photo: no EXIF block (phone, name, GPS), the picture itself as it was
        assert sent_photo.document.file_name == f"{lead.number}-1.jpg"
        assert b"Exif\x00\x00" not in sent_photo.document.data
        assert PHONE not in sent_photo.document.data and SUPERVISOR_NAME.encode() not in sent_photo.document.data
        assert sent_photo.document.data == jpeg()
        # the document: no author, last editor or company, the text as it was
        assert sent_document.document.file_name == f"{lead.number}-2.docx"
        received = docx.Document(io.BytesIO(sent_document.document.data))
        assert received.core_properties.author == "" and received.core_properties.last_modified_by == ""
        assert [p.text for p in received.paragraphs] == ["住院病人每天被重复收取护理费"]
        with zipfile.ZipFile(io.BytesIO(sent_document.document.data)) as archive:
            for name in archive.namelist():
                for secret in (SUPERVISOR_NAME, "chen_jiandu"):
                    assert secret.encode() not in archive.read(name), (name, secret)

        # captions: the original's SHA-256 (the evidence) and a line saying the metadata was removed
        removed_line = zh("evidence.scrub.scrubbed", removed="").split("（")[0]
        for message, stored in zip((sent_photo, sent_document), files, strict=True):
            caption = message.caption or ""
            assert stored.sha256 in caption and removed_line in caption
            assert SUPERVISOR_NAME not in caption
        assert zh("evidence.removed.gps") in (sent_photo.caption or "")
        assert zh("evidence.removed.author") in (sent_document.caption or "")

        # the stored evidence is the original, untouched (encrypted at rest, issue 19: read back with the key)
        for stored, original in zip(files, (photo, document), strict=True):
            keys = bot.running.services.keys
            assert evidence.read_verified(evidence_dir, stored.stored_path, stored.sha256, keys=keys) == original
            assert original not in (evidence_dir / stored.stored_path).read_bytes()
    finally:
        await bot.shutdown()
