"""Import and export of expert records (专家信息导入导出) as XLSX or CSV, for any front end.

The layout is 000 annex 2 (推荐汇总表): its nine columns first, in its order, then one column for every other
field of annex 1 and of the pool record. :data:`COLUMNS` is the single table of columns (header, field, parser,
accepted aliases); this docstring describes it.

Reading
-------
* **Format** by content first (a ZIP archive is XLSX; an OLE file is the old ``.xls``, refused), then by extension.
  CSV may be UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text") or GB18030 (GBK, the default of
  Chinese Excel); the delimiter is a comma, tab or semicolon. XLSX: the first sheet, cached formula values.
* **Header row**: the first of the first 20 rows naming at least two known columns, one of them 姓名 or
  身份证号码. Rows above it (the title "兵团医疗保障局监管专家推荐汇总表") are skipped; a line "推荐单位（盖章）：X"
  there makes X the default 推荐单位. Headers are matched after NFKC normalization, without spaces, ``*`` and
  colons, case-insensitively; English aliases (``name``, ``gender``, ``id_number``...) work too. Unknown columns
  and repeated ones are ignored with a note.
* **Rows**: numbered as in the file (XLSX row, CSV record, header = its own number). Empty rows, "..." rows and
  footer rows (审核人/填表人...) are skipped.

Columns (``*`` = required; ← = also read from annex 2's combined cell when the explicit column is empty)
------------------------------------------------------------------------------------------------------------
Annex 2: 序号 (ignored on import, 1..n on export) | 姓名* | 性别 男/女 (must agree with the ID number) |
工作单位及职务职称 ("单位 职务 职称": the first word is the employer, words naming a title such as 主任医师 or
副教授 are the title, the others the post) | 学历 (专科及以下/大学本科/硕士研究生/博士研究生, also 本科/硕士/博士) |
毕业院校 | 主要专业及相关专业 | 身份证号码* (GB 11643; birth date and gender come from it) |
电话（手机）电子邮箱 (a mobile number and an e-mail address, in any order).

Annex 1 and the record: 民族 | 政治面貌 | 出生日期 (or 出生年月; must agree with the ID number) | 参加工作时间 |
工作单位 ← | 工作单位统一社会信用代码 (GB 32100) | 职务 ← | 职务级别 (无/科级/处级/厅局级) | 专业职称 ← |
职称等级 (无/初级/中级/副高级/正高级; a bare 高级 is ambiguous) | 职称属财务审计类 | 职称属信息类 | 财务审计专业 |
注册会计师 | 专业类型 (1–2 of 医保监管/医药临床/医保信息/管理, "类" optional, separated by 、,，;；/ or spaces, or
the annex's ☑ boxes) | 临床子类 (医学/药学/医用耗材/检验试剂; only with 医药临床) | 专业细分 | 专业标签 |
首席专家 | 医保工作人员 | 手机 ← | 电子邮箱 ← | 通讯地址 | 邮编 | 推荐单位 | 推荐单位统一社会信用代码 |
参加学术团体及所任职务 | 何时何地受过何种奖惩 | 受教育经历 (one line each) | 主要论著、业绩、成果 | 飞行检查经历 |
完全民事行为能力 | 刑事犯罪记录 | 行政处罚或严重处分 | 违反医保规定 | 所属单位 (the pool's org unit, code or name;
default: the caller's) | 状态 (申请/审核中/公示中/在库; default 在库) | 聘期开始 | 聘期结束 (new active experts only;
default today and three years later, 000 §10(七)). Yes/no columns take 是/否 (also Y/N, √/×, 1/0, 有/无).
Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日, Excel date cells or serial numbers; 参加工作时间
and 出生日期 may be a month (YYYY-MM, YYYY年M月; a month's work start counts from its first day). The columns 原因
and 原行号 of a rejections file are ignored, so a fixed rejections file can be imported again.

Applying
--------
* Every row is checked completely; a rejected row lists every reason (:class:`Issue`: row, column, stable
  ``code``, English ``message``; front ends may translate the code). Default mode applies the valid rows;
  ``strict=True`` applies nothing when any row fails. All of it is one transaction.
* A row is matched to an existing expert by ID number. An empty cell (or a missing column) keeps the stored value;
  import never clears a value. A row whose values equal the record is "unchanged", so importing a file twice
  changes nothing the second time. New experts are a ``Person`` and an ``Expert``, active for one term unless
  状态 says otherwise (000 §10(一): appointed by the bureau). 状态 and 聘期 of an existing expert are managed by
  the life cycle (``services.pool.lifecycle``): a different value is reported as a note and not applied, as is a
  default org unit other than the expert's (name 所属单位 explicitly to move an expert between pools).
* Employer and recommending unit are looked up in the directory by credit code, else by exact name. A credit code
  not in the directory creates the institution (kind ``other``), or is given to the one institution of that exact
  name that has no code; a name alone not found creates the institution (kind ``other``, no code). Each is noted.
  A changed employer closes the open work-history period and opens a new one (the two-year recusal rule reads it).
* Staff import into their org unit's subtree only. Each created or updated expert gets one audit entry naming the
  changed fields (no values); each institution created or given a code gets its own.

Export writes the annex-2 layout (XLSX: the title row, the header row, one row per expert; CSV: the header row),
with full ID numbers for admins and the system, masked otherwise, and records the export in the audit trail.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from openpyxl.utils.datetime import from_excel
from sqlmodel import col, select

from services.people.orgs import TERM_YEARS, add_years, get_unit, require_scope_over_units, subtree
from services.platform import audit
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.identifiers import (
    InvalidIdentifier,
    mask_id_number,
    normalize_id_number,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from services.platform.roles import Actor, Role
from services.platform.tables import REASON_HEADER, SOURCE_ROW_HEADER, Cell, Issue, RejectedRow, TableImportReport
from services.platform.tables import read_cells as _read_cells
from services.platform.tables import text_of as _text_of
from services.platform.tables import write_table as _write_table
from services.platform.workdays import default_calendar
from services.pool.eligibility import MAX_CATEGORIES, Category, ClinicalSubcategory, Degree, PostLevel, TitleLevel
from services.pool.lifecycle import NOTICE_WORKING_DAYS, ExpertState
from storage.models import Expert, OrgUnit, Person
from storage.pool import ExpertEmployment, Institution
from storage.uow import UnitOfWork

TITLE = "兵团医疗保障局监管专家推荐汇总表"
MAX_ROWS = 10_000
HEADER_SEARCH_ROWS = 20

ProgressCallback = Callable[[int, int], Awaitable[None] | None]
_T = TypeVar("_T")

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
_TITLE_WORDS = ("医师", "药师", "技师", "护师", "教授", "研究员", "工程师", "会计师", "审计师", "经济师", "统计师",
                "讲师", "职称", "正高", "副高", "中级", "初级")
_FOOTER_WORDS = ("审核人", "填表人", "联系电话", "填写说明", "注：", "注:", "备注")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
_EMAIL_IN_TEXT = re.compile(r"[^\s@,;，；/、：:()（）]+@[^\s@,;，；/、()（）]+\.[A-Za-z]{2,}")
_PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s-]{5,}\d")
_LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_TAG_SEPARATORS = re.compile(r"[、,，;；\n]+")
_CHECKED = re.compile(r"[☑☒■√✓✔]\s*([^\s□☐☑☒■√✓✔]+)")


class _CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- parsers: a non-empty cell in, the stored value out (or _CellError) --------------------------------------


def _key(value: Cell) -> str:
    return "".join(unicodedata.normalize("NFKC", _text_of(value)).split()).lower()


def _text(limit: int) -> Callable[[Cell], str]:
    def parse(value: Cell) -> str:
        text = " ".join(_text_of(value).split())
        if len(text) > limit:
            raise _CellError("too_long", f"at most {limit} characters, got {len(text)}")
        return text

    return parse


def _long_text(limit: int) -> Callable[[Cell], str]:
    def parse(value: Cell) -> str:
        text = "\n".join(line.strip() for line in _text_of(value).splitlines() if line.strip())
        if len(text) > limit:
            raise _CellError("too_long", f"at most {limit} characters, got {len(text)}")
        return text

    return parse


def _choice(words: dict[str, str], shown: Iterable[str]) -> Callable[[Cell], str]:
    allowed = "/".join(shown)

    def parse(value: Cell) -> str:
        key = _key(value)
        if key in words:
            return words[key]
        if key == "高级" and words is _TITLE_LEVELS:
            raise _CellError("ambiguous", "高级 is ambiguous: write 副高级 or 正高级")
        raise _CellError("unknown_value", f"{_text_of(value)!r} is not one of {allowed}")

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
                raise _CellError("unknown_value", f"{item!r} is not one of {allowed}")
            found.add(code)
        return [member.value for member in kind if member.value in found]

    return parse


def _tags(value: Cell) -> list[str]:
    tags: list[str] = []
    for raw in _TAG_SEPARATORS.split(_text_of(value)):
        tag = " ".join(raw.split())
        if tag and tag not in tags:
            if len(tag) > 50:
                raise _CellError("too_long", f"a tag has at most 50 characters: {tag!r}")
            tags.append(tag)
    return tags


def _yes_no(value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    key = _key(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise _CellError("unknown_value", f"{_text_of(value)!r} is not 是 or 否")


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
    raise _CellError("invalid_date", f"{_text_of(value)!r} is not a date (write 2020-07-01 or 2020年7月1日)")


def _date(value: Cell) -> date:
    return _day_and_precision(value)[0]


def _id_number(value: Cell) -> str:
    if isinstance(value, float):
        raise _CellError("id_number_as_number", "the ID number was stored as a number and lost its last digits; "
                                                "format the column as text and type it again")
    number = normalize_id_number(_text_of(value))
    if "*" in number:
        raise _CellError("id_number_masked", "the ID number is masked; give it in full")
    return number


def _mobile(value: Cell) -> str:
    try:
        return validate_mobile(_text_of(value))
    except InvalidIdentifier as error:
        raise _CellError("invalid_mobile", f"{_text_of(value)!r}: {error}") from None


def _email(value: Cell) -> str:
    text = _text_of(value)
    if len(text) > 120 or not _EMAIL.match(text):
        raise _CellError("invalid_email", f"{text!r} is not an e-mail address")
    return text


def _postcode(value: Cell) -> str:
    text = str(value).zfill(6) if isinstance(value, int) and not isinstance(value, bool) else _text_of(value)
    if not re.fullmatch(r"\d{6}", text):
        raise _CellError("invalid_postcode", f"{text!r} is not a 6-digit postcode")
    return text


def _credit_code(value: Cell) -> str:
    try:
        return validate_credit_code(_text_of(value))
    except InvalidIdentifier as error:
        raise _CellError("invalid_credit_code", f"{_text_of(value)!r}: {error}") from None


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
    ColumnSpec(REASON_HEADER, "reason", None, ("reason",)),
    ColumnSpec(SOURCE_ROW_HEADER, "source_row", None, ("source_row",)),
)
"""The columns in export order; annex 2's nine first."""

