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
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from services.institutions.institutions import InstitutionKind, clean_credit_code
from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.platform.tables import (
    REASON_HEADER,
    SOURCE_ROW_HEADER,
    Cell,
    Issue,
    RejectedRow,
    TableImportReport,
    write_table,
)
from services.platform.tables import read_cells as _read_cells
from services.platform.tables import text_of as _text_of
from storage.models import OrgUnit
from storage.pool import Institution
from storage.uow import UnitOfWork

MAX_ROWS = 10_000
HEADER_SEARCH_ROWS = 20
NAME_LIMIT = 200
LEVEL_LIMIT = 32
SOURCE = "institution_import"


KIND_LABELS: dict[InstitutionKind, str] = {
    InstitutionKind.HOSPITAL: "医院", InstitutionKind.PHARMACY: "药店", InstitutionKind.CLINIC: "诊所",
    InstitutionKind.INSURER: "保险机构", InstitutionKind.GOVERNMENT: "政府机关", InstitutionKind.UNIVERSITY: "高校",
    InstitutionKind.OTHER: "其他",
}
_KINDS: dict[str, InstitutionKind] = (
    {kind.value: kind for kind in InstitutionKind} | {label: kind for kind, label in KIND_LABELS.items()}
    | {"药房": InstitutionKind.PHARMACY, "零售药店": InstitutionKind.PHARMACY, "保险公司": InstitutionKind.INSURER,
       "政府": InstitutionKind.GOVERNMENT, "机关": InstitutionKind.GOVERNMENT, "大学": InstitutionKind.UNIVERSITY,
       "高等院校": InstitutionKind.UNIVERSITY, "其它": InstitutionKind.OTHER}
)
_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "定点"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "非定点"})


@dataclass(frozen=True)
class Column:
    """One column: its header (as written on export), the field it fills and other accepted headers."""

    header: str
    field: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("机构名称", "name", ("name", "名称", "单位名称", "机构", "institution")),
    Column("统一社会信用代码", "credit_code", ("credit_code", "信用代码", "社会信用代码", "统一信用代码")),
    Column("机构类型", "kind", ("kind", "type", "类型")),
    Column("等级", "level", ("level", "机构等级", "医院等级")),
    Column("所属单位", "org", ("org", "org_unit", "所属师市")),
    Column("定点机构", "designated", ("designated", "是否定点", "是否定点机构", "定点")),
)
"""The columns in export order."""

_IGNORED = ("序号", "seq", "no", REASON_HEADER, "reason", SOURCE_ROW_HEADER, "source_row")


def _key(value: Cell) -> str:
    return "".join(unicodedata.normalize("NFKC", _text_of(value)).split()).lower().strip("*:")


_BY_HEADER = {_key(name): column for column in COLUMNS for name in (column.header, *column.aliases)}
_HEADER_OF = {column.field: column.header for column in COLUMNS}
_IGNORED_KEYS = frozenset(_key(name) for name in _IGNORED)




