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
完全民事行为能力 | 刑事犯罪记录 | 行政处罚或严重处分 | 违反医保规定 |
工作经历及专业特长 (annex 1: one period per line, ``YYYY.MM–YYYY.MM 单位 职务`` or ``…–至今``;
see :mod:`services.pool.work_history`) | 所属单位 (the pool's org unit, code or name; default: the caller's) |
状态 (申请/审核中/公示中/在库; default 在库) | 聘期开始 | 聘期结束 (new active experts only; default today and
three years later, 000 §10(七)). Yes/no columns take 是/否 (also Y/N, √/×, 1/0, 有/无).
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
* **Work history** (:mod:`.history`): the 工作经历 periods are matched to the directory by credit code or exact name
  and merged into the stored history after the row (a period at the same institution with the same start, or one
  opened or closed by an employer change, takes the row's dates: a re-import dates a job change as the row says).
  Periods that cannot be read or matched are kept unmatched and listed in ``ImportReport.history_unmatched``.
* **Admission** (:mod:`.admission`): every row is judged by the eligibility rules of an application (000 §8–§9).
  A failing row is listed in ``ImportReport.ineligible`` with each reason's article; a new expert from it is
  审核中 (under review) without a term; ``strict=True`` rejects it instead. ``admit_ineligible="<reason>"`` (admins
  and the system; CLI ``--admit-ineligible --reason``) keeps such rows as they say, with an audit entry per expert,
  except that nobody over 65 gets a term (000 §22).
* Staff import into their org unit's subtree only. Each created or updated expert gets one audit entry naming the
  changed fields (no values); each institution created or given a code gets its own.

Export writes the annex-2 layout (XLSX: the title row, the header row, one row per expert; CSV: the header row),
with full ID numbers for admins and the system, masked otherwise, and records the export in the audit trail.

Modules: :mod:`.columns` (vocabularies, cell parsers, :data:`COLUMNS`), :mod:`.sheet` (reading a file, the report),
:mod:`.checks` (checking rows, pure), :mod:`.admission` (eligibility at import), :mod:`.importer` (the import
service), :mod:`.writer` (applying rows), :mod:`.export` (the export and the rejections file).
"""

from __future__ import annotations

from services.pool.expert_io.columns import CATEGORY_LABELS, COLUMNS, SUBCATEGORY_LABELS, TITLE, ColumnSpec
from services.pool.expert_io.export import ExportResult, export_experts, write_rejections
from services.pool.expert_io.importer import ProgressCallback, import_experts
from services.pool.expert_io.sheet import ImportReport, Sheet, read_sheet

__all__ = [
    "CATEGORY_LABELS", "COLUMNS", "SUBCATEGORY_LABELS", "TITLE", "ColumnSpec", "ExportResult", "ImportReport",
    "ProgressCallback", "Sheet", "export_experts", "import_experts", "read_sheet", "write_rejections",
]
