"""Who may sit in the expert pool (专家库): the admission and review conditions as one pure function.

:func:`check_eligibility` takes an :class:`ExpertProfile` (plain data) and the date to judge on, and returns an
:class:`Eligibility` listing **every** :class:`Reason` found, each with a stable ``code``, the ``article`` it rests
on and the ``params`` a message can show. A reason is a ``"fail"`` (blocks admission or renewal) or a ``"warning"``
(admissible, but staff must look). No I/O, no clock: the caller passes the date. Used at admission (000 §10(三))
and at the review before each term ends (000 §10(七)).

Sources: ``000`` is the XPCC expert-pool rules (兵团医疗保障基金监管专家库管理办法), ``001`` the Hainan rules whose
5-year bar the project adopts (RULES.md, "Expert pool" 4).

Interpretations of the articles
-------------------------------
1. **Thresholds include the number.** Chinese drafting counts "以上/以下/不超过/及以上" inclusively (民法典 art. 1259,
   刑法 art. 99). So 本科以上 admits a bachelor, 连续工作5年以上 admits exactly 5 completed years, 副高以上 admits
   associate-senior, 科级以上 admits section level, 中级及以上 admits intermediate, and 年龄一般不超过50周岁 admits
   a completed age of 50 and fails from the 51st birthday.
2. **Ages and years are completed years** (周岁): :func:`age_on` / :func:`years_between`; someone born (or who
   started work) on 29 February completes a year on 1 March in non-leap years.
3. **Age 65** (000 §8(四) "原则上年龄在65周岁以下", §22 "年满六十五周岁的，且本人未提出延期申请的，自动退出"). Read
   alone, "65周岁以下" would include 65 (point 1), but §22 makes reaching 65 the exit point and admission cannot
   be looser than staying, so the limit is *under* 65: on the 65th birthday the check fails (``age_limit``,
   "000 §8(四)"). §8(四) says "原则上" and §22 names the exception, so with ``extension_requested`` it is a
   warning citing "000 §22" (the bureau still decides on the extension).
4. **Title or post** (000 §8(二)): associate-senior title or above, *or* a section-level post or above.
   "担任过" (has held) means ``post_level`` is the highest post ever held; the level of the department (省、地市、
   县区级) is not distinguished.
5. **Informatics replaces the title condition** (000 §7(三)3, §8(二)3): an informatics (信息类) intermediate title
   with ≥8 years in the field, or an informatics senior title (高级 = associate-senior or senior) with ≥5 years.
   The specific rule prevails over §8(二)'s general "副高以上职称或科级以上职务", otherwise the intermediate path
   would be dead letter. A post does not replace the informatics title; a non-informatics title does not count.
   The §8(二) degree and ≥5-years conditions still apply to informatics experts.
6. **Informatics age** (000 §7(三)3 "年龄一般不超过50周岁"): over 50 fails ``informatics_age``.
7. **Flight-inspection relaxation** (000 §7(三)4 "参加过国家级、省级基金监管飞行检查的，可适当放宽条件"): it sits inside
   §7(三), so it relaxes that category's own conditions in §7(三)3 — the informatics title/years and the age of
   50 — which become warnings. It does not relax §8 (degree, 5 years, 65) or §9, which bind every expert.
8. **Several categories**: an expert in two categories may be drawn for either, so the conditions of each apply
   (e.g. informatics + supervision needs both the informatics title and §8(二)'s title or post).
9. **Post only** (warning ``post_only``, "000 §8(二)"): §8(二) also requires one of its items 1–4; items 2 and 4
   (medical and management experts) require an associate-senior title, item 3 is informatics, and only item 1
   (insurance administration, 医疗保障行政管理) admits a post without such a title. So a non-informatics expert
   who qualifies by post alone and is not marked ``is_insurance_staff`` gets a warning for staff to verify item 1.
   The items' qualitative conditions (experience, policy knowledge) are not checkable here.
10. **Management** (000 §7(四)2–3): for non-insurance staff, a finance/audit bachelor's degree or above, *or* a
    finance/audit intermediate title or above, *or* a CPA certificate. Items 2 and 3 are read as alternatives: each
    repeats "非医保工作人员" as its own route, whereas cumulative conditions are joined in one item (cf. §7(三)3).
    Nothing of §7(四)2–3 applies to insurance staff (§7(四)1, the field of work, is not checkable).
11. **Categories** (000 §7; annex 1 note 5 "最多勾选两项"): at least one (an expert belongs to one of the four
    categories of §7: "000 §7") and at most two ("000 annex 1 note 5"); duplicates count once and order does not
    matter. A clinical expert needs at least one sub-category (000 §7(二)1–4). Sub-categories listed without the
    clinical category are ignored.
12. **Exclusions** (000 §9): (一) lacking full civil capacity → ``civil_capacity``; (二) criminal record,
    administrative penalty or severe sanction by the employer → ``criminal_or_penalty``; (三) a prior violation of
    insurance rules → ``insurance_violation``. §9(四) (other legal grounds), §8(一)(三)(五) (conduct, credit,
    willingness) and the relevance of the major (§7(二), §7(三)2: ``major`` is free text) are left to staff.
13. **The 5-year bar** is the closing paragraph of 001 §22 (after its items, not one of them): "专家被移出专家库后
    ……5年内不得再聘任", cited as "001 §22". The XPCC text (000 §23) has no bar of its own. ``barred_until`` is the
    first day the person may be appointed again: the check fails while ``barred_until`` is after the date.
    :func:`barred_until_for` computes it from the removal date under 民法典 art. 201–202: the period starts the
    day after removal and ends on the corresponding day five years later (28 February when there is no 29th).
14. **Missing or impossible data** fails: ``missing_data`` (or ``invalid_data`` for a birth or work-start date
    after the date judged on) with ``params["field"]``, only when the value is needed to decide a check (a missing
    title does not matter when the post already qualifies), and once per field, citing the first check needing it.
15. **Order** of reasons is fixed: categories; §8(二) degree, work years, title or post; §8(四) age; §7 category
    conditions (informatics, management); §9; the bar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from services.platform.identifiers import age_on

__all__ = [
    "AGE_LIMIT",
    "BAR_YEARS",
    "INFORMATICS_AGE_LIMIT",
    "INFORMATICS_INTERMEDIATE_YEARS",
    "INFORMATICS_MIN_TITLE",
    "INFORMATICS_SENIOR_YEARS",
    "MANAGEMENT_MIN_TITLE",
    "MAX_CATEGORIES",
    "MIN_CATEGORIES",
    "MIN_DEGREE",
    "MIN_POST",
    "MIN_TITLE",
    "MIN_WORK_YEARS",
    "Category",
    "ClinicalSubcategory",
    "Degree",
    "Eligibility",
    "ExpertProfile",
    "PostLevel",
    "Reason",
    "Severity",
    "TitleLevel",
    "age_on",
    "barred_until_for",
    "check_eligibility",
    "years_between",
]

AGE_LIMIT = 65  # 000 §8(四), §22: under 65
MIN_WORK_YEARS = 5  # 000 §8(二): 连续工作5年以上
INFORMATICS_AGE_LIMIT = 50  # 000 §7(三)3: 一般不超过50周岁
INFORMATICS_INTERMEDIATE_YEARS = 8  # 000 §7(三)3: 中级职称且工作8年及以上
INFORMATICS_SENIOR_YEARS = 5  # 000 §7(三)3: 高级职称且工作5年以上
MIN_CATEGORIES = 1  # 000 §7
MAX_CATEGORIES = 2  # 000 annex 1 note 5: 最多勾选两项
BAR_YEARS = 5  # 001 §22: 5年内不得再聘任


class Category(StrEnum):
    """Expert category (专家类别, 000 §7)."""

    SUPERVISION = "supervision"  # 医保监管
    CLINICAL = "clinical"  # 医药临床
    INFORMATICS = "informatics"  # 医保信息
    MANAGEMENT = "management"  # 管理


class ClinicalSubcategory(StrEnum):
    """Clinical sub-category (000 §7(二)1–4)."""

    MEDICINE = "medicine"  # 医学
    PHARMACY = "pharmacy"  # 药学
    CONSUMABLES = "consumables"  # 医用耗材
    LAB_REAGENTS = "lab_reagents"  # 检验试剂


class Degree(StrEnum):
    """Highest degree (最高学历), lowest first."""

    BELOW_BACHELOR = "below_bachelor"
    BACHELOR = "bachelor"
    MASTER = "master"
    DOCTOR = "doctor"


class TitleLevel(StrEnum):
    """Professional title (专业技术职称), lowest first; 高级 is associate_senior (副高) or senior (正高)."""

    NONE = "none"
    JUNIOR = "junior"
    INTERMEDIATE = "intermediate"
    ASSOCIATE_SENIOR = "associate_senior"
    SENIOR = "senior"


class PostLevel(StrEnum):
    """Highest post ever held (职务), lowest first: 科级, 处级, 厅局级 or above."""

    NONE = "none"
    SECTION = "section"
    DIVISION = "division"
    BUREAU = "bureau"


class Severity(StrEnum):
    """A failure blocks eligibility; a warning asks staff to look."""

    FAIL = "fail"
    WARNING = "warning"


MIN_DEGREE = Degree.BACHELOR
MIN_TITLE = TitleLevel.ASSOCIATE_SENIOR
MIN_POST = PostLevel.SECTION
INFORMATICS_MIN_TITLE = TitleLevel.INTERMEDIATE
MANAGEMENT_MIN_TITLE = TitleLevel.INTERMEDIATE

_CATEGORIES_MIN_ARTICLE = "000 §7"
_CATEGORIES_MAX_ARTICLE = "000 annex 1 note 5"
_CLINICAL_ARTICLE = "000 §7(二)"
_BASIC_ARTICLE = "000 §8(二)"
_AGE_ARTICLE = "000 §8(四)"
_EXTENSION_ARTICLE = "000 §22"
_INFORMATICS_ARTICLE = "000 §7(三)3"
_MANAGEMENT_ARTICLE = "000 §7(四)"
_CIVIL_CAPACITY_ARTICLE = "000 §9(一)"
_CRIMINAL_ARTICLE = "000 §9(二)"
_VIOLATION_ARTICLE = "000 §9(三)"
_BAR_ARTICLE = "001 §22"


@dataclass(frozen=True)
class ExpertProfile:
    """What the eligibility rules need to know about an expert (from annex 1 and the pool's records)."""

    birth_date: date | None
    work_start_date: date | None  # start of continuous work in the field
    highest_degree: Degree | None
    title_level: TitleLevel | None
    post_level: PostLevel | None  # highest post ever held
    categories: tuple[Category, ...]
    major: str = ""
    major_is_finance_audit: bool = False
    title_is_finance_audit: bool = False
    title_is_informatics: bool = False
    clinical_subcategories: tuple[ClinicalSubcategory, ...] = ()
    has_cpa: bool = False
    flight_inspection: bool = False  # took part in national/provincial flight inspections
    is_insurance_staff: bool = False  # 医保工作人员
    full_civil_capacity: bool = True
    criminal_record: bool = False
    administrative_penalty: bool = False  # or a severe disciplinary sanction by the employer
    insurance_violation: bool = False
    barred_until: date | None = None  # first day allowed back after removal (001 §22)
    extension_requested: bool = False  # 000 §22


@dataclass(frozen=True)
class Reason:
    """One finding: ``code`` is a stable machine key, ``article`` the rule it rests on, ``params`` values for the
    message (actual vs required)."""

    code: str
    article: str
    params: dict[str, object] = field(default_factory=dict, hash=False)
    severity: Severity = Severity.FAIL


@dataclass(frozen=True)
class Eligibility:
    """The verdict: eligible exactly when no reason is a failure; ``reasons`` holds failures and warnings."""

    eligible: bool
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if self.eligible != (not self.failures):
            raise ValueError("eligible must be true exactly when there is no failing reason")

    @property
    def failures(self) -> tuple[Reason, ...]:
        """The reasons that block eligibility, in order."""
        return tuple(reason for reason in self.reasons if reason.severity == Severity.FAIL)

    @property
    def warnings(self) -> tuple[Reason, ...]:
        """The reasons staff should look at that do not block eligibility, in order."""
        return tuple(reason for reason in self.reasons if reason.severity == Severity.WARNING)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of all reasons, in order."""
        return tuple(reason.code for reason in self.reasons)


def years_between(start: date, on: date) -> int:
    """Completed years from ``start`` to ``on`` (29 February completes a year on 1 March in non-leap years).
    Raises ``ValueError`` if ``on`` is before ``start``."""
    if on < start:
        raise ValueError("the date is before the start date")
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


def barred_until_for(removed_on: date) -> date:
    """The first day someone removed from the pool on ``removed_on`` may be appointed again (001 §22: 5 years).

    Under 民法典 art. 201–202 the period starts the next day and ends on the corresponding day ``BAR_YEARS``
    later, or on 28 February when there is no 29th; the bar lifts the day after."""
    year = removed_on.year + BAR_YEARS
    try:
        last_day = removed_on.replace(year=year)
    except ValueError:  # 29 February, no counterpart: the month's last day
        last_day = date(year, 2, 28)
    return last_day + timedelta(days=1)


def check_eligibility(profile: ExpertProfile, on: date) -> Eligibility:
    """Judge ``profile`` on ``on`` against 000 §7–§9, §22 and 001 §22; every reason is reported, in a fixed order
    (see the module docstring)."""
    check = _Check(profile, on)
    check.categories()
    check.degree()
    check.work_years()
    check.title_or_post()
    check.age_limit()
    check.informatics()
    check.management()
    check.exclusions()
    check.bar()
    reasons = tuple(check.reasons)
    return Eligibility(eligible=all(reason.severity != Severity.FAIL for reason in reasons), reasons=reasons)


_E = TypeVar("_E", bound=StrEnum)


def _at_least(value: _E, minimum: _E) -> bool:
    members = list(type(value))
    return members.index(value) >= members.index(minimum)


def _canonical(values: Iterable[_E], kind: type[_E]) -> tuple[_E, ...]:
    """Distinct values in the enumeration's own order, so input order and duplicates do not matter."""
    present = set(values)
    return tuple(member for member in kind if member in present)


class _Check:
    """Collects reasons for one profile; missing or invalid data is reported once per field."""

    def __init__(self, profile: ExpertProfile, on: date) -> None:
        self.profile = profile
        self.on = on
        self.categories_ = _canonical(profile.categories, Category)
        self.reasons: list[Reason] = []
        self._reported_fields: set[str] = set()

    def _add(self, code: str, article: str, severity: Severity = Severity.FAIL, **params: object) -> None:
        self.reasons.append(Reason(code=code, article=article, params=params, severity=severity))

    def _missing(self, field_name: str, article: str) -> None:
        if field_name not in self._reported_fields:
            self._reported_fields.add(field_name)
            self._add("missing_data", article, field=field_name)

    def _completed_years(self, field_name: str, article: str) -> int | None:
        """Completed years from a profile date to the date judged on, or None after reporting why not."""
        start: date | None = getattr(self.profile, field_name)
        if start is None:
            self._missing(field_name, article)
            return None
        if start > self.on:
            if field_name not in self._reported_fields:
                self._reported_fields.add(field_name)
                self._add("invalid_data", article, field=field_name, value=start.isoformat(), on=self.on.isoformat())
            return None
        return age_on(start, self.on) if field_name == "birth_date" else years_between(start, self.on)

    def categories(self) -> None:
        count = len(self.categories_)
        if not MIN_CATEGORIES <= count <= MAX_CATEGORIES:
            article = _CATEGORIES_MIN_ARTICLE if count < MIN_CATEGORIES else _CATEGORIES_MAX_ARTICLE
            self._add(
                "categories_count",
                article,
                count=count,
                minimum=MIN_CATEGORIES,
                maximum=MAX_CATEGORIES,
                categories=[category.value for category in self.categories_],
            )
        if Category.CLINICAL in self.categories_ and not self.profile.clinical_subcategories:
            self._add("clinical_subcategory_missing", _CLINICAL_ARTICLE)

    def degree(self) -> None:
        degree = self.profile.highest_degree
        if degree is None:
            self._missing("highest_degree", _BASIC_ARTICLE)
        elif not _at_least(degree, MIN_DEGREE):
            self._add("degree", _BASIC_ARTICLE, degree=degree.value, required=MIN_DEGREE.value)

    def work_years(self) -> None:
        years = self._completed_years("work_start_date", _BASIC_ARTICLE)
        if years is not None and years < MIN_WORK_YEARS:
            self._add("work_years", _BASIC_ARTICLE, years=years, required=MIN_WORK_YEARS)

    def title_or_post(self) -> None:
        """000 §8(二): for every category but informatics (and when no category is given)."""
        if self.categories_ and all(category == Category.INFORMATICS for category in self.categories_):
            return
        title, post = self.profile.title_level, self.profile.post_level
        title_ok = title is not None and _at_least(title, MIN_TITLE)
        post_ok = post is not None and _at_least(post, MIN_POST)
        if title_ok:
            return
        if post_ok:
            if not self.profile.is_insurance_staff:
                self._add(
                    "post_only",
                    _BASIC_ARTICLE,
                    Severity.WARNING,
                    title=None if title is None else title.value,
                    post=None if post is None else post.value,
                    required_title=MIN_TITLE.value,
                )
            return
        if title is None or post is None:
            for name, value in (("title_level", title), ("post_level", post)):
                if value is None:
                    self._missing(name, _BASIC_ARTICLE)
            return
        self._add(
            "title_or_post",
            _BASIC_ARTICLE,
            title=title.value,
            post=post.value,
            required_title=MIN_TITLE.value,
            required_post=MIN_POST.value,
        )

    def age_limit(self) -> None:
        age = self._completed_years("birth_date", _AGE_ARTICLE)
        if age is None or age < AGE_LIMIT:
            return
        if self.profile.extension_requested:
            self._add("age_limit", _EXTENSION_ARTICLE, Severity.WARNING, age=age, limit=AGE_LIMIT, extension=True)
        else:
            self._add("age_limit", _AGE_ARTICLE, age=age, limit=AGE_LIMIT, extension=False)

    def informatics(self) -> None:
        """000 §7(三)3, relaxed to warnings by §7(三)4 for flight-inspection experience."""
        if Category.INFORMATICS not in self.categories_:
            return
        profile = self.profile
        relaxed = Severity.WARNING if profile.flight_inspection else Severity.FAIL
        title = profile.title_level
        years = self._completed_years("work_start_date", _INFORMATICS_ARTICLE)
        params: dict[str, object] = {
            "title": None if title is None else title.value,
            "title_is_informatics": profile.title_is_informatics,
            "years": years,
            "flight_inspection": profile.flight_inspection,
        }
        if not profile.title_is_informatics or (title is not None and not _at_least(title, INFORMATICS_MIN_TITLE)):
            self._add(
                "informatics_title", _INFORMATICS_ARTICLE, relaxed, **params, required_title=INFORMATICS_MIN_TITLE.value
            )
        elif title is None:
            self._missing("title_level", _INFORMATICS_ARTICLE)
        elif years is not None:
            senior = _at_least(title, TitleLevel.ASSOCIATE_SENIOR)
            required = INFORMATICS_SENIOR_YEARS if senior else INFORMATICS_INTERMEDIATE_YEARS
            if years < required:
                self._add("informatics_title", _INFORMATICS_ARTICLE, relaxed, **params, required_years=required)
        age = self._completed_years("birth_date", _INFORMATICS_ARTICLE)
        if age is not None and age > INFORMATICS_AGE_LIMIT:
            self._add(
                "informatics_age",
                _INFORMATICS_ARTICLE,
                relaxed,
                age=age,
                limit=INFORMATICS_AGE_LIMIT,
                flight_inspection=profile.flight_inspection,
            )

    def management(self) -> None:
        """000 §7(四)2–3, for non-insurance staff: any one of three routes."""
        profile = self.profile
        if Category.MANAGEMENT not in self.categories_ or profile.is_insurance_staff:
            return
        degree, title = profile.highest_degree, profile.title_level
        degree_route = profile.major_is_finance_audit and degree is not None and _at_least(degree, MIN_DEGREE)
        title_route = profile.title_is_finance_audit and title is not None and _at_least(title, MANAGEMENT_MIN_TITLE)
        if degree_route or title_route or profile.has_cpa:
            return
        unknown = [
            name
            for name, flag, value in (
                ("highest_degree", profile.major_is_finance_audit, degree),
                ("title_level", profile.title_is_finance_audit, title),
            )
            if flag and value is None
        ]
        if unknown:
            for name in unknown:
                self._missing(name, _MANAGEMENT_ARTICLE)
            return
        self._add(
            "management_qualification",
            _MANAGEMENT_ARTICLE,
            degree=None if degree is None else degree.value,
            major_is_finance_audit=profile.major_is_finance_audit,
            title=None if title is None else title.value,
            title_is_finance_audit=profile.title_is_finance_audit,
            has_cpa=profile.has_cpa,
            required_degree=MIN_DEGREE.value,
            required_title=MANAGEMENT_MIN_TITLE.value,
        )

    def exclusions(self) -> None:
        """000 §9(一)–(三)."""
        profile = self.profile
        if not profile.full_civil_capacity:
            self._add("civil_capacity", _CIVIL_CAPACITY_ARTICLE)
        if profile.criminal_record or profile.administrative_penalty:
            self._add(
                "criminal_or_penalty",
                _CRIMINAL_ARTICLE,
                criminal_record=profile.criminal_record,
                administrative_penalty=profile.administrative_penalty,
            )
        if profile.insurance_violation:
            self._add("insurance_violation", _VIOLATION_ARTICLE)

    def bar(self) -> None:
        """001 §22 closing paragraph: 5 years after removal."""
        barred_until = self.profile.barred_until
        if barred_until is not None and barred_until > self.on:
            self._add("barred", _BAR_ARTICLE, barred_until=barred_until.isoformat(), years=BAR_YEARS)
