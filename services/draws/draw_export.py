"""A draw record as a document in the layout of 000 annex 3 (监管专家抽取申请表), XLSX or DOCX.

The document answers annex 3's questions and 001 §11's "做好记录" (000 §25: queryable, traceable, accountable):
the activity (name, kind, time, place, inspected institutions) and its organizer, the conditions the draw used
(read from the record's snapshot, so a later relaxation does not rewrite history), the experts drawn in order
(per requirement, principals then backups), the leader, who requested and when, who approved and when, the seed,
the algorithm version and the snapshot's hash; a short draw explains what was missing and why. A v2 draw also
states each requirement's chances (issue 18): the chance of every eligible expert to be drawn as a principal.

Names, employers, titles and places are user data: XLSX cells hold them as text, never formulas, and DOCX table
cells that start like a formula are marked with ``'`` (``services.platform.tables``), so a copied table stays text.

Only the organizer's line of staff may export (:func:`services.draws.draws.get_draw` enforces it). Labels are Chinese,
the bureau's working language: a document is a record, not a chat message, so they live here as constants.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from services.activities.activities import as_rule
from services.activities.draw_rules import ALREADY_DRAWN, SAME_EMPLOYER_FIELD, ExclusionCode, Requirement, Role
from services.activities.draw_snapshot import parse_snapshot
from services.activities.fair_draw import percent
from services.documents.labels import ACTIVITY_KIND_LABELS as KIND_LABELS
from services.draws.draws import DrawView, get_draw
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.platform.tables import hold_as_text, neutralize_lines
from services.pool.expert_io import CATEGORY_LABELS, SUBCATEGORY_LABELS
from storage.activities import DrawRecord, DrawRequest
from storage.models import Expert, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

Format = Literal["xlsx", "docx"]
FORMATS: tuple[Format, ...] = ("xlsx", "docx")

TITLE = "监管专家抽取申请表（抽取记录）"
SHEET = "抽取记录"
TIME_FORMAT = "%Y-%m-%d %H:%M"
NONE = "无"

ROLE_LABELS = {Role.PRINCIPAL: "参与专家", Role.BACKUP: "后备专家"}
OUTCOME_LABELS = {"drawn": "已抽取", "short": "人数不足，未抽取"}
REQUEST_KIND_LABELS = {"initial": "抽取", "top_up": "增补抽取"}
REASON_LABELS: dict[str, str] = {
    ExclusionCode.NOT_ACTIVE: "不在库（非在库状态）",
    ExclusionCode.UNAVAILABLE: "请假或暂停期间",
    ExclusionCode.BUSY: "同期已参加其他活动",
    ExclusionCode.AGE_LIMIT: "年满65周岁",
    ExclusionCode.BARRED: "禁入期内",
    ExclusionCode.RECUSAL_EMPLOYER: "回避：任职于被检查机构",
    ExclusionCode.RECUSAL_PAST_EMPLOYER: "回避：近2年曾任职于被检查机构",
    ExclusionCode.RECUSAL_INTEREST: "回避：申报有利害关系",
    ExclusionCode.RECUSAL_REQUIRED: "回避：承办单位要求回避",
    ExclusionCode.ROTATION_CONSECUTIVE: "轮换：连续抽取",
    ExclusionCode.ROTATION_FREQUENT: "轮换：短期内抽取过多",
    ALREADY_DRAWN: "已被前一条件抽中",
    SAME_EMPLOYER_FIELD: "同单位同专业已有一人（000 第十八条）",
}

L_ACTIVITY, L_ORGANIZER, L_KIND, L_TIME, L_PLACE = "活动名称", "承办单位（使用方）", "活动类型", "活动时间", "活动地点"
L_INSPECTED, L_DEADLINE, L_EVEN = "被检查机构", "答复截止时间", "单数要求放宽理由"
L_COUNT, L_COMPOSITION, L_ROSTER, L_LEADER = "抽取专家数量", "抽取专家专业及数量构成", "抽取专家成员名单", "组长"
L_REQUEST, L_APPROVAL, L_OPERATOR, L_DRAWN_AT = "承办单位申请", "审批意见", "经办人员（抽取人）", "抽取时间"
L_OUTCOME, L_SEED, L_ALGORITHM, L_SNAPSHOT = "抽取结果", "随机种子", "算法版本", "候选快照哈希（SHA-256）"
L_SHORTFALL, L_RECORD, L_DOUBLE_BLIND = "人数不足说明", "抽取记录编号", "双盲评审"
L_CHANCES = "抽中机会（参与专家；同一单位同一领域至多一人，000 第十八条（三））"
CHANCES_FALLBACK = "各条件相互关联，无法按公平份额同时抽满，本次按 v1 顺序抽取，未计算每人抽中机会。"
L_NOTE = "注：本记录由系统根据抽取记录生成，可凭随机种子与候选快照复核（python -m bot draw verify）。"
CONDITION_HEADERS = ("序号", "专家类别", "细分类别", "专业标签", "参与专家人数", "后备专家人数")
ROSTER_HEADERS = ("序号", "抽取条件", "姓名", "工作单位", "专家类别", "身份", "顺序")


@dataclass(frozen=True)
class DrawDocument:
    """What the exported document says, independent of the file format."""

    title: str
    fields: tuple[tuple[str, str], ...]
    conditions: tuple[tuple[str, ...], ...]
    roster: tuple[tuple[str, ...], ...]
    record: tuple[tuple[str, str], ...]
    shortfalls: tuple[str, ...] = field(default=())
    chances: tuple[str, ...] = field(default=())


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime(TIME_FORMAT)


def _condition(requirement: Requirement, number: int) -> str:
    parts = [CATEGORY_LABELS[requirement.category]]
    if requirement.subcategory is not None:
        parts.append(SUBCATEGORY_LABELS[requirement.subcategory])
    if requirement.tags:
        parts.append("、".join(sorted(requirement.tags)))
    return f"{number}. " + " / ".join(parts)


def _requirements(view: DrawView, record: DrawRecord) -> list[Requirement]:
    """The conditions as the draw read them (the snapshot); the activity's current ones if it is unreadable."""
    try:
        return list(parse_snapshot(zlib.decompress(record.snapshot).decode("utf-8")).requirements)
    except (zlib.error, ValueError, KeyError, TypeError):
        return [as_rule(r) for r in (view.info.requirements if view.info else ())]


