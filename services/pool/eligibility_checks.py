"""The checks behind :func:`services.pool.eligibility.check_eligibility`, one method per condition, each citing
its article; the interpretations of the articles (thresholds inclusive, completed years, what is a warning) are
listed in :mod:`services.pool.eligibility`. The thresholds are here, beside the checks that apply them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import TypeVar

from services.platform.identifiers import age_on
from services.pool.expert_profile import (
    Category,
    Degree,
    ExpertProfile,
    PostLevel,
    Reason,
    Severity,
    TitleLevel,
)

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
    "Checks",
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


def years_between(start: date, on: date) -> int:
    """Completed years from ``start`` to ``on`` (29 February completes a year on 1 March in non-leap years).
    Raises ``ValueError`` if ``on`` is before ``start``."""
    if on < start:
        raise ValueError("the date is before the start date")
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


_E = TypeVar("_E", bound=StrEnum)


def _at_least(value: _E, minimum: _E) -> bool:
    members = list(type(value))
    return members.index(value) >= members.index(minimum)


def _canonical(values: Iterable[_E], kind: type[_E]) -> tuple[_E, ...]:
    """Distinct values in the enumeration's own order, so input order and duplicates do not matter."""
    present = set(values)
    return tuple(member for member in kind if member in present)


class Checks:
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
