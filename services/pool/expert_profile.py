"""The plain data of the expert pool's eligibility rules (:mod:`services.pool.eligibility`): the vocabulary of
annex 1 (categories, sub-categories, degrees, titles, posts, lowest first), what the rules read about an expert
(:class:`ExpertProfile`) and what they return (:class:`Reason`, :class:`Eligibility`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

__all__ = [
    "Category",
    "ClinicalSubcategory",
    "Degree",
    "Eligibility",
    "ExpertProfile",
    "PostLevel",
    "Reason",
    "Severity",
    "TitleLevel",
]


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
