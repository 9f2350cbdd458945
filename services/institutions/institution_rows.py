"""Reading and checking the rows of an institution file (:mod:`services.institutions.institution_io`, whose
docstring gives the columns, the codes of the reasons and the matching rules): the header row, the columns it
names, each row's values, and the stored institution each row updates, with the directory loaded once per file."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from services.institutions.institutions import InstitutionKind, clean_credit_code
from services.people.orgs import subtree
from services.platform import policy
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.platform.tables import REASON_HEADER, SOURCE_ROW_HEADER, Cell, Issue, TableImportReport, split_table
from services.platform.tables import text_of as _text_of
from storage.models import OrgUnit
from storage.pool import Institution
from storage.uow import UnitOfWork

__all__ = [
    "COLUMNS",
    "HEADER_SEARCH_ROWS",
    "KIND_LABELS",
    "LEVEL_LIMIT",
    "NAME_LIMIT",
    "Column",
    "Directory",
    "Row",
    "Sheet",
    "check_row",
    "load_directory",
    "map_columns",
    "parse_row",
    "read_sheet",
]

HEADER_SEARCH_ROWS = 20
NAME_LIMIT = 200
LEVEL_LIMIT = 32


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


def _is_header(cells: tuple[Cell, ...]) -> bool:
    return any(getattr(_BY_HEADER.get(_key(cell)), "field", None) == "name" for cell in cells)


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The header and data rows of an institution file (pure; raises InvalidInput for an unusable file, or as soon
    as a row past the policy's ``imports.max_rows`` is read)."""
    table = split_table(data, filename, is_header=_is_header, max_rows=policy.current().imports.max_rows,
                        search_rows=HEADER_SEARCH_ROWS)
    if table is None:
        raise InvalidInput("no header row found: the file needs a row of column headers with 机构名称", field="file")
    number, cells = table.header
    headers = tuple(_text_of(cell) for cell in cells)
    width = len(headers)
    return Sheet(headers, number, tuple((n, tuple(c[:width]) + (None,) * (width - len(c))) for n, c in table.body))


# --- checking rows ------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One data row being checked: its cells, the values read so far, its issues and the institution it updates."""

    number: int
    cells: tuple[Cell, ...]
    columns: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    target: Institution | None = None

    def reject(self, field_name: str, code: str, message: str) -> None:
        column = self.columns.get(field_name, _HEADER_OF.get(field_name, field_name))
        self.issues.append(Issue(self.number, column, code, message))


def _name(row: Row, text: str, _value: Cell) -> None:
    if len(text) > NAME_LIMIT:
        row.reject("name", "too_long", f"at most {NAME_LIMIT} characters, got {len(text)}")
    else:
        row.values["name"] = text


def _credit_code(row: Row, text: str, _value: Cell) -> None:
    try:
        row.values["credit_code"] = clean_credit_code(text)
    except InvalidInput as error:
        row.reject("credit_code", "invalid_credit_code", f"{text!r}: {error.detail}")


def _kind(row: Row, text: str, _value: Cell) -> None:
    kind = _KINDS.get(_key(text))
    if kind is None:
        row.reject("kind", "unknown_value", f"{text!r} is not one of {'/'.join(KIND_LABELS.values())}")
    else:
        row.values["kind"] = kind.value


def _level(row: Row, text: str, _value: Cell) -> None:
    if len(text) > LEVEL_LIMIT:
        row.reject("level", "too_long", f"at most {LEVEL_LIMIT} characters, got {len(text)}")
    else:
        row.values["level"] = text


def _org(row: Row, text: str, _value: Cell) -> None:
    row.values["org"] = text


def _designated(row: Row, text: str, value: Cell) -> None:
    key = _key(value)
    if key in _YES:
        row.values["designated"] = True
    elif key in _NO:
        row.values["designated"] = False
    else:
        row.reject("designated", "unknown_value", f"{text!r} is not 是 or 否")


_PARSERS: dict[str, Callable[[Row, str, Cell], None]] = {
    "name": _name, "credit_code": _credit_code, "kind": _kind, "level": _level, "org": _org,
    "designated": _designated,
}


def parse_row(row: Row, mapping: list[tuple[int, Column]]) -> None:
    """Fill ``row.values`` from the non-empty cells, rejecting what cannot be read."""
    for index, column in mapping:
        value = row.cells[index]
        text = " ".join(_text_of(value).split())
        if text:
            _PARSERS[column.field](row, text, value)
    if "name" not in row.values and not any(i.column == row.columns["name"] for i in row.issues):
        row.reject("name", "required", "required")


@dataclass
class Directory:
    """What the checks need from the database, loaded once for the whole file."""

    units: dict[str, OrgUnit]
    scope: set[int] | None
    by_code: dict[str, Institution]
    by_name: dict[str, list[Institution]]


async def load_directory(uow: UnitOfWork, actor: Actor, rows: list[Row]) -> Directory:
    """The org units, the actor's scope and the stored institutions the rows name (by code or by name)."""
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
    return Directory(units, scope, by_code, by_name)


def _resolve_org(row: Row, directory: Directory) -> None:
    org: str | None = row.values.get("org")
    if org is None:
        return
    unit = directory.units.get(org) or directory.units.get(org.lower())
    if unit is None:
        row.reject("org", "unknown_org", f"no org unit with code or name {org!r}")
        return
    row.values["org_unit_id"] = unit.id
    if directory.scope is not None and unit.id not in directory.scope:
        row.reject("org", "outside_scope", f"{unit.code} is outside your org unit")


def _find_target(row: Row, directory: Directory, name: str | None, code: str | None) -> Institution | None:
    """The stored institution the row updates: by credit code (or the one of that name without a code), else by
    exact name."""
    if code is not None:
        target = directory.by_code.get(code)
        if target is None and name is not None:
            unnumbered = [i for i in directory.by_name.get(name, []) if i.credit_code is None]
            target = unnumbered[0] if len(unnumbered) == 1 else None
        return target
    if name is not None and not any(i.column == row.columns.get("credit_code") for i in row.issues):
        matches = directory.by_name.get(name, [])
        if len(matches) > 1:
            row.reject("name", "ambiguous_name", f"several institutions are named {name!r}; give the credit code")
        elif matches:
            return matches[0]
    return None


def _check_repeats(row: Row, seen: dict[tuple[str, Any], int], name: str | None, code: str | None,
                   target: Institution | None) -> None:
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


def check_row(row: Row, directory: Directory, seen: dict[tuple[str, Any], int]) -> None:
    """Resolve the org unit, the scope and the stored institution the row updates (``row.target``)."""
    _resolve_org(row, directory)
    name: str | None = row.values.get("name")
    code: str | None = row.values.get("credit_code")
    target = _find_target(row, directory, name, code)
    if (target is not None and target.org_unit_id is not None and directory.scope is not None
            and target.org_unit_id not in directory.scope):
        row.reject("org", "outside_scope", f"{target.name!r} belongs to an org unit outside yours")
    _check_repeats(row, seen, name, code, target)
    row.target = target


def map_columns(sheet: Sheet, report: TableImportReport) -> tuple[list[tuple[int, Column]], dict[str, str]]:
    """The columns the header row names (by position), and the header written for each field; unknown and
    repeated columns get a note."""
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

