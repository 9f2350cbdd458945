"""End to end through the emulator (002 §9(二)): captions sent with evidence are kept as part of the lead. A
supervisor sends a photo with a 1,000-character caption while reporting, the review says captions were kept, and
after submitting the staff see the caption on the lead's card and on the file's copy; a caption sent with a file
added later to the lead is kept too."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from storage.leads import Lead, LeadEvidence
from tests.builders import build_org
from tests.e2e.harness import start_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    data_of,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

REPORTER, STAFF_ADMIN = 73301, 73302
PHOTO, LATER = b"\xff\xd8\xff\xe0 caption photo " * 60, b"\xff\xd8\xff\xe0 later photo " * 70
CAPTION = ("这张收费单据显示三月五日护理费被重复收取两次，" * 50)[:1000]
LATER_CAPTION = "三月六日的单据，同样重复收费"


async def test_a_photos_long_caption_is_kept_with_the_lead_and_shown_to_staff(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    assert len(CAPTION) == 1000
    bot = await start_bot(emulator, database_url, evidence_dir=tmp_path / "evidence", evidence_max_bytes=100_000,
                          **FAST)
    try:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈")
        await bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        reporter, admin = Chat(emulator, REPORTER), Chat(emulator, STAFF_ADMIN)

        await reporter.command("/report", expect=zh("report.ask_target"))
        results = await reporter.text("城南诊所", "城南诊所")
        question = await reporter.press(results, ":t", zh("report.ask_insured"))
        question = await reporter.press(question, ":skip", zh("report.ask_category"))
        await reporter.press(question, ":over_charging", zh("report.ask_what"))
        await reporter.text("重复收取护理费", zh("report.ask_when"))
        question = await reporter.text("2026年3月上旬", zh("report.ask_where"))
        await reporter.press(question, ":skip", "4/6")
        received = await reporter.until(lambda: reporter.user.send_photo(PHOTO, caption=CAPTION), "已收到第 1 个文件")
        question = await reporter.press(received, ":done", "5/6")
        review = await reporter.press(question, ":ni", "6/6")
        assert zh("report.review_captions", count=1) in (review.text or "")
        await reporter.press(review, ":ok", "受理编号")

        async with bot.uow() as u:
            lead = (await u.session.exec(select(Lead))).one()
            [stored] = (await u.session.exec(select(LeadEvidence))).all()
        assert stored.caption == CAPTION

        # the card lists the caption under its file (a card over 4,096 characters comes in parts)
        before = len(admin.messages())
        await admin.command("/lead", lead.number, expect="状态：已收到")
        card_text = "".join(m.text or "" for m in admin.messages()[before:])
        assert CAPTION in card_text
        card = _with_button(admin.messages()[before:], f"ld:files:{lead.id}")

        # the file's copy: the caption comes with it (whole, even when the file's own caption is cut)
        before = len(admin.messages())
        await admin.user.press(card.message_id, data_of(card, f"ld:files:{lead.id}"))
        await emulator.wait_for(lambda: any(m.document is not None for m in admin.messages()[before:]))
        await emulator.wait_for(lambda: CAPTION in "".join(m.text or m.caption or ""
                                                            for m in admin.messages()[before:]))
        sent = [m for m in admin.messages()[before:] if m.document is not None]
        assert len(sent) == 1 and stored.sha256 in (sent[0].caption or "")
        assert "陈监督" not in "".join(m.text or m.caption or "" for m in admin.messages()[before:])

        # a file added later to the lead keeps its caption too, and the staff's alert shows it
        mine = await reporter.command("/myleads", expect=lead.number)
        await reporter.press(mine, f"lx:add:{lead.id}", "请发送对线索")
        await reporter.until(lambda: reporter.user.send_photo(LATER, caption=LATER_CAPTION), "已将您的补充")
        await admin.received(LATER_CAPTION)
        async with bot.uow() as u:
            captions = [e.caption for e in (await u.session.exec(select(LeadEvidence).order_by(LeadEvidence.id))).all()]  # type: ignore[arg-type]
        assert captions == [CAPTION, LATER_CAPTION]
    finally:
        await bot.shutdown()


def _with_button(messages: list[SentMessage], data: str) -> SentMessage:
    """The message carrying the button ``data``."""
    return next(m for m in messages if any(d == data for row in buttons(m) for _, d in row))
