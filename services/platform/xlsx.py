"""A streaming XLSX writer for the bureau's tables: one sheet, rows written to the zip as they come.

Why not openpyxl here: its write-only mode keeps memory flat, but it builds a cell object and an XML element per cell
(about 15-40 µs each on this machine): 50,000 experts of 27 columns cost 40× what the CSV writer does (issue 21,
``bench/tables.py``). This writer formats each row as one string, so an XLSX export costs about what the CSV export
costs. It writes only what the exports use, as openpyxl wrote it: text cells as strings (inline strings, type
``s`` when read) in the text format ``@``, so text starting with ``=`` is never a formula; dates and datetimes as
numbers in the ``yyyy-mm-dd`` format; numbers and booleans as themselves; a bold header row, an optional bold
centred title row merged across the columns, column widths, the panes frozen under the header. openpyxl (reading)
and spreadsheet programs read it like any other workbook.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

TEXT, DATE, HEADER, TITLE = 1, 2, 3, 4
"""Cell styles (indexes into ``cellXfs`` of :data:`_STYLES`); 0 is the default (numbers)."""

_EPOCH = datetime(1899, 12, 30)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry: dropped (openpyxl refused the whole file for them)."""
_PLAIN = re.compile(r"[^&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*").fullmatch
"""Text that needs no escaping (most of it)."""
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '<xf numFmtId="49" fontId="2" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1" '
    'applyAlignment="1"><alignment horizontal="center"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_PARTS = {
    "[Content_Types].xml": (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Target="xl/workbook.xml" '
        f'Type="{_REL}/officeDocument"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="{_REL}/worksheet"/>'
        f'<Relationship Id="rId2" Target="styles.xml" Type="{_REL}/styles"/></Relationships>'),
    "xl/styles.xml": _STYLES,
}


def column_letter(index: int) -> str:
    """The letters of the 1-based column ``index`` (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(text: str) -> str:
    if _PLAIN(text):
        return text
    text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


class XlsxStream:
    """One worksheet named ``Sheet`` written row by row into ``path``: the sheet's XML goes through the zip's
    deflate stream in chunks, so memory does not grow with the rows. ``widths`` are the column widths;
    ``frozen`` the rows kept in view (the panes are frozen under them); ``merged`` ranges like ``A1:G1``."""

    CHUNK = 500
    """Rows formatted before they are handed to the zip stream."""

    def __init__(self, path: Path, *, widths: Sequence[float], frozen: int = 0, merged: Sequence[str] = ()) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._sheet: IO[bytes] = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._letters = [column_letter(i) for i in range(1, len(widths) + 1)]
        self._merged, self._pending, self.rows = tuple(merged), [], 0
        pane = (f'<pane ySplit="{frozen}" topLeftCell="A{frozen + 1}" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft"/>') if frozen else ""
        columns = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                          for i, w in enumerate(widths, start=1))
        self._pending.append(f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">{pane}'
                             f'</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                             + (f"<cols>{columns}</cols>" if columns else "") + "<sheetData>")

    def _letter(self, index: int) -> str:
        while index >= len(self._letters):
            self._letters.append(column_letter(len(self._letters) + 1))
        return self._letters[index]

    def append(self, values: Sequence[Any], *, text_style: int = TEXT) -> None:
        """Write the next row: ``str`` in ``text_style``, dates as dates, numbers and booleans as they are,
        ``None`` as an empty cell."""
        self.rows += 1
        number = self.rows
        parts = [f'<row r="{number}">']
        for index, value in enumerate(values):
            if value is None:
                continue
            ref = f"{self._letter(index)}{number}"
            if isinstance(value, str):
                parts.append(f'<c r="{ref}" s="{text_style}" t="inlineStr"><is><t xml:space="preserve">'
                             f"{_escape(value)}</t></is></c>")
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            elif isinstance(value, date):
                parts.append(f'<c r="{ref}" s="{DATE}"><v>{_serial(value)}</v></c>')
            else:  # a time of day, or a number Excel cannot hold: written as text
                parts.append(f'<c r="{ref}" s="{TEXT}" t="inlineStr"><is><t>{_escape(_text(value))}</t></is></c>')
        parts.append("</row>")
        self._pending.append("".join(parts))
        if len(self._pending) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        self._sheet.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def close(self) -> None:
        """Finish the sheet and write the workbook's other parts."""
        if self._zip.fp is None:
            return
        self._pending.append("</sheetData>")
        if self._merged:
            self._pending.append(f'<mergeCells count="{len(self._merged)}">'
                                 + "".join(f'<mergeCell ref="{ref}"/>' for ref in self._merged) + "</mergeCells>")
        self._pending.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
                             "</worksheet>")
        self._flush()
        self._sheet.close()
        for name, content in _PARTS.items():
            self._zip.writestr(name, content)
        self._zip.writestr("xl/workbook.xml", f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
                                              '<sheet name="Sheet" sheetId="1" r:id="rId1"/></sheets></workbook>')
        self._zip.close()


def _serial(value: date) -> str:
    """Excel's serial number of a date or a (naive or aware: its wall time) datetime."""
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - _EPOCH
        return repr(delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000)
    return str((value - _EPOCH.date()).days)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, time) else str(value)
