"""The expert-pool commands as an operator uses them: ``import experts`` and ``export experts``.

They run ``bot.cli.main`` in a subprocess; until ``bot.cli_pool.register`` is wired into ``bot.cli`` the tests skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from services.platform.identifiers import id_check_char
from services.pool.pool_jobs import daily_sweep
from storage.models import AuditEntry, Expert
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_pool, build_org, staff_actor
from tests.conftest import T0
from tests.keyed import unlock_like_the_bot

MAIN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def _id_number(birth: str, sequence: str) -> str:
    body = "650102" + birth + sequence
    return body + id_check_char(body)


LI = _id_number("19750304", "131")
WANG = _id_number("19800101", "242")


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment.update(DATABASE_URL=database_url)
    result = subprocess.run([sys.executable, "-c", MAIN, *args], env=environment, capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode == 2 and "invalid choice: 'import'" in result.stderr + result.stdout:
        pytest.skip("cli_pool not wired")
    if result.returncode == 2 and "invalid choice: 'export'" in result.stderr + result.stdout:
        pytest.skip("cli_pool not wired")
    return result


def _workbook(path: Path, *rows: list[object]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["兵团医疗保障局监管专家推荐汇总表"])
    sheet.append(["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
                  "电话（手机）电子邮箱", "专业类型"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


GOOD = [
    [1, "李四", "男", "第一师医院 医务科科长 主任医师", "本科", "新疆医科大学", "临床医学", LI, "13800138000",
     "医保监管"],
    [2, "王五", "女", "石河子大学 副教授", "博士", "复旦大学", "会计学", WANG, "13900139000 w@example.com", "管理"],
]
BAD = [3, "赵六", "女", "", "", "", "", LI[:17] + ("1" if LI[17] == "0" else "0"), "12345", "会计"]


def test_import_and_export_commands_have_help(database_url: str) -> None:
    for command in (["import", "experts", "--help"], ["export", "experts", "--help"]):
        result = _cli(database_url, *command)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout


async def test_import_reports_in_one_paragraph_and_a_second_run_changes_nothing(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await build_org(uow_factory)
    source = _workbook(tmp_path / "experts.xlsx", *GOOD, BAD)
    rejections = tmp_path / "rejected.xlsx"
    first = _cli(database_url, "import", "experts", str(source), "--org", "div1", "--rejections", str(rejections))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == ("experts.xlsx: 3 rows into pool div1: 2 created, 0 updated, 0 unchanged, 1 rejected; "
                        "2 institution(s) added to the directory.")
    assert any(line.startswith("  rejected row 5: 身份证号码: ") and "电话（手机）电子邮箱: " in line
               for line in lines)
    assert lines[-1] == f"1 rejected row(s) written to {rejections}"
    sheet = load_workbook(rejections).active
    assert sheet is not None and sheet["A1"].value == "原因" and sheet["D2"].value == "赵六"
    second = _cli(database_url, "import", "experts", str(source), "--org", "div1")
    assert second.returncode == 0
    assert second.stdout.splitlines()[0] == (
        "experts.xlsx: 3 rows into pool div1: 0 created, 0 updated, 2 unchanged, 1 rejected.")
    exported = tmp_path / "pool.xlsx"
    export = _cli(database_url, "export", "experts", str(exported), "--org", "div1")
    assert export.returncode == 0, export.stderr
    assert export.stdout.strip() == f"3 expert(s) (active) written to {exported}; ID numbers in full"
    rows = list(load_workbook(exported).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "兵团医疗保障局监管专家推荐汇总表" and rows[1][:2] == ("序号", "姓名")
    assert {row[7] for row in rows[2:]} == {None, LI, WANG}
    verify = _cli(database_url, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("audit chain intact")


async def test_a_strict_import_with_a_bad_row_imports_nothing_and_exits_1(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await build_org(uow_factory)
    source = _workbook(tmp_path / "experts.xlsx", *GOOD, BAD)
    result = _cli(database_url, "import", "experts", str(source), "--org", "div1", "--strict")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "experts.xlsx: strict mode, 1 of 3 rows rejected; nothing was imported (pool div1).")
    export = _cli(database_url, "export", "experts", str(tmp_path / "pool.csv"), "--org", "div1")
    assert export.stdout.startswith("1 expert(s)")  # only build_org's 张专家


def test_a_file_that_cannot_be_read_exits_1_with_one_line(database_url: str, tmp_path: Path) -> None:
    result = _cli(database_url, "import", "experts", str(tmp_path / "missing.xlsx"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: InvalidInput: ")


OLD = _id_number("19550601", "111")  # over 65 on any day these tests run
VIOLATOR = _id_number("19780202", "231")


def _roster_with_ineligible_rows(path: Path) -> Path:
    """Two good rows, one over 65 and one with a recorded insurance violation (000 §9(三))."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
                  "电话（手机）电子邮箱", "专业类型", "违反医保规定"])
    for row in GOOD:
        sheet.append([*row, "否"])
    sheet.append([3, "老专家", "男", "", "本科", "", "", OLD, "13700137000", "医保监管", "否"])
    sheet.append([4, "违规者", "男", "", "本科", "", "", VIOLATOR, "13600136000", "医保监管", "是"])
    workbook.save(path)
    return path