async def _employers(uow: UnitOfWork, person_ids: Sequence[int]) -> dict[int, str]:
    rows = await uow.session.exec(
        select(Expert.person_id, Institution.name).join(Institution, col(Institution.id) == Expert.employer_id)
        .where(col(Expert.person_id).in_(list(person_ids))))
    return dict(rows.all())


async def _name(uow: UnitOfWork, person_id: int | None) -> str:
    person = None if person_id is None else await uow.session.get(Person, person_id)
    return "" if person is None else person.name


def _shortfall_lines(view: DrawView, requirements: Sequence[Requirement], numbers: dict[str, int]) -> list[str]:
    by_key = {r.key: r for r in requirements}
    lines = []
    for short in view.result.shortfalls:
        requirement = by_key.get(short.requirement_key)
        label = _condition(requirement, numbers[requirement.key]) if requirement else short.requirement_key
        reasons = "；".join(f"{REASON_LABELS.get(code, code)} {count} 人"
                           for code, count in sorted(short.removed.items()) if count)
        lines.append(f"条件{label}：需要 {short.needed} 名，符合类别的在库专家 {short.matched} 名，"
                     f"缺 {short.short} 名" + (f"；排除原因：{reasons}" if reasons else "") + "。")
    if lines:
        lines.append("本次未抽取任何专家；承办单位可放宽条件后重新申请抽取（001 第十一条（二））。")
    return lines


def _chance_lines(view: DrawView, requirements: Sequence[Requirement], numbers: dict[str, int]) -> list[str]:
    """Each requirement's chances of a v2 draw (issue 18), e.g.
    "其他单位的 70 人每人 3.0%；第一师医院的 30 人每人 3.0%"."""
    if view.result.fallback:
        return [CHANCES_FALLBACK]
    by_key = {r.key: r for r in requirements}
    lines = []
    for chances in view.result.chances:
        requirement = by_key.get(chances.requirement_key)
        label = _condition(requirement, numbers[requirement.key]) if requirement else chances.requirement_key
        listed = chances.listed()
        parts = [f"{view.employers.get(employer, f'#{employer}')}的 {n} 人每人 {percent(chance)}"
                 for employer, n, chance in listed]
        if chances.others():
            parts.insert(0, f"{'其他单位' if listed else '符合条件'}的 {chances.others()} 人每人 "
                            f"{percent(chances.level)}")
        lines.append(f"条件{label}：" + "；".join(parts) + "。")
    return lines


