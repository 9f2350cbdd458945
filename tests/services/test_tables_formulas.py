"""Exports never carry live formulas (OWASP "CSV injection"; hardening issue 6): text that starts with ``=``, ``+``,
``-``, ``@``, a tab or a CR is a string cell in XLSX and is marked with ``'`` in CSV, and reads back as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.platform.tables import neutralize, read_cells, write_table

HOSTILE = ["=1+1", '=HYPERLINK("http://evil.example","点我")', "+86 138", "-2+3", "@SUM(A1)", "\tx", "\rx", "张三"]


def test_xlsx_cells_written_from_text_are_strings_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_table(path, ["姓名", "备注"], [[text, 7] for text in HOSTILE], title="=TITLE()")
    sheet = load_workbook(path).worksheets[0]  # not data_only: formulas would show as type "f"
    cells = [sheet.cell(row, 1) for row in range(3, 3 + len(HOSTILE))]
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)
    assert [c.value for c in cells] == HOSTILE
    assert sheet.cell(3, 2).data_type == "n"


def test_csv_cells_that_start_like_a_formula_are_marked_and_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_table(path, ["=姓名"], [[text] for text in HOSTILE])
    raw = path.read_text(encoding="utf-8-sig")
    assert raw.startswith("'=姓名")
    assert "\n=1+1" not in raw and "'=1+1" in raw and "'@SUM(A1)" in raw
    rows = read_cells(path.read_bytes(), "out.csv")
    assert [row[0] for _, row in rows] == ["=姓名", *(text.strip() for text in HOSTILE)]  # CSV cells are trimmed


@pytest.mark.parametrize(("text", "safe"), [("=1", "'=1"), ("a=1", "a=1"), ("", ""), ("'=1", "'=1")])
def test_neutralize_marks_only_formula_starts(text: str, safe: str) -> None:
    assert neutralize(text) == safe
