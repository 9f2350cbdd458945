"""Reading an expert table: the header row, the data rows, and the import report."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from services.platform import policy
from services.platform.errors import InvalidInput
from services.platform.tables import Cell, RejectedRow, TableImportReport
from services.platform.tables import split_table as _split_table
from services.platform.tables import text_of as _text_of
from services.pool.expert_io.columns import BY_HEADER, cell_key

HEADER_SEARCH_ROWS = 20


# --- the report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryProblem:
    """A work-history line of ``row`` that could not be read, or a period whose institution (``text``) is not one
    institution of the directory: ``code`` is ``history_unmatched`` or says why the line cannot be read."""

    row: int
    text: str
    code: str


@dataclass
class ImportReport(TableImportReport):
    """What an expert import found and did (see :class:`services.platform.tables.TableImportReport`), plus the pool it
    went
    into and the institutions it added to the directory."""

    org_code: str = ""
    institutions_created: int = 0
    ineligible: list[RejectedRow] = field(default_factory=list)
    """Rows that fail the eligibility rules (000 §8–§9), each reason with its article: imported, but new experts
    among them as 审核中 without a term unless admitted by the audited override (``admitted_ineligible``)."""
    admitted_ineligible: int = 0
    history_unmatched: list[HistoryProblem] = field(default_factory=list)
    """Work-history periods (000 annex 1) that could not be read, or matched to the directory (kept unmatched)."""


# --- reading a file -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A file's header row (as written, numbered as in the file) and its data rows, padded to the headers."""

    headers: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]
    default_recommending: str | None = None


def header_key(value: Cell) -> str:
    return cell_key(value).strip("*:")


def _is_header(cells: tuple[Cell, ...]) -> bool:
    fields = {spec.field for spec in (BY_HEADER.get(header_key(cell)) for cell in cells) if spec is not None}
    return len(fields) >= 2 and bool(fields & {"name", "id_number"})


def read_sheet(data: bytes, filename: str, *, max_rows: int | None = None) -> Sheet:
    """The header and data rows of an XLSX or CSV file (pure; raises InvalidInput for an unusable file, or as soon
    as a row past ``max_rows`` is read: default, the policy's ``imports.max_rows``)."""
    limit = max_rows if max_rows is not None else policy.current().imports.max_rows
    table = _split_table(data, filename, is_header=_is_header, max_rows=limit, search_rows=HEADER_SEARCH_ROWS)
    if table is None:
        raise InvalidInput("no header row found: the file needs a row of column headers with 姓名 and 身份证号码",
                           field="file")
    default_recommending: str | None = None
    for _, cells in table.preface:
        first = next((unicodedata.normalize("NFKC", _text_of(c)) for c in cells if _text_of(c)), "")
        if first.startswith("推荐单位") and ":" in first:
            default_recommending = " ".join(first.split(":", 1)[1].split()) or None
    number, cells = table.header
    headers = tuple(_text_of(cell) for cell in cells)
    width = len(headers)
    body = tuple((n, tuple(c[:width]) + (None,) * (width - len(c))) for n, c in table.body)
    return Sheet(headers, number, body, default_recommending)