_BY_HEADER = {_key(name): spec for spec in COLUMNS for name in (spec.header, *spec.aliases)}
_HEADER_OF = {spec.field: spec.header for spec in COLUMNS}
_EXPORTED = tuple(spec for spec in COLUMNS if spec.field not in ("reason", "source_row"))
# Fields copied to Expert as they are (the others are resolved: name, employer, org, state, term, ...).
_DIRECT = ("gender", "ethnicity", "political_status", "work_start_date", "school", "highest_degree", "major",
           "major_is_finance_audit", "title", "title_level", "title_is_finance_audit", "title_is_informatics",
           "has_cpa", "specialty", "specialty_tags", "categories", "clinical_subcategories", "is_chief", "post",
           "post_level", "is_insurance_staff", "address", "postcode", "email", "mobile", "academic_memberships",
           "rewards_penalties", "publications", "education", "flight_inspection", "full_civil_capacity",
           "criminal_record", "administrative_penalty", "insurance_violation")


# --- the report ---------------------------------------------------------------------------------------------


@dataclass
class ImportReport(TableImportReport):
    """What an expert import found and did (see :class:`services.platform.tables.TableImportReport`), plus the pool it
    went
    into and the institutions it added to the directory."""

    org_code: str = ""
    institutions_created: int = 0


