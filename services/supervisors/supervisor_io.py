"""Supervisor registry import and export (XLSX/CSV, 002 §3–§7), like the expert registry's: each row validated
(``services.supervisors.supervisors.clean``), strict mode imports nothing unless every row is valid, idempotent by ID
number.

Columns (Chinese headers; English accepted on import): 姓名 name, 身份证号码 id_number, 手机 mobile, 所属单位 org
(code), 来源 source (002 §4), 聘任方式 method (002 §6), 聘书编号 certificate, 工作证编号 work_id, 聘期开始
term_start; the export adds 聘期结束, 状态 and 终止原因.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from services.platform.errors import DomainError, InvalidInput
from services.platform.roles import Actor
from services.platform.tables import (
    REASON_HEADER,
    SOURCE_ROW_HEADER,
    Cell,
    Issue,
    RejectedRow,
    TableImportReport,
    read_cells,
    text_of,
    write_table,
)
from services.supervisors.supervisors import SupervisorInput, clean, list_supervisors, save_supervisor
from storage.uow import UnitOfWork

COLUMNS = (("姓名", "name"), ("身份证号码", "id_number"), ("手机", "mobile"), ("所属单位", "org"),
           ("来源", "source"), ("聘任方式", "method"), ("聘书编号", "certificate"), ("工作证编号", "work_id"),
           ("聘期开始", "term_start"))
EXPORT_HEADERS = (*(zh for zh, _ in COLUMNS), "聘期结束", "状态", "终止原因")
REQUIRED = ("name", "id_number", "org")


def _fields(headers: tuple[Cell, ...]) -> dict[str, int]:
    names = {zh: en for zh, en in COLUMNS} | {en: en for _, en in COLUMNS}
    return {names[text_of(h).strip()]: i for i, h in enumerate(headers) if text_of(h).strip() in names}


def _day(value: Cell) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text_of(value).strip()
    return date.fromisoformat(raw) if raw else None


_Rows = list[tuple[int, tuple[Cell, ...]]]


def _table(rows: _Rows) -> tuple[tuple[Cell, ...], dict[str, int], _Rows]:
    """The header row, the column of each field and the data rows (an exported file's title row skipped)."""
    if not rows:
        raise InvalidInput("the file is empty", field="file")
    if len(rows) > 1 and "name" not in _fields(rows[0][1]):  # an exported XLSX starts with a title row
        rows = rows[1:]
    headers = rows[0][1]
    index = _fields(headers)
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        raise InvalidInput(f"missing columns: {', '.join(missing)}", field="file")
    return headers, index, rows[1:]


def _read_row(number: int, cells: tuple[Cell, ...], index: dict[str, int], *, today: date,
              report: TableImportReport) -> SupervisorInput | None:
    """One row as checked input, or None after adding it to the report's rejected rows."""
    def cell(name: str) -> Cell:
        position = index.get(name)
        return cells[position] if position is not None and position < len(cells) else None
    try:
        data = SupervisorInput(
            name=text_of(cell("name")), id_number=text_of(cell("id_number")), org=text_of(cell("org")).strip(),
            source=text_of(cell("source")).strip() or "other",
            appointment_method=text_of(cell("method")).strip() or "open_selection",
            certificate_number=text_of(cell("certificate")) or None,
            work_id_number=text_of(cell("work_id")) or None,
            mobile=text_of(cell("mobile")) or None, term_start=_day(cell("term_start")))
        clean(data, today=today)
    except (InvalidInput, ValueError) as error:
        column = getattr(error, "params", {}).get("field", "") if isinstance(error, DomainError) else "term_start"
        report.rejected.append(RejectedRow(number, cells, (Issue(number, str(column), "invalid", str(error)),)))
        return None
    return data


async def _save_all(uow: UnitOfWork, actor: Actor, valid: list[tuple[int, SupervisorInput]],
                    report: TableImportReport) -> None:
    """Save the valid rows; one the registry refuses is reported as rejected."""
    for number, data in valid:
        try:
            person_id, created = await save_supervisor(uow, actor=actor, data=data, commit=False)
        except DomainError as error:
            report.rejected.append(RejectedRow(number, (), (Issue(number, "", "refused", str(error)),)))
            continue
        if created:
            report.created += 1
            report.created_ids.append(person_id)
        else:
            report.updated += 1
            report.updated_ids.append(person_id)


async def import_supervisors(uow: UnitOfWork, *, actor: Actor, source: bytes, filename: str,
                             strict: bool = False) -> TableImportReport:
    """Import a registry table; every row checked, rejected rows reported with their reasons. Commits."""
    rows = read_cells(source, filename)
    report = TableImportReport(source=filename, strict=strict)
    headers, index, body = _table(rows)
    report.headers = tuple(text_of(h) for h in headers)
    valid: list[tuple[int, SupervisorInput]] = []
    for number, cells in body:
        if not any(text_of(c).strip() for c in cells):
            continue
        report.total += 1
        data = _read_row(number, cells, index, today=uow.today(), report=report)
        if data is not None:
            valid.append((number, data))
    report.valid = len(valid)
    if strict and report.rejected:
        report.applied = False
        return report
    await _save_all(uow, actor, valid, report)
    await uow.commit()
    return report


async def export_supervisors(uow: UnitOfWork, *, actor: Actor, path: Path, org: str | None = None) -> int:
    """Write the registry of the caller's line (ID numbers masked unless admin or CLI); the number of rows."""
    found = await list_supervisors(uow, actor=actor, org=org)
    rows: list[list[Cell]] = [[v.name, v.id_number, v.mobile, v.org_code, v.source, v.appointment_method,
                               v.certificate_number, v.work_id_number, v.term_start, v.term_end, v.status,
                               v.end_reason] for v in found]
    write_table(path, EXPORT_HEADERS, rows, title="医疗保障基金社会监督员名册")
    return len(rows)


# --- the rejected rows, to be fixed and sent again -------------------------------------------------------------

_FIELD_ALIASES = {"certificate_number": "certificate", "work_id_number": "work_id", "appointment_method": "method"}


def column_header(field: str) -> str:
    """The Chinese header of the column a rejection names (``clean``'s field names included); else ``field``."""
    name = _FIELD_ALIASES.get(field, field)
    return next((zh for zh, en in COLUMNS if en == name), field)


def write_rejections(report: TableImportReport, path: Path, *,
                     describe: Callable[[Issue], str] | None = None) -> int:
    """Write the rejected rows as read, after a 原因 column and a 原行号 column (XLSX or CSV by ``path``'s
    extension), so the file can be fixed and imported again. Returns the row count."""
    explain = describe or (lambda issue: f"{column_header(issue.column)}：{issue.message}")
    rows: list[list[Cell]] = [
        ["；".join(explain(issue) for issue in rejected.reasons), rejected.row, *rejected.cells]
        for rejected in report.rejected
    ]
    write_table(path, [REASON_HEADER, SOURCE_ROW_HEADER, *report.headers], rows)
    return len(rows)
