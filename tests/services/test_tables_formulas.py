"""Exports never carry live formulas (OWASP "CSV injection"; hardening issue 6): text that starts with ``=``, ``+``,
``-``, ``@``, a tab or a CR is a string cell in XLSX and is marked with ``'`` in CSV, and reads back as written; every
XLSX writer keeps text as strings through one helper; DOCX tables and addressee lines built from names, employers
and notes mark such text too, so a table pasted into a spreadsheet stays text."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook

from services.documents import reprimand_letter, work_record
from services.invitations import employer_letters
from services.platform.tables import (
    FORMULA_TRIGGERS,
    hold_as_text,
    neutralize,
    neutralize_lines,
    read_cells,
    write_table,
)

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


def test_one_helper_keeps_any_writers_text_cells_as_strings() -> None:
    from openpyxl import Workbook

    sheet = Workbook().active
    assert sheet is not None
    sheet.append(["=1+1", 7, date(2026, 3, 2)])
    for cell in sheet[1]:
        hold_as_text(cell)
    assert [c.data_type for c in sheet[1]] == ["s", "n", "d"]
    assert sheet["A1"].value == "=1+1" and sheet["C1"].number_format == "yyyy-mm-dd"


def test_neutralize_lines_marks_each_line_of_a_document_cell() -> None:
    assert neutralize_lines("=1+1：按时参加\n张三：良好\n@SUM(A1)") == "'=1+1：按时参加\n张三：良好\n'@SUM(A1)"


def _docx_texts(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return [p.text for p in document.paragraphs] + [
        cell.text for table in document.tables for row in table.rows for cell in row.cells]


def test_the_work_record_table_marks_names_and_notes_that_start_like_formulas() -> None:
    entry = work_record.SheetEntry(name="=1+1", employer='=HYPERLINK("http://x","y")', attendance="attended",
                                   performance="good", recusal="none_needed", discipline="breach",
                                   discipline_note="+86 迟到", credit_opinion="")
    sheet = work_record.WorkRecordSheet(title="@SUM(A1)", organizer="-机构", entries=(entry,), decision="consensus",
                                        final_opinion="同意", recorder="=记录员")
    cells = [line for text in _docx_texts(work_record.render(sheet)) for line in text.split("\n")]
    assert not any(line.startswith(FORMULA_TRIGGERS) for line in cells)
    assert "'@SUM(A1)" in cells and "'-机构" in cells and "'=记录员" in cells
    assert "'=1+1（=HYPERLINK(\"http://x\",\"y\")）" in cells


def test_letters_to_employers_mark_an_addressee_that_starts_like_a_formula() -> None:
    reprimand = reprimand_letter.render(reprimand_letter.ReprimandLetter(
        employer="=1+1", name="@SUM(A1)", article="第二十七条", evidence=(), day=date(2026, 3, 2)))
    assert "'=1+1：" in _docx_texts(reprimand)
    letter = employer_letters.to_docx(employer_letters.Letter(
        reference="编号 1", addressee='=HYPERLINK("http://x","y")：', opening="开头", items=(("专家", "=1+1"),),
        request="请求", contact="联系", signature="（盖章）", date="2026年3月2日"))
    texts = _docx_texts(letter)
    assert "'=HYPERLINK(\"http://x\",\"y\")：" in texts
    assert not any(text.startswith(FORMULA_TRIGGERS) for text in texts)
