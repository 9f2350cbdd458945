"""Exports never carry live formulas (OWASP "CSV injection"), end to end through the command line: an expert table
(CSV) whose names, employers and titles start like formulas (``=1+1``, ``=HYPERLINK(…)``, ``+86``, ``@SUM(A1)``) is
imported; the experts come back out of ``export experts`` as string cells in XLSX and marked with ``'`` in CSV, and
out of ``draw export`` (annex 3) as string cells in XLSX and marked in the DOCX tables (a pasted table stays text).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from docx import Document
from openpyxl import load_workbook

from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.identifiers import id_check_char
from services.platform.tables import FORMULA_TRIGGERS
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org, staff_actor
from tests.conftest import T0

MAIN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
LINK = '=HYPERLINK("http://x","y")'
NAMES, EMPLOYERS, TITLES = ["=1+1", LINK, "@SUM(A1)"], [LINK, "+86", "=1+1"], ["+86", "@SUM(A1)", "-2+3"]
HOSTILE = {*NAMES, *EMPLOYERS, *TITLES}


def _id_number(birth: str, sequence: str) -> str:
    body = "650102" + birth + sequence
    return body + id_check_char(body)


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TIME_"))}
    environment.update(DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "-c", MAIN, *args], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)


def _hostile_csv(path: Path) -> Path:
    numbers = [_id_number("19750304", "131"), _id_number("19800101", "242"), _id_number("19821212", "353")]
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["姓名", "身份证号码", "专业类型", "工作单位", "专业职称"])
        writer.writerows([name, number, "医保监管", employer, title]
                         for name, number, employer, title in zip(NAMES, numbers, EMPLOYERS, TITLES, strict=True))
    return path


def _assert_text_cells(data: bytes) -> set[str]:
    """Every text cell of the workbook (loaded with its formulas, not data_only) is a string; the texts."""
    texts: set[str] = set()
    for row in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert cell.data_type == "s", (cell.coordinate, cell.value)
                texts.add(cell.value)
    return texts


async def test_imported_names_that_look_like_formulas_are_exported_as_text(
    database_url: str, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    org = await build_org(uow_factory)
    source = _hostile_csv(tmp_path / "experts.csv")
    imported = _cli(database_url, "import", "experts", str(source), "--org", "bureau")
    assert imported.returncode == 0, imported.stderr
    assert "3 created" in imported.stdout and "0 rejected" in imported.stdout, imported.stdout

    # export experts: XLSX string cells with the exact text, CSV cells marked
    for name in ("pool.xlsx", "pool.csv"):
        exported = _cli(database_url, "export", "experts", str(tmp_path / name), "--org", "bureau")
        assert exported.returncode == 0, exported.stderr
    texts = _assert_text_cells((tmp_path / "pool.xlsx").read_bytes())
    assert set(NAMES) <= texts and set(EMPLOYERS) <= texts and set(TITLES) <= texts
    with (tmp_path / "pool.csv").open(encoding="utf-8-sig", newline="") as stream:
        cells = [cell for row in csv.reader(stream) for cell in row]
    assert {"'" + text for text in HOSTILE} <= set(cells)
    assert not any(cell.startswith(FORMULA_TRIGGERS) for cell in cells)

    # a draw of these experts, exported in the annex-3 layout
    start = T0 + timedelta(days=14)
    clerk, admin = staff_actor(org.staff_id, org.bureau_id), staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with uow_factory() as u:
        activity = await activities.create_activity(u, actor=clerk, data=ActivityInput(
            org="bureau", kind="special_inspection", title="=2+2 专项检查", starts_at=start,
            ends_at=start + timedelta(days=2), response_deadline=start - timedelta(days=3),
            requirements=(RequirementInput("supervision", 3, 0),), place="+石河子"))
    assert activity.id is not None
    async with uow_factory() as u:
        filed = await draws.file_request(u, actor=clerk, activity_id=activity.id)
    assert filed.request.id is not None
    async with uow_factory() as u:
        outcome = await draws.approve(u, actor=admin, request_id=filed.request.id)
    assert outcome.record is not None and outcome.record.id is not None
    draw_id = str(outcome.record.id)
    for fmt in ("xlsx", "docx"):
        exported = _cli(database_url, "draw", "export", draw_id, "--as", str(org.staff_id), "--format", fmt,
                        "--out", str(tmp_path / f"draw.{fmt}"))
        assert exported.returncode == 0, exported.stderr

    texts = _assert_text_cells((tmp_path / "draw.xlsx").read_bytes())
    assert set(NAMES) <= texts and set(EMPLOYERS) <= texts and "=2+2 专项检查" in texts and "+石河子" in texts
    document = Document(str(tmp_path / "draw.docx"))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert {"'" + text for text in (*NAMES, *EMPLOYERS)} <= set(cells)
    assert "'=2+2 专项检查" in cells and "'+石河子" in cells
    assert not any(cell.startswith(FORMULA_TRIGGERS) for cell in cells)