# --- reading a file -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A file's header row (as written, numbered as in the file) and its data rows, padded to the headers."""

    headers: tuple[str, ...]
    header_row: int
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]
    default_recommending: str | None = None


def _header_key(value: Cell) -> str:
    return _key(value).strip("*:")


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The header and data rows of an XLSX or CSV file (pure; raises InvalidInput for an unusable file)."""
    rows = _read_cells(data, filename)
    default_recommending: str | None = None
    for index, (number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        fields = {spec.field for spec in (_BY_HEADER.get(_header_key(cell)) for cell in cells) if spec is not None}
        if len(fields) >= 2 and fields & {"name", "id_number"}:
            headers = tuple(_text_of(cell) for cell in cells)
            width = len(headers)
            body = tuple((n, tuple(c[:width]) + (None,) * (width - len(c))) for n, c in rows[index + 1:])
            if len(body) > MAX_ROWS:
                raise InvalidInput(f"at most {MAX_ROWS} rows per file", field="file")
            return Sheet(headers, number, body, default_recommending)
        first = next((unicodedata.normalize("NFKC", _text_of(c)) for c in cells if _text_of(c)), "")
        if first.startswith("推荐单位") and ":" in first:
            default_recommending = " ".join(first.split(":", 1)[1].split()) or None
    raise InvalidInput("no header row found: the file needs a row of column headers with 姓名 and 身份证号码",
                       field="file")


# --- checking rows (pure, against a directory loaded once) ------------------------------------------------


@dataclass
class _Row:
    number: int
    cells: tuple[Cell, ...]
    columns: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)

    def _issue(self, field_name: str, code: str, message: str) -> Issue:
        return Issue(self.number, self.columns.get(field_name, _HEADER_OF.get(field_name, field_name)), code, message)

    def reject(self, field_name: str, code: str, message: str) -> None:
        self.failed.add(field_name)
        self.issues.append(self._issue(field_name, code, message))

    def note(self, field_name: str, code: str, message: str) -> None:
        self.notes.append(self._issue(field_name, code, message))


@dataclass(frozen=True)
class _InstitutionRef:
    """An institution a row names: an existing one (``institution_id``), or one to create or to give a code."""

    name: str
    code: str | None
    institution_id: int | None = None
    add_code: bool = False


@dataclass
class _Directory:
    """What the checks need from the database, loaded once for the whole file."""

    today: date
    default_unit: OrgUnit
    scope: set[int] | None
    units: dict[str, OrgUnit]
    experts: dict[str, tuple[Expert, Person]]
    by_code: dict[str, Institution]
    by_name: dict[str, list[Institution]]
    unnumbered: dict[tuple[str, int], int]
    default_recommending: str | None


@dataclass
class _Plan:
    row: _Row
    id_number: str
    name: str
    birth_date: date
    existing: tuple[Expert, Person] | None
    org_unit_id: int
    employer: _InstitutionRef | None
    recommending: _InstitutionRef | None
    state: ExpertState = ExpertState.ACTIVE
    term: tuple[date, date] | None = None


def _state_label(code: str) -> str:
    return STATE_LABELS.get(ExpertState(code), code) if code in set(ExpertState) else code


def _split_employment(text: str) -> tuple[str | None, str | None, str | None]:
    """Employer, post and title from annex 2's combined cell "单位 职务 职称"."""
    words = [w for w in re.split(r"[\s、，,/；;]+", text) if w]
    if not words:
        return None, None, None
    titles = [w for w in words[1:] if any(marker in w for marker in _TITLE_WORDS)]
    posts = [w for w in words[1:] if w not in titles]
    return words[0][:200], (" ".join(posts)[:100] or None), (" ".join(titles)[:64] or None)


def _split_contact(row: _Row, text: str) -> None:
    """A mobile number and an e-mail address from annex 2's combined cell, unless given in their own columns."""
    explicit = {"mobile", "email"} & (set(row.values) | row.failed)
    if len(explicit) == 2:
        return
    emails = _EMAIL_IN_TEXT.findall(text)
    phones = [p.strip() for p in _PHONE_IN_TEXT.findall(_EMAIL_IN_TEXT.sub(" ", text))
              if sum(ch.isdigit() for ch in p) >= 7]
    if not emails and not phones:
        if not explicit:
            row.reject("contact", "invalid_contact", f"no mobile number or e-mail address in {text!r}")
        return
    if emails and "email" not in explicit:
        row.values["email"] = emails[0]
    if "mobile" in explicit:
        return
    for phone in phones:
        try:
            row.values["mobile"] = validate_mobile(phone)
            return
        except InvalidIdentifier:
            continue
    if phones:
        row.reject("contact", "invalid_mobile", f"{phones[0]!r} is not a mainland mobile number")


