"""The steps of a supervisor's guided report (002 §9(二), §11(四)), as pure rules: the order, fixing one answer from
the review, what a typed answer or a choice keeps, the ID number check, the lead it files."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.leads import report_steps as steps
from services.leads.actions import ReportChoice

TODAY = date(2026, 3, 2)


def test_the_questions_come_in_order_and_the_interest_note_only_when_an_interest_is_declared() -> None:
    data: dict[str, Any] = {}
    walked = [steps.TARGET]
    while walked[-1] != steps.REVIEW:
        if walked[-1] == steps.INTEREST:
            data["interest"] = True
        walked.append(steps.next_step(walked[-1], data))
    assert walked == [*steps.ORDER, steps.INTEREST_NOTE, steps.REVIEW]
    assert steps.next_step(steps.INTEREST, {"interest": False}) == steps.REVIEW


def test_fixing_an_answer_from_the_review_goes_back_to_the_review_after_its_companions() -> None:
    assert steps.next_step(steps.TARGET, {"fix": True}) == steps.INSURED
    assert steps.next_step(steps.INSURED, {"fix": True}) == steps.REVIEW
    assert steps.next_step(steps.WHAT, {"fix": True}) == steps.WHEN
    assert steps.next_step(steps.CATEGORY, {"fix": True}) == steps.REVIEW


def test_a_typed_insured_person_keeps_a_checked_id_number_and_refuses_a_wrong_one() -> None:
    data: dict[str, Any] = {}
    assert steps.keep_typed(steps.INSURED, data, "王某某 11010519491231002X", TODAY) is None
    assert data == {"insured_name": "王某某", "insured_id_number": "11010519491231002X"}
    assert steps.keep_typed(steps.INSURED, data, "王某某 110105194912310021", TODAY) == "check_digit"
    assert steps.keep_typed(steps.WHAT, data, "重复收费" * 2000, TODAY) is None
    assert len(data["what"]) == steps.text_limit(steps.WHAT) == 4000
    assert steps.takes_text(steps.WHERE) and not steps.takes_text(steps.CATEGORY)


def test_a_choice_moves_only_at_its_own_step_and_keeps_its_answer() -> None:
    data: dict[str, Any] = {"search": "人民医院", "institution_id": 5}
    assert steps.after_choice(steps.TARGET, ReportChoice.TYPED_NAME, data) == steps.INSURED
    assert data["institution_text"] == "人民医院" and data["institution_id"] is None
    assert steps.after_choice(steps.CATEGORY, ReportChoice.SKIP, data) == steps.CATEGORY  # not skippable
    assert steps.after_choice(steps.INTEREST, ReportChoice.NO_INTEREST, data) == steps.REVIEW
    assert data["interest"] is False and data["interest_note"] is None
    assert steps.after_choice(steps.EVIDENCE, ReportChoice.DONE, data) == steps.INTEREST


def test_the_answers_make_the_draft_the_service_checks() -> None:
    draft = steps.draft_of({"category": "over_charging", "what": "重复收费", "institution_text": "某药店",
                            "when": "", "interest": True, "interest_note": "曾在该店工作", "evidence": []})
    assert (draft.category, draft.what, draft.institution_text, draft.happened) == ("over_charging", "重复收费",
                                                                                     "某药店", "")
    assert draft.interest_declared and draft.interest_note == "曾在该店工作"
