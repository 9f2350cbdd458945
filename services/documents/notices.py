"""Public notices (公示 / 公告 / 一公开), their wording and layout (issue 17), filled from plain values gathered by
:mod:`services.insight.notices`: the notice of experts proposed for appointment with its objection period and
contact (000 §10), the announcement of a removal (000 §23), the list of excellent experts (000 §20) and the results
of a random draw of inspection targets with what anyone needs to recompute it (003 三(一) "一公开"). Each is a plain
text for a channel or a notice board and the same words as DOCX. Official notices are in Chinese."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from services.platform.tables import neutralize


@dataclass(frozen=True)
class Notice:
    """A notice: its title, its paragraphs, who issues it and when."""

    title: str
    paragraphs: tuple[str, ...]
    issuer: str
    day: date

    def text(self) -> str:
        """The notice as plain text (for a channel message or a notice board)."""
        return "\n".join([self.title, "", *self.paragraphs, "", self.issuer, _day(self.day)])


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Candidate:
    """An expert named in a notice: name, employer, categories in words."""

    name: str
    employer: str
    categories: str


def appointment(unit: str, candidates: list[Candidate], *, ends_on: date, contact: str, day: date) -> Notice:
    """000 §10: the experts proposed for appointment, the objection period and whom to contact."""
    rows = tuple(f"{i}. {c.name}，{c.employer}，{c.categories}" for i, c in enumerate(candidates, start=1))
    return Notice(f"{unit}医疗保障基金监管专家拟入库人选公示", (
        "根据《医疗保障基金监管专家管理办法》第十条，经个人申请（单位推荐）、资格审查，现将拟入库专家名单公示如下：",
        *rows,
        f"公示期至 {_day(ends_on)}。公示期间，如对上述人选有异议，请以书面或电话形式向 {contact} 反映，"
        "反映情况应实事求是，并提供必要的证明材料。"), unit, day)


def removal(unit: str, name: str, employer: str, *, reason: str, ended_on: date, day: date) -> Notice:
    """000 §23: an expert removed from the pool."""
    return Notice(f"{unit}关于解聘医疗保障基金监管专家的公告", (
        f"经调查核实，{employer}{name}同志存在《医疗保障基金监管专家管理办法》第二十三条所列情形（{reason}），"
        f"自 {_day(ended_on)} 起解聘，移出专家库，五年内不得再次申请入库。",
        "特此公告。"), unit, day)


def excellence(unit: str, year: int, names: list[tuple[str, str]], *, day: date) -> Notice:
    """000 §20: the excellent experts of a year (name, employer)."""
    rows = tuple(f"{i}. {name}（{employer}）" for i, (name, employer) in enumerate(names, start=1)) or ("（无）",)
    return Notice(f"{unit}{year}年度优秀医疗保障基金监管专家名单", (
        f"根据《医疗保障基金监管专家管理办法》第二十条，经考核评价，现将 {year} 年度优秀专家名单公布如下：",
        *rows), unit, day)


def targets(unit: str, drawn: list[str], *, drawn_on: date, draw_id: int, algorithm: str, seed: str,
            snapshot_hash: str, day: date) -> Notice:
    """003 三(一): the institutions drawn at random for inspection and the data to recompute the draw."""
    rows = tuple(f"{i}. {name}" for i, name in enumerate(drawn, start=1))
    return Notice(f"{unit}医疗保障基金监督检查对象随机抽取结果公开", (
        f"按照“双随机、一公开”要求，{_day(drawn_on)} 从定点医药机构名录中随机抽取检查对象如下：",
        *rows,
        f"抽取记录编号 {draw_id}，算法 {algorithm}，随机种子 {seed}，候选名录快照 SHA-256 {snapshot_hash}。"
        "任何人可凭上述数据按公开的算法复核抽取结果（python -m bot targets verify）。"), unit, day)


def render(notice: Notice) -> bytes:
    """The notice as DOCX."""
    from docx import Document  # python-docx is loaded only when a document is made
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    doc.add_heading(neutralize(notice.title), level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for paragraph in notice.paragraphs:
        doc.add_paragraph(neutralize(paragraph))
    doc.add_paragraph(neutralize(notice.issuer)).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph(_day(notice.day)).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
