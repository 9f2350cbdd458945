"""The annex-3 record of a draw (000 annex 3, 001 §11 "做好记录"), as XLSX and DOCX, read back."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook

from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draw_export, draws
from services.platform.errors import DrawNotFound, InvalidInput
from services.platform.roles import Actor
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor
from tests.conftest import T0

START = T0 + timedelta(days=14)


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


def clerk(org: Org) -> Actor:
    return staff_actor(org.staff_id, org.bureau_id)


def admin(org: Org) -> Actor:
    return staff_actor(org.admin_id, org.bureau_id, admin=True)


async def drawn(uow: UnitOfWorkFactory, org: Org, requirements: tuple[RequirementInput, ...],
                institutions: tuple[int, ...] = ()) -> draws.DrawOutcome:
    payload = ActivityInput(org="bureau", kind="special_inspection", title="定点医院专项检查", starts_at=START,
                            ends_at=START + timedelta(days=2), response_deadline=START - timedelta(days=3),
                            requirements=requirements, institution_ids=institutions, place="石河子")
    async with uow() as u:
        activity = await activities.create_activity(u, actor=clerk(org), data=payload)
    assert activity.id is not None
    async with uow() as u:
        filed = await draws.file_request(u, actor=clerk(org), activity_id=activity.id)
    assert filed.request.id is not None
    async with uow() as u:
        return await draws.approve(u, actor=admin(org), request_id=filed.request.id)


def xlsx_rows(data: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    for row in rows:
        while row and row[-1] == "":
            row.pop()
    return rows


def docx_text(data: bytes) -> tuple[str, list[list[list[str]]]]:
    document = Document(io.BytesIO(data))
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    return "\n".join(p.text for p in document.paragraphs), tables


async def test_a_drawn_record_lists_principals_then_backups_in_order_with_the_approver(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    employer, inspected = await add_institutions(uow_factory, ["石河子大学医学院", "第一人民医院"])
    await add_pool(uow_factory, org.bureau_id, [{"name": f"监管{i}", "employer_id": employer if i == 0 else None}
                                                for i in range(8)])
    outcome = await drawn(uow_factory, org, (RequirementInput("supervision", 3, 2),), (inspected,))
    assert outcome.record is not None and outcome.record.id is not None and outcome.result is not None
    async with uow_factory() as u:
        seen = await draws.get_draw(u, actor=clerk(org), draw_id=outcome.record.id)
        xlsx = await draw_export.export_draw(u, actor=clerk(org), draw_id=outcome.record.id, fmt="xlsx")
        docx = await draw_export.export_draw(u, actor=clerk(org), draw_id=outcome.record.id, fmt="docx")
    expected = [seen.names[p] for p in (*outcome.result.principals, *outcome.result.backups)]

    rows = xlsx_rows(xlsx)
    assert rows[0] == [draw_export.TITLE]
    labels = {row[0]: row[1:] for row in rows if len(row) >= 2}
    assert labels["活动名称"] == ["定点医院专项检查"] and labels["承办单位（使用方）"] == ["兵团医疗保障局"]
    assert labels["被检查机构"] == ["第一人民医院"] and labels["活动类型"] == ["专项检查"]
    assert "抽取参与专家 3 名，后备专家 2 名" in labels["抽取专家数量"][0]
    assert labels["随机种子"] == [outcome.record.seed] and labels["算法版本"] == [outcome.record.algorithm_version]
    assert labels["候选快照哈希（SHA-256）"] == [outcome.record.snapshot_hash]
    assert "王管理" in labels["审批意见"][0] and labels["经办人员（抽取人）"] == ["李科员"]
    header = rows.index(list(draw_export.ROSTER_HEADERS))
    roster = rows[header + 1: header + 6]
    assert [r[2] for r in roster] == expected
    assert [r[5] for r in roster] == ["参与专家"] * 3 + ["后备专家"] * 2
    assert [r[6] for r in roster] == ["1", "2", "3", "1", "2"]
    assert all(len(r) == 7 and r[3] == ("石河子大学医学院" if r[2] == "监管0" else "") for r in roster)

    paragraphs, tables = docx_text(docx)
    assert draw_export.TITLE in paragraphs
    fields = {row[0]: row[1] for table in tables if len(table[0]) == 2 for row in table}
    assert "王管理" in fields["审批意见"] and fields["随机种子"] == outcome.record.seed
    (roster_table,) = [t for t in tables if t[0] == list(draw_export.ROSTER_HEADERS)]
    assert [r[2] for r in roster_table[1:]] == expected
    # issue 18: every eligible expert's chance (8 eligible, 3 principals: 3/8 each)
    chances = "条件1. 医保监管类：符合条件的 8 人每人 37.5%。"
    assert [draw_export.L_CHANCES] in rows and [chances] in rows and chances in paragraphs


async def test_a_short_draw_explains_what_was_missing_and_lists_no_one(uow_factory: UnitOfWorkFactory,
                                                                       org: Org) -> None:
    specs: list[dict[str, object]] = [{"specialty_tags": ["审计"]} for _ in range(2)]
    await add_pool(uow_factory, org.bureau_id, specs + [{} for _ in range(4)])
    outcome = await drawn(uow_factory, org, (RequirementInput("supervision", 3, 1, tags=("审计",)),))
    assert outcome.record is not None and outcome.record.id is not None and outcome.record.outcome == "short"
    draw_id = outcome.record.id
    async with uow_factory() as u:
        info = await activities.view(u, actor=clerk(org), activity_id=outcome.request.activity_id)
        requirement_id = info.requirements[0].id
        assert requirement_id is not None
        await activities.relax(u, actor=clerk(org), activity_id=info.activity.id or 0,
                               requirement_id=requirement_id, what="tags")
    async with uow_factory() as u:
        document = await draw_export.build_document(u, actor=clerk(org), draw_id=draw_id)
        xlsx = await draw_export.export_draw(u, actor=clerk(org), draw_id=draw_id, fmt="xlsx")
        docx = await draw_export.export_draw(u, actor=clerk(org), draw_id=draw_id, fmt="docx")
    assert document.roster == ()
    # The conditions are those the draw used (from the snapshot), not the relaxed ones.
    assert document.conditions == (("1", "医保监管类", "", "审计", "3", "1"),)
    assert dict(document.record)["抽取结果"] == "人数不足，未抽取"
    assert document.shortfalls[0].startswith("条件1. 医保监管类 / 审计：需要 4 名")
    assert "缺 2 名" in document.shortfalls[0]

    rows = xlsx_rows(xlsx)
    assert ["人数不足说明"] in rows and any("缺 2 名" in row[0] for row in rows if row)
    assert list(draw_export.ROSTER_HEADERS) not in rows
    paragraphs, _tables = docx_text(docx)
    assert "人数不足说明" in paragraphs and "缺 2 名" in paragraphs


async def test_the_record_is_secret_outside_the_organizers_line_and_the_format_is_checked(
        uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await add_pool(uow_factory, org.bureau_id, [{} for _ in range(5)])
    outcome = await drawn(uow_factory, org, (RequirementInput("supervision", 3),))
    assert outcome.record is not None and outcome.record.id is not None
    with pytest.raises(DrawNotFound):
        async with uow_factory() as u:
            await draw_export.export_draw(u, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                          draw_id=outcome.record.id, fmt="xlsx")
    with pytest.raises(InvalidInput):
        async with uow_factory() as u:
            await draw_export.export_draw(u, actor=clerk(org), draw_id=outcome.record.id, fmt="pdf")