def _parse_row(number: int, cells: tuple[Cell, ...], mapping: list[tuple[int, ColumnSpec]],
               columns: dict[str, str]) -> _Row:
    row = _Row(number, cells, columns)
    for index, spec in mapping:
        value = cells[index]
        if spec.parse is None or _text_of(value) == "":
            continue
        try:
            row.values[spec.field] = spec.parse(value)
        except _CellError as error:
            row.reject(spec.field, error.code, error.message)
    if combined := row.values.pop("employment", None):
        employer, post, title = _split_employment(combined)
        for name, value in (("employer_name", employer), ("post", post), ("title", title)):
            if value and name not in row.values and name not in row.failed:
                row.values[name] = value
    if combined := row.values.pop("contact", None):
        _split_contact(row, combined)
    return row


def _institution(row: _Row, directory: _Directory, which: str, current_id: int | None) -> _InstitutionRef | None:
    """The employer or recommending unit a row names, by credit code, else by exact name (see the docstring)."""
    name_field, code_field = f"{which}_name", f"{which}_code"
    name: str | None = row.values.get(name_field)
    code: str | None = row.values.get(code_field)
    if which == "recommending" and name is None and code is None and code_field not in row.failed:
        name = directory.default_recommending
    if code is not None:
        known = directory.by_code.get(code)
        if known is not None:
            if name and name != known.name:
                row.note(name_field, "institution_name_differs",
                         f"credit code {code} is {known.name!r} in the directory; that institution is used")
            return _InstitutionRef(known.name, code, known.id)
        if not name:
            row.reject(code_field, "institution_code_unknown",
                       f"credit code {code} is not in the directory; give the name as well to add it")
            return None
        unnumbered = [i for i in directory.by_name.get(name, []) if i.credit_code is None]
        if len(unnumbered) == 1:
            return _InstitutionRef(name, code, unnumbered[0].id, add_code=True)
        return _InstitutionRef(name, code)
    if not name or code_field in row.failed:
        return None
    matches = directory.by_name.get(name, [])
    if len(matches) > 1:
        matches = [m for m in matches if m.id == current_id]
        if not matches:
            row.reject(name_field, "institution_ambiguous",
                       f"several institutions are named {name!r}; give the credit code")
            return None
    if matches:
        return _InstitutionRef(name, matches[0].credit_code, matches[0].id)
    return _InstitutionRef(name, None)


def _check_identity(row: _Row, today: date, seen: dict[str, int]) -> date | None:
    """Validate the ID number and derive gender and birth date from it; the birth date, or None."""
    number: str | None = row.values.get("id_number")
    if number is None:
        if "id_number" not in row.failed:
            row.reject("id_number", "required", "required")
        return None
    try:
        identity = validate_id_number(number, today=today)
    except InvalidIdentifier as error:
        row.reject("id_number", f"id_number_{error.reason}", str(error))
        return None
    if number in seen:
        row.reject("id_number", "duplicate_in_file", f"same ID number as row {seen[number]}")
    seen.setdefault(number, row.number)
    given = row.values.get("gender")
    if given is not None and given != identity.gender:
        row.reject("gender", "gender_mismatch",
                   f"{GENDER_LABELS[given]} contradicts the ID number ({GENDER_LABELS[identity.gender]})")
    row.values["gender"] = identity.gender
    birth: tuple[date, bool] | None = row.values.pop("birth_date", None)
    if birth is not None:
        day, exact = birth
        born = identity.birth_date
        if (day != born) if exact else ((day.year, day.month) != (born.year, born.month)):
            row.reject("birth_date", "birth_date_mismatch",
                       f"{day.isoformat()[:10 if exact else 7]} contradicts the ID number ({born.isoformat()})")
    start: date | None = row.values.get("work_start_date")
    if start is not None and start <= identity.birth_date:
        row.reject("work_start_date", "before_birth", f"{start.isoformat()} is not after the birth date")
    return identity.birth_date


def _check(row: _Row, directory: _Directory, seen: dict[str, int]) -> _Plan | None:
    """Every reason to reject the row, or the plan to apply it."""
    values = row.values
    if "name" not in values and "name" not in row.failed:
        row.reject("name", "required", "required")
    birth_date = _check_identity(row, directory.today, seen)
    start: date | None = values.get("work_start_date")
    if start is not None and start > directory.today:
        row.reject("work_start_date", "date_in_future", f"{start.isoformat()} is after today")
    number: str = values.get("id_number", "")
    existing = directory.experts.get(number)
    expert = existing[0] if existing else None
    categories = values.get("categories", expert.categories if expert else [])
    if not 1 <= len(categories) <= MAX_CATEGORIES and "categories" not in row.failed:
        row.reject("categories", "categories_count", "give 1 or 2 of 医保监管/医药临床/医保信息/管理")
    if values.get("clinical_subcategories") and Category.CLINICAL.value not in categories:
        row.reject("clinical_subcategories", "subcategory_without_clinical", "only for 医药临床 experts")
    unit_id = _org_unit(row, directory, expert)
    employer = _institution(row, directory, "employer", expert.employer_id if expert else None)
    recommending = _institution(row, directory, "recommending", expert.recommending_unit_id if expert else None)
    if row.issues or birth_date is None or unit_id is None:
        return None
    plan = _Plan(row, number, values["name"], birth_date, existing, unit_id, employer, recommending)
    if existing is None:
        _check_new_state(row, directory, plan)
        same_name = directory.unnumbered.get((plan.name, unit_id), 0)
        if same_name:
            row.note("name", "same_name_without_id", f"the pool already has {same_name} expert(s) named {plan.name} "
                     "without an ID number; a new record was made: remove any duplicate")
    else:
        _note_kept_state(row, existing[0])
    return None if row.issues else plan


