"""The files of the reports (issue 17): the monthly statistical tables as XLSX (one sheet per table, the unit rows
then the bold total row) and the yearly written report as DOCX (headings, paragraphs, tables, charts embedded).
Filled from plain values and labels already in the reader's language; openpyxl and python-docx load on first use.
Text cells never start a formula (:func:`services.platform.tables.neutralize`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.platform.tables import neutralize

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """A titled table: headers, rows, and an optional total row."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    total: list[Cell] = field(default_factory=list)


def _safe(cell: Cell) -> Cell:
    return neutralize(cell) if isinstance(cell, str) else cell


def monthly_xlsx(tables: Sequence[Table]) -> bytes:
    """One sheet per table: its title, the headers, the rows and the total row, bold where it should be."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append([_safe(table.title)])
        sheet.append([_safe(h) for h in table.headers])
        for row in table.rows:
            sheet.append([_safe(c) for c in row])
        if table.total:
            sheet.append([_safe(c) for c in table.total])
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        for cell in sheet[1] + sheet[2]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "B3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Section:
    """A part of the yearly report: its heading, paragraphs, tables and charts (PNG)."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[bytes] = field(default_factory=list)


def yearly_docx(title: str, sections: Sequence[Section]) -> bytes:
    """The yearly report as DOCX."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    doc = Document()
    doc.add_heading(neutralize(title), level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for section in sections:
        doc.add_heading(neutralize(section.heading), level=1)
        for paragraph in section.paragraphs:
            doc.add_paragraph(neutralize(paragraph))
        for table in section.tables:
            doc.add_paragraph(neutralize(table.title))
            grid = doc.add_table(rows=1, cols=len(table.headers))
            grid.style = "Table Grid"
            for cell, header in zip(grid.rows[0].cells, table.headers, strict=True):
                cell.text = neutralize(header)
            for row in [*table.rows, *([table.total] if table.total else [])]:
                for cell, value in zip(grid.add_row().cells, row, strict=False):
                    cell.text = neutralize(str(value if value is not None else ""))
        for png in section.charts:
            doc.add_picture(io.BytesIO(png), width=Cm(16))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
