"""The work record in the layout of annex 4 (《监管专家工作登记表》): its labels, the words for each answer, and the
table, filled from plain values (:func:`services.records.work_records.export_docx` gathers them). Lines of the
table that start like a spreadsheet formula (a name such as ``=1+1``) are marked with ``'``, so a pasted table stays
text (``services.platform.tables.neutralize``)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from services.platform.tables import neutralize_lines

TITLE = "兵团医疗保障局监管专家工作登记表"
ATTENDANCE_WORDS = {"attended": "按时参加", "absent_with_notice": "请假未参加（已告知）",
                    "absent_without_notice": "无故缺席（未告知）", None: "未记录"}
PERFORMANCE_WORDS = {"excellent": "优秀", "good": "良好", "fair": "一般", "poor": "较差", None: "未评价"}
RECUSAL_WORDS = {"none_needed": "无需回避", "declared": "已主动申明回避", "failed": "应回避而未主动申请回避", None: "—"}
DISCIPLINE_WORDS = {"good": "遵守工作纪律", "breach": "有违纪情况", None: "—"}
DECISION_WORDS = {"consensus": "经合议一致认定", "majority": "按少数服从多数原则表决", None: "—"}
LABELS = {"activity": "活动名称", "organizer": "承办单位（使用方）", "experts": "专家名单及其单位",
          "performance": "专家履职情况", "recusal": "回避申明情况", "discipline": "工作纪律情况",
          "recorder": "记录员签字", "opinion": "承办单位意见"}
REVIEWER = "审核人：          （公章）"
DATE_LINE = "年    月    日"


@dataclass(frozen=True)
class SheetEntry:
    """One expert's line: name, employer (when known) and answers (None: not answered)."""

    name: str
    employer: str | None
    attendance: str | None
    performance: str | None
    recusal: str | None
    discipline: str | None
    discipline_note: str
    credit_opinion: str


@dataclass(frozen=True)
class WorkRecordSheet:
    """What annex 4 shows of a work record."""

    title: str
    organizer: str
    entries: tuple[SheetEntry, ...]
    decision: str | None
    final_opinion: str
    recorder: str


def _word(words: dict[str | None, str], value: str | None) -> str:
    return words.get(value, value or "")


def _rows(sheet: WorkRecordSheet) -> list[tuple[str, str]]:
    entries = sheet.entries
    performance = "\n".join(f"{e.name}：{_word(ATTENDANCE_WORDS, e.attendance)}，"
                            f"履职评价{_word(PERFORMANCE_WORDS, e.performance)}" for e in entries)
    performance += f"\n专家组最终意见（{_word(DECISION_WORDS, sheet.decision)}）：{sheet.final_opinion}"
    discipline = "\n".join(
        f"{e.name}：{_word(DISCIPLINE_WORDS, e.discipline)}"
        + (f"（{e.discipline_note}）" if e.discipline_note else "")
        + (f"；信用记录意见：{e.credit_opinion}" if e.credit_opinion else "") for e in entries)
    return [
        (LABELS["activity"], sheet.title),
        (LABELS["organizer"], sheet.organizer),
        (LABELS["experts"], "；".join(f"{e.name}（{e.employer}）" if e.employer is not None else e.name
                                     for e in entries)),
        (LABELS["performance"], performance),
        (LABELS["recusal"], "\n".join(f"{e.name}：{_word(RECUSAL_WORDS, e.recusal)}" for e in entries)),
        (LABELS["discipline"], discipline),
        (LABELS["recorder"], sheet.recorder),
        (LABELS["opinion"], ""),
    ]


def render(sheet: WorkRecordSheet) -> bytes:
    """The sheet as DOCX, ready to print and stamp."""
    from docx import Document  # python-docx is loaded only when a document is made
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(TITLE)
    run.bold, run.font.size = True, Pt(18)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, text in _rows(sheet):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, neutralize_lines(text)  # names, employers, notes: never a formula
    doc.add_paragraph("")
    doc.add_paragraph(REVIEWER)
    doc.add_paragraph(DATE_LINE).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