def _org_unit(row: _Row, directory: _Directory, expert: Expert | None) -> int | None:
    """The explicit (所属单位) org unit, else the expert's own, else (new expert) the default; None on rejection."""
    named: str | None = row.values.get("org")
    if expert is not None and directory.scope is not None and expert.org_unit_id not in directory.scope:
        row.reject("id_number", "expert_out_of_scope", "this expert belongs to a pool outside your org unit")
        return None
    if named is None:
        if "org" in row.failed:
            return None
        if expert is not None:
            if expert.org_unit_id != directory.default_unit.id:
                row.note("org", "not_moved", "the expert stays in their own pool; name 所属单位 to move them")
            return expert.org_unit_id
        return directory.default_unit.id
    unit = directory.units.get(named.lower()) or directory.units.get(named)
    if unit is None:
        row.reject("org", "org_unknown", f"no org unit {named!r}")
        return None
    if directory.scope is not None and unit.id not in directory.scope:
        row.reject("org", "org_out_of_scope", f"{unit.code} is outside your org unit")
        return None
    return unit.id


def _note_kept_state(row: _Row, expert: Expert) -> None:
    given: str | None = row.values.get("state")
    start: date | None = row.values.get("term_start")
    end: date | None = row.values.get("term_end")
    if given is not None and given != expert.state:
        row.note("state", "state_kept", f"the expert is {_state_label(expert.state)}; states change through the "
                 "life cycle, not by import")
    elif given is None and expert.state in (ExpertState.EXITED, ExpertState.REMOVED):
        row.note("state", "inactive_updated", f"the expert is {_state_label(expert.state)}; the record was updated, "
                 "the state was not")
    if (start and start != expert.term_start) or (end and end != expert.term_end):
        row.note("term_start" if start else "term_end", "term_kept",
                 "the term changes through the life cycle, not by import")


def _check_new_state(row: _Row, directory: _Directory, plan: _Plan) -> None:
    given: str | None = row.values.get("state")
    start: date | None = row.values.get("term_start")
    end: date | None = row.values.get("term_end")
    state = ExpertState(given) if given else ExpertState.ACTIVE
    if state not in IMPORTABLE_STATES:
        row.reject("state", "state_not_importable",
                   f"a new expert is {'/'.join(STATE_LABELS[s] for s in IMPORTABLE_STATES)}")
        return
    plan.state = state
    if state is not ExpertState.ACTIVE:
        if start or end:
            row.reject("term_start" if start else "term_end", "term_without_active", "only 在库 experts have a term")
        return
    first = start or (add_years(end, -TERM_YEARS) if end else directory.today)
    last = end or add_years(first, TERM_YEARS)
    if last <= first:
        row.reject("term_end", "term_invalid", "the term ends before it starts")
    elif last < directory.today:
        row.reject("term_end", "term_over", f"the term ended on {last.isoformat()}")
    plan.term = (first, last)


def _blank(cells: tuple[Cell, ...], mapping: list[tuple[int, ColumnSpec]]) -> bool:
    """An empty row, a "..." row, a row with only defaults filled down, or a footer (审核人/填表人...)."""
    texts = [_text_of(cells[i]) for i, spec in mapping if spec.field not in _NOT_DATA]
    if not any(t.strip(".…") for t in texts):
        return True
    first = next(t for t in (_text_of(c) for c in cells) if t)
    has_id = any(_text_of(cells[i]) for i, spec in mapping if spec.field == "id_number")
    return first.startswith(_FOOTER_WORDS) and not has_id


_NOT_DATA = frozenset({"seq", "org", "state", "reason", "source_row"})


# --- the service --------------------------------------------------------------------------------------------


async def _notify_progress(callback: ProgressCallback | None, done: int, total: int) -> None:
    if callback is None:
        return
    result = callback(done, total)
    if inspect.isawaitable(result):
        await result


def _chunks(values: Sequence[_T], size: int = 500) -> Iterable[list[_T]]:
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


async def _default_unit(uow: UnitOfWork, actor: Actor, org: str | None) -> OrgUnit:
    """``org``, else the actor's org unit, else (the system) the root of the tree; the actor must cover it."""
    if org:
        unit = await get_unit(uow, org)
    elif actor.staff_org_unit_id is not None:
        unit = await get_unit(uow, actor.staff_org_unit_id)
    else:
        roots = [u for u in await uow.org_units.all() if u.parent_id is None]
        if len(roots) != 1:
            raise InvalidInput("name the org unit whose pool to use", field="org")
        unit = roots[0]
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    return unit


