"""The expert-pool commands as an operator uses them: ``import experts`` and ``export experts``.

They run ``bot.cli.main`` in a subprocess; until ``bot.cli_pool.register`` is wired into ``bot.cli`` the tests skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from services.platform.identifiers import id_check_char
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org

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
