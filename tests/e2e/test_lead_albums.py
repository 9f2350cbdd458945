"""End to end through the emulator: an album of evidence (items sharing a ``media_group_id``) sent while reporting a
lead gets one acknowledgement, edited in place as its items arrive and counting them; a refused item is still
explained on its own; a file sent singly is acknowledged as before; the album survives a bot restart between two of
its items, and a deleted acknowledgement is replaced by a new one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from storage.leads import LeadEvidence
from tests.builders import build_org
from tests.e2e.harness import BotHarness, start_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

REPORTER = 73201
PHOTOS = [b"\xff\xd8\xff\xe0 album photo %d " % i * (40 + 10 * i) for i in range(1, 5)]
PDF_A, PDF_C = b"%PDF-1.4 bill A " * 80, b"%PDF-1.4 bill C " * 90
ACK = "个文件"  # in every acknowledgement of received files (zh), never in a refusal


async def _start(emulator: BotApiEmulator, database_url: str, evidence_dir: Path) -> BotHarness:
    return await start_bot(emulator, database_url, evidence_dir=evidence_dir, evidence_max_bytes=100_000, **FAST)


class Reporter(Chat):
    """The supervisor's chat with the bot; each step waits for what the bot answers."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        super().__init__(emulator, REPORTER)

    async def showing(self, expect: str) -> SentMessage:
        """Wait until some message (new or edited) shows ``expect``; the last such."""
        return await self.received(expect)

    def acknowledgements(self, after: int) -> list[SentMessage]:
        return [m for m in self.messages()[after:] if ACK in (m.text or "")]

    def photo(self, number: int, group: str | None = "album-1") -> Any:
        return lambda: self.user.send_photo(PHOTOS[number - 1], media_group_id=group)


async def _reporter_at_evidence(bot: BotHarness, emulator: BotApiEmulator) -> tuple[Reporter, int]:
    """Bind a supervisor and walk /report to the evidence step; the reporter and the message count there."""
    org = await build_org(bot.uow)
    await bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈")
    reporter = Reporter(emulator)
    await reporter.until(lambda: reporter.user.send_command("/report"), zh("report.ask_target"))
    results = await reporter.until(lambda: reporter.user.send_text("城南诊所"), "城南诊所")
    question = await reporter.press(results, ":t", zh("report.ask_insured"))
    question = await reporter.press(question, ":skip", zh("report.ask_category"))
    await reporter.press(question, ":over_charging", zh("report.ask_what"))
    await reporter.until(lambda: reporter.user.send_text("重复收取护理费"), zh("report.ask_when"))
    question = await reporter.until(lambda: reporter.user.send_text("2026年3月上旬"), zh("report.ask_where"))
    await reporter.press(question, ":skip", "4/6")
    return reporter, len(reporter.messages())


async def _submit(reporter: Reporter, acknowledgement: SentMessage) -> None:
    question = await reporter.press(acknowledgement, ":done", "5/6")
    review = await reporter.press(question, ":ni", "6/6")
    await reporter.press(review, ":ok", "受理编号")


async def _stored(bot: BotHarness) -> list[LeadEvidence]:
    async with bot.uow() as u:
        return list((await u.session.exec(select(LeadEvidence).order_by(LeadEvidence.id))).all())  # type: ignore[arg-type]


