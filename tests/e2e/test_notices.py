"""Public notices end to end (issue 17): ``/notice`` sends the text and a DOCX with what each article requires
(000 §10 names, employers, categories, the objection period and a contact; §23 the removal and its article; §20 the
published list; 003 三(一) the drawn institutions and the data to recompute the draw), and nothing private;
``python -m bot notice`` prints the same words and writes the same DOCX."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from docx import Document

from bot.emulator import BotApiEmulator
from services.draws import target_draws
from storage.activities import DrawRecord
from storage.models import Expert
from storage.pool import Institution
from storage.records import ExcellenceList
from tests.builders import Org, add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits  # noqa: F401 - this module's emulator


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


async def _seed(bot: BotHarness, org: Org) -> tuple[int, int, DrawRecord]:
    """An expert in public notice, a removed one, a published excellent one (all of the first division's hospital),
    and a draw of one inspection target: (proposed, removed, the draw's record)."""
    proposed, removed, excellent = await add_pool(bot.uow, org.div1_id, [
        {"name": "公示专家", "state": "public_notice", "notice_ends_on": date(2099, 1, 9),
         "categories": ["clinical"], "id_number": "11010519491231002X", "mobile": "13800000000"},
        {"name": "解聘专家", "state": "removed", "ended_on": date(2026, 11, 3), "end_reason": "泄露检查信息"},
        {"name": "优秀专家"}])
    async with bot.uow() as u:
        hospital = Institution(name="第一师医院", kind="hospital", designated=True, org_unit_id=org.div1_id,
                               created_at=u.now(), updated_at=u.now())
        u.session.add(hospital)
        await u.session.flush()
        for person_id in (proposed, removed, excellent):
            expert = await u.session.get(Expert, person_id)
            assert expert is not None
            expert.employer_id = hospital.id
            u.session.add(expert)
        u.session.add(ExcellenceList(org_unit_id=org.bureau_id, year=2026, status="published",
                                     entries=[{"person_id": excellent, "name": "优秀专家", "points": 9}],
                                     created_at=u.now(), published_at=u.now()))
        await u.commit()
    async with bot.uow() as u:
        drawn, _ = await target_draws.draw_targets(u, actor=staff_actor(org.staff_id, org.bureau_id), count=1)
    async with bot.uow(readonly=True) as u:
        record = await u.session.get(DrawRecord, drawn.id)
    assert record is not None
    return proposed, removed, record


async def test_each_notice_says_what_its_article_requires(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        proposed, removed, record = await _seed(bot, org)
        await bind(bot, emulator, org.staff_id, 701, "staff")
        staff = Chat(emulator, 701)

        shown = await staff.command("/notice", "appointment", expect="拟入库人选公示")
        text = shown.text or ""
        for part in ("公示专家", "第一师医院", "医药临床类", "2099年1月9日", "第十条", "兵团医疗保障局"):
            assert part in text, part
        assert "11010519491231002X" not in text and "13800000000" not in text  # never the private fields
        document = await _document(emulator, 701)
        assert "公示专家" in _docx_text(document) and "2099年1月9日" in _docx_text(document)

        removal = await staff.command("/notice", f"removal {removed}", expect="解聘")
        assert "解聘专家" in (removal.text or "") and "第二十三条" in (removal.text or "")
        assert "泄露检查信息" in (removal.text or "")
        await staff.command("/notice", f"removal {proposed}", expect="不能执行")  # not removed: refused

        listed = await staff.command("/notice", "excellence 2026", expect="优秀")
        assert "优秀专家（第一师医院）" in (listed.text or "")

        results = await staff.command("/notice", f"targets {record.id}", expect="随机抽取结果公开")
        assert "第一师医院" in (results.text or "") and record.seed in (results.text or "")
        assert record.snapshot_hash in (results.text or "")


async def _document(emulator: BotApiEmulator, chat_id: int) -> bytes:
    await emulator.wait_for(lambda: any(m.document for m in emulator.messages(chat_id)))
    sent = [m for m in emulator.messages(chat_id) if m.document][-1]
    assert sent.document is not None and (sent.document.file_name or "").endswith(".docx")
    return sent.document.data




async def test_the_command_line_prints_each_notice_and_writes_its_docx(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        proposed, removed, record = await _seed(bot, org)
        staff = str(org.staff_id)
        status, out, err = await bot.cli("notice", "appointment", "--as", staff, "--out", str(tmp_path / "a.docx"))
        assert status == 0, err
        for part in ("拟入库人选公示", "公示专家", "第一师医院", "医药临床类", "2099年1月9日", "第十条"):
            assert part in out, part
        assert "11010519491231002X" not in out and "13800000000" not in out  # never the private fields
        assert "公示专家" in _docx_text((tmp_path / "a.docx").read_bytes())
        status, out, err = await bot.cli("notice", "removal", str(removed), "--as", staff)
        assert status == 0 and "解聘专家" in out and "第二十三条" in out and "泄露检查信息" in out, err
        status, out, _ = await bot.cli("notice", "excellence", "2026", "--as", staff)
        assert status == 0 and "优秀专家（第一师医院）" in out
        status, out, _ = await bot.cli("notice", "targets", str(record.id), "--as", staff, "--out",
                                       str(tmp_path / "t.docx"))
        assert status == 0 and record.seed in out and record.snapshot_hash in out
        assert record.seed in _docx_text((tmp_path / "t.docx").read_bytes())
        status, out, err = await bot.cli("notice", "removal", str(proposed), "--as", staff)  # not removed: refused
        assert status != 0 and "解聘专家" not in out and err.strip()
        status, _, err = await bot.cli("notice", "excellence", "2026", "--as", str(proposed))  # not staff
        assert status != 0 and err.strip()
