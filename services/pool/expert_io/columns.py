"""The columns of the expert table (000 annex 2, then annex 1 and the pool record): the value vocabularies
(import accepts labels, short labels and codes; export writes the labels), the cell parsers and :data:`COLUMNS`.
See :mod:`services.pool.expert_io` for the rules."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.platform.identifiers import (
    InvalidIdentifier,
    normalize_id_number,
    validate_credit_code,
    validate_mobile,
)
from services.platform.tables import REASON_HEADER, SOURCE_ROW_HEADER, Cell
from services.platform.tables import text_of as _text_of
from services.pool.eligibility import Category, ClinicalSubcategory, Degree, PostLevel, TitleLevel
from services.pool.lifecycle import ExpertState

TITLE = "兵团医疗保障局监管专家推荐汇总表"

# --- value vocabularies (import accepts labels, short labels and codes; export writes the labels) -------------

GENDER_LABELS = {"male": "男", "female": "女"}
DEGREE_LABELS = {Degree.BELOW_BACHELOR: "专科及以下", Degree.BACHELOR: "大学本科", Degree.MASTER: "硕士研究生",
                 Degree.DOCTOR: "博士研究生"}
TITLE_LEVEL_LABELS = {TitleLevel.NONE: "无", TitleLevel.JUNIOR: "初级", TitleLevel.INTERMEDIATE: "中级",
                      TitleLevel.ASSOCIATE_SENIOR: "副高级", TitleLevel.SENIOR: "正高级"}
POST_LEVEL_LABELS = {PostLevel.NONE: "无", PostLevel.SECTION: "科级", PostLevel.DIVISION: "处级",
                     PostLevel.BUREAU: "厅局级"}
CATEGORY_LABELS = {Category.SUPERVISION: "医保监管类", Category.CLINICAL: "医药临床类",
                   Category.INFORMATICS: "医保信息类", Category.MANAGEMENT: "管理类"}
SUBCATEGORY_LABELS = {ClinicalSubcategory.MEDICINE: "医学", ClinicalSubcategory.PHARMACY: "药学",
                      ClinicalSubcategory.CONSUMABLES: "医用耗材", ClinicalSubcategory.LAB_REAGENTS: "检验试剂"}
STATE_LABELS = {ExpertState.APPLICANT: "申请", ExpertState.UNDER_REVIEW: "审核中",
                ExpertState.PUBLIC_NOTICE: "公示中", ExpertState.ACTIVE: "在库", ExpertState.EXITED: "已退出",
                ExpertState.REMOVED: "已解聘清退"}
IMPORTABLE_STATES = (ExpertState.APPLICANT, ExpertState.UNDER_REVIEW, ExpertState.PUBLIC_NOTICE, ExpertState.ACTIVE)


def _vocabulary(labels: dict[Any, str], *extra: tuple[str, str]) -> dict[str, str]:
    words = {str(code).lower(): str(code) for code in labels} | {label: str(code) for code, label in labels.items()}
    words |= {label.removesuffix("类"): str(code) for code, label in labels.items() if label.endswith("类")}
    return words | {word: code for word, code in extra}


_GENDERS = _vocabulary(GENDER_LABELS, ("男性", "male"), ("女性", "female"), ("m", "male"), ("f", "female"))
_DEGREES = _vocabulary(
    DEGREE_LABELS, ("本科", "bachelor"), ("学士", "bachelor"), ("本科以下", "below_bachelor"),
    ("大专", "below_bachelor"), ("专科", "below_bachelor"), ("中专", "below_bachelor"), ("高中", "below_bachelor"),
    ("硕士", "master"), ("研究生", "master"), ("博士", "doctor"),
)
_TITLE_LEVELS = _vocabulary(
    TITLE_LEVEL_LABELS, ("副高", "associate_senior"), ("副高级职称", "associate_senior"), ("正高", "senior"),
    ("正高级职称", "senior"), ("中级职称", "intermediate"), ("初级职称", "junior"),
)
_POST_LEVELS = _vocabulary(
    POST_LEVEL_LABELS, ("正科", "section"), ("副科", "section"), ("科级以上", "section"), ("正处", "division"),
    ("副处", "division"), ("县处级", "division"), ("厅级", "bureau"), ("局级", "bureau"), ("司局级", "bureau"),
    ("正厅", "bureau"), ("副厅", "bureau"),
)
_CATEGORIES = _vocabulary(CATEGORY_LABELS)
_SUBCATEGORIES = _vocabulary(
    SUBCATEGORY_LABELS, ("医学类", "medicine"), ("药学类", "pharmacy"), ("耗材", "consumables"),
    ("医用耗材类", "consumables"), ("检验", "lab_reagents"), ("检验试剂类", "lab_reagents"),
)
_STATES = _vocabulary(STATE_LABELS, ("已申请", "applicant"), ("公示", "public_notice"), ("在库专家", "active"))
_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "有"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "无", "没有"})
TITLE_WORDS = ("医师", "药师", "技师", "护师", "教授", "研究员", "工程师", "会计师", "审计师", "经济师", "统计师",
                "讲师", "职称", "正高", "副高", "中级", "初级")
FOOTER_WORDS = ("审核人", "填表人", "联系电话", "填写说明", "注：", "注:", "备注")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
EMAIL_IN_TEXT = re.compile(r"[^\s@,;，；/、：:()（）]+@[^\s@,;，；/、()（）]+\.[A-Za-z]{2,}")
PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s-]{5,}\d")
_LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_TAG_SEPARATORS = re.compile(r"[、,，;；\n]+")
_CHECKED = re.compile(r"[☑☒■√✓✔]\s*([^\s□☐☑☒■√✓✔]+)")


class CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- parsers: a non-empty cell in, the stored value out (or CellError) --------------------------------------


def cell_key(value: Cell) -> str:
    return "".join(unicodedata.normalize("NFKC", _text_of(value)).split()).lower()


def _text(limit: int) -> Callable[[Cell], str]:
    def parse(value: Cell) -> str:
        text = " ".join(_text_of(value).split())
        if len(text) > limit:
            raise CellError("too_long", f"at most {limit} characters, got {len(text)}")
        return text

    return parse


def _long_text(limit: int) -> Callable[[Cell], str]:
    def parse(value: Cell) -> str:
        text = "\n".join(line.strip() for line in _text_of(value).splitlines() if line.strip())
        if len(text) > limit:
            raise CellError("too_long", f"at most {limit} characters, got {len(text)}")
        return text

    return parse


def _choice(words: dict[str, str], shown: Iterable[str]) -> Callable[[Cell], str]:
    allowed = "/".join(shown)

    def parse(value: Cell) -> str:
        key = cell_key(value)
        if key in words:
            return words[key]
        if key == "高级" and words is _TITLE_LEVELS:
            raise CellError("ambiguous", "高级 is ambiguous: write 副高级 or 正高级")
        raise CellError("unknown_value", f"{_text_of(value)!r} is not one of {allowed}")

    return parse


def _many(words: dict[str, str], kind: type[Any], shown: Iterable[str]) -> Callable[[Cell], list[str]]:
    allowed = "/".join(shown)

    def parse(value: Cell) -> list[str]:
        text = unicodedata.normalize("NFKC", _text_of(value))
        checked = _CHECKED.findall(text)
        items = checked if checked else [item for item in _LIST_SEPARATORS.split(text) if item]
        found: set[str] = set()
        for item in items:
            code = words.get(item.lower())
            if code is None:
                raise CellError("unknown_value", f"{item!r} is not one of {allowed}")
            found.add(code)
        return [member.value for member in kind if member.value in found]

    return parse


def _tags(value: Cell) -> list[str]:
    tags: list[str] = []
    for raw in _TAG_SEPARATORS.split(_text_of(value)):
        tag = " ".join(raw.split())
        if tag and tag not in tags:
            if len(tag) > 50:
                raise CellError("too_long", f"a tag has at most 50 characters: {tag!r}")
            tags.append(tag)
    return tags


def _yes_no(value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    key = cell_key(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise CellError("unknown_value", f"{_text_of(value)!r} is not 是 or 否")


_FULL_DATE = (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
              re.compile(r"^(\d{4})(\d{2})(\d{2})$"))
_MONTH = (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月?$"))
_TIME_TAIL = re.compile(r"(?:T|\s)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def _day_and_precision(value: Cell) -> tuple[date, bool]:
    """A date and whether its day is known (a month alone gives its first day)."""
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == int(value) and 19000101 <= value <= 29991231:
            value = str(int(value))
        elif 1 <= value < 2958466:
            from openpyxl.utils.datetime import from_excel  # loaded only for a serial date (start-up)

            converted = from_excel(value)
            if isinstance(converted, datetime):
                return converted.date(), True
    text = _TIME_TAIL.sub("", "".join(unicodedata.normalize("NFKC", _text_of(value)).split()))
    for pattern in _FULL_DATE:
        if match := pattern.match(text):
            try:
                return date(int(match[1]), int(match[2]), int(match[3])), True
            except ValueError:
                break
    for pattern in _MONTH:
        if (match := pattern.match(text)) and 1 <= int(match[2]) <= 12:
            return date(int(match[1]), int(match[2]), 1), False
    raise CellError("invalid_date", f"{_text_of(value)!r} is not a date (write 2020-07-01 or 2020年7月1日)")


def _date(value: Cell) -> date:
    return _day_and_precision(value)[0]


def _id_number(value: Cell) -> str:
    if isinstance(value, float):
        raise CellError("id_number_as_number", "the ID number was stored as a number and lost its last digits; "
                                                "format the column as text and type it again")
    number = normalize_id_number(_text_of(value))
    if "*" in number:
        raise CellError("id_number_masked", "the ID number is masked; give it in full")
    return number


def _mobile(value: Cell) -> str:
    try:
        return validate_mobile(_text_of(value))
    except InvalidIdentifier as error:
        raise CellError("invalid_mobile", f"{_text_of(value)!r}: {error}") from None


def _email(value: Cell) -> str:
    text = _text_of(value)
    if len(text) > 120 or not _EMAIL.match(text):
        raise CellError("invalid_email", f"{text!r} is not an e-mail address")
    return text


def _postcode(value: Cell) -> str:
    text = str(value).zfill(6) if isinstance(value, int) and not isinstance(value, bool) else _text_of(value)
    if not re.fullmatch(r"\d{6}", text):
        raise CellError("invalid_postcode", f"{text!r} is not a 6-digit postcode")
    return text


@functools.lru_cache(maxsize=8192)
def _checked_credit_code(text: str) -> tuple[str | None, str]:
    """The code normalized, or why it is not valid: a roster names the same employers again and again, so each
    distinct code is checked once (issue 21)."""
    try:
        return validate_credit_code(text), ""
    except InvalidIdentifier as error:
        return None, str(error)


def _credit_code(value: Cell) -> str:
    code, error = _checked_credit_code(_text_of(value))
    if code is None:
        raise CellError("invalid_credit_code", f"{_text_of(value)!r}: {error}")
    return code


def _education(value: Cell) -> list[dict[str, Any]]:
    return [{"text": line} for line in _long_text(2000)(value).splitlines()]


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its header (as written in the annex and on export), the field it fills and how a cell is read
    (None: recognized but not imported); ``aliases`` are other accepted headers; ``annex`` marks annex 2's."""

    header: str
    field: str
    parse: Callable[[Cell], Any] | None
    aliases: tuple[str, ...] = ()
    annex: bool = False


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("序号", "seq", None, ("no", "seq"), annex=True),
    ColumnSpec("姓名", "name", _text(100), ("name", "专家姓名"), annex=True),
    ColumnSpec("性别", "gender", _choice(_GENDERS, GENDER_LABELS.values()), ("gender", "sex"), annex=True),
    ColumnSpec("工作单位及职务职称", "employment", _text(400), ("employment",), annex=True),
    ColumnSpec("学历", "highest_degree", _choice(_DEGREES, DEGREE_LABELS.values()),
               ("最高学历", "highest_degree", "degree"), annex=True),
    ColumnSpec("毕业院校", "school", _text(100), ("school",), annex=True),
    ColumnSpec("主要专业及相关专业", "major", _text(100), ("主要专业", "专业", "major"), annex=True),
    ColumnSpec("身份证号码", "id_number", _id_number,
               ("身份证号", "身份证", "身份证件号码", "公民身份号码", "id_number", "id_no"), annex=True),
    ColumnSpec("电话（手机）电子邮箱", "contact", _text(300), ("电话（手机）/电子邮箱", "联系方式", "contact"),
               annex=True),
    ColumnSpec("民族", "ethnicity", _text(32), ("ethnicity",)),
    ColumnSpec("政治面貌", "political_status", _text(32), ("political_status",)),
    ColumnSpec("出生日期", "birth_date", _day_and_precision, ("出生年月", "birth_date", "date_of_birth")),
    ColumnSpec("参加工作时间", "work_start_date", _date, ("work_start_date",)),
    ColumnSpec("工作单位", "employer_name", _text(200), ("工作单位名称", "employer")),
    ColumnSpec("工作单位统一社会信用代码", "employer_code", _credit_code, ("工作单位信用代码", "employer_credit_code")),
    ColumnSpec("职务", "post", _text(100), ("post",)),
    ColumnSpec("职务级别", "post_level", _choice(_POST_LEVELS, POST_LEVEL_LABELS.values()), ("post_level",)),
    ColumnSpec("专业职称", "title", _text(64), ("职称", "专业技术职称", "title")),
    ColumnSpec("职称等级", "title_level", _choice(_TITLE_LEVELS, TITLE_LEVEL_LABELS.values()), ("title_level",)),
    ColumnSpec("职称属财务审计类", "title_is_finance_audit", _yes_no, ("财务审计职称", "title_is_finance_audit")),
    ColumnSpec("职称属信息类", "title_is_informatics", _yes_no, ("信息类职称", "title_is_informatics")),
    ColumnSpec("财务审计专业", "major_is_finance_audit", _yes_no, ("专业属财务审计类", "major_is_finance_audit")),
    ColumnSpec("注册会计师", "has_cpa", _yes_no, ("cpa", "has_cpa")),
    ColumnSpec("专业类型", "categories", _many(_CATEGORIES, Category, CATEGORY_LABELS.values()),
               ("专家类别", "专业类别", "categories", "category")),
    ColumnSpec("临床子类", "clinical_subcategories", _many(_SUBCATEGORIES, ClinicalSubcategory,
                                                          SUBCATEGORY_LABELS.values()),
               ("医药临床子类", "clinical_subcategories")),
    ColumnSpec("专业细分", "specialty", _text(500), ("specialty",)),
    ColumnSpec("专业标签", "specialty_tags", _tags, ("specialty_tags", "tags")),
    ColumnSpec("首席专家", "is_chief", _yes_no, ("是否首席专家", "is_chief")),
    ColumnSpec("医保工作人员", "is_insurance_staff", _yes_no, ("is_insurance_staff",)),
    ColumnSpec("手机", "mobile", _mobile, ("手机号码", "手机号", "mobile", "phone")),
    ColumnSpec("电子邮箱", "email", _email, ("邮箱", "email", "e-mail")),
    ColumnSpec("通讯地址", "address", _text(200), ("address",)),
    ColumnSpec("邮编", "postcode", _postcode, ("邮政编码", "postcode")),
    ColumnSpec("推荐单位", "recommending_name", _text(200), ("推荐单位名称", "recommending_unit")),
    ColumnSpec("推荐单位统一社会信用代码", "recommending_code", _credit_code, ("recommending_unit_credit_code",)),
    ColumnSpec("参加学术团体及所任职务", "academic_memberships", _long_text(2000), ("academic_memberships",)),
    ColumnSpec("何时何地受过何种奖惩", "rewards_penalties", _long_text(2000), ("奖惩情况", "rewards_penalties")),
    ColumnSpec("受教育经历", "education", _education, ("受教育经历（大学起--）", "受教育经历（大学起）", "education")),
    ColumnSpec("主要论著、业绩、成果", "publications", _long_text(4000), ("主要论著业绩成果", "publications")),
    ColumnSpec("飞行检查经历", "flight_inspection", _yes_no, ("参加过飞行检查", "flight_inspection")),
    ColumnSpec("完全民事行为能力", "full_civil_capacity", _yes_no, ("full_civil_capacity",)),
    ColumnSpec("刑事犯罪记录", "criminal_record", _yes_no, ("criminal_record",)),
    ColumnSpec("行政处罚或严重处分", "administrative_penalty", _yes_no, ("行政处罚", "administrative_penalty")),
    ColumnSpec("违反医保规定", "insurance_violation", _yes_no, ("曾违反医疗保障规定", "insurance_violation")),
    ColumnSpec("所属单位", "org", _text(200), ("所属专家库", "org", "org_unit")),
    ColumnSpec("状态", "state", _choice(_STATES, STATE_LABELS.values()), ("state", "status")),
    ColumnSpec("聘期开始", "term_start", _date, ("term_start",)),
    ColumnSpec("聘期结束", "term_end", _date, ("聘期至", "term_end")),
    ColumnSpec("工作经历及专业特长", "work_history", _long_text(4000),
               ("工作经历", "工作简历", "工作经历（含时间）", "work_history")),
    ColumnSpec(REASON_HEADER, "reason", None, ("reason",)),
    ColumnSpec(SOURCE_ROW_HEADER, "source_row", None, ("source_row",)),
)
"""The columns in export order; annex 2's nine first."""

BY_HEADER = {cell_key(name): spec for spec in COLUMNS for name in (spec.header, *spec.aliases)}
HEADER_OF = {spec.field: spec.header for spec in COLUMNS}
EXPORTED = tuple(spec for spec in COLUMNS if spec.field not in ("reason", "source_row"))
# Fields copied to Expert as they are (the others are resolved: name, employer, org, state, term, ...).
DIRECT = ("gender", "ethnicity", "political_status", "work_start_date", "school", "highest_degree", "major",
           "major_is_finance_audit", "title", "title_level", "title_is_finance_audit", "title_is_informatics",
           "has_cpa", "specialty", "specialty_tags", "categories", "clinical_subcategories", "is_chief", "post",
           "post_level", "is_insurance_staff", "address", "postcode", "email", "mobile", "academic_memberships",
           "rewards_penalties", "publications", "education", "flight_inspection", "full_civil_capacity",
           "criminal_record", "administrative_penalty", "insurance_violation")
