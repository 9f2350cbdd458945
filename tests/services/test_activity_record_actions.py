"""The buttons of the new-activity and work record dialogs and of sanctions: each round-trips through the codec;
the sanction confirmation keeps the callback data already sitting in staff chats (``sc:c:<id>``)."""

from __future__ import annotations

import pytest

from services.activities.actions import (
    AddInstitution,
    ChooseCategory,
    ChooseCount,
    ChooseDoubleBlind,
    ChooseKind,
    ChooseSubcategory,
    EditSection,
    Move,
    NewActivityMove,
    Section,
)
from services.activities.draw_rules import ActivityKind
from services.buttons import Action, Refusal, parse
from services.pool.eligibility import Category
from services.records.actions import (
    ChooseAnswer,
    ConfirmSanction,
    EditExpert,
    EditGroup,
    KeepAnswer,
    SubmitRecord,
)


def test_an_old_sanction_confirmation_still_parses_to_the_same_proposal() -> None:
    assert parse("sc:c:17") == ConfirmSanction(proposal_id=17)
    assert ConfirmSanction(2_147_483_647).encode() == "sc:c:2147483647"
    assert isinstance(parse("sc:c:0"), Refusal) and isinstance(parse("sc:c:x"), Refusal)


@pytest.mark.parametrize("action", [
    NewActivityMove("a1b2c3", 4, Move.DONE),
    NewActivityMove("a1b2c3", 4, Move.CANCEL),
    ChooseKind("a1b2c3", 1, ActivityKind.PROJECT_REVIEW),
    AddInstitution("a1b2c3", 9, 2_147_483_647),
    ChooseCategory("a1b2c3", 9, Category.CLINICAL),
    ChooseSubcategory("a1b2c3", 9, "any"),
    ChooseCount("a1b2c3", 9, 0),
    EditSection("a1b2c3", 9999, Section.COMPOSITION),
    ChooseDoubleBlind("a1b2c3", 9, True),
    ChooseAnswer("a1b2c3", 2, "absent_without_notice"),
    ChooseAnswer("a1b2c3", 2, ""),
    KeepAnswer("a1b2c3", 2),
    EditExpert("a1b2c3", 2, 0),
    EditGroup("a1b2c3", 2),
    SubmitRecord("a1b2c3", 2),
])
def test_dialog_buttons_round_trip_with_their_stamp(action: Action) -> None:
    data = action.encode()
    assert len(data.encode()) <= 64
    assert parse(data) == action


def test_a_dialog_button_with_an_unknown_choice_or_a_bad_stamp_is_refused() -> None:
    assert isinstance(parse("na-k:a1b2c3:1:picnic"), Refusal)
    assert isinstance(parse("na:a1b2c3:1:jump"), Refusal)
    assert isinstance(parse("na:a1b2c3:99999:done"), Refusal)
    assert isinstance(parse("wr-v:a b:1:good"), Refusal)
