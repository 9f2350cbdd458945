"""Reading and writing the tables staff exchange with the bureau: XLSX and CSV.

Reading accepts XLSX (the first sheet) and CSV in UTF-8 (with or without BOM), UTF-16 or GB18030 (what
Chinese Excel writes), with comma, tab or semicolon separators; the old binary .xls is refused with
advice. Writing gives XLSX (bold headers, text cells kept as text, optional title row) or UTF-8 CSV
with a BOM (so Excel opens it as UTF-8). Pure: no database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from services.platform.errors import InvalidInput
from services.platform.xlsx import HEADER, TITLE, XlsxStream, column_letter
from services.platform.xlsx_read import iter_xlsx_rows

REASON_HEADER = "原因"
"""The first column of a rejected-rows report."""
SOURCE_ROW_HEADER = "原行号"
"""The second column: the row number in the file that was read."""

Cell = str | int | float | bool | date | datetime | time | None
"""A cell as read from a sheet or written to one."""


@dataclass(frozen=True)
class Issue:
    """A reason a row was rejected, or a note on what the import did: ``row`` as numbered in the file, the
    ``column`` header concerned (as written in the file when it has it), a stable ``code`` and an English
    ``message``; ``article`` names the rule a reason rests on, when it rests on one (e.g. "000 §8(四)")."""

    row: int
    column: str
    code: str
    message: str
    article: str = ""


@dataclass(frozen=True)
class RejectedRow:
    """A rejected row: its cells as read (aligned with :attr:`ImportReport.headers`) and every reason."""

    row: int
    cells: tuple[Cell, ...]
    reasons: tuple[Issue, ...]


@dataclass
class TableImportReport:
    """What an import found and did. ``applied`` is false when strict mode refused the file (nothing was
    written; ``created``/``updated``/``unchanged`` are then 0 and ``valid`` says how many rows passed)."""

    source: str
    strict: bool
    headers: tuple[str, ...] = ()
    total: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = True
    rejected: list[RejectedRow] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Strict mode found a bad row, so nothing was imported."""
        return not self.applied

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""How a cell that a spreadsheet would read as a formula starts (OWASP "CSV injection")."""


def neutralize(text: str) -> str:
    """``text`` safe to put into a CSV cell or a document table someone may paste into a spreadsheet: a leading
    ``'`` when it starts like a formula (OWASP), otherwise unchanged. :func:`read_cells` takes the mark off again."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def neutralize_lines(text: str) -> str:
    """:func:`neutralize` on each line of ``text``: a document cell of several lines may paste as several cells."""
    return "\n".join(neutralize(line) for line in text.split("\n"))


def hold_as_text(cell: Any) -> None:
    """Keep an openpyxl cell that holds text as text: a string (type ``s``; openpyxl makes "=…" a formula) in the
    text number format; a date cell gets the date format. For every XLSX writer, so no export carries a formula."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        cell.number_format = "@"
    elif isinstance(cell.value, date | datetime):
        cell.number_format = "yyyy-mm-dd"


def _unmark(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text


def text_of(value: Cell) -> str:
    """A cell as text: dates in ISO form, booleans as 是/否, whole floats without ".0"."""
    if type(value) is str:  # most cells: the fast path first (an import reads tens of cells per row)
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detect_format(data: bytes, filename: str) -> str:
    """"xlsx" or "csv" by content (then extension); InvalidInput for .xls or a damaged XLSX."""
    suffix = Path(filename).suffix.lower()
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0") or suffix == ".xls":
        raise InvalidInput("the old .xls format is not supported: save the file as .xlsx or CSV", field="file")
    if suffix in (".xlsx", ".xlsm"):
        raise InvalidInput(f"{filename} is not a valid XLSX file", field="file")
    return "csv"


def decode(data: bytes) -> str:
    """CSV bytes as text: UTF-16 by BOM, else UTF-8, else GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV file is neither UTF-8 nor GB18030 text", field="file") from None


