"""The per-activity commitment (承诺书, 000 §14): confidentiality, integrity and recusal, one per activity.

The text is a document, not a chat message: it is versioned here, rendered with the activity's facts, shown to
the expert exactly as rendered, and its SHA-256 is recorded when they sign, so the record proves which words
were agreed to. A new wording is a new version; signed hashes of old versions stay valid.
"""

from __future__ import annotations

import hashlib

VERSION = "c1"

_TEXT_C1 = """医疗保障基金监管专家承诺书（{version}）

本人作为医疗保障基金监管专家，参加「{title}」（{start} 至 {end}，{place}），郑重承诺：
一、遵守国家法律法规和医疗保障基金监管工作纪律，客观、公正、独立地提出意见，对所提意见负责；
二、严格保守工作中知悉的国家秘密、商业秘密、个人隐私和工作信息，不擅自对外披露检查或评审情况；
三、廉洁自律，不收受被检查（评审）对象及相关人员的财物和其他利益，不参加可能影响公正的宴请和活动；
四、与被检查（评审）对象存在利害关系的，主动申请回避；未申报的回避情形一经发现，愿承担相应责任；
五、服从组织安排，按时参加工作，不无故缺席。
如违反上述承诺，本人愿接受约谈、通报批评直至解聘出库等处理（《专家库管理办法》第十四条、第二十七条）。

承诺人：{name}"""


def render(*, name: str, title: str, start: str, end: str, place: str) -> str:
    """The commitment for one expert and one activity, exactly as shown and signed."""
    return _TEXT_C1.format(version=VERSION, name=name, title=title, start=start, end=end, place=place or "—")


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the rendered text, UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