async def test_an_album_of_three_photos_gets_one_acknowledgement_edited_to_count_three(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    bot = await _start(emulator, database_url, tmp_path / "evidence")
    try:
        reporter, at = await _reporter_at_evidence(bot, emulator)
        for number in (1, 2, 3):
            await reporter.photo(number)()
        acknowledgement = await reporter.showing("已收到 3 个文件")

        assert reporter.acknowledgements(at) == [acknowledgement]
        assert len(reporter.messages()) == at + 1
        assert acknowledgement.edit_count == 2
        assert acknowledgement.edits[0] == zh("report.file_received", n=1, name="photo-1.jpg", size=1)
        assert "photo-1.jpg（1 KB）、photo-2.jpg（1 KB）、photo-3.jpg（1 KB）" in (acknowledgement.text or "")
        assert any(data.endswith(":done") for row in buttons(acknowledgement) for _, data in row)

        await _submit(reporter, acknowledgement)
        stored = await _stored(bot)
        assert [f.sha256 for f in stored] == [hashlib.sha256(p).hexdigest() for p in PHOTOS[:3]]
    finally:
        await bot.shutdown()


async def test_a_refused_item_of_an_album_is_explained_and_the_acknowledgement_counts_the_accepted_ones(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    bot = await _start(emulator, database_url, tmp_path / "evidence")
    try:
        reporter, at = await _reporter_at_evidence(bot, emulator)
        send = reporter.user.send_document
        await send(PDF_A, file_name="a.pdf", mime_type="application/pdf", media_group_id="docs")
        await send(b"MZ" * 10, file_name="tool.exe", mime_type="application/octet-stream", media_group_id="docs")
        await send(PDF_C, file_name="c.pdf", mime_type="application/pdf", media_group_id="docs")
        acknowledgement = await reporter.showing("已收到 2 个文件")
        refusal = await reporter.showing("类型不能作为证据")

        assert "tool.exe" in (refusal.text or "")
        assert reporter.acknowledgements(at) == [acknowledgement]
        assert len(reporter.messages()) == at + 2
        assert "a.pdf（1 KB）、c.pdf（1 KB）" in (acknowledgement.text or "")

        await _submit(reporter, acknowledgement)
        assert [f.file_name for f in await _stored(bot)] == ["a.pdf", "c.pdf"]
    finally:
        await bot.shutdown()


async def test_files_sent_singly_are_each_acknowledged_as_before(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    bot = await _start(emulator, database_url, tmp_path / "evidence")
    try:
        reporter, at = await _reporter_at_evidence(bot, emulator)
        first = await reporter.until(reporter.photo(1, group=None), "已收到第 1 个文件")
        second = await reporter.until(
            lambda: reporter.user.send_document(PDF_A, file_name="账单.pdf", mime_type="application/pdf"),
            "已收到第 2 个文件")

        assert first.text == zh("report.file_received", n=1, name="photo-1.jpg", size=1)
        assert second.text == zh("report.file_received", n=2, name="账单.pdf", size=1)
        assert reporter.acknowledgements(at) == [first, second]
        assert first.text == zh("report.file_received", n=1, name="photo-1.jpg", size=1)  # text never edited
        assert buttons(first) == []  # its "完成" retired when the second arrived: one live button (issue 20)
        assert [label for row in buttons(second) for label, _ in row] == [zh("lead.button.done")]

        await _submit(reporter, second)
        assert len(await _stored(bot)) == 2
    finally:
        await bot.shutdown()


async def test_an_album_interrupted_by_a_restart_still_has_one_acknowledgement(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    evidence_dir = tmp_path / "evidence"
    bot = await _start(emulator, database_url, evidence_dir)
    try:
        reporter, at = await _reporter_at_evidence(bot, emulator)
        first = await reporter.until(reporter.photo(1), "已收到第 1 个文件")
    finally:
        await bot.shutdown()

    bot = await _start(emulator, database_url, evidence_dir)
    try:
        await reporter.photo(2)()
        acknowledgement = await reporter.showing("已收到 2 个文件")
        assert acknowledgement.message_id == first.message_id
        assert reporter.acknowledgements(at) == [acknowledgement]

        await _submit(reporter, acknowledgement)
        assert len(await _stored(bot)) == 2
    finally:
        await bot.shutdown()


async def test_a_deleted_acknowledgement_is_replaced_by_a_new_one_that_later_items_edit(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    bot = await _start(emulator, database_url, tmp_path / "evidence")
    try:
        reporter, at = await _reporter_at_evidence(bot, emulator)
        first = await reporter.until(reporter.photo(1), "已收到第 1 个文件")
        first.deleted = True  # as if the user deleted it: editing it fails with "message to edit not found"

        replacement = await reporter.until(reporter.photo(2), "已收到 2 个文件")
        assert replacement.message_id != first.message_id
        await reporter.photo(3)()
        await reporter.showing("已收到 3 个文件")
        assert replacement.text is not None and "已收到 3 个文件" in replacement.text
        assert reporter.acknowledgements(at) == [first, replacement]
        assert first.text == zh("report.file_received", n=1, name="photo-1.jpg", size=1)  # never edited

        await _submit(reporter, replacement)
        assert len(await _stored(bot)) == 3
    finally:
        await bot.shutdown()
