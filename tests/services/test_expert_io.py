"""Importing and exporting expert records: annex 2 layout plus annex 1 columns, XLSX and CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, func, select

from services.institutions.institutions import add_institution
from services.platform import audit
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.identifiers import credit_code_check_char, id_check_char, org_code_check_char
from services.platform.roles import SYSTEM_CLI, Actor, Role
from services.pool import expert_io
from storage.models import AuditEntry, Expert, Person
from storage.pool import ExpertEmployment, Institution
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org

TODAY = date(2026, 3, 2)  # T0 in Shanghai
ANNEX = ["序号", "姓名", "性别", "工作单位及职务职称", "学历", "毕业院校", "主要专业及相关专业", "身份证号码",
         "电话（手机）电子邮箱"]


def id_number(birth: str = "19800101", sequence: str = "123") -> str:
    """A valid ID number (sequence's last digit odd: male)."""
    body = "650102" + birth + sequence
    return body + id_check_char(body)


def credit_code(seed: int) -> str:
    """A valid unified social credit code."""
    for n in range(seed * 100, seed * 100 + 100):
        org8 = f"{n:08d}"
        check = org_code_check_char(org8)
        if check != "X":
            body = "12650100" + org8 + check
            return body + credit_code_check_char(body)
    raise AssertionError("no code")  # pragma: no cover


LI = id_number("19750304", "131")  # male
WANG = id_number("19800101", "242")  # female
ZHAO = id_number("19821212", "353")  # male


def write_xlsx(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: bool = True) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    if title:
        sheet.append([expert_io.TITLE])
        sheet.append(["推荐单位（盖章）："])
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


async def run_import(uow_factory: UnitOfWorkFactory, path: Path, *, actor: Actor = SYSTEM_CLI,
                     org: str | None = "div1", **options: Any) -> expert_io.ImportReport:
    async with uow_factory() as uow:
        return await expert_io.import_experts(uow, actor=actor, source=path, org=org, **options)


async def expert_by_id(uow_factory: UnitOfWorkFactory, number: str) -> tuple[Expert, Person]:
    async with uow_factory() as uow:
        found = (await uow.session.exec(select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id))
                                        .where(Expert.id_number == number))).one()
        return found[0], found[1]


async def count(uow_factory: UnitOfWorkFactory, model: Any) -> int:
    async with uow_factory() as uow:
        return int((await uow.session.exec(select(func.count()).select_from(model))).one())


def staff_actor(person_id: int, unit_id: int, *, admin: bool = False) -> Actor:
    roles = frozenset({Role.STAFF, Role.ADMIN}) if admin else frozenset({Role.STAFF})
    return Actor(label=f"person:{person_id}", person_id=person_id, roles=roles, staff_org_unit_id=unit_id)


FULL_HEADERS = [*ANNEX, "民族", "出生日期", "参加工作时间", "工作单位", "工作单位统一社会信用代码", "职务", "职务级别",
                "专业职称", "职称等级", "专业类型", "临床子类", "专业细分", "首席专家", "手机", "电子邮箱", "邮编",
                "飞行检查经历", "注册会计师"]


