"""End to end through the emulator (003 三(四), reporter privacy): a bound supervisor reports a lead with a phone
photo sent as a file (EXIF with their phone, their name and a GPS position) and a Word document whose author is their
name; a staff member asks for the lead's files and receives copies without that metadata, renamed, the caption
keeping the stored original's SHA-256 and saying the metadata was removed; the stored originals are untouched."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docx
import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator, Limits, SentMessage, buttons
from messages import translate
from services import accounts
from services.roles import SYSTEM_CLI
from storage.leads import Lead, LeadEvidence
from tests.builders import add_institutions, build_org
from tests.e2e.harness import TOKEN, BotHarness, start_bot
from tests.services.test_evidence_scrub import EXIF_APP1, PHONE, docx_by_reporter, jpeg

FAST: dict[str, Any] = {"rate_private_per_second": 1000.0, "rate_private_burst": 1000}
REPORTER, STAFF_ADMIN = 73201, 73202
SUPERVISOR_NAME = "陈监督"  # the supervisor build_org creates


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    server = BotApiEmulator(token=TOKEN, limits=Limits(enabled=False))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def zh(key: str, **params: Any) -> str:
    return translate("zh", key, **params)


async def _bind(bot: BotHarness, emulator: BotApiEmulator, person_id: int, user_id: int, role: str,
                **user: Any) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    emulator.user(user_id, language_code="zh", **user)
    await emulator.user(user_id).send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


class Chat:
    """One person talking to the bot; each call waits for what the bot answers."""

    def __init__(self, emulator: BotApiEmulator, user_id: int) -> None:
        self.emulator, self.user_id, self.user = emulator, user_id, emulator.user(user_id)

    async def until(self, act: Any, expect: str) -> SentMessage:
        before = len(self.emulator.messages(self.user_id))
        await act()

        def arrived() -> bool:
            return any(expect in (m.text or "") for m in self.emulator.messages(self.user_id)[before:])

        await self.emulator.wait_for(arrived)
        return [m for m in self.emulator.messages(self.user_id)[before:] if expect in (m.text or "")][-1]

    async def text(self, text: str, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.send_text(text), expect)

    async def command(self, command: str, args: str = "", *, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.send_command(command, args), expect)

    async def press(self, message: SentMessage, ending: str, expect: str) -> SentMessage:
        return await self.until(lambda: self.user.press(message.message_id, data_of(message, ending)), expect)

    def last(self, expect: str) -> SentMessage:
        return [m for m in self.emulator.messages(self.user_id) if expect in (m.text or "")][-1]


def data_of(message: SentMessage, ending: str) -> str:
    for row in buttons(message):
        for _, data in row:
            if data.endswith(ending):
                return data
    raise AssertionError(f"no button ending {ending!r} in {buttons(message)!r}")


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
        question = await reporter.press(results, f":i:{hospital}", zh("report.ask_insured"))
        question = await reporter.press(question, ":skip", zh("report.ask_category"))
        question = await reporter.press(question, ":c:over_charging", zh("report.ask_what"))
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
        assert "gps" in (sent_photo.caption or "") and "author" in (sent_document.caption or "")

        # the stored evidence is the original, untouched
        for stored, original in zip(files, (photo, document), strict=True):
            assert (evidence_dir / stored.stored_path).read_bytes() == original
    finally:
        await bot.shutdown()
