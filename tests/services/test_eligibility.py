"""Expert-pool eligibility (000 §7–§9, §22; 001 §22): every rule, every refusal, and the order of reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.platform import identifiers
from services.pool import eligibility
from services.pool.eligibility import (
    AGE_LIMIT,
    BAR_YEARS,
    INFORMATICS_AGE_LIMIT,
    INFORMATICS_INTERMEDIATE_YEARS,
    INFORMATICS_SENIOR_YEARS,
    MAX_CATEGORIES,
    MIN_WORK_YEARS,
    Category,
    ClinicalSubcategory,
    Degree,
    Eligibility,
    ExpertProfile,
    PostLevel,
    Reason,
    Severity,
    TitleLevel,
    age_on,
    barred_until_for,
    check_eligibility,
    years_between,
)

ON = date(2025, 6, 30)

_BASE = ExpertProfile(
    birth_date=date(1980, 1, 15),  # 45 on ON
    work_start_date=date(2010, 7, 1),  # 14 completed years on ON
    highest_degree=Degree.MASTER,
    title_level=TitleLevel.ASSOCIATE_SENIOR,
    post_level=PostLevel.NONE,
    categories=(Category.SUPERVISION,),
)
_PER_CATEGORY: dict[Category, dict[str, Any]] = {
    Category.SUPERVISION: {},
    Category.CLINICAL: {"clinical_subcategories": (ClinicalSubcategory.MEDICINE,)},
    Category.INFORMATICS: {"title_is_informatics": True},
    Category.MANAGEMENT: {"major_is_finance_audit": True},
}


def eligible_profile(category: Category = Category.SUPERVISION, **overrides: Any) -> ExpertProfile:
    """A profile that passes every rule for ``category`` with no warning; ``overrides`` change fields."""
    return replace(_BASE, **({"categories": (category,)} | _PER_CATEGORY[category] | overrides))


def years_before(years: int, on: date = ON) -> date:
    """The date exactly ``years`` years before ``on`` (a birthday or work anniversary falling on ``on``)."""
    return on.replace(year=on.year - years)


def judge(profile: ExpertProfile, on: date = ON) -> Eligibility:
    return check_eligibility(profile, on)


def the_reason(result: Eligibility, code: str) -> Reason:
    """The only reason with ``code``."""
    matching = [reason for reason in result.reasons if reason.code == code]
    assert len(matching) == 1, result.reasons
    return matching[0]


# --- the builder ------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(Category))
def test_the_builder_makes_an_eligible_profile_without_any_reason_for_each_category(category: Category) -> None:
    result = judge(eligible_profile(category))
    assert result.eligible
    assert result.reasons == ()


# --- categories (000 §7, annex 1 note 5) -------------------------------------------------------------


def test_an_expert_without_a_category_fails_under_article_7() -> None:
    result = judge(eligible_profile(categories=()))
    assert not result.eligible
    assert result.reasons == (
        Reason(
            "categories_count",
            "000 §7",
            {"count": 0, "minimum": 1, "maximum": MAX_CATEGORIES, "categories": []},
        ),
    )


def test_three_categories_fail_under_annex_1_note_5() -> None:
    profile = eligible_profile(
        categories=(Category.SUPERVISION, Category.MANAGEMENT, Category.CLINICAL),
        clinical_subcategories=(ClinicalSubcategory.PHARMACY,),
        major_is_finance_audit=True,
    )
    reason = the_reason(judge(profile), "categories_count")
    assert reason.article == "000 annex 1 note 5"
    assert reason.severity == Severity.FAIL
    assert reason.params == {
        "count": 3,
        "minimum": 1,
        "maximum": 2,
        "categories": ["supervision", "clinical", "management"],
    }


def test_two_categories_are_allowed() -> None:
    profile = eligible_profile(categories=(Category.SUPERVISION, Category.MANAGEMENT), major_is_finance_audit=True)
    assert judge(profile).reasons == ()


def test_a_category_listed_twice_counts_once() -> None:
    profile = eligible_profile(categories=(Category.SUPERVISION, Category.SUPERVISION, Category.SUPERVISION))
    assert judge(profile).reasons == ()


def test_a_clinical_expert_without_a_sub_category_fails() -> None:
    result = judge(eligible_profile(Category.CLINICAL, clinical_subcategories=()))
    assert result.reasons == (Reason("clinical_subcategory_missing", "000 §7(二)"),)


@pytest.mark.parametrize("subcategory", list(ClinicalSubcategory))
def test_any_clinical_sub_category_is_enough(subcategory: ClinicalSubcategory) -> None:
    assert judge(eligible_profile(Category.CLINICAL, clinical_subcategories=(subcategory,))).eligible


def test_sub_categories_without_the_clinical_category_are_ignored() -> None:
    profile = eligible_profile(clinical_subcategories=(ClinicalSubcategory.LAB_REAGENTS,))
    assert judge(profile).reasons == ()


# --- degree and work years (000 §8(二)) -----------------------------------------------------------


def test_a_degree_below_bachelor_fails_under_article_8_2() -> None:
    result = judge(eligible_profile(highest_degree=Degree.BELOW_BACHELOR))
    assert result.reasons == (Reason("degree", "000 §8(二)", {"degree": "below_bachelor", "required": "bachelor"}),)


@pytest.mark.parametrize("degree", [Degree.BACHELOR, Degree.MASTER, Degree.DOCTOR])
def test_a_bachelor_degree_or_above_passes(degree: Degree) -> None:
    assert judge(eligible_profile(highest_degree=degree)).eligible


def test_exactly_five_completed_years_of_work_pass() -> None:
    assert judge(eligible_profile(work_start_date=years_before(MIN_WORK_YEARS))).reasons == ()


def test_five_years_less_a_day_of_work_fail_with_four_completed_years() -> None:
    result = judge(eligible_profile(work_start_date=date(2020, 7, 1)))
    assert result.reasons == (Reason("work_years", "000 §8(二)", {"years": 4, "required": 5}),)


def test_work_started_on_a_leap_day_completes_its_fifth_year_on_1_march() -> None:
    profile = eligible_profile(work_start_date=date(2020, 2, 29))
    assert the_reason(judge(profile, date(2025, 2, 28)), "work_years").params == {"years": 4, "required": 5}
    assert judge(profile, date(2025, 3, 1)).reasons == ()


# --- title or post (000 §8(二)) --------------------------------------------------------------------


@pytest.mark.parametrize("title", [TitleLevel.ASSOCIATE_SENIOR, TitleLevel.SENIOR])
def test_an_associate_senior_title_or_above_passes_without_a_post(title: TitleLevel) -> None:
    assert judge(eligible_profile(title_level=title, post_level=PostLevel.NONE)).reasons == ()


def test_an_intermediate_title_without_a_post_fails_under_article_8_2() -> None:
    result = judge(eligible_profile(title_level=TitleLevel.INTERMEDIATE, post_level=PostLevel.NONE))
    assert result.reasons == (
        Reason(
            "title_or_post",
            "000 §8(二)",
            {
                "title": "intermediate",
                "post": "none",
                "required_title": "associate_senior",
                "required_post": "section",
            },
        ),
    )


@pytest.mark.parametrize("post", [PostLevel.SECTION, PostLevel.DIVISION, PostLevel.BUREAU])
def test_a_section_level_post_or_above_replaces_the_title_for_insurance_staff(post: PostLevel) -> None:
    profile = eligible_profile(title_level=TitleLevel.JUNIOR, post_level=post, is_insurance_staff=True)
    assert judge(profile).reasons == ()


@pytest.mark.parametrize("category", [Category.SUPERVISION, Category.CLINICAL, Category.MANAGEMENT])
def test_qualifying_by_post_alone_outside_insurance_staff_is_a_warning(category: Category) -> None:
    result = judge(eligible_profile(category, title_level=TitleLevel.INTERMEDIATE, post_level=PostLevel.SECTION))
    assert result.eligible
    assert result.reasons == (
        Reason(
            "post_only",
            "000 §8(二)",
            {"title": "intermediate", "post": "section", "required_title": "associate_senior"},
            Severity.WARNING,
        ),
    )


def test_the_general_title_condition_does_not_apply_to_informatics_experts() -> None:
    profile = eligible_profile(Category.INFORMATICS, title_level=TitleLevel.INTERMEDIATE, post_level=PostLevel.NONE)
    assert judge(profile).reasons == ()


# --- informatics (000 §7(三)3–4, §8(二)3) ----------------------------------------------------------


def test_an_informatics_intermediate_title_with_eight_years_passes() -> None:
    profile = eligible_profile(
        Category.INFORMATICS,
        title_level=TitleLevel.INTERMEDIATE,
        work_start_date=years_before(INFORMATICS_INTERMEDIATE_YEARS),
    )
    assert judge(profile).reasons == ()


def test_an_informatics_intermediate_title_with_seven_years_fails() -> None:
    profile = eligible_profile(
        Category.INFORMATICS, title_level=TitleLevel.INTERMEDIATE, work_start_date=years_before(7)
    )
    assert judge(profile).reasons == (
        Reason(
            "informatics_title",
            "000 §7(三)3",
            {
                "title": "intermediate",
                "title_is_informatics": True,
                "years": 7,
                "flight_inspection": False,
                "required_years": 8,
            },
        ),
    )


@pytest.mark.parametrize("title", [TitleLevel.ASSOCIATE_SENIOR, TitleLevel.SENIOR])
def test_an_informatics_senior_title_with_five_years_passes(title: TitleLevel) -> None:
    profile = eligible_profile(
        Category.INFORMATICS, title_level=title, work_start_date=years_before(INFORMATICS_SENIOR_YEARS)
    )
    assert judge(profile).reasons == ()


def test_an_informatics_senior_title_with_four_years_fails_both_the_basic_and_the_informatics_years() -> None:
    profile = eligible_profile(Category.INFORMATICS, title_level=TitleLevel.SENIOR, work_start_date=years_before(4))
    result = judge(profile)
    assert result.codes == ("work_years", "informatics_title")
    assert the_reason(result, "informatics_title").params["required_years"] == 5


@pytest.mark.parametrize("title", [TitleLevel.NONE, TitleLevel.JUNIOR])
def test_an_informatics_title_below_intermediate_fails(title: TitleLevel) -> None:
    reason = the_reason(judge(eligible_profile(Category.INFORMATICS, title_level=title)), "informatics_title")
    assert reason.article == "000 §7(三)3"
    assert reason.severity == Severity.FAIL
    assert reason.params == {
        "title": title.value,
        "title_is_informatics": True,
        "years": 14,
        "flight_inspection": False,
        "required_title": "intermediate",
    }


def test_a_senior_title_outside_informatics_does_not_qualify_an_informatics_expert() -> None:
    profile = eligible_profile(Category.INFORMATICS, title_level=TitleLevel.SENIOR, title_is_informatics=False)
    reason = the_reason(judge(profile), "informatics_title")
    assert reason.params["title_is_informatics"] is False
    assert reason.params["required_title"] == "intermediate"


def test_a_post_does_not_replace_the_informatics_title() -> None:
    profile = eligible_profile(Category.INFORMATICS, title_level=TitleLevel.JUNIOR, post_level=PostLevel.BUREAU)
    assert judge(profile).codes == ("informatics_title",)


def test_an_informatics_expert_aged_fifty_passes_and_fails_on_the_fifty_first_birthday() -> None:
    assert judge(eligible_profile(Category.INFORMATICS, birth_date=date(1974, 7, 1))).reasons == ()
    result = judge(eligible_profile(Category.INFORMATICS, birth_date=years_before(INFORMATICS_AGE_LIMIT + 1)))
    assert result.reasons == (
        Reason("informatics_age", "000 §7(三)3", {"age": 51, "limit": 50, "flight_inspection": False}),
    )


def test_an_informatics_expert_born_on_a_leap_day_turns_fifty_one_on_1_march() -> None:
    profile = eligible_profile(Category.INFORMATICS, birth_date=date(1972, 2, 29))
    assert judge(profile, date(2023, 2, 28)).eligible
    assert judge(profile, date(2023, 3, 1)).codes == ("informatics_age",)


def test_flight_inspection_experience_relaxes_the_informatics_title_years_and_age_to_warnings() -> None:
    profile = eligible_profile(
        Category.INFORMATICS,
        title_level=TitleLevel.JUNIOR,
        birth_date=date(1970, 1, 1),
        flight_inspection=True,
    )
    result = judge(profile)
    assert result.eligible
    assert result.failures == ()
    assert [(reason.code, reason.article, reason.severity) for reason in result.warnings] == [
        ("informatics_title", "000 §7(三)3", Severity.WARNING),
        ("informatics_age", "000 §7(三)3", Severity.WARNING),
    ]
    assert result.warnings[1].params == {"age": 55, "limit": 50, "flight_inspection": True}


def test_flight_inspection_experience_does_not_relax_the_basic_conditions() -> None:
    profile = eligible_profile(
        Category.INFORMATICS,
        flight_inspection=True,
        highest_degree=Degree.BELOW_BACHELOR,
        work_start_date=years_before(3),
        birth_date=years_before(AGE_LIMIT),
    )
    result = judge(profile)
    assert [reason.code for reason in result.failures] == ["degree", "work_years", "age_limit"]
    assert [reason.code for reason in result.warnings] == ["informatics_title", "informatics_age"]


def test_flight_inspection_experience_does_not_matter_outside_informatics() -> None:
    profile = eligible_profile(title_level=TitleLevel.JUNIOR, flight_inspection=True)
    assert judge(profile).codes == ("title_or_post",)


def test_an_expert_in_informatics_and_supervision_must_meet_both_title_conditions() -> None:
    profile = eligible_profile(
        Category.INFORMATICS,
        categories=(Category.SUPERVISION, Category.INFORMATICS),
        title_level=TitleLevel.INTERMEDIATE,
    )
    assert judge(profile).codes == ("title_or_post",)
    both = replace(profile, title_level=TitleLevel.ASSOCIATE_SENIOR)
    assert judge(both).reasons == ()


# --- management (000 §7(四)) ------------------------------------------------------------------------


def _management(**overrides: Any) -> ExpertProfile:
    base = {"major_is_finance_audit": False, "title_is_finance_audit": False, "has_cpa": False}
    return eligible_profile(Category.MANAGEMENT, **(base | overrides))


def test_a_management_expert_without_any_finance_or_audit_qualification_fails() -> None:
    assert judge(_management()).reasons == (
        Reason(
            "management_qualification",
            "000 §7(四)",
            {
                "degree": "master",
                "major_is_finance_audit": False,
                "title": "associate_senior",
                "title_is_finance_audit": False,
                "has_cpa": False,
                "required_degree": "bachelor",
                "required_title": "intermediate",
            },
        ),
    )


def test_a_finance_or_audit_bachelor_degree_qualifies_a_management_expert() -> None:
    assert judge(_management(major_is_finance_audit=True, highest_degree=Degree.BACHELOR)).reasons == ()


def test_a_finance_or_audit_major_below_bachelor_does_not_qualify_a_management_expert() -> None:
    result = judge(_management(major_is_finance_audit=True, highest_degree=Degree.BELOW_BACHELOR))
    assert result.codes == ("degree", "management_qualification")


@pytest.mark.parametrize("title", [TitleLevel.INTERMEDIATE, TitleLevel.ASSOCIATE_SENIOR, TitleLevel.SENIOR])
def test_a_finance_or_audit_intermediate_title_or_above_qualifies_a_management_expert(title: TitleLevel) -> None:
    profile = _management(
        title_is_finance_audit=True, title_level=title, post_level=PostLevel.SECTION, is_insurance_staff=False
    )
    assert "management_qualification" not in judge(profile).codes


def test_a_finance_or_audit_junior_title_does_not_qualify_a_management_expert() -> None:
    profile = _management(title_is_finance_audit=True, title_level=TitleLevel.JUNIOR, post_level=PostLevel.SECTION)
    assert judge(profile).codes == ("post_only", "management_qualification")


def test_a_cpa_certificate_qualifies_a_management_expert() -> None:
    assert judge(_management(has_cpa=True)).reasons == ()


def test_the_finance_or_audit_conditions_do_not_apply_to_insurance_staff() -> None:
    assert judge(_management(is_insurance_staff=True)).reasons == ()


# --- age 65 (000 §8(四), §22) -----------------------------------------------------------------------


def test_the_day_before_the_65th_birthday_passes() -> None:
    assert judge(eligible_profile(birth_date=date(1960, 7, 1))).reasons == ()


def test_on_the_65th_birthday_the_age_limit_fails_under_article_8_4() -> None:
    result = judge(eligible_profile(birth_date=years_before(AGE_LIMIT)))
    assert result.reasons == (Reason("age_limit", "000 §8(四)", {"age": 65, "limit": 65, "extension": False}),)


def test_an_extension_request_turns_the_age_limit_into_a_warning_under_article_22() -> None:
    result = judge(eligible_profile(birth_date=date(1955, 1, 1), extension_requested=True))
    assert result.eligible
    assert result.reasons == (
        Reason("age_limit", "000 §22", {"age": 70, "limit": 65, "extension": True}, Severity.WARNING),
    )


def test_someone_born_on_a_leap_day_turns_65_on_1_march_in_a_common_year() -> None:
    profile = eligible_profile(birth_date=date(1960, 2, 29))
    assert judge(profile, date(2025, 2, 28)).eligible
    assert judge(profile, date(2025, 3, 1)).codes == ("age_limit",)


def test_someone_born_on_a_leap_day_has_a_birthday_on_29_february_in_a_leap_year() -> None:
    profile = eligible_profile(birth_date=date(1960, 2, 29))
    assert age_on(date(1960, 2, 29), date(2024, 2, 28)) == 63
    assert age_on(date(1960, 2, 29), date(2024, 2, 29)) == 64
    assert judge(profile, date(2024, 2, 29)).eligible


# --- exclusions (000 §9) ------------------------------------------------------------------------------


def test_lacking_full_civil_capacity_fails_under_article_9_1() -> None:
    assert judge(eligible_profile(full_civil_capacity=False)).reasons == (Reason("civil_capacity", "000 §9(一)"),)


@pytest.mark.parametrize(("criminal_record", "administrative_penalty"), [(True, False), (False, True), (True, True)])
def test_a_criminal_record_or_a_penalty_fails_once_under_article_9_2(
    criminal_record: bool, administrative_penalty: bool
) -> None:
    result = judge(eligible_profile(criminal_record=criminal_record, administrative_penalty=administrative_penalty))
    assert result.reasons == (
        Reason(
            "criminal_or_penalty",
            "000 §9(二)",
            {"criminal_record": criminal_record, "administrative_penalty": administrative_penalty},
        ),
    )


def test_a_prior_insurance_violation_fails_under_article_9_3() -> None:
    assert judge(eligible_profile(insurance_violation=True)).reasons == (Reason("insurance_violation", "000 §9(三)"),)


# --- the 5-year bar (001 §22) -------------------------------------------------------------------------


def test_a_removed_expert_is_barred_until_the_bar_lifts() -> None:
    result = judge(eligible_profile(barred_until=date(2025, 7, 1)))
    assert result.reasons == (Reason("barred", "001 §22", {"barred_until": "2025-07-01", "years": 5}),)


def test_a_removed_expert_is_eligible_again_on_the_day_the_bar_lifts() -> None:
    assert judge(eligible_profile(barred_until=ON)).reasons == ()
    assert judge(eligible_profile(barred_until=date(2020, 1, 1))).reasons == ()


def test_the_bar_lifts_the_day_after_the_fifth_anniversary_of_the_removal() -> None:
    assert BAR_YEARS == 5
    assert barred_until_for(date(2020, 3, 10)) == date(2025, 3, 11)
    removed = date(2020, 3, 10)
    profile = eligible_profile(barred_until=barred_until_for(removed))
    assert judge(profile, date(2025, 3, 10)).codes == ("barred",)
    assert judge(profile, date(2025, 3, 11)).eligible


def test_a_removal_on_a_leap_day_is_barred_through_28_february() -> None:
    assert barred_until_for(date(2020, 2, 29)) == date(2025, 3, 1)
    assert barred_until_for(date(2019, 2, 28)) == date(2024, 2, 29)


# --- missing and impossible data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_name", "article"),
    [
        ("highest_degree", "000 §8(二)"),
        ("work_start_date", "000 §8(二)"),
        ("birth_date", "000 §8(四)"),
    ],
)
def test_a_missing_value_every_expert_needs_fails_as_missing_data(field_name: str, article: str) -> None:
    result = judge(eligible_profile(Category.SUPERVISION, **{field_name: None}))
    assert not result.eligible
    assert result.reasons == (Reason("missing_data", article, {"field": field_name}),)


def test_a_missing_title_and_post_are_both_reported_when_neither_qualifies() -> None:
    result = judge(eligible_profile(title_level=None, post_level=None))
    assert result.reasons == (
        Reason("missing_data", "000 §8(二)", {"field": "title_level"}),
        Reason("missing_data", "000 §8(二)", {"field": "post_level"}),
    )


def test_a_missing_post_is_reported_when_the_title_does_not_qualify() -> None:
    result = judge(eligible_profile(title_level=TitleLevel.JUNIOR, post_level=None))
    assert result.reasons == (Reason("missing_data", "000 §8(二)", {"field": "post_level"}),)


def test_a_missing_title_does_not_matter_when_the_post_qualifies_insurance_staff() -> None:
    profile = eligible_profile(title_level=None, post_level=PostLevel.DIVISION, is_insurance_staff=True)
    assert judge(profile).reasons == ()


def test_a_missing_informatics_title_level_is_missing_data_under_article_7_3() -> None:
    result = judge(eligible_profile(Category.INFORMATICS, title_level=None))
    assert result.reasons == (Reason("missing_data", "000 §7(三)3", {"field": "title_level"}),)


def test_a_missing_birth_date_is_reported_once_for_an_informatics_expert() -> None:
    result = judge(eligible_profile(Category.INFORMATICS, birth_date=None, work_start_date=None))
    assert result.reasons == (
        Reason("missing_data", "000 §8(二)", {"field": "work_start_date"}),
        Reason("missing_data", "000 §8(四)", {"field": "birth_date"}),
    )


def test_a_missing_degree_of_a_finance_major_is_missing_data_not_a_management_failure() -> None:
    result = judge(_management(major_is_finance_audit=True, highest_degree=None))
    assert result.reasons == (Reason("missing_data", "000 §8(二)", {"field": "highest_degree"}),)


def test_a_missing_finance_title_level_is_missing_data_under_article_7_4() -> None:
    result = judge(
        _management(
            title_is_finance_audit=True, title_level=None, post_level=PostLevel.SECTION, is_insurance_staff=True
        )
    )
    assert result.reasons == ()  # insurance staff: §7(四)2–3 do not apply
    result = judge(_management(title_is_finance_audit=True, title_level=None, post_level=None))
    assert result.codes == ("missing_data", "missing_data")
    assert [reason.params["field"] for reason in result.reasons] == ["title_level", "post_level"]


def test_a_birth_date_after_the_date_judged_on_is_invalid_data() -> None:
    result = judge(eligible_profile(birth_date=date(2026, 1, 1)))
    assert result.reasons == (
        Reason("invalid_data", "000 §8(四)", {"field": "birth_date", "value": "2026-01-01", "on": "2025-06-30"}),
    )


def test_a_work_start_after_the_date_judged_on_is_invalid_data_reported_once() -> None:
    result = judge(eligible_profile(Category.INFORMATICS, work_start_date=date(2025, 7, 1)))
    assert result.reasons == (
        Reason("invalid_data", "000 §8(二)", {"field": "work_start_date", "value": "2025-07-01", "on": "2025-06-30"}),
    )


# --- several reasons together -------------------------------------------------------------------------------


def test_every_failure_is_reported_together_in_a_stable_order() -> None:
    profile = ExpertProfile(
        birth_date=date(1958, 1, 1),
        work_start_date=date(2023, 1, 1),
        highest_degree=Degree.BELOW_BACHELOR,
        title_level=TitleLevel.JUNIOR,
        post_level=PostLevel.NONE,
        categories=(Category.MANAGEMENT, Category.INFORMATICS, Category.CLINICAL),
        full_civil_capacity=False,
        criminal_record=True,
        insurance_violation=True,
        barred_until=date(2027, 1, 1),
    )
    result = judge(profile)
    assert not result.eligible
    assert [(reason.code, reason.article) for reason in result.reasons] == [
        ("categories_count", "000 annex 1 note 5"),
        ("clinical_subcategory_missing", "000 §7(二)"),
        ("degree", "000 §8(二)"),
        ("work_years", "000 §8(二)"),
        ("title_or_post", "000 §8(二)"),
        ("age_limit", "000 §8(四)"),
        ("informatics_title", "000 §7(三)3"),
        ("informatics_age", "000 §7(三)3"),
        ("management_qualification", "000 §7(四)"),
        ("civil_capacity", "000 §9(一)"),
        ("criminal_or_penalty", "000 §9(二)"),
        ("insurance_violation", "000 §9(三)"),
        ("barred", "001 §22"),
    ]
    assert result.failures == result.reasons
    assert result.warnings == ()
    shuffled = replace(profile, categories=(Category.CLINICAL, Category.MANAGEMENT, Category.INFORMATICS))
    assert judge(shuffled) == result


# --- the verdict and the date helpers ------------------------------------------------------------------------


def test_an_eligibility_contradicting_its_reasons_is_refused() -> None:
    with pytest.raises(ValueError, match="eligible"):
        Eligibility(eligible=True, reasons=(Reason("degree", "000 §8(二)"),))
    with pytest.raises(ValueError, match="eligible"):
        Eligibility(eligible=False, reasons=(Reason("post_only", "000 §8(二)", severity=Severity.WARNING),))


def test_reasons_are_hashable_despite_their_params() -> None:
    reason = Reason("degree", "000 §8(二)", {"degree": "below_bachelor", "required": "bachelor"})
    assert hash(reason) == hash(replace(reason, params=dict(reason.params)))
    assert reason in {reason}


def test_age_on_is_the_identifiers_function() -> None:
    assert age_on is identifiers.age_on
    assert "age_on" in eligibility.__all__


def test_years_between_counts_completed_years() -> None:
    assert years_between(date(2020, 6, 30), date(2025, 6, 29)) == 4
    assert years_between(date(2020, 6, 30), date(2025, 6, 30)) == 5
    assert years_between(date(2020, 2, 29), date(2021, 2, 28)) == 0
    assert years_between(date(2020, 2, 29), date(2021, 3, 1)) == 1
    assert years_between(ON, ON) == 0
    with pytest.raises(ValueError, match="before"):
        years_between(ON, date(2025, 6, 29))


# --- properties ------------------------------------------------------------------------------------------------

_dates = st.dates(min_value=date(1940, 1, 1), max_value=date(2040, 12, 31))
_profiles = st.builds(
    ExpertProfile,
    birth_date=st.none() | _dates,
    work_start_date=st.none() | _dates,
    highest_degree=st.none() | st.sampled_from(Degree),
    title_level=st.none() | st.sampled_from(TitleLevel),
    post_level=st.none() | st.sampled_from(PostLevel),
    categories=st.lists(st.sampled_from(Category), max_size=4).map(tuple),
    major_is_finance_audit=st.booleans(),
    title_is_finance_audit=st.booleans(),
    title_is_informatics=st.booleans(),
    clinical_subcategories=st.lists(st.sampled_from(ClinicalSubcategory), max_size=3).map(tuple),
    has_cpa=st.booleans(),
    flight_inspection=st.booleans(),
    is_insurance_staff=st.booleans(),
    full_civil_capacity=st.booleans(),
    criminal_record=st.booleans(),
    administrative_penalty=st.booleans(),
    insurance_violation=st.booleans(),
    barred_until=st.none() | _dates,
    extension_requested=st.booleans(),
)


@given(profile=_profiles, on=_dates, data=st.data())
def test_eligible_exactly_when_no_reason_fails_whatever_the_order_of_categories(
    profile: ExpertProfile, on: date, data: st.DataObject
) -> None:
    result = check_eligibility(profile, on)
    assert result.eligible == all(reason.severity != Severity.FAIL for reason in result.reasons)
    assert result.eligible == (result.failures == ())
    assert set(result.reasons) == set(result.failures) | set(result.warnings)
    assert all(reason.article.startswith(("000 ", "001 ")) for reason in result.reasons)
    missing = [reason.params["field"] for reason in result.reasons if reason.code in {"missing_data", "invalid_data"}]
    assert len(missing) == len(set(missing))
    reordered = replace(profile, categories=tuple(data.draw(st.permutations(profile.categories))))
    assert check_eligibility(reordered, on) == result