def full_row(seq: int, name: str, number: str, *, mobile: str = "13800138000", title: str = "主任医师",
             employer: str = "第一师医院", code: str = "", categories: str = "医药临床、医保监管") -> list[Any]:
    return [seq, name, "", "", "本科", "新疆医科大学", "临床医学", number, "", "汉族", "", datetime(2000, 7, 1),
            employer, code, "医务科科长", "科级", title, "正高级", categories, "医学" if "临床" in categories else "",
            "心血管", "否", mobile,
            f"{name}@example.com", "832000", "是", "否"]


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def test_an_annex_2_workbook_creates_active_experts_for_one_term(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    code = credit_code(1)
    path = write_xlsx(tmp_path / "experts.xlsx", FULL_HEADERS, [
        full_row(1, "李四", LI, code=code),
        full_row(2, "王五", WANG, employer="石河子大学", categories="管理"),
    ])
    report = await run_import(uow_factory, path)
    assert (report.total, report.created, report.updated, report.unchanged, report.rejected) == (2, 2, 0, 0, [])
    assert report.institutions_created == 2 and report.applied
    expert, person = await expert_by_id(uow_factory, LI)
    assert person.name == "李四" and expert.org_unit_id == org.div1_id
    assert (expert.state, expert.term_start, expert.term_end) == ("active", TODAY, date(2029, 3, 2))
    assert (expert.gender, expert.birth_date) == ("male", date(1975, 3, 4))
    assert expert.work_start_date == date(2000, 7, 1)
    assert (expert.highest_degree, expert.title, expert.title_level, expert.post_level) == (
        "bachelor", "主任医师", "senior", "section")
    assert expert.categories == ["supervision", "clinical"] and expert.clinical_subcategories == ["medicine"]
    assert (expert.mobile, expert.email, expert.postcode, expert.ethnicity) == (
        "13800138000", "李四@example.com", "832000", "汉族")
    assert expert.flight_inspection and not expert.has_cpa and not expert.is_chief
    wang, _ = await expert_by_id(uow_factory, WANG)
    assert (wang.gender, wang.birth_date, wang.categories) == ("female", date(1980, 1, 1), ["management"])
    async with uow_factory() as uow:
        employer = await uow.session.get(Institution, expert.employer_id)
        assert employer is not None and (employer.name, employer.credit_code, employer.kind) == (
            "第一师医院", code, "other")
        history = (await uow.session.exec(select(ExpertEmployment).where(
            ExpertEmployment.expert_id == expert.person_id))).all()
        assert [(h.institution_id, h.end_date, h.post) for h in history] == [(employer.id, None, "医务科科长")]
    notes = {(n.row, n.column, n.code) for n in report.notes}
    assert notes == {(4, "工作单位", "institution_created"), (5, "工作单位", "institution_created")}


async def test_the_combined_annex_cells_give_employer_post_title_mobile_and_email(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "annex2.xlsx", [*ANNEX, "专业类型"], [
        [1, "李四", "男", "第一师医院 医务科科长 主任医师", "硕士研究生", "新疆医科大学", "临床医学", LI,
         "电话：13900139000 邮箱：li@example.com", "医保监管类"],
    ])
    report = await run_import(uow_factory, path)
    assert report.created == 1, report.rejected
    expert, _ = await expert_by_id(uow_factory, LI)
    assert (expert.post, expert.title, expert.mobile, expert.email, expert.highest_degree) == (
        "医务科科长", "主任医师", "13900139000", "li@example.com", "master")


async def test_explicit_columns_win_over_the_combined_cells(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    headers = ["姓名", "身份证号码", "工作单位及职务职称", "专业职称", "电话（手机）电子邮箱", "手机", "专业类型"]
    path = write_csv(tmp_path / "both.csv", headers,
                     [["李四", LI, "甲医院 科长 主治医师", "副主任医师", "13900139000 a@b.cn", "13700137000", "管理"]])
    report = await run_import(uow_factory, path)
    assert report.created == 1
    expert, _ = await expert_by_id(uow_factory, LI)
    assert (expert.title, expert.post, expert.mobile, expert.email) == ("副主任医师", "科长", "13700137000", "a@b.cn")
    see = write_csv(tmp_path / "see.csv", ["姓名", "身份证号码", "电话（手机）电子邮箱", "手机"],
                    [["李四", LI, "见手机列", "13700137000"]])
    assert (await run_import(uow_factory, see)).unchanged == 1
    bare = write_csv(tmp_path / "bare.csv", ["姓名", "身份证号码", "电话（手机）电子邮箱"], [["李四", LI, "见附件"]])
    assert [i.code for i in (await run_import(uow_factory, bare)).rejected[0].reasons] == ["invalid_contact"]


REASON_HEADERS = ["姓名", "性别", "身份证号码", "出生日期", "学历", "职称等级", "手机", "电子邮箱", "邮编",
                  "参加工作时间", "首席专家", "专业类型", "临床子类", "工作单位", "工作单位统一社会信用代码",
                  "所属单位", "状态", "聘期结束"]


def reason_rows() -> list[list[str]]:
    blank = [""] * len(REASON_HEADERS)

    def row(**cells: str) -> list[str]:
        values = list(blank)
        for header, value in cells.items():
            values[REASON_HEADERS.index(header)] = value
        return values

    return [
        row(姓名="李四", 身份证号码=LI, 专业类型="管理"),  # row 2: valid
        row(性别="男", 专业类型="管理"),  # row 3: no name, no ID number
        row(姓名="甲", 身份证号码=LI[:17] + ("0" if LI[17] != "0" else "1"), 学历="小学", 职称等级="高级",
            手机="12345", 电子邮箱="not-mail", 邮编="83200", 参加工作时间="2000-13-45", 首席专家="也许",
            专业类型="医保监管、医药临床、管理"),  # row 4
        row(姓名="乙", 性别="女", 身份证号码=ZHAO, 出生日期="1982-12-13", 专业类型="管理", 临床子类="药学",
            工作单位统一社会信用代码="12345", 所属单位="nowhere"),  # row 5
        row(姓名="丙", 身份证号码=LI, 专业类型="管理"),  # row 6: same ID number as row 2
        row(姓名="丁", 身份证号码="650102********1234", 专业类型="管理"),  # row 7
        row(姓名="戊", 身份证号码=WANG, 参加工作时间="2030-01-01", 专业类型="会计"),  # row 8
        row(姓名="己", 身份证号码=id_number("19700101", "111"), 专业类型="管理", 状态="已退出"),  # row 9
        row(姓名="庚", 身份证号码=id_number("19700101", "131"), 专业类型="管理", 聘期结束="2025-01-01"),  # row 10
        row(姓名="辛", 身份证号码=id_number("19700101", "151"), 专业类型="管理",
            工作单位统一社会信用代码=credit_code(7)),  # row 11
        row(姓名="壬", 身份证号码=id_number("18000101", "171"), 专业类型="管理"),  # row 12
        row(姓名="癸", 身份证号码=id_number("19700101", "191"), 专业类型="管理", 状态="申请",
            聘期结束="2030-01-01"),  # row 13
    ]


async def test_every_rejected_row_lists_all_its_reasons_with_row_and_column(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", REASON_HEADERS, reason_rows())
    report = await run_import(uow_factory, path)
    assert (report.total, report.created, len(report.rejected)) == (12, 1, 11)
    reasons = {rejected.row: {(i.column, i.code) for i in rejected.reasons} for rejected in report.rejected}
    assert reasons[3] == {("姓名", "required"), ("身份证号码", "required")}
    assert reasons[4] == {("身份证号码", "id_number_check_digit"), ("学历", "unknown_value"), ("职称等级", "ambiguous"),
                          ("手机", "invalid_mobile"), ("电子邮箱", "invalid_email"), ("邮编", "invalid_postcode"),
                          ("参加工作时间", "invalid_date"), ("首席专家", "unknown_value"),
                          ("专业类型", "categories_count")}
    assert reasons[5] == {("性别", "gender_mismatch"), ("出生日期", "birth_date_mismatch"),
                          ("临床子类", "subcategory_without_clinical"),
                          ("工作单位统一社会信用代码", "invalid_credit_code"), ("所属单位", "org_unknown")}
    assert reasons[6] == {("身份证号码", "duplicate_in_file")}
    assert reasons[7] == {("身份证号码", "id_number_masked")}
    assert reasons[8] == {("参加工作时间", "date_in_future"), ("专业类型", "unknown_value")}
    assert reasons[9] == {("状态", "state_not_importable")}
    assert reasons[10] == {("聘期结束", "term_over")}
    assert reasons[11] == {("工作单位统一社会信用代码", "institution_code_unknown")}
    assert reasons[12] == {("身份证号码", "id_number_birth_date")}
    assert reasons[13] == {("聘期结束", "term_without_active")}
    assert all(i.row == r.row and i.message for r in report.rejected for i in r.reasons)
    assert report.created_ids and (await expert_by_id(uow_factory, LI))[1].name == "李四"


async def test_strict_mode_imports_nothing_when_a_row_fails(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", REASON_HEADERS, reason_rows())
    experts_before, audit_before = await count(uow_factory, Expert), await count(uow_factory, AuditEntry)
    report = await run_import(uow_factory, path, strict=True)
    assert report.refused and not report.applied
    assert (report.valid, report.created, len(report.rejected)) == (1, 0, 11)
    assert await count(uow_factory, Expert) == experts_before
    assert await count(uow_factory, AuditEntry) == audit_before


async def test_strict_mode_imports_a_clean_file(uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ok.xlsx", FULL_HEADERS, [full_row(1, "李四", LI)])
    report = await run_import(uow_factory, path, strict=True)
    assert report.applied and report.created == 1


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "experts.xlsx", FULL_HEADERS, [
        full_row(1, "李四", LI, code=credit_code(1)), full_row(2, "王五", WANG, employer="石河子大学"),
        full_row(3, "赵六", ZHAO, employer="石河子大学"),
    ])
    first = await run_import(uow_factory, path)
    assert (first.created, first.institutions_created) == (3, 2)
    counts = [await count(uow_factory, m) for m in (AuditEntry, Institution, Expert, ExpertEmployment)]
    second = await run_import(uow_factory, path)
    assert (second.total, second.created, second.updated, second.unchanged, second.rejected) == (3, 0, 0, 3, [])
    assert second.institutions_created == 0 and second.notes == []
    assert [await count(uow_factory, m) for m in (AuditEntry, Institution, Expert, ExpertEmployment)] == counts


async def test_a_reimport_updates_the_expert_with_that_id_number(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    await run_import(uow_factory, write_xlsx(tmp_path / "v1.xlsx", FULL_HEADERS, [full_row(1, "李四", LI)]))
    expert, _ = await expert_by_id(uow_factory, LI)
    old_employer = expert.employer_id
    changed = full_row(1, "李四", LI, mobile="13900139000", title="副主任医师", employer="兵团医院")
    report = await run_import(uow_factory, write_xlsx(tmp_path / "v2.xlsx", FULL_HEADERS, [changed]))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    updated, _ = await expert_by_id(uow_factory, LI)
    assert updated.person_id == expert.person_id
    assert (updated.mobile, updated.title) == ("13900139000", "副主任医师") and updated.employer_id != old_employer
    async with uow_factory() as uow:
        entry = (await uow.session.exec(select(AuditEntry).where(AuditEntry.action == "expert.updated"))).one()
        history = (await uow.session.exec(select(ExpertEmployment).where(
            ExpertEmployment.expert_id == expert.person_id).order_by(col(ExpertEmployment.id)))).all()
    assert entry.object_id == str(expert.person_id)
    assert entry.details["fields"] == ["employer_id", "mobile", "title"]
    assert LI not in str(entry.details) and "13900139000" not in str(entry.details)
    assert [(h.institution_id, h.end_date) for h in history] == [(old_employer, TODAY),
                                                                 (updated.employer_id, None)]


async def test_an_empty_cell_keeps_the_stored_value(uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    await run_import(uow_factory, write_xlsx(tmp_path / "v1.xlsx", FULL_HEADERS, [full_row(1, "李四", LI)]))
    path = write_csv(tmp_path / "v2.csv", ["姓名", "身份证号码", "手机"], [["李四", LI, ""]])
    report = await run_import(uow_factory, path)
    assert report.unchanged == 1
    expert, _ = await expert_by_id(uow_factory, LI)
    assert expert.mobile == "13800138000" and expert.categories == ["supervision", "clinical"]


async def test_employers_are_found_by_credit_code_or_exact_name_else_added(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    known_code, codeless_code, new_code = credit_code(1), credit_code(2), credit_code(3)
    async with uow_factory() as uow:
        by_code = await add_institution(uow, actor=SYSTEM_CLI, name="新疆生产建设兵团医院", kind="hospital",
                                        credit_code=known_code)
    async with uow_factory() as uow:
        by_name = await add_institution(uow, actor=SYSTEM_CLI, name="第一师医院", kind="hospital")
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="同名医院", kind="hospital")
    async with uow_factory() as uow:
        await add_institution(uow, actor=SYSTEM_CLI, name="同名医院", kind="clinic")
    headers = ["姓名", "身份证号码", "专业类型", "工作单位", "工作单位统一社会信用代码"]
    ids = [id_number("19700101", f"{n:02d}1") for n in range(1, 8)]
    rows = [
        ["甲", ids[0], "管理", "兵团医院", known_code],  # by code (the directory's name wins)
        ["乙", ids[1], "管理", "第一师医院", ""],  # by exact name
        ["丙", ids[2], "管理", "新的诊所", ""],  # name only, not found: added without code
        ["丁", ids[3], "管理", "新的药店", new_code],  # unknown code with a name: added with the code
        ["戊", ids[4], "管理", "第一师医院", codeless_code],  # the one codeless namesake gets the code
        ["己", ids[5], "管理", "同名医院", ""],  # ambiguous
        ["庚", ids[6], "管理", "新的诊所", ""],  # the institution added for row 4 is reused
    ]
    report = await run_import(uow_factory, write_csv(tmp_path / "employers.csv", headers, rows))
    assert report.created == 6 and report.institutions_created == 2
    assert [(r.row, [i.code for i in r.reasons]) for r in report.rejected] == [(7, ["institution_ambiguous"])]
    assert {(n.row, n.code) for n in report.notes} == {
        (2, "institution_name_differs"), (4, "institution_created"), (5, "institution_created"),
        (6, "institution_code_added")}
    employers = {name: (await expert_by_id(uow_factory, number))[0].employer_id
                 for name, number in zip("甲乙丙丁戊庚", [*ids[:5], ids[6]], strict=True)}
    assert employers["甲"] == by_code.id and employers["乙"] == employers["戊"] == by_name.id
    assert employers["丙"] == employers["庚"]
    async with uow_factory() as uow:
        made = await uow.session.get(Institution, employers["丁"])
        named = await uow.session.get(Institution, by_name.id)
        clinic = await uow.session.get(Institution, employers["丙"])
    assert made is not None and (made.name, made.credit_code, made.kind) == ("新的药店", new_code, "other")
    assert named is not None and named.credit_code == codeless_code
    assert clinic is not None and (clinic.credit_code, clinic.kind) == (None, "other")


async def test_a_gb18030_csv_from_chinese_excel_is_read(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "gbk.csv", ["姓名", "性别", "身份证号码", "民族", "专业类型", "工作单位"],
                     [["买买提·艾力", "男", LI, "维吾尔族", "医保信息", "喀什地区第一人民医院"]], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = await run_import(uow_factory, path)
    assert report.created == 1, report.rejected
    expert, person = await expert_by_id(uow_factory, LI)
    assert (person.name, expert.ethnicity, expert.categories) == ("买买提·艾力", "维吾尔族", ["informatics"])


async def test_a_utf8_csv_with_bom_and_semicolons_is_read(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(f"姓名;身份证号码;专业类型\n李四;{LI};管理\n", encoding="utf-8-sig")
    report = await run_import(uow_factory, path)
    assert report.created == 1 and report.headers == ("姓名", "身份证号码", "专业类型")


async def test_excel_date_cells_serial_numbers_and_chinese_dates_are_read(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = tmp_path / "dates.xlsx"
    write_xlsx(path, ["姓名", "身份证号码", "专业类型", "出生日期", "参加工作时间"], [
        ["李四", LI, "管理", datetime(1975, 3, 4), datetime(1998, 7, 1)],
        ["王五", WANG, "管理", "1980年1月", 36708],  # 36708 = 2000-07-01 as an Excel serial number
        ["赵六", ZHAO, "管理", "1982/12/12", "2005年7月15日"],
    ], title=False)
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet["E3"].number_format = "General"
    workbook.save(path)
    report = await run_import(uow_factory, path)
    assert report.created == 3, report.rejected
    assert (await expert_by_id(uow_factory, LI))[0].work_start_date == date(1998, 7, 1)
    assert (await expert_by_id(uow_factory, WANG))[0].work_start_date == date(2000, 7, 1)
    assert (await expert_by_id(uow_factory, ZHAO))[0].work_start_date == date(2005, 7, 15)


async def test_an_id_number_stored_as_an_excel_number_is_rejected_with_advice(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "number.xlsx", ["姓名", "身份证号码", "专业类型"], [["李四", float(LI), "管理"]])
    report = await run_import(uow_factory, path)
    assert [i.code for i in report.rejected[0].reasons] == ["id_number_as_number"]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_the_rejections_file_can_be_fixed_and_imported_again(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path, suffix: str
) -> None:
    headers = ["序号", "姓名", "身份证号码", "手机", "专业类型"]
    source = write_xlsx(tmp_path / "in.xlsx", headers, [
        [1, "李四", LI, "13800138000", "管理"], [2, "王五", WANG, "123", "管理、会计"]])
    report = await run_import(uow_factory, source)
    out = tmp_path / f"rejected{suffix}"
    assert expert_io.write_rejections(report, out) == 1
    if suffix == ".xlsx":
        sheet = load_workbook(out).active
        assert sheet is not None
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        with out.open(encoding="utf-8-sig", newline="") as stream:
            rows = list(csv.reader(stream))
    assert rows[0] == ["原因", "原行号", *headers]
    reason, source_row, *cells = rows[1]
    assert str(source_row) == "5" and cells[1:3] == ["王五", WANG]
    assert "手机：" in str(reason) and "专业类型：" in str(reason)
    if suffix == ".xlsx":
        workbook = load_workbook(out)
        sheet = workbook.active
        assert sheet is not None
        sheet["F2"], sheet["G2"] = "13900139000", "管理"
        workbook.save(out)
    else:
        write_csv(out, rows[0], [[reason, source_row, cells[0], "王五", WANG, "13900139000", "管理"]])
    again = await run_import(uow_factory, out)
    assert (again.created, again.rejected) == (1, [])
    assert {n.code for n in again.notes} == set()


async def test_the_export_follows_annex_2_and_masks_id_numbers_for_staff(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    await run_import(uow_factory, write_xlsx(tmp_path / "in.xlsx", FULL_HEADERS, [
        full_row(1, "李四", LI, code=credit_code(1)), full_row(2, "王五", WANG)]))
    admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
    staff = staff_actor(org.staff_id, org.bureau_id)
    async with uow_factory() as uow:
        full = await expert_io.export_experts(uow, actor=admin, path=tmp_path / "full.xlsx", org="div1")
    async with uow_factory() as uow:
        masked = await expert_io.export_experts(uow, actor=staff, path=tmp_path / "masked.xlsx", org="div1")
    assert (full.count, full.full_id_numbers, masked.full_id_numbers) == (3, True, False)
    sheet = load_workbook(tmp_path / "full.xlsx").active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == expert_io.TITLE
    assert rows[1][:9] == ANNEX and rows[1] == [spec.header for spec in expert_io.COLUMNS[:len(rows[1])]]
    assert [r[0] for r in rows[2:]] == [1, 2, 3]
    li = next(r for r in rows[2:] if r[1] == "李四")
    assert li[2:9] == ["男", "第一师医院 医务科科长 主任医师", "大学本科", "新疆医科大学", "临床医学", LI,
                       "13800138000 李四@example.com"]
    masked_sheet = load_workbook(tmp_path / "masked.xlsx").active
    assert masked_sheet is not None
    masked_ids = [r[7] for r in masked_sheet.iter_rows(min_row=3, values_only=True) if r[7]]
    assert sorted(masked_ids) == sorted([LI[:6] + "********" + LI[-4:], WANG[:6] + "********" + WANG[-4:]])
    async with uow_factory() as uow:
        entries = (await uow.session.exec(select(AuditEntry).where(AuditEntry.action == "expert.exported"))).all()
    assert [e.details["full_id_numbers"] for e in entries] == [True, False]


async def test_an_admin_export_imports_back_unchanged_and_a_masked_one_is_refused(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    await run_import(uow_factory, write_xlsx(tmp_path / "in.xlsx", FULL_HEADERS, [
        full_row(1, "李四", LI, code=credit_code(1)), full_row(2, "王五", WANG)]))
    for name, actor in (("full.csv", SYSTEM_CLI), ("masked.csv", staff_actor(org.staff_id, org.bureau_id))):
        async with uow_factory() as uow:
            await expert_io.export_experts(uow, actor=actor, path=tmp_path / name, org="div1")
    with (tmp_path / "full.csv").open(encoding="utf-8-sig", newline="") as stream:
        assert next(csv.reader(stream))[:9] == ANNEX
    again = await run_import(uow_factory, tmp_path / "full.csv")
    assert (again.unchanged, again.updated, again.created) == (2, 0, 0)
    # 张专家 (build_org) has neither ID number nor category
    assert [i.code for r in again.rejected for i in r.reasons] == ["required", "categories_count"]
    masked = await run_import(uow_factory, tmp_path / "masked.csv")
    assert sorted(i.code for r in masked.rejected for i in r.reasons) == [  # the birth date is masked to its year
        "categories_count", "id_number_masked", "id_number_masked", "invalid_date", "invalid_date", "required"]


async def test_staff_export_only_their_org_units_experts_in_the_states_asked(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    div1_staff = staff_actor(org.div1_staff_id, org.div1_id)
    async with uow_factory() as uow:
        mine = await expert_io.export_experts(uow, actor=div1_staff, path=tmp_path / "mine.xlsx")
    async with uow_factory() as uow:
        everything = await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=tmp_path / "all.xlsx")
    async with uow_factory() as uow:
        none = await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=tmp_path / "x.csv", states=["removed"])
    assert (mine.count, everything.count, none.count) == (1, 2, 0)
    async with uow_factory() as uow:
        with pytest.raises(PermissionDenied):
            await expert_io.export_experts(uow, actor=div1_staff, path=tmp_path / "other.xlsx", org="div2")
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=tmp_path / "x.xlsx", states=["sleeping"])


async def test_every_change_is_audited_and_the_chain_holds(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    report = await run_import(uow_factory, write_xlsx(tmp_path / "in.xlsx", FULL_HEADERS, [
        full_row(1, "李四", LI, code=credit_code(1)), full_row(2, "王五", WANG, employer="第一师医院")]))
    async with uow_factory() as uow:
        entries = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.id) > 9)
                                          .order_by(col(AuditEntry.id)))).all()
        chain = await audit.verify_chain(uow)
    assert chain.ok and chain.checked == 9 + len(entries)
    assert [e.action for e in entries] == ["institution.created", "expert.created", "expert.created"]
    created = [e for e in entries if e.action == "expert.created"]
    assert [int(e.object_id) for e in created] == report.created_ids
    assert all(e.actor == "cli" and "id_number" in e.details["fields"] and LI not in str(e.details) for e in created)
    assert created[0].details["row"] == 4 and created[0].details["state"] == "active"


async def test_staff_import_only_into_their_own_subtree(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    div1_staff = staff_actor(org.div1_staff_id, org.div1_id)
    path = write_csv(tmp_path / "in.csv", ["姓名", "身份证号码", "专业类型", "所属单位"],
                     [["李四", LI, "管理", ""], ["王五", WANG, "管理", "div2"]])
    with pytest.raises(PermissionDenied):
        await run_import(uow_factory, path, actor=div1_staff, org="div2")
    report = await run_import(uow_factory, path, actor=div1_staff, org=None)
    assert report.org_code == "div1" and report.created == 1
    assert [(r.row, [(i.column, i.code) for i in r.reasons]) for r in report.rejected] == [
        (3, [("所属单位", "org_out_of_scope")])]
    await run_import(uow_factory, write_csv(tmp_path / "div2.csv", ["姓名", "身份证号码", "专业类型"],
                                            [["王五", WANG, "管理"]]), org="div2")
    update = write_csv(tmp_path / "update.csv", ["姓名", "身份证号码", "手机"], [["王五", WANG, "13900139000"]])
    refused = await run_import(uow_factory, update, actor=div1_staff, org=None)
    assert [i.code for i in refused.rejected[0].reasons] == ["expert_out_of_scope"]
    with pytest.raises(PermissionDenied):
        await run_import(uow_factory, path, actor=Actor(label="person:99", person_id=99), org=None)


async def test_a_state_column_admits_applicants_and_public_notice(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "states.csv", ["姓名", "身份证号码", "专业类型", "状态"],
                     [["李四", LI, "管理", "申请"], ["王五", WANG, "管理", "公示中"], ["赵六", ZHAO, "管理", "审核中"]])
    report = await run_import(uow_factory, path)
    assert report.created == 3
    li, wang, zhao = [(await expert_by_id(uow_factory, n))[0] for n in (LI, WANG, ZHAO)]
    assert (li.state, li.term_start, li.term_end) == ("applicant", None, None)
    assert wang.state == "public_notice" and wang.notice_ends_on is not None and wang.notice_ends_on > TODAY
    assert zhao.state == "under_review"
    again = write_csv(tmp_path / "again.csv", ["姓名", "身份证号码", "状态"], [["李四", LI, "在库"]])
    kept = await run_import(uow_factory, again)
    assert kept.unchanged == 1 and [n.code for n in kept.notes] == ["state_kept"]
    assert (await expert_by_id(uow_factory, LI))[0].state == "applicant"


async def test_a_given_term_is_kept_for_a_new_active_expert(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "term.csv", ["姓名", "身份证号码", "专业类型", "聘期开始"],
                     [["李四", LI, "管理", "2025-01-01"]])
    assert (await run_import(uow_factory, path)).created == 1
    expert, _ = await expert_by_id(uow_factory, LI)
    assert (expert.term_start, expert.term_end) == (date(2025, 1, 1), date(2028, 1, 1))


async def test_progress_is_reported_row_by_row(uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ["姓名", "身份证号码", "专业类型"],
                     [["李四", LI, "管理"], ["", "", ""], ["王五", "bad", "管理"], ["赵六", ZHAO, "管理"]])
    calls: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        calls.append((done, total))

    report = await run_import(uow_factory, path, on_progress=on_progress)
    assert report.total == 3 and calls == [(0, 3), (2, 3), (3, 3)]
    plain: list[tuple[int, int]] = []
    await run_import(uow_factory, path, on_progress=lambda done, total: plain.append((done, total)))
    assert plain[-1] == (3, 3)


async def test_a_name_already_in_the_pool_without_id_number_is_pointed_out(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "in.csv", ["姓名", "身份证号码", "专业类型"], [["张专家", LI, "管理"]])
    report = await run_import(uow_factory, path)
    assert report.created == 1 and [(n.column, n.code) for n in report.notes] == [("姓名", "same_name_without_id")]


async def test_titles_footers_unknown_columns_and_english_headers(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "en.xlsx", ["No", "Name", "Gender", "ID_Number", "Categories", "Mobile", "备用"], [
        [1, "Li Si", "male", LI, "supervision, informatics", "+86 138-0013-8000", "x"],
        ["...", None, None, None, None, None, None],
        ["审核人：张三", None, None, None, None, None, None],
    ])
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet["A2"] = "推荐单位（盖章）：石河子大学"
    workbook.save(path)
    report = await run_import(uow_factory, path)
    assert (report.total, report.created) == (1, 1)
    assert [(n.row, n.column, n.code) for n in report.notes] == [
        (3, "备用", "unknown_column"), (4, "推荐单位", "institution_created")]
    expert, _ = await expert_by_id(uow_factory, LI)
    assert (expert.categories, expert.mobile) == (["supervision", "informatics"], "13800138000")
    assert expert.recommending_unit_id is not None


async def test_files_that_cannot_be_imported_are_refused_whole(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    no_id = write_csv(tmp_path / "no_id.csv", ["姓名", "性别"], [["李四", "男"]])
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really")
    for path in (no_id, old, broken, tmp_path / "missing.csv"):
        with pytest.raises(InvalidInput):
            await run_import(uow_factory, path)
    async with uow_factory() as uow:
        upload = f"姓名,身份证号码,专业类型\n李四,{LI},管理\n".encode()
        report = await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=upload, filename="upload.csv", org=None)
    assert report.created == 1 and report.org_code == "bureau"


async def test_only_an_admin_with_a_reason_may_admit_ineligible_rows(
    uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "old.csv", ["姓名", "身份证号码", "专业类型", "刑事犯罪记录"],
                     [["钱七", ZHAO, "管理", "是"]])
    with pytest.raises(PermissionDenied):
        await run_import(uow_factory, path, actor=staff_actor(org.staff_id, org.bureau_id),
                         admit_ineligible="历史名单")
    with pytest.raises(InvalidInput):
        await run_import(uow_factory, path, admit_ineligible="  ")
    report = await run_import(uow_factory, path)
    (row,) = report.ineligible
    assert [(i.code, i.article) for i in row.reasons] == [("ineligible_criminal_or_penalty", "000 §9(二)")]
    assert (await expert_by_id(uow_factory, ZHAO))[0].state == "under_review"