@dataclass(frozen=True)
class Sheet:
    """A file's header row (as written, numbered as in the file) and its data rows, padded to the headers."""

    headers: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The header and data rows of an institution file (pure; raises InvalidInput for an unusable file)."""
    rows = _read_cells(data, filename)
    for index, (number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(getattr(_BY_HEADER.get(_key(cell)), "field", None) == "name" for cell in cells):
            headers = tuple(_text_of(cell) for cell in cells)
            width = len(headers)
            body = tuple((n, tuple(c[:width]) + (None,) * (width - len(c))) for n, c in rows[index + 1:])
            if len(body) > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per file", field="file")
            return Sheet(headers, number, body)
    raise InvalidInput("no header row found: the file needs a row of column headers with 机构名称", field="file")


# --- the report ---------------------------------------------------------------------------------------------


class InstitutionImportReport(TableImportReport):
    """What an institution import found and did (see :class:`services.platform.tables.TableImportReport`)."""


# --- checking rows ------------------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    cells: tuple[Cell, ...]
    columns: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    target: Institution | None = None

    def reject(self, field_name: str, code: str, message: str) -> None:
        column = self.columns.get(field_name, _HEADER_OF.get(field_name, field_name))
        self.issues.append(Issue(self.number, column, code, message))


def _parse_row(row: _Row, mapping: list[tuple[int, Column]]) -> None:
    """Fill ``row.values`` from the non-empty cells, rejecting what cannot be read."""
    for index, column in mapping:
        value = row.cells[index]
        text = " ".join(_text_of(value).split())
        if not text:
            continue
        if column.field == "name":
            if len(text) > NAME_LIMIT:
                row.reject("name", "too_long", f"at most {NAME_LIMIT} characters, got {len(text)}")
            else:
                row.values["name"] = text
        elif column.field == "credit_code":
            try:
                row.values["credit_code"] = clean_credit_code(text)
            except InvalidInput as error:
                row.reject("credit_code", "invalid_credit_code", f"{text!r}: {error.detail}")
        elif column.field == "kind":
            kind = _KINDS.get(_key(text))
            if kind is None:
                row.reject("kind", "unknown_value", f"{text!r} is not one of {'/'.join(KIND_LABELS.values())}")
            else:
                row.values["kind"] = kind.value
        elif column.field == "level":
            if len(text) > LEVEL_LIMIT:
                row.reject("level", "too_long", f"at most {LEVEL_LIMIT} characters, got {len(text)}")
            else:
                row.values["level"] = text
        elif column.field == "org":
            row.values["org"] = text
        elif column.field == "designated":
            key = _key(value)
            if key in _YES:
                row.values["designated"] = True
            elif key in _NO:
                row.values["designated"] = False
            else:
                row.reject("designated", "unknown_value", f"{text!r} is not 是 or 否")
    if "name" not in row.values and not any(i.column == row.columns["name"] for i in row.issues):
        row.reject("name", "required", "required")


@dataclass
class _Directory:
    """What the checks need from the database, loaded once for the whole file."""

    units: dict[str, OrgUnit]
    scope: set[int] | None
    by_code: dict[str, Institution]
    by_name: dict[str, list[Institution]]


async def _load_directory(uow: UnitOfWork, actor: Actor, rows: list[_Row]) -> _Directory:
    units: dict[str, OrgUnit] = {}
    for unit in await uow.org_units.all():
        units.update({unit.name: unit, unit.code.lower(): unit})
    scope = None if actor.person_id is None else await subtree(uow, actor.staff_org_unit_id or 0)
    codes = sorted({r.values["credit_code"] for r in rows if "credit_code" in r.values})
    names = sorted({r.values["name"] for r in rows if "name" in r.values})
    by_code: dict[str, Institution] = {}
    by_name: dict[str, list[Institution]] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        found = await uow.session.exec(select(Institution).where(col(Institution.credit_code).in_(chunk)))
        by_code.update({i.credit_code: i for i in found if i.credit_code})
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        found = await uow.session.exec(
            select(Institution).where(col(Institution.name).in_(chunk)).order_by(col(Institution.id)))
        for institution in found:
            by_name.setdefault(institution.name, []).append(institution)
    return _Directory(units, scope, by_code, by_name)


def _check(row: _Row, directory: _Directory, seen: dict[tuple[str, Any], int]) -> None:
    """Resolve the org unit, the scope and the stored institution the row updates (``row.target``)."""
    org: str | None = row.values.get("org")
    if org is not None:
        unit = directory.units.get(org) or directory.units.get(org.lower())
        if unit is None:
            row.reject("org", "unknown_org", f"no org unit with code or name {org!r}")
        else:
            row.values["org_unit_id"] = unit.id
            if directory.scope is not None and unit.id not in directory.scope:
                row.reject("org", "outside_scope", f"{unit.code} is outside your org unit")
    name: str | None = row.values.get("name")
    code: str | None = row.values.get("credit_code")
    target: Institution | None = None
    if code is not None:
        target = directory.by_code.get(code)
        if target is None and name is not None:
            unnumbered = [i for i in directory.by_name.get(name, []) if i.credit_code is None]
            target = unnumbered[0] if len(unnumbered) == 1 else None
    elif name is not None and not any(i.column == row.columns.get("credit_code") for i in row.issues):
        matches = directory.by_name.get(name, [])
        if len(matches) > 1:
            row.reject("name", "ambiguous_name", f"several institutions are named {name!r}; give the credit code")
        elif matches:
            target = matches[0]
    if (target is not None and target.org_unit_id is not None and directory.scope is not None
            and target.org_unit_id not in directory.scope):
        row.reject("org", "outside_scope", f"{target.name!r} belongs to an org unit outside yours")
    keys: list[tuple[str, Any]] = []
    if code is not None:
        keys.append(("code", code))
    elif name is not None:
        keys.append(("name", name))
    if target is not None:
        keys.append(("id", target.id))
    for key in keys:
        if key in seen:
            column = "credit_code" if key[0] == "code" else "name"
            row.reject(column, "duplicate_in_file", f"the same institution as row {seen[key]}")
            break
    for key in keys:
        seen.setdefault(key, row.number)
    row.target = target


# --- import -------------------------------------------------------------------------------------------------


def _map_columns(sheet: Sheet, report: InstitutionImportReport) -> tuple[list[tuple[int, Column]], dict[str, str]]:
    mapping: list[tuple[int, Column]] = []
    columns: dict[str, str] = {}
    for index, header in enumerate(sheet.headers):
        column = _BY_HEADER.get(_key(header))
        if column is None:
            if header and _key(header) not in _IGNORED_KEYS:
                report.notes.append(Issue(sheet.header_row, header, "unknown_column", "column not recognized; ignored"))
        elif column.field in columns:
            report.notes.append(Issue(sheet.header_row, header, "repeated_column",
                                      f"same column as {columns[column.field]!r}; ignored"))
        else:
            columns[column.field] = header
            mapping.append((index, column))
    return mapping, columns


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
    mapping, columns = _map_columns(sheet, report)
    rows = [_Row(n, cells, columns) for n, cells in sheet.rows
            if any(_text_of(cells[index]) for index, _ in mapping)]
    for row in rows:
        _parse_row(row, mapping)
    report.total = len(rows)
    directory = await _load_directory(uow, actor, rows)
    seen: dict[tuple[str, Any], int] = {}
    valid: list[_Row] = []
    position = {header: index for index, header in reversed(list(enumerate(sheet.headers)))}
    for row in rows:
        _check(row, directory, seen)
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


async def _apply(uow: UnitOfWork, actor: Actor, report: InstitutionImportReport, row: _Row, now: datetime) -> None:
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
