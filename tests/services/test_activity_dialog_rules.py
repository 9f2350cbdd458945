"""Rules the dialogs use, below the front end: the 000 §19 time checks one answer at a time, what the new-activity
summary offers to edit, where a refusal sends the person, and when a work record is complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.activities import activities, new_activity_steps
from services.activities.actions import Section
from services.activities.new_activity_steps import Step
from services.platform.errors import ActivityInvalid, InstitutionNotFound, PermissionDenied
from services.records import work_record_dialog

NOW = datetime(2030, 5, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=10)


def _reason(which: str, moment: datetime, starts_at: datetime | None) -> str | None:
    try:
        activities.check_time_answer(which, moment, starts_at=starts_at, now=NOW)
    except ActivityInvalid as error:
        return str(error.params["reason_key"])
    return None


def test_each_time_is_checked_as_far_as_the_start_is_known() -> None:
    assert _reason("starts", NOW, None) == "activity.invalid.starts_in_past"
    assert _reason("starts", START, None) is None
    assert _reason("ends", START - timedelta(minutes=1), START) == "activity.invalid.ends_before_start"
    assert _reason("ends", START, START) is None
    assert _reason("deadline", NOW, START) == "activity.invalid.deadline"
    assert _reason("deadline", START + timedelta(minutes=1), START) == "activity.invalid.deadline"
    assert _reason("deadline", START, START) is None
    assert _reason("deadline", START + timedelta(days=1), None) is None  # no start yet: only "after now"


def test_check_times_refuses_what_the_answers_refuse() -> None:
    with pytest.raises(ActivityInvalid):
        activities.check_times(starts_at=START, ends_at=START, response_deadline=START + timedelta(hours=1), now=NOW)
    activities.check_times(starts_at=START, ends_at=START, response_deadline=START, now=NOW)


def test_double_blind_is_offered_for_editing_only_for_project_reviews() -> None:
    assert Section.DOUBLE_BLIND in new_activity_steps.editable_sections({"kind": "project_review"})
    assert Section.DOUBLE_BLIND not in new_activity_steps.editable_sections({"kind": "flight_inspection"})


def test_a_refusal_sends_the_person_to_the_step_that_fixes_it() -> None:
    data = {"institutions": [[3, "甲医院"], [4, "乙医院"]], "lines": [{"count": 2}], "line": {}}
    assert new_activity_steps.step_for(InstitutionNotFound("4", institution_id=4), data) == Step.INSTITUTIONS
    assert data["institutions"] == [[3, "甲医院"]]
    assert new_activity_steps.step_for(PermissionDenied("x"), data) == Step.ORG
    group = ActivityInvalid("group_size", reason_key="activity.invalid.group_size")
    assert new_activity_steps.step_for(group, data) == Step.GROUP
    assert new_activity_steps.step_for(ActivityInvalid("x", reason_key="activity.invalid.tags"), data) == Step.CATEGORY
    assert data["lines"] == []


def test_a_work_record_is_complete_with_every_expert_answered_and_the_group_decided() -> None:
    entry = {"attendance": "attended", "performance": "good", "recusal": "none_needed", "discipline": "good"}
    data = {"final_opinion": "同意", "decision": "consensus", "entries": [entry]}
    assert work_record_dialog.complete(data)
    assert not work_record_dialog.complete({**data, "decision": "unanimous"})
    assert not work_record_dialog.complete({**data, "entries": [{**entry, "recusal": None}]})