def _fields(view: DrawView, request: DrawRequest | None, requirements: Sequence[Requirement],
            zone: ZoneInfo) -> list[tuple[str, str]]:
    """The label/value rows at the top: the record, the activity, and how many experts were asked for."""
    record = view.record
    fields: list[tuple[str, str]] = [(L_RECORD, str(record.id))]
    if view.info is not None:
        info, activity = view.info, view.info.activity
        fields += [
            (L_ACTIVITY, activity.title),
            (L_ORGANIZER, info.organizer.name),
            (L_KIND, KIND_LABELS.get(activity.kind, activity.kind) + ("（双盲）" if activity.double_blind else "")),
            (L_TIME, f"{_time(activity.starts_at, zone)} 至 {_time(activity.ends_at, zone)}"),
            (L_PLACE, activity.place or NONE),
            (L_INSPECTED, "、".join(i.name for i in info.institutions) or NONE),
            (L_DEADLINE, _time(activity.response_deadline, zone)),
        ]
        if activity.allow_even_group:
            fields.append((L_EVEN, activity.even_group_reason or ""))
    principals = sum(r.count for r in requirements)
    backups = sum(r.backups for r in requirements)
    kind = REQUEST_KIND_LABELS.get(request.kind, request.kind) if request else REQUEST_KIND_LABELS["initial"]
    fields.append((L_COUNT, f"{kind}专家 {principals + backups} 名，其中：抽取参与专家 {principals} 名，"
                            f"后备专家 {backups} 名。"))
    return fields


async def _roster(uow: UnitOfWork, view: DrawView, requirements: Sequence[Requirement],
                  numbers: dict[str, int]) -> tuple[tuple[str, ...], ...]:
    """The drawn, by condition, principals before backups, in order."""
    picks = view.result.picks
    employers = await _employers(uow, [p.person_id for p in picks])
    by_key = {r.key: r for r in requirements}
    ordered = sorted(picks, key=lambda p: (numbers.get(p.requirement_key, 0), p.role != Role.PRINCIPAL, p.order))
    return tuple(
        (str(n), str(numbers.get(p.requirement_key, p.requirement_key)), view.names.get(p.person_id, str(p.person_id)),
         employers.get(p.person_id, ""),
         CATEGORY_LABELS[by_key[p.requirement_key].category] if p.requirement_key in by_key else "",
         ROLE_LABELS[p.role], str(p.order)) for n, p in enumerate(ordered, start=1))


async def _record_rows(uow: UnitOfWork, view: DrawView, request: DrawRequest | None,
                       zone: ZoneInfo) -> list[tuple[str, str]]:
    """The record's label/value rows: leader, request, approval, operator, time, outcome, seed, version, hash."""
    record = view.record
    leader = view.result.leader
    if leader is None and view.result.needs_leader_choice and view.info is not None:
        leader = view.info.activity.leader_id  # named by the organizer after the draw (000 §18(四))
    requested = f"{view.operator}，{_time(request.requested_at if request else record.drawn_at, zone)}"
    if record.approver_id is None:
        approval = "本单位未启用双人审批，提交即抽取"
    else:
        decided = _time(request.decided_at if request else None, zone)
        note = request.decision_note if request and request.decision_note else ""
        approval = f"同意。审批人：{view.approver or ''}，{decided}" + (f"；{note}" if note else "")
    return [
        (L_LEADER, (await _name(uow, leader)) if leader is not None else
         ("待承办单位指定" if view.result.needs_leader_choice else NONE)),
        (L_REQUEST, requested),
        (L_APPROVAL, approval),
        (L_OPERATOR, view.operator),
        (L_DRAWN_AT, _time(record.drawn_at, zone)),
        (L_OUTCOME, OUTCOME_LABELS.get(record.outcome, record.outcome)),
        (L_SEED, record.seed),
        (L_ALGORITHM, record.algorithm_version),
        (L_SNAPSHOT, record.snapshot_hash),
    ]


async def build_document(uow: UnitOfWork, *, actor: Actor, draw_id: int) -> DrawDocument:
    """The content of the annex-3 record of a draw the actor may see (``DrawNotFound`` otherwise)."""
    view = await get_draw(uow, actor=actor, draw_id=draw_id)
    record, zone = view.record, uow.zone
    request = None if record.request_id is None else await uow.session.get(DrawRequest, record.request_id)
    requirements = _requirements(view, record)
    numbers = {r.key: n for n, r in enumerate(requirements, start=1)}
    fields = _fields(view, request, requirements, zone)
    conditions = tuple(
        (str(numbers[r.key]), CATEGORY_LABELS[r.category],
         SUBCATEGORY_LABELS[r.subcategory] if r.subcategory else "",
         "、".join(sorted(r.tags)), str(r.count), str(r.backups)) for r in requirements)
    roster = await _roster(uow, view, requirements, numbers)
    record_rows = await _record_rows(uow, view, request, zone)
    return DrawDocument(TITLE, tuple(fields), conditions, roster, tuple(record_rows),
                        tuple(_shortfall_lines(view, requirements, numbers)),
                        tuple(_chance_lines(view, requirements, numbers)))