async def _load_directory(uow: UnitOfWork, actor: Actor, unit: OrgUnit, rows: list[_Row],
                          default_recommending: str | None) -> _Directory:
    units: dict[str, OrgUnit] = {}
    for u in await uow.org_units.all():
        units.update({u.code.lower(): u, u.name: u, str(u.id): u})
    scope = None if actor.person_id is None else await subtree(uow, actor.staff_org_unit_id or 0)
    experts: dict[str, tuple[Expert, Person]] = {}
    for chunk in _chunks(sorted({r.values["id_number"] for r in rows if "id_number" in r.values})):
        found = await uow.session.exec(select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id))
                                       .where(col(Expert.id_number).in_(chunk)))
        experts.update({e.id_number: (e, p) for e, p in found if e.id_number})
    by_code: dict[str, Institution] = {}
    codes = {r.values[f] for r in rows for f in ("employer_code", "recommending_code") if f in r.values}
    for chunk in _chunks(sorted(codes)):
        found_codes = await uow.session.exec(select(Institution).where(col(Institution.credit_code).in_(chunk)))
        by_code.update({i.credit_code: i for i in found_codes if i.credit_code})
    by_name: dict[str, list[Institution]] = {}
    names = {r.values[f] for r in rows for f in ("employer_name", "recommending_name") if f in r.values}
    for chunk in _chunks(sorted(names | ({default_recommending} if default_recommending else set()))):
        found_names = await uow.session.exec(
            select(Institution).where(col(Institution.name).in_(chunk)).order_by(col(Institution.id)))
        for institution in found_names:
            by_name.setdefault(institution.name, []).append(institution)
    unnumbered: dict[tuple[str, int], int] = {}
    for chunk in _chunks(sorted({r.values["name"] for r in rows if "name" in r.values})):
        found_people = await uow.session.exec(
            select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id))
            .where(col(Expert.id_number).is_(None), col(Person.name).in_(chunk)))
        for expert, person in found_people:
            unnumbered[(person.name, expert.org_unit_id)] = unnumbered.get((person.name, expert.org_unit_id), 0) + 1
    return _Directory(uow.today(), unit, scope, units, experts, by_code, by_name, unnumbered, default_recommending)


def _map_columns(sheet: Sheet, report: ImportReport) -> tuple[list[tuple[int, ColumnSpec]], dict[str, str]]:
    mapping: list[tuple[int, ColumnSpec]] = []
    columns: dict[str, str] = {}
    for index, header in enumerate(sheet.headers):
        spec = _BY_HEADER.get(_header_key(header))
        if spec is None:
            if header:
                report.notes.append(Issue(sheet.header_row, header, "unknown_column", "column not recognized; ignored"))
        elif spec.field in columns:
            report.notes.append(Issue(sheet.header_row, header, "repeated_column",
                                      f"same column as {columns[spec.field]!r}; ignored"))
        else:
            columns[spec.field] = header
            mapping.append((index, spec))
    for required in ("name", "id_number"):
        if required not in columns:
            raise InvalidInput(f"the file has no {_HEADER_OF[required]} column", field="file")
    return mapping, columns


