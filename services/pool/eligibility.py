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

from datetime import date, timedelta

from services.platform.identifiers import age_on
from services.pool.eligibility_checks import (
    AGE_LIMIT,
    BAR_YEARS,
    INFORMATICS_AGE_LIMIT,
    INFORMATICS_INTERMEDIATE_YEARS,
    INFORMATICS_MIN_TITLE,
    INFORMATICS_SENIOR_YEARS,
    MANAGEMENT_MIN_TITLE,
    MAX_CATEGORIES,
    MIN_CATEGORIES,
    MIN_DEGREE,
    MIN_POST,
    MIN_TITLE,
    MIN_WORK_YEARS,
    Checks,
    years_between,
)
from services.pool.expert_profile import (
    Category,
    ClinicalSubcategory,
    Degree,
    Eligibility,
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
    check = Checks(profile, on)
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