async def export_draw(uow: UnitOfWork, *, actor: Actor, draw_id: int, fmt: str) -> bytes:
    """The annex-3 record of a draw as an XLSX or DOCX file's bytes."""
    if fmt not in FORMATS:
        raise InvalidInput("the format must be xlsx or docx", field="format")
    document = await build_document(uow, actor=actor, draw_id=draw_id)
    return to_xlsx(document) if fmt == "xlsx" else to_docx(document)


def _xlsx_body(document: DrawDocument, line: Callable[..., None], sheet: Any, bold: Any) -> None:
    """The rows under the title, written with ``to_xlsx``'s ``line``: fields, conditions, roster, record, shortfalls
    and the closing note."""
    for label, value in document.fields:
        line([label, value], merge_from=2)
        sheet.cell(sheet.max_row, 1).font = bold
    line([L_COMPOSITION], merge_from=1, font=bold)
    line(CONDITION_HEADERS, font=bold)
    for row in document.conditions:
        line(row)
    line([L_ROSTER], merge_from=1, font=bold)
    if document.roster:
        line(ROSTER_HEADERS, font=bold)
        for row in document.roster:
            line(row)
    else:
        line([NONE], merge_from=1)
    if document.chances:
        line([L_CHANCES], merge_from=1, font=bold)
        for text in document.chances:
            line([text], merge_from=1)
    for label, value in document.record:
        line([label, value], merge_from=2)
        sheet.cell(sheet.max_row, 1).font = bold
    if document.shortfalls:
        line([L_SHORTFALL], merge_from=1, font=bold)
        for text in document.shortfalls:
            line([text], merge_from=1)
    line([L_NOTE], merge_from=1)


def to_xlsx(document: DrawDocument) -> bytes:
    """One sheet: title, label/value rows, the conditions table, the roster table, the record, shortfalls."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    width = len(ROSTER_HEADERS)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    bold = Font(bold=True)

    def line(values: Sequence[str], *, merge_from: int | None = None, font: Font | None = None) -> None:
        sheet.append(list(values))
        row = sheet.max_row
        for cell in sheet[row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            hold_as_text(cell)  # a name like "=1+1" stays text, never a formula
        if font is not None:
            for cell in sheet[row]:
                cell.font = font
        if merge_from is not None:
            sheet.merge_cells(start_row=row, start_column=merge_from, end_row=row, end_column=width)

    line([document.title], merge_from=1, font=Font(bold=True, size=14))
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    _xlsx_body(document, line, sheet, bold)
    for index, size in enumerate((18, 22, 12, 28, 14, 12, 8), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = size
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _docx_section(doc: Any, heading: str, texts: Sequence[str]) -> None:
    """A heading and one paragraph per text, when there are texts."""
    if texts:
        doc.add_heading(heading, level=2)
        for text in texts:
            doc.add_paragraph(neutralize_lines(text))


def to_docx(document: DrawDocument) -> bytes:
    """A Word document: centred title, label/value table, the conditions and roster tables, the record."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    heading = doc.add_heading(document.title, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def pairs(rows: Sequence[tuple[str, str]]) -> None:
        table = doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for label, value in rows:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = label, neutralize_lines(value)
            for run in cells[0].paragraphs[0].runs:
                run.bold = True

    def grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        table = doc.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, headers, strict=True):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.bold = True
        for row in rows:
            for cell, text in zip(table.add_row().cells, row, strict=True):
                cell.text = neutralize_lines(text)

    pairs(document.fields)
    doc.add_heading(L_COMPOSITION, level=2)
    grid(CONDITION_HEADERS, document.conditions)
    doc.add_heading(L_ROSTER, level=2)
    if document.roster:
        grid(ROSTER_HEADERS, document.roster)
    else:
        doc.add_paragraph(NONE)
    _docx_section(doc, L_CHANCES, document.chances)
    doc.add_paragraph("")
    pairs(document.record)
    _docx_section(doc, L_SHORTFALL, document.shortfalls)
    doc.add_paragraph(L_NOTE)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


__all__ = ["FORMATS", "DrawDocument", "build_document", "export_draw", "to_docx", "to_xlsx"]