async def import_experts(
    uow: UnitOfWork,
    *,
    actor: Actor,
    source: Path | bytes,
    filename: str | None = None,
    org: str | None = None,
    strict: bool = False,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import expert records from an XLSX or CSV file (a path, or its bytes with ``filename``) into the pool of
    ``org`` (default: the actor's org unit; the bureau for the system), in one transaction that this commits.
    See the module docstring for the columns and rules.

    ``on_progress(done, total)`` (plain or async) is called with ``done=0`` once the file is read and checked,
    then after each row is applied, ending with ``done == total``."""
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            data = await asyncio.to_thread(source.read_bytes)
        except OSError as error:
            raise InvalidInput(f"cannot read {source}: {error.strerror}", field="file") from None
    else:
        data = source
    unit = await _default_unit(uow, actor, org)
    sheet = await asyncio.to_thread(read_sheet, data, filename or "upload")
    report = ImportReport(source=filename or "upload", org_code=unit.code, strict=strict, headers=sheet.headers)
    mapping, columns = _map_columns(sheet, report)
    rows = [_parse_row(n, cells, mapping, columns) for n, cells in sheet.rows if not _blank(cells, mapping)]
    report.total = len(rows)
    directory = await _load_directory(uow, actor, unit, rows, sheet.default_recommending)
    seen: dict[str, int] = {}
    plans: list[_Plan] = []
    position = {header: index for index, header in reversed(list(enumerate(sheet.headers)))}
    for row in rows:
        plan = _check(row, directory, seen)
        if plan is None:
            reasons = sorted(row.issues, key=lambda issue: position.get(issue.column, len(position)))
            report.rejected.append(RejectedRow(row.number, row.cells, tuple(reasons)))
        else:
            plans.append(plan)
    report.valid = len(plans)
    done = len(report.rejected)
    await _notify_progress(on_progress, 0 if plans else done, report.total)
    if strict and report.rejected:
        report.applied = False
        return report
    writer = _Writer(uow, actor, report, directory.today)
    for plan in plans:
        await writer.apply(plan)
        report.notes.extend(plan.row.notes)
        done += 1
        await _notify_progress(on_progress, done, report.total)
    report.notes.sort(key=lambda issue: issue.row)
    await uow.commit()
    return report


class _Writer:
    """Applies checked rows inside the caller's transaction, creating each new institution once per file."""

    def __init__(self, uow: UnitOfWork, actor: Actor, report: ImportReport, today: date) -> None:
        self.uow, self.actor, self.report, self.today = uow, actor, report, today
        self.now = uow.now()
        self.made: dict[tuple[str, str], Institution] = {}

    async def _audit(self, action: str, object_type: str, object_id: int, details: dict[str, Any]) -> None:
        await audit.record(self.uow, at=self.now, actor=self.actor.label, action=action, object_type=object_type,
                           object_id=object_id, details=details)

    async def institution(self, ref: _InstitutionRef | None, row: _Row, which: str) -> int | None:
        """The id of the institution ``ref`` names, creating it (or giving it its code) the first time, with a
        note on ``row``."""
        if ref is None:
            return None
        if ref.institution_id is not None and not ref.add_code:
            return ref.institution_id
        if ref.code is not None and ("code", ref.code) in self.made:
            return self.made[("code", ref.code)].id
        same_name = self.made.get(("name", ref.name))
        if ref.code is None and same_name is not None:
            return same_name.id
        target = same_name if same_name is not None and same_name.credit_code is None else None
        if target is None and ref.add_code and ref.institution_id is not None:
            target = await self.uow.session.get(Institution, ref.institution_id)
        if target is not None and target.id is not None and target.credit_code is None:
            target.credit_code, target.updated_at = ref.code, self.now
            self.uow.session.add(target)
            await self.uow.session.flush()
            await self._audit("institution.updated", "institution", target.id,
                              {"fields": ["credit_code"], "source": "expert_import"})
            row.note(f"{which}_code", "institution_code_added",
                     f"credit code {ref.code} given to {ref.name!r} in the directory")
        else:
            target = Institution(name=ref.name, credit_code=ref.code, kind="other", created_at=self.now,
                                 updated_at=self.now)
            self.uow.session.add(target)
            await self.uow.session.flush()
            assert target.id is not None
            await self._audit("institution.created", "institution", target.id,
                              {"name": ref.name, "credit_code": ref.code, "kind": "other", "source": "expert_import"})
            self.report.institutions_created += 1
            row.note(f"{which}_name", "institution_created",
                     f"{ref.name!r} added to the directory with credit code {ref.code} (kind: other)" if ref.code
                     else f"{ref.name!r} was not in the directory; added without credit code (kind: other), "
                          "please check it")
        if ref.code is not None:
            self.made[("code", ref.code)] = target
        self.made[("name", ref.name)] = target
        return target.id

    async def apply(self, plan: _Plan) -> None:
        values = {k: v for k, v in plan.row.values.items() if k in _DIRECT}
        values["birth_date"] = plan.birth_date
        for key, which, ref in (("employer_id", "employer", plan.employer),
                                ("recommending_unit_id", "recommending", plan.recommending)):
            institution_id = await self.institution(ref, plan.row, which)
            if institution_id is not None:
                values[key] = institution_id
        if plan.existing is None:
            await self._create(plan, values)
        else:
            await self._update(plan, values)

    async def _create(self, plan: _Plan, values: dict[str, Any]) -> None:
        person = await self.uow.people.add(Person(name=plan.name, created_at=self.now))
        assert person.id is not None
        expert = Expert(person_id=person.id, org_unit_id=plan.org_unit_id, id_number=plan.id_number,
                        state=plan.state.value, created_at=self.now, updated_at=self.now, **values)
        if plan.term is not None:
            expert.term_start, expert.term_end = plan.term
        if plan.state is ExpertState.PUBLIC_NOTICE:
            expert.notice_ends_on = default_calendar().add_working_days(self.today, NOTICE_WORKING_DAYS)
        await self.uow.people.add_role_row(expert)
        if expert.employer_id is not None:
            await self._employment(expert, None)
        await self._audit("expert.created", "person", person.id, {
            "org_unit_id": plan.org_unit_id, "state": expert.state, "fields": sorted(["name", "id_number", *values]),
            "source": self.report.source, "row": plan.row.number})
        self.report.created += 1
        self.report.created_ids.append(person.id)

    async def _update(self, plan: _Plan, values: dict[str, Any]) -> None:
        assert plan.existing is not None
        expert, person = plan.existing
        values["org_unit_id"] = plan.org_unit_id
        changed = [key for key, value in values.items() if getattr(expert, key) != value]
        if plan.name != person.name:
            person.name = plan.name
            self.uow.session.add(person)
            changed.append("name")
        if not changed:
            self.report.unchanged += 1
            return
        previous_employer = expert.employer_id
        for key in changed:
            if key != "name":
                setattr(expert, key, values[key])
        expert.updated_at = self.now
        self.uow.session.add(expert)
        if expert.employer_id != previous_employer:
            await self._employment(expert, previous_employer)
        await self._audit("expert.updated", "person", expert.person_id,
                          {"fields": sorted(changed), "source": self.report.source, "row": plan.row.number})
        self.report.updated += 1
        self.report.updated_ids.append(expert.person_id)

    async def _employment(self, expert: Expert, previous_employer: int | None) -> None:
        """Close the open work-history periods elsewhere (recording the previous employer if it had none) and
        open one at the current employer: the two-year recusal rule (000 §15(一)) reads this history."""
        session = self.uow.session
        periods = (await session.exec(select(ExpertEmployment).where(
            ExpertEmployment.expert_id == expert.person_id, col(ExpertEmployment.end_date).is_(None)))).all()
        if previous_employer is not None and not any(p.institution_id == previous_employer for p in periods):
            previous = await session.get(Institution, previous_employer)
            if previous is not None:
                session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=previous.id,
                                             institution_name=previous.name, end_date=self.today))
        for period in periods:
            if period.institution_id != expert.employer_id:
                period.end_date = self.today
                session.add(period)
        if not any(p.institution_id == expert.employer_id for p in periods):
            current = await session.get(Institution, expert.employer_id)
            assert current is not None
            session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=current.id,
                                         institution_name=current.name, post=expert.post))
        await session.flush()


# --- rejections file ----------------------------------------------------------------------------------------


