"""Activities and draws as an operator runs them from the command line: create an activity, file the draw
request, have another admin approve it, verify the stored draw (and catch tampering), export the annex-3 record;
and the same record fetched in the bot with ``/drawexport``.

The CLI runs ``bot.cli.main`` in a subprocess on the test database (the real clock: times are set from today).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import col

from bot.emulator import BotApiEmulator
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.activities import DrawRecord
from storage.uow import UnitOfWorkFactory
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.harness import running_bot

MAIN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
ZONE = ZoneInfo("Asia/Shanghai")


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment.update(DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-c", MAIN, *args], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)


def _at(days: int, hour: int) -> str:
    day = datetime.now(ZONE).date() + timedelta(days=days)
    return f"{day.isoformat()} {hour:02d}:00"


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, text
    return int(found.group(1))


@pytest.mark.parametrize("command", [["activity", "create"], ["activity", "show"], ["activity", "cancel"],
                                     ["activity", "reschedule"], ["draw", "request"],
                                     ["draw", "approve"], ["draw", "reject"], ["draw", "show"], ["draw", "verify"],
                                     ["draw", "export"]])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m bot {' '.join(command)}")


async def test_create_request_approve_verify_tamper_and_export(database_url: str, uow_factory: UnitOfWorkFactory,
                                                               tmp_path: Path) -> None:
    org = await build_org(uow_factory)
    await add_pool(uow_factory, org.bureau_id, [{"name": f"监管专家{i}"} for i in range(6)])
    await add_pool(uow_factory, org.bureau_id, [
        {"name": f"心内专家{i}", "categories": ["clinical"], "clinical_subcategories": ["medicine"],
         "specialty_tags": ["心血管", "介入", "内科"]} for i in range(4)])
    outsider = (await add_pool(uow_factory, org.div2_id, [{"name": "局外人", "categories": ["informatics"]}]))[0]

    created = _cli(database_url, "activity", "create", "--as", str(org.staff_id), "--org", "bureau",
                   "--kind", "special_inspection", "--title", "心血管介入专项检查", "--start", _at(10, 9),
                   "--end", _at(12, 17), "--deadline", _at(7, 18), "--require", "supervision:3:1",
                   "--require", "clinical/medicine:2:1:心血管,介入", "--place", "石河子")
    assert created.returncode == 0, created.stderr
    activity_id = _number(r"^activity (\d+) created: 心血管介入专项检查$", created.stdout.strip())
    shown = _cli(database_url, "activity", "show", str(activity_id))
    assert shown.returncode == 0 and "clinical/medicine 2 principal(s), 1 backup(s) tags 心血管,介入" in shown.stdout

    filed = _cli(database_url, "draw", "request", str(activity_id), "--as", str(org.staff_id))
    assert filed.returncode == 0, filed.stderr
    request_id = _number(r"draw request (\d+) for activity \d+: pending", filed.stdout)
    own = _cli(database_url, "draw", "approve", str(request_id), "--as", str(org.staff_id))
    assert own.returncode == 1 and own.stderr.startswith("error: DrawRefused") and len(own.stderr.splitlines()) == 1
    approved = _cli(database_url, "draw", "approve", str(request_id), "--as", str(org.admin_id))
    assert approved.returncode == 0, approved.stderr
    draw_id = _number(r"draw (\d+): drawn;", approved.stdout)
    assert "5 principal(s), 2 backup(s)" in approved.stdout

    verified = _cli(database_url, "draw", "verify", str(draw_id))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"draw {draw_id}: MATCHES its record")
    assert "algorithm version: v3" in verified.stdout and "picks: 7" in verified.stdout
    assert "chances r1: " in verified.stdout  # the marginals, recomputed (issue 18)
    assert "candidates in the snapshot: " in verified.stdout and "problem" not in verified.stdout

    async with uow_factory() as u:
        seen = await draws.get_draw(u, actor=staff_actor(org.staff_id, org.bureau_id), draw_id=draw_id)
    keys = sorted({p.requirement_key for p in seen.result.picks}, key=lambda k: int(k[1:]))
    expected = [seen.names[p.person_id] for key in keys for role in ("principal", "backup")
                for p in seen.result.picks if p.requirement_key == key and p.role.value == role]
    assert len(expected) == 7 and all(n.startswith("监管") for n in expected[:4])
    assert all(n.startswith("心内") for n in expected[4:])

    shown_draw = _cli(database_url, "draw", "show", str(draw_id), "--as", str(org.staff_id))
    assert shown_draw.returncode == 0 and "approved by" in shown_draw.stdout and "王管理" in shown_draw.stdout
    hidden = _cli(database_url, "draw", "show", str(draw_id), "--as", str(org.div1_staff_id))
    assert hidden.returncode == 1 and "DrawNotFound" in hidden.stderr

    xlsx, docx = tmp_path / "record.xlsx", tmp_path / "record.docx"
    for out, fmt in ((xlsx, "xlsx"), (docx, "docx")):
        exported = _cli(database_url, "draw", "export", str(draw_id), "--as", str(org.staff_id), "--format", fmt,
                        "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        assert exported.stdout.startswith(f"draw {draw_id} written to {out}")
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(rows) if row[:3] == ["序号", "抽取条件", "姓名"])
    assert [row[2] for row in rows[header + 1: header + 8]] == expected
    assert [row[5] for row in rows[header + 1: header + 8]] == ["参与专家"] * 3 + ["后备专家"] + ["参与专家"] * 2 + [
        "后备专家"]
    approval = next(row[1] for row in rows if row[0] == "审批意见")
    assert "王管理" in approval
    document = Document(io.BytesIO(docx.read_bytes()))
    (roster,) = [t for t in document.tables if [c.text for c in t.rows[0].cells][:3] == ["序号", "抽取条件", "姓名"]]
    assert [row.cells[2].text for row in list(roster.rows)[1:]] == expected
    assert any(row.cells[0].text == "审批意见" and "王管理" in row.cells[1].text
               for table in document.tables for row in table.rows)

    picks = [list(p) for p in seen.record.result["picks"]]
    tampered = dict(seen.record.result, picks=[[picks[0][0], outsider, *picks[0][2:]], *picks[1:]])
    async with uow_factory() as u:
        await u.session.exec(update(DrawRecord).where(col(DrawRecord.id) == draw_id).values(result=tampered))
        await u.commit()
    broken = _cli(database_url, "draw", "verify", str(draw_id))
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"draw {draw_id}: DOES NOT MATCH its record")
    assert "problem: result: the stored result differs from the draw recomputed" in broken.stdout
    assert "problem: audit_result:" in broken.stdout and "problem: roster:" in broken.stdout
    assert f"{outsider} 局外人" in broken.stdout


async def test_an_activity_is_rescheduled_then_cancelled_from_the_command_line_and_not_drawn_again(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    await add_pool(uow_factory, org.bureau_id, [{"name": f"监管专家{i}"} for i in range(4)])
    created = _cli(database_url, "activity", "create", "--as", str(org.staff_id), "--org", "bureau",
                   "--kind", "routine_inspection", "--title", "日常检查", "--start", _at(10, 9), "--end", _at(11, 17),
                   "--deadline", _at(7, 18), "--require", "supervision:3:1")
    activity_id = _number(r"^activity (\d+) created", created.stdout.strip())
    filed = _cli(database_url, "draw", "request", str(activity_id), "--as", str(org.staff_id))
    request_id = _number(r"draw request (\d+) for activity \d+: pending", filed.stdout)
    approved = _cli(database_url, "draw", "approve", str(request_id), "--as", str(org.admin_id))
    assert approved.returncode == 0, approved.stderr

    moved = _cli(database_url, "activity", "reschedule", str(activity_id), "--as", str(org.staff_id),
                 "--start", _at(14, 9), "--end", _at(15, 17), "--deadline", _at(12, 18))
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == (f"activity {activity_id} rescheduled to {_at(14, 9)} - {_at(15, 17)}: "
                                    "3 expert(s) asked to reconfirm, 0 no longer qualify (backups invited)")
    backwards = _cli(database_url, "activity", "reschedule", str(activity_id), "--as", str(org.staff_id),
                     "--start", _at(14, 9), "--end", _at(13, 17))
    assert backwards.returncode == 1 and "ActivityInvalid" in backwards.stderr
    foreign = _cli(database_url, "activity", "cancel", str(activity_id), "--as", str(org.div1_staff_id),
                   "--reason", "不是我的")
    assert foreign.returncode == 1, foreign.stdout
    cancelled = _cli(database_url, "activity", "cancel", str(activity_id), "--as", str(org.staff_id),
                     "--reason", "被检查医院停业")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"activity {activity_id} cancelled: 3 expert(s) told"
    again = _cli(database_url, "draw", "request", str(activity_id), "--as", str(org.staff_id))
    assert again.returncode == 1 and again.stderr.startswith("error: DrawRefused")
    twice = _cli(database_url, "activity", "cancel", str(activity_id), "--as", str(org.staff_id), "--reason", "再次")
    assert twice.returncode == 1 and "ActivityInvalid" in twice.stderr


def test_usage_errors_and_unknown_ids_exit_2(database_url: str) -> None:
    unknown = _cli(database_url, "draw", "verify", "999")
    assert unknown.returncode == 2 and unknown.stderr.strip() == "error: no draw record 999"
    bad = _cli(database_url, "activity", "create", "--as", "1", "--org", "bureau", "--kind", "consultation",
               "--title", "x", "--start", "tomorrow", "--end", "2026-12-03 17:00", "--deadline", "2026-11-28 18:00",
               "--require", "supervision:3")
    assert bad.returncode == 2 and "is not a time like" in bad.stderr
    spec = _cli(database_url, "activity", "create", "--as", "1", "--org", "bureau", "--kind", "consultation",
                "--title", "x", "--start", "2026-12-01 09:00", "--end", "2026-12-03 17:00", "--deadline",
                "2026-11-28 18:00", "--require", "supervision")
    assert spec.returncode == 2 and "CATEGORY[/SUBCATEGORY]" in spec.stderr


async def test_staff_get_the_record_as_a_document_in_the_bot_and_others_are_told_it_does_not_exist(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await add_pool(bot.uow, org.bureau_id, [{"name": f"监管专家{i}"} for i in range(5)])
        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=staff_actor(org.staff_id, org.bureau_id), data=(
                ActivityInput(org="bureau", kind="consultation", title="医保基金咨询", starts_at=start,
                              ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                              requirements=(RequirementInput("supervision", 3),))))
        async with bot.uow() as u:
            filed = await draws.file_request(u, actor=staff_actor(org.staff_id, org.bureau_id),
                                             activity_id=activity.id or 0)
        async with bot.uow() as u:
            outcome = await draws.approve(u, actor=staff_actor(org.admin_id, org.bureau_id, admin=True),
                                          request_id=filed.request.id or 0)
        assert outcome.record is not None and outcome.result is not None
        draw_id = outcome.record.id
        for person_id, user_id in ((org.admin_id, 90), (org.div1_staff_id, 91)):
            async with bot.uow() as u:
                issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=person_id)
            await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
            await emulator.wait_for_messages(user_id, 1)

        admin = emulator.user(90)
        await admin.send_command("/drawexport", "abc")
        await admin.send_command("/drawexport", f"{draw_id} docx")
        await emulator.wait_for(lambda: any(m.document for m in emulator.messages(90)), timeout=20)
        texts = [m.text for m in emulator.messages(90)]
        assert translate("zh", "draw_export.usage") in texts
        (sent,) = [m for m in emulator.messages(90) if m.document is not None]
        assert sent.document is not None and sent.document.file_name == f"draw-{draw_id}.docx"
        assert sent.caption == translate("zh", "draw_export.caption", draw_id=draw_id, format="DOCX")
        document = Document(io.BytesIO(sent.document.data))
        (roster,) = [t for t in document.tables if t.rows[0].cells[-1].text == "顺序"]
        names = [row.cells[2].text for row in list(roster.rows)[1:]]
        async with bot.uow() as u:
            seen = await draws.get_draw(u, actor=staff_actor(org.admin_id, org.bureau_id), draw_id=draw_id or 0)
        assert names == [seen.names[p] for p in outcome.result.principals]

        count = len(emulator.messages(91))
        await emulator.user(91).send_command("/drawexport", f"{draw_id}")
        replies = await emulator.wait_for_messages(91, count + 1)
        assert replies[-1].text == translate("zh", "error.draw_not_found", draw_id=draw_id)