def iter_cells(data: bytes, filename: str) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """Every row of the first sheet (or the CSV), numbered from 1 as in the file, one at a time: a caller that stops
    early (a row limit) leaves the rest of the file unread (:mod:`services.platform.xlsx_read`)."""
    if detect_format(data, filename) == "xlsx":
        yield from iter_xlsx_rows(data, filename)
        return
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, row in enumerate(reader, start=1):
        yield number, tuple(_unmark(cell) for cell in row)


def read_cells(data: bytes, filename: str) -> list[tuple[int, tuple[Cell, ...]]]:
    """Every row of the first sheet (or the CSV), numbered from 1 as in the file."""
    return list(iter_cells(data, filename))


@dataclass(frozen=True)
class Table:
    """A file's rows before its header row, the header row, and the data rows after it (as read)."""

    preface: tuple[tuple[int, tuple[Cell, ...]], ...]
    header: tuple[int, tuple[Cell, ...]]
    body: tuple[tuple[int, tuple[Cell, ...]], ...]


def split_table(data: bytes, filename: str, *, is_header: Callable[[tuple[Cell, ...]], bool], max_rows: int,
                search_rows: int = 20) -> Table | None:
    """The header row (the first of the first ``search_rows`` that ``is_header``) and the rows after it, or None
    without one. More than ``max_rows`` non-empty data rows: InvalidInput as soon as the row past the limit is read,
    before the rest of the file is (issue 21)."""
    rows = iter_cells(data, filename)
    preface: list[tuple[int, tuple[Cell, ...]]] = []
    for number, cells in rows:
        if is_header(cells):
            header = (number, cells)
            break
        preface.append((number, cells))
        if len(preface) >= search_rows:
            return None
    else:
        return None
    body: list[tuple[int, tuple[Cell, ...]]] = []
    filled = 0
    for number, cells in rows:
        if any(text_of(cell) for cell in cells):
            filled += 1
            if filled > max_rows:
                raise InvalidInput(f"at most {max_rows} rows per file", field="file")
        body.append((number, cells))
    return Table(tuple(preface), header, tuple(body))


class TableWriter:
    """A table written row by row, as XLSX or CSV by ``path``'s extension (a title row only in XLSX), in memory that
    does not grow with the rows, at about the CSV's cost for an XLSX (issue 21: :mod:`services.platform.xlsx`
    streams the sheet into the zip; the CSV writer writes each row as it comes). Text is never a formula: XLSX
    cells hold it as a string in the text format, CSV cells that start like a formula are marked
    (:func:`neutralize`). Dates get the ``yyyy-mm-dd`` format; bold headers, the panes frozen under them.

    Use as a context manager (the file is complete when it closes), or call :meth:`close`."""

    def __init__(self, path: Path, headers: Sequence[str], *, title: str | None = None) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise InvalidInput("the file name must end in .xlsx or .csv", field="file")
        self.path, self.count = path, 0
        self._stream: Any = None
        self._csv: Any = None
        self._xlsx: XlsxStream | None = None
        if suffix == ".csv":
            self._stream = path.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._stream)
            self._csv.writerow([neutralize(header) for header in headers])
            return
        width = max(1, len(headers))
        self._xlsx = XlsxStream(path, widths=[max(8, min(40, 2 * len(header) + 2)) for header in headers],
                                frozen=1 if title is None else 2,
                                merged=() if title is None else (f"A1:{column_letter(width)}1",))
        if title is not None:
            self._xlsx.append([title], text_style=TITLE)
        self._xlsx.append(list(headers), text_style=HEADER)

    def append(self, row: Sequence[Cell]) -> None:
        """Write one row."""
        if self._xlsx is not None:
            self._xlsx.append(row)
        else:
            self._csv.writerow([neutralize(text_of(cell)) for cell in row])
        self.count += 1

    def extend(self, rows: Iterable[Sequence[Cell]]) -> None:
        """Write these rows."""
        for row in rows:
            self.append(row)

    def close(self) -> None:
        """Finish the file (idempotent)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = self._csv = None
        if self._xlsx is not None:
            self._xlsx.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(
    path: Path, headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str | None = None
) -> None:
    """Write a table as XLSX or CSV by ``path``'s extension (a title row only in XLSX), streaming: see
    :class:`TableWriter`."""
    with TableWriter(path, headers, title=title) as writer:
        writer.extend(rows)