async def _experts_by_id_number(uow_factory: UnitOfWorkFactory, database_url: str) -> dict[str, Expert]:
    await unlock_like_the_bot(uow_factory, database_url)  # the CLI wrote the ID numbers encrypted (issue 19)
    async with uow_factory() as u:
        return {e.id_number: e for e in (await u.session.exec(select(Expert))).all() if e.id_number}


async def test_a_roster_with_an_over_65_row_and_a_9_row_imports_them_as_applicants_with_the_article(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    org = await build_org(uow_factory)
    source = _roster_with_ineligible_rows(tmp_path / "roster.xlsx")
    result = _cli(database_url, "import", "experts", str(source), "--org", "div1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("roster.xlsx: 4 rows into pool div1: 4 created, 0 updated, 0 unchanged, 0 rejected; "
                               "2 not eligible (000 §8-§9)")
    old_line = next(line for line in lines if line.startswith("  not eligible row 4"))
    assert "身份证号码: not eligible (000 §8(四)): age_limit" in old_line
    violator_line = next(line for line in lines if line.startswith("  not eligible row 5"))
    assert "违反医保规定: not eligible (000 §9(三)): insurance_violation" in violator_line
    experts = await _experts_by_id_number(uow_factory, database_url)
    for number in (OLD, VIOLATOR):
        assert (experts[number].state, experts[number].term_start, experts[number].term_end) == (
            "under_review", None, None)
    assert experts[LI].state == experts[WANG].state == "active"
    # Neither is ever drawn: a draw needing every active supervision expert of the pool takes the others only.
    result = await _draw_all_supervision(uow_factory, org)
    assert result.ok
    drawn = set(result.principals + result.backups)
    assert experts[OLD].person_id not in drawn and experts[VIOLATOR].person_id not in drawn
    assert experts[LI].person_id in drawn
    # The daily job leaves them alone (it never exits anyone who is not active).
    report = await daily_sweep(uow_factory)
    assert report.age_exits == 0
    assert (await _experts_by_id_number(uow_factory, database_url))[OLD].state == "under_review"


async def test_strict_rejects_an_ineligible_row_and_the_admin_override_is_audited_but_gives_no_term_past_65(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    org = await build_org(uow_factory)
    source = _roster_with_ineligible_rows(tmp_path / "roster.xlsx")
    strict = _cli(database_url, "import", "experts", str(source), "--org", "div1", "--strict")
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[0] == (
        "roster.xlsx: strict mode, 2 of 4 rows rejected; nothing was imported (pool div1).")
    assert any(line.startswith("  rejected row 5: ") and "000 §9(三)" in line for line in strict.stdout.splitlines())
    missing_reason = _cli(database_url, "import", "experts", str(source), "--org", "div1", "--admit-ineligible")
    assert missing_reason.returncode == 1 and "--reason" in missing_reason.stderr
    admitted = _cli(database_url, "import", "experts", str(source), "--org", "div1", "--admit-ineligible",
                    "--reason", "2019年聘任的专家，早于本办法")
    assert admitted.returncode == 0, admitted.stderr
    assert "2 not eligible (000 §8-§9), 1 of them admitted by override" in admitted.stdout.splitlines()[0]
    experts = await _experts_by_id_number(uow_factory, database_url)
    assert experts[VIOLATOR].state == "active" and experts[VIOLATOR].term_end is not None
    assert (experts[OLD].state, experts[OLD].term_end) == ("under_review", None)
    async with uow_factory() as u:
        entries = (await u.session.exec(select(AuditEntry).where(
            AuditEntry.action == "expert.admitted_ineligible"))).all()
    assert [e.object_id for e in entries] == [str(experts[VIOLATOR].person_id)]
    assert entries[0].details["reason"] == "2019年聘任的专家，早于本办法"
    assert entries[0].details["articles"] == ["000 §9(三)"]
    # Admitted, the violator is still never drawn: a draw needing every active supervision expert falls short by
    # one, and the explanation names the 000 §9 exclusion.
    result = await _draw_all_supervision(uow_factory, org)
    assert not result.ok
    (short,) = result.shortfalls
    assert (short.short, short.removed["disqualified"]) == (1, 1)


async def _draw_all_supervision(uow_factory: UnitOfWorkFactory, org: Org) -> Any:
    """Draw (as the bureau) every active supervision expert: principals and backups up to the pool's size."""
    from services.activities import activities
    from services.activities.activities import ActivityInput, RequirementInput
    from services.draws import draws

    async with uow_factory() as u:
        supervision = [e for e in (await u.session.exec(select(Expert))).all()
                       if e.state == "active" and "supervision" in e.categories]
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(3)])
    size = len(supervision) + 3
    start = T0 + timedelta(days=14)
    clerk, admin = staff_actor(org.staff_id, org.bureau_id), staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow_factory() as u:
        activity = await activities.create_activity(u, actor=clerk, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="全部抽取", starts_at=start,
            ends_at=start + timedelta(days=2), response_deadline=start - timedelta(days=3),
            requirements=(RequirementInput("supervision", 3, size - 3),), institution_ids=(), place="石河子"))
    assert activity.id is not None
    async with uow_factory() as u:
        filed = await draws.file_request(u, actor=clerk, activity_id=activity.id)
    assert filed.request.id is not None
    async with uow_factory() as u:
        outcome = await draws.approve(u, actor=admin, request_id=filed.request.id)
    assert outcome.result is not None
    return outcome.result
