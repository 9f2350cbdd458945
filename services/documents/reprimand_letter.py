"""The letter feeding a confirmed reprimand back to the expert's employer (000 §27 "反馈其工作单位"): its wording
and layout, filled from plain values (:func:`services.records.sanctions.reprimand_letter` gathers them). The addressee
line starts with the employer's name: marked with ``'`` when it starts like a formula (a pasted line stays text)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from services.platform.tables import neutralize

TITLE = "关于医疗保障基金监管专家通报批评情况的函"
BODY = ("贵单位{name}同志系医疗保障基金监管专家。经核实，该同志存在《监管专家管理办法》{article}所列情形，"
        "依据有关规定，决定给予通报批评，现反馈贵单位，请督促其改正。")
EVIDENCE = "有关情况：{date} {kind}（活动编号 {activity}）"
NO_EMPLOYER = "所在单位"
SEAL = "（盖章）"
KIND_WORDS = {"absent_without_notice": "接受工作后无正当理由未参加且未及时告知",
              "poor_performance": "未正确履行专家义务", "discipline_breach": "违反工作纪律",
              "failure_to_recuse": "未按规定主动回避"}


@dataclass(frozen=True)
class Evidence:
    """One credit event behind the reprimand: its local day, kind and activity."""

    day: date
    kind: str
    activity_id: int | None


@dataclass(frozen=True)
class ReprimandLetter:
    """What the letter says: to whom, about whom, under which article, the evidence, and the decision's day."""

    employer: str | None
    name: str
    article: str
    evidence: tuple[Evidence, ...]
    day: date


def render(letter: ReprimandLetter) -> bytes:
    """The letter as DOCX."""
    from docx import Document  # python-docx is loaded only when a document is made
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    doc.add_heading(TITLE, level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(neutralize(f"{letter.employer or NO_EMPLOYER}："))  # an employer like "=1+1" is never a formula
    doc.add_paragraph(BODY.format(name=letter.name, article=letter.article))
    for event in letter.evidence:
        doc.add_paragraph(EVIDENCE.format(date=event.day.isoformat(), kind=KIND_WORDS.get(event.kind, event.kind),
                                          activity=event.activity_id or "—"))
    doc.add_paragraph(SEAL).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    day = letter.day
    doc.add_paragraph(f"{day.year}年{day.month}月{day.day}日").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
