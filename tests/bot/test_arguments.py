"""Command arguments: ids, words, dates and text are read bounded, and anything else is a usage error."""

from __future__ import annotations

from datetime import date

import pytest

from bot.arguments import Arguments, UsageError, echo
from services.platform.actions import MAX_ID


def test_a_record_id_is_ascii_digits_within_the_database_integer() -> None:
    args = Arguments(["42", "²", "٣", str(MAX_ID + 1), "-1", "007"], "pool.expert_usage")
    assert args.record_id(0) == 42
    for index in range(1, 6):
        with pytest.raises(UsageError) as refused:
            args.record_id(index)
        assert refused.value.problem_key == "arguments.bad_id"
        assert refused.value.usage_key == "pool.expert_usage"


def test_a_missing_argument_is_the_usage_alone() -> None:
    with pytest.raises(UsageError) as refused:
        Arguments([], "move.usage", actions="a | b").record_id(0)
    assert refused.value.problem_key is None and refused.value.usage_params == {"actions": "a | b"}
    with pytest.raises(UsageError):
        Arguments(["1", "2"], "x.usage").expect(1, 1)


def test_text_is_joined_and_refused_over_its_limit_with_the_limit_stated() -> None:
    args = Arguments(["a", "b", "c"], "x.usage")
    assert args.text(1, 3) == "b c"
    with pytest.raises(UsageError) as refused:
        args.text(0, 4)
    assert refused.value.problem_key == "arguments.too_long" and refused.value.problem_params["limit"] == 4
    with pytest.raises(UsageError):
        args.text(3, 10, required=True)


def test_words_and_dates_are_checked_and_echoed_briefly() -> None:
    args = Arguments(["Approve", "2026/04/01", "x" * 80], "x.usage")
    assert args.word(0, ("approve", "reject")) == "approve"
    assert args.day(1) == date(2026, 4, 1)
    with pytest.raises(UsageError) as refused:
        args.day(2)
    assert refused.value.problem_params["value"] == "x" * 49 + "…"
    assert echo("short") == "short" and len(echo("y" * 5000)) == 50



def test_an_echo_masks_identity_numbers_and_mobiles() -> None:
    """What someone typed is shown back without the numbers the bureau keeps encrypted (PIPL; issue 19)."""
    shown = echo("张三 11010519491231002X 13800138000 第一医院 2026")
    assert shown == "张三 110105********002X 138****8000 第一医院 2026"
    assert echo("110105491231002") == "110105*****1002"  # the old 15-digit form
