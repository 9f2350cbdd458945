"""The institution-directory commands as an operator uses them: ``import institutions`` and ``export institutions``.

They run ``bot.cli.main`` in a subprocess, like tests/e2e/test_cli_pool.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook

from services.platform.identifiers import credit_code_check_char, org_code_check_char
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org

MAIN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def _credit_code(seed: int) -> str:
    for n in range(seed * 100, seed * 100 + 100):
        org8 = f"{n:08d}"
        check = org_code_check_char(org8)
        if check != "X":
            body = "12650100" + org8 + check
            return body + credit_code_check_char(body)
    raise AssertionError("no code")  # pragma: no cover


HOSPITAL = _credit_code(1)


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment.update(DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-c", MAIN, *args], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)


def _workbook(path: Path, *rows: list[object]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["机构名称", "统一社会信用代码", "机构类型", "等级", "所属单位", "定点机构"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


async def test_import_then_export_institutions(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await build_org(uow_factory)
    source = _workbook(tmp_path / "institutions.xlsx",
                       ["第一师医院", HOSPITAL, "医院", "三级甲等", "div1", "是"],
                       ["石河子诊所", "", "诊所", "", "", "否"],
                       ["坏机构", "123", "卫生院", "", "", ""])
    strict = _cli(database_url, "import", "institutions", str(source), "--strict")
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[0] == (
        "institutions.xlsx: strict mode, 1 of 3 rows rejected; nothing was imported.")
    rejections = tmp_path / "rejected.csv"
    first = _cli(database_url, "import", "institutions", str(source), "--rejections", str(rejections))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "institutions.xlsx: 3 institution rows: 2 created, 0 updated, 0 unchanged, 1 rejected."
    assert lines[1].startswith("  rejected row 4: 统一社会信用代码: ") and "机构类型: " in lines[1]
    assert lines[-1] == f"1 rejected row(s) written to {rejections}"
    second = _cli(database_url, "import", "institutions", str(source))
    assert second.stdout.splitlines()[0] == (
        "institutions.xlsx: 3 institution rows: 0 created, 0 updated, 2 unchanged, 1 rejected.")
    exported = tmp_path / "directory.xlsx"
    export = _cli(database_url, "export", "institutions", str(exported), "--org", "div1")
    assert export.returncode == 0, export.stderr
    assert export.stdout.strip() == f"1 institution(s) written to {exported}"
    sheet = load_workbook(exported).active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True)) == [
        ("机构名称", "统一社会信用代码", "机构类型", "等级", "所属单位", "定点机构"),
        ("第一师医院", HOSPITAL, "医院", "三级甲等", "div1", "是"),
    ]
    verify = _cli(database_url, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("audit chain intact")