def write_rejections(report: ImportReport, path: Path, *, describe: Callable[[Issue], str] | None = None) -> int:
    """Write the rejected rows as they were read, after a 原因 column (each reason as "column：message", or as
    ``describe`` words it) and a 原行号 column, as XLSX or CSV by ``path``'s extension. Returns the row count."""
    explain = describe or (lambda issue: f"{issue.column}：{issue.message}")
    headers = [REASON_HEADER, SOURCE_ROW_HEADER, *report.headers]
    rows: list[list[Cell]] = [
        ["；".join(explain(issue) for issue in rejected.reasons), rejected.row, *rejected.cells]
        for rejected in report.rejected
    ]
    _write_table(path, headers, rows, title=None)
    return len(rows)


# --- export -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    count: int
    full_id_numbers: bool


def _labels(codes: Iterable[str], labels: dict[Any, str]) -> str:
    return "、".join(labels.get(code, code) for code in codes)


def _export_values(expert: Expert, person: Person, institutions: dict[int, Institution], units: dict[int, OrgUnit],
                   full: bool) -> dict[str, Cell]:
    employer = institutions.get(expert.employer_id or 0)
    recommending = institutions.get(expert.recommending_unit_id or 0)

    def label(value: str | None, labels: dict[Any, str]) -> str | None:
        return labels.get(value, value) if value else None

    def yes(value: bool) -> str:
        return "是" if value else "否"

    values: dict[str, Cell] = {name: getattr(expert, name) for name in _DIRECT if not isinstance(
        getattr(expert, name), list | bool)}
    values.update({name: yes(getattr(expert, name)) for name in _DIRECT if isinstance(getattr(expert, name), bool)})
    values.update(
        name=person.name, gender=label(expert.gender, GENDER_LABELS),
        employment=" ".join(v for v in (employer.name if employer else None, expert.post, expert.title) if v),
        highest_degree=label(expert.highest_degree, DEGREE_LABELS),
        id_number=(expert.id_number if full else mask_id_number(expert.id_number)) if expert.id_number else None,
        contact=" ".join(v for v in (expert.mobile, expert.email) if v), birth_date=expert.birth_date,
        employer_name=employer.name if employer else None, employer_code=employer.credit_code if employer else None,
        post_level=label(expert.post_level, POST_LEVEL_LABELS),
        title_level=label(expert.title_level, TITLE_LEVEL_LABELS),
        categories=_labels(expert.categories, CATEGORY_LABELS),
        clinical_subcategories=_labels(expert.clinical_subcategories, SUBCATEGORY_LABELS),
        specialty_tags="、".join(expert.specialty_tags),
        recommending_name=recommending.name if recommending else None,
        recommending_code=recommending.credit_code if recommending else None,
        education="\n".join(str(item.get("text", "")) for item in expert.education),
        org=units[expert.org_unit_id].code if expert.org_unit_id in units else None,
        state=label(expert.state, STATE_LABELS), term_start=expert.term_start, term_end=expert.term_end,
    )
    return values


async def export_experts(
    uow: UnitOfWork,
    *,
    actor: Actor,
    path: Path,
    org: str | None = None,
    states: Sequence[str] = ("active",),
) -> ExportResult:
    """Write the experts of ``org``'s subtree (default: the actor's org unit; everything for the system) in the
    given states to ``path`` (.xlsx or .csv) in the annex-2 layout, and record the export in the audit trail."""
    wanted = [ExpertState(s).value for s in states if s in {x.value for x in ExpertState}]
    if len(wanted) != len(list(states)) or not wanted:
        raise InvalidInput(f"states must be some of {', '.join(s.value for s in ExpertState)}", field="states")
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InvalidInput("the file name must end in .xlsx or .csv", field="file")
    scope_unit: OrgUnit | None = None
    if org is not None or actor.person_id is not None:
        if org is None and actor.staff_org_unit_id is None:
            raise PermissionDenied("only staff may do this")
        scope_unit = await _default_unit(uow, actor, org)
    query = select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id)).where(
        col(Expert.state).in_(wanted))
    if scope_unit is not None:
        assert scope_unit.id is not None
        query = query.where(col(Expert.org_unit_id).in_(await subtree(uow, scope_unit.id)))
    found = (await uow.session.exec(query.order_by(col(Expert.org_unit_id), col(Expert.person_id)))).all()
    ids = sorted({i for e, _ in found for i in (e.employer_id, e.recommending_unit_id) if i is not None})
    institutions: dict[int, Institution] = {}
    for chunk in _chunks(ids):
        found_institutions = await uow.session.exec(select(Institution).where(col(Institution.id).in_(chunk)))
        institutions.update({i.id: i for i in found_institutions if i.id is not None})
    units = {u.id: u for u in await uow.org_units.all() if u.id is not None}
    full = actor.person_id is None or Role.ADMIN in actor.roles
    rows: list[list[Cell]] = []
    for number, (expert, person) in enumerate(found, start=1):
        values = _export_values(expert, person, institutions, units, full)
        values["seq"] = number
        rows.append([values.get(spec.field) for spec in _EXPORTED])
    title = TITLE if path.suffix.lower() == ".xlsx" else None
    await asyncio.to_thread(_write_table, path, [spec.header for spec in _EXPORTED], rows, title=title)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.exported", object_type="org_unit",
                       object_id=scope_unit.id if scope_unit is not None and scope_unit.id is not None else "all",
                       details={"count": len(rows), "states": wanted, "full_id_numbers": full,
                                "format": path.suffix.lower().lstrip(".")})
    await uow.commit()
    return ExportResult(path, len(rows), full)
