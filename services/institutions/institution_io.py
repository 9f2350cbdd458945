"""Import and export of the institution directory (机构名录导入导出) as XLSX or CSV, for any front end.

Columns (``*`` = required; English aliases in brackets): 机构名称* (name) | 统一社会信用代码 (credit_code; GB 32100) |
机构类型 (kind: 医院/药店/诊所/保险机构/政府机关/高校/其他 or hospital/pharmacy/clinic/insurer/government/university/
other; default 其他 for a new institution) | 等级 (level, free text up to 32 characters, e.g. 三级甲等) | 所属单位 (org:
an org unit's code or name; empty: no division) | 定点机构 (designated: 是/否, also Y/N, 1/0, √/×).

Reading is the expert import's (:mod:`services.pool.expert_io`): XLSX by content, else CSV in UTF-8, UTF-16 or GB18030
with
a comma, tab or semicolon. The header row is the first of the first 20 rows naming 机构名称; rows above it (a title)
are skipped; headers match after NFKC normalization without spaces, ``*`` and colons, case-insensitively. Unknown
columns are ignored with a note; 原因, 原行号 and 序号 silently, so a fixed rejections file can be imported again.
Rows are numbered as in the file; empty rows are skipped.

Applying: every row is checked completely and a rejected row lists every reason (:class:`Issue`: row, column, stable
code, English message). Codes: ``required``, ``too_long``, ``invalid_credit_code``, ``unknown_value`` (机构类型 or
定点机构), ``unknown_org``, ``outside_scope``, ``ambiguous_name``, ``duplicate_in_file``. Default mode applies the
valid rows; ``strict=True`` applies nothing when any row fails. All of it is one transaction.

A row is matched to a stored institution by credit code; a code not in the directory is given to the one stored
institution of that exact name without a code, if there is one. A row without a code is matched by exact name (several
stored institutions of that name: ``ambiguous_name``). An empty cell keeps the stored value (import never clears one),
so importing a file twice changes nothing the second time. Staff may import only into their org subtree, and may not
change an institution that belongs to a division outside it; rows without 所属单位 are allowed for any staff. Every
created or updated institution gets one audit entry (``institution.created`` / ``institution.updated``) naming the
changed fields.

Export writes the same columns (labels in Chinese, 所属单位 as the org unit's code), sorted by name.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from services.institutions.institution_rows import (
    COLUMNS,
    KIND_LABELS,
    Column,
    Row,
    Sheet,
    check_row,
    load_directory,
    map_columns,
    parse_row,
    read_sheet,
)
from services.institutions.institutions import InstitutionKind
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.platform.tables import (
    REASON_HEADER,
    SOURCE_ROW_HEADER,
    Cell,
    RejectedRow,
    TableImportReport,
    write_table,
)
from services.platform.tables import text_of as _text_of
from storage.pool import Institution
from storage.uow import UnitOfWork

__all__ = [
    "COLUMNS",
    "KIND_LABELS",
    "SOURCE",
    "Column",
    "InstitutionImportReport",
    "Sheet",
    "export_institutions",
    "import_institutions",
    "read_sheet",
    "write_rejections",
]

SOURCE = "institution_import"


# --- the report ---------------------------------------------------------------------------------------------


class InstitutionImportReport(TableImportReport):
    """What an institution import found and did (see :class:`services.platform.tables.TableImportReport`)."""


# --- import -------------------------------------------------------------------------------------------------


async def import_institutions(
    uow: UnitOfWork,
    *,
    actor: Actor,
    source: Path | bytes,
    filename: str | None = None,
    strict: bool = False,
) -> InstitutionImportReport:
    """Import institutions from an XLSX or CSV file (a path, or its bytes with ``filename``) in one transaction
    that this commits (nothing is written when strict mode refuses). See the module docstring for the rules."""
    await require_scope_over_units(uow, actor, set())  # the system or staff only
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            data = await asyncio.to_thread(source.read_bytes)
        except OSError as error:
            raise InvalidInput(f"cannot read {source}: {error.strerror}", field="file") from None
    else:
        data = source
    sheet = await asyncio.to_thread(read_sheet, data, filename or "upload")
    report = InstitutionImportReport(source=filename or "upload", strict=strict, headers=sheet.headers)
    mapping, columns = map_columns(sheet, report)
    rows = [Row(n, cells, columns) for n, cells in sheet.rows
            if any(_text_of(cells[index]) for index, _ in mapping)]
    for row in rows:
        parse_row(row, mapping)
    report.total = len(rows)
    directory = await load_directory(uow, actor, rows)
    seen: dict[tuple[str, Any], int] = {}
    valid: list[Row] = []
    position = {header: index for index, header in reversed(list(enumerate(sheet.headers)))}
    for row in rows:
        check_row(row, directory, seen)
        if row.issues:
            reasons = sorted(row.issues, key=lambda issue: position.get(issue.column, len(position)))
            report.rejected.append(RejectedRow(row.number, row.cells, tuple(reasons)))
        else:
            valid.append(row)
    report.valid = len(valid)
    if strict and report.rejected:
        report.applied = False
        return report
    now = uow.now()
    for row in valid:
        await _apply(uow, actor, report, row, now)
    await uow.commit()
    return report


_FIELDS = ("name", "credit_code", "kind", "level", "org_unit_id", "designated")


async def _apply(uow: UnitOfWork, actor: Actor, report: InstitutionImportReport, row: Row, now: datetime) -> None:
    values = {key: row.values[key] for key in _FIELDS if key in row.values}
    institution = row.target
    if institution is None:
        values.setdefault("kind", InstitutionKind.OTHER.value)
        institution = Institution(created_at=now, updated_at=now, **values)
        uow.session.add(institution)
        await uow.session.flush()
        assert institution.id is not None
        await audit.record(uow, at=now, actor=actor.label, action="institution.created", object_type="institution",
                           object_id=institution.id, details={
                               "name": institution.name, "credit_code": institution.credit_code,
                               "kind": institution.kind, "fields": sorted(values), "source": SOURCE,
                               "row": row.number})
        report.created += 1
        report.created_ids.append(institution.id)
        return
    changed = sorted(key for key, value in values.items() if getattr(institution, key) != value)
    if not changed:
        report.unchanged += 1
        return
    for key in changed:
        setattr(institution, key, values[key])
    institution.updated_at = now
    uow.session.add(institution)
    await uow.session.flush()
    assert institution.id is not None
    await audit.record(uow, at=now, actor=actor.label, action="institution.updated", object_type="institution",
                       object_id=institution.id, details={"fields": changed, "source": SOURCE, "row": row.number})
    report.updated += 1
    report.updated_ids.append(institution.id)


# --- writing ------------------------------------------------------------------------------------------------


def write_rejections(report: InstitutionImportReport, path: Path) -> int:
    """Write the rejected rows as read, after a 原因 column and a 原行号 column (XLSX or CSV by extension), so the
    file can be fixed and imported again. Returns the row count."""
    headers = [REASON_HEADER, SOURCE_ROW_HEADER, *report.headers]
    rows: list[list[Cell]] = [
        ["；".join(f"{issue.column}：{issue.message}" for issue in rejected.reasons), rejected.row, *rejected.cells]
        for rejected in report.rejected
    ]
    write_table(path, headers, rows)
    return len(rows)


async def export_institutions(uow: UnitOfWork, *, actor: Actor, path: Path, org: str | None = None) -> int:
    """Write the institutions (of ``org``'s subtree when given, else all of them) to ``path`` (.xlsx or .csv)
    in the import's columns, sorted by name. Returns the row count."""
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InvalidInput("the file name must end in .xlsx or .csv", field="file")
    query = select(Institution)
    if org is not None:
        unit = await get_unit(uow, org)
        assert unit.id is not None
        await require_scope_over_units(uow, actor, {unit.id})
        query = query.where(col(Institution.org_unit_id).in_(await subtree(uow, unit.id)))
    else:
        await require_scope_over_units(uow, actor, set())
    found = sorted((await uow.session.exec(query)).all(), key=lambda i: (i.name, i.id or 0))  # same on any DB
    units = {u.id: u.code for u in await uow.org_units.all()}
    rows: list[list[Cell]] = []
    for institution in found:
        kind = KIND_LABELS.get(InstitutionKind(institution.kind)) if institution.kind in set(InstitutionKind) else None
        rows.append([
            institution.name, institution.credit_code, kind or institution.kind, institution.level,
            units.get(institution.org_unit_id) if institution.org_unit_id is not None else None,
            "是" if institution.designated else "否",
        ])
    await asyncio.to_thread(write_table, path, [column.header for column in COLUMNS], rows)
    return len(rows)
