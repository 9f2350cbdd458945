"""Importing and exporting the institution directory: XLSX and CSV, validation, strict mode, re-import."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, select

from services.institutions import institution_io
from services.institutions.institutions import add_institution
from services.platform import audit
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.identifiers import credit_code_check_char, org_code_check_char
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.models import AuditEntry
from storage.pool import Institution
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org

HEADERS = ["机构名称", "统一社会信用代码", "机构类型", "等级", "所属单位", "定点机构"]


def credit_code(seed: int) -> str:
    """A valid unified social credit code."""
    for n in range(seed * 100, seed * 100 + 100):
        org8 = f"{n:08d}"
        check = org_code_check_char(org8)
        if check != "X":
            body = "12650100" + org8 + check
            return body + credit_code_check_char(body)
    raise AssertionError("no code")  # pragma: no cover


HOSPITAL = credit_code(1)
PHARMACY = credit_code(2)
BAD_CODE = HOSPITAL[:17] + ("1" if HOSPITAL[17] == "0" else "0")


def write_xlsx(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title is not None:
        sheet.append([title])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


GOOD = [
    ["第一师医院", HOSPITAL, "医院", "三级甲等", "div1", "是"],
    ["阿拉尔康宁大药房", PHARMACY, "pharmacy", "", "第二师医保局", "否"],
    ["石河子诊所", "", "诊所", "", "", ""],
]


async def run_import(uow_factory: UnitOfWorkFactory, source: Path | bytes, *, actor: Actor = SYSTEM_CLI,
                     **options: Any) -> institution_io.InstitutionImportReport:
    async with uow_factory() as uow:
        return await institution_io.import_institutions(uow, actor=actor, source=source, **options)


async def institutions(uow_factory: UnitOfWorkFactory) -> dict[str, Institution]:
    async with uow_factory() as uow:
        return {i.name: i for i in (await uow.session.exec(select(Institution))).all()}


async def audit_actions(uow_factory: UnitOfWorkFactory) -> list[tuple[str, dict[str, Any]]]:
    async with uow_factory() as uow:
        entries = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.action).like("institution.%"))
                                          .order_by(col(AuditEntry.id)))).all()
        return [(e.action, e.details) for e in entries]


def staff_actor(person_id: int, unit_id: int) -> Actor:
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.STAFF}),
                 staff_org_unit_id=unit_id)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def test_a_workbook_creates_institutions_with_every_column(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "机构.xlsx", HEADERS, GOOD, title="定点医药机构名录")
    report = await run_import(uow_factory, path)
    assert (report.total, report.created, report.updated, report.unchanged, report.rejected) == (3, 3, 0, 0, [])
    stored = await institutions(uow_factory)
    hospital = stored["第一师医院"]
    assert (hospital.credit_code, hospital.kind, hospital.level, hospital.org_unit_id, hospital.designated) == (
        HOSPITAL, "hospital", "三级甲等", org.div1_id, True)
    assert (stored["阿拉尔康宁大药房"].kind, stored["阿拉尔康宁大药房"].org_unit_id) == ("pharmacy", org.div2_id)
    clinic = stored["石河子诊所"]
    assert (clinic.credit_code, clinic.kind, clinic.org_unit_id, clinic.designated) == (None, "clinic", None, False)
    actions = await audit_actions(uow_factory)
    assert [a for a, _ in actions] == ["institution.created"] * 3
    assert actions[0][1]["fields"] == ["credit_code", "designated", "kind", "level", "name", "org_unit_id"]
    async with uow_factory() as uow:
        assert (await audit.verify_chain(uow)).ok


async def test_every_rejection_is_reported_per_row_and_the_valid_rows_are_applied(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="同名医院", kind="hospital")
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="同名医院", kind="clinic")
    path = write_xlsx(tmp_path / "bad.xlsx", [*HEADERS, "备注"], [
        ["第一师医院", HOSPITAL, "医院", "三级甲等", "div1", "是", "x"],  # row 2: good
        ["", BAD_CODE, "卫生院", "三" * 33, "nowhere", "也许", ""],  # row 3: everything wrong
        ["", "", "", "", "", "", ""],  # row 4: blank, skipped
        ["第一师医院（重复）", HOSPITAL, "", "", "", "", ""],  # row 5: same code as row 2
        ["同名医院", "", "", "", "", "", ""],  # row 6: two stored institutions of that name
        ["长" * 201, "", "", "", "", "", ""],  # row 7: name too long
    ])
    report = await run_import(uow_factory, path)
    assert (report.total, report.valid, report.created) == (5, 1, 1)
    reasons = {r.row: [(i.column, i.code) for i in r.reasons] for r in report.rejected}
    assert reasons == {
        3: [("机构名称", "required"), ("统一社会信用代码", "invalid_credit_code"), ("机构类型", "unknown_value"),
            ("等级", "too_long"), ("所属单位", "unknown_org"), ("定点机构", "unknown_value")],
        5: [("统一社会信用代码", "duplicate_in_file")],
        6: [("机构名称", "ambiguous_name")],
        7: [("机构名称", "too_long")],
    }
    assert all(i.message and i.row == r.row for r in report.rejected for i in r.reasons)
    assert [(n.column, n.code) for n in report.notes] == [("备注", "unknown_column")]
    rejections = tmp_path / "rejected.xlsx"
    assert institution_io.write_rejections(report, rejections) == 4
    sheet = load_workbook(rejections).active
    assert sheet is not None and (sheet["A1"].value, sheet["B2"].value) == ("原因", 3)


async def test_staff_import_only_into_their_subtree(uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="第二师医院", kind="hospital", org="div2")
    path = write_xlsx(tmp_path / "scope.xlsx", HEADERS, [
        ["第一师医院", HOSPITAL, "医院", "", "div1", ""],
        ["阿拉尔康宁大药房", PHARMACY, "药店", "", "div2", ""],
        ["石河子诊所", "", "诊所", "", "", ""],
        ["第二师医院", "", "", "二级甲等", "", ""],
    ])
    report = await run_import(uow_factory, path, actor=staff_actor(org.div1_staff_id, org.div1_id))
    assert (report.created, report.updated) == (2, 0)
    assert {r.row: [i.code for i in r.reasons] for r in report.rejected} == {3: ["outside_scope"],
                                                                            5: ["outside_scope"]}
    expert = Actor(label="person:99", person_id=org.expert_id, roles=frozenset({Role.EXPERT}))
    with pytest.raises(PermissionDenied):
        await run_import(uow_factory, path, actor=expert)


async def test_strict_mode_applies_nothing_when_a_row_fails(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "strict.xlsx", HEADERS, [*GOOD, ["坏代码医院", BAD_CODE, "", "", "", ""]])
    report = await run_import(uow_factory, path, strict=True)
    assert report.refused and (report.valid, report.created, len(report.rejected)) == (3, 0, 1)
    assert await institutions(uow_factory) == {}
    assert await audit_actions(uow_factory) == []


async def test_importing_the_same_file_twice_changes_nothing(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "same.xlsx", HEADERS, GOOD)
    await run_import(uow_factory, path)
    before = await audit_actions(uow_factory)
    again = await run_import(uow_factory, path)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
    assert await audit_actions(uow_factory) == before


async def test_a_row_updates_by_code_or_by_name_and_audits_the_changed_fields(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="第一师医院", kind="other", credit_code=HOSPITAL)
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="康宁大药房", kind="pharmacy")
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="石河子诊所", kind="clinic")
    path = write_csv(tmp_path / "update.csv", ["name", "credit_code", "kind", "level", "designated"], [
        ["第一师医院（总院）", HOSPITAL, "hospital", "三级甲等", ""],  # renamed, matched by code
        ["康宁大药房", PHARMACY, "", "", "是"],  # code given to the one uncoded record of that name
        ["石河子诊所", "", "", "一级", ""],  # matched by name
    ])
    report = await run_import(uow_factory, path)
    assert (report.created, report.updated, report.unchanged) == (0, 3, 0)
    stored = await institutions(uow_factory)
    assert set(stored) == {"第一师医院（总院）", "康宁大药房", "石河子诊所"}
    renamed = stored["第一师医院（总院）"]
    assert (renamed.kind, renamed.level, renamed.designated) == ("hospital", "三级甲等", False)
    assert (stored["康宁大药房"].credit_code, stored["康宁大药房"].designated) == (PHARMACY, True)
    updates = [d for a, d in await audit_actions(uow_factory) if a == "institution.updated"]
    assert [d["fields"] for d in updates] == [["kind", "level", "name"], ["credit_code", "designated"], ["level"]]
    async with uow_factory() as uow:
        assert (await audit.verify_chain(uow)).ok


async def test_a_gb18030_csv_with_english_headers_is_read(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "gbk.csv", ["name", "credit_code", "kind", "level", "org", "designated"], GOOD,
                     encoding="gb18030")
    report = await run_import(uow_factory, path.read_bytes(), filename="gbk.csv")
    assert (report.created, report.rejected) == (3, [])
    assert "阿拉尔康宁大药房" in await institutions(uow_factory)


async def test_a_file_without_a_name_column_is_refused(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    with pytest.raises(InvalidInput):
        await run_import(uow_factory, "统一社会信用代码,机构类型\n".encode(), filename="x.csv")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_export_writes_the_import_columns_sorted_by_name_and_reads_back(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path, suffix: str
) -> None:
    await run_import(uow_factory, write_xlsx(tmp_path / "in.xlsx", HEADERS, GOOD))
    out = tmp_path / f"out{suffix}"
    async with uow_factory() as uow:
        assert await institution_io.export_institutions(uow, actor=SYSTEM_CLI, path=out) == 3
    if suffix == ".xlsx":
        sheet = load_workbook(out).active
        assert sheet is not None
        rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    else:
        with out.open(encoding="utf-8-sig", newline="") as stream:
            rows = list(csv.reader(stream))
    assert rows[0] == HEADERS
    assert rows[1:] == sorted([
        ["第一师医院", HOSPITAL, "医院", "三级甲等", "div1", "是"],
        ["阿拉尔康宁大药房", PHARMACY, "药店", "", "div2", "否"],
        ["石河子诊所", "", "诊所", "", "", "否"],
    ], key=lambda row: str(row[0]))
    async with uow_factory() as uow:
        assert await institution_io.export_institutions(uow, actor=SYSTEM_CLI, path=out, org="div1") == 1
    again = await run_import(uow_factory, out)
    assert (again.unchanged, again.rejected) == (1, [])
