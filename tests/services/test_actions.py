"""The button codec (services/platform/actions.py): every button encodes to at most 64 bytes and parses back to the
same typed action; anything a client may send instead is a refusal, never an exception."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.buttons import parse, registered
from services.people.actions import ChooseLanguage
from services.platform.actions import MAX_ID, Action, Index, MalformedAction, OptionalToken, Refusal, parse_id
from services.pool.actions import DecideChange, Verdict


class Colour(enum.StrEnum):
    RED = "r"
    BLUE = "b"


@dataclass(frozen=True)
class Sample(Action):
    prefix: ClassVar[str] = "test:sample"
    record_id: int
    position: Index
    colour: Colour
    token: str
    note: OptionalToken
    flag: bool


def test_an_action_round_trips_through_its_callback_data() -> None:
    action = Sample(record_id=42, position=0, colour=Colour.BLUE, token="a1_-", note="", flag=True)
    data = action.encode()
    assert data == "test:sample:42:0:b:a1_-::1"
    assert parse(data) == action


def test_existing_buttons_keep_their_wire_format() -> None:
    assert ChooseLanguage("zh").encode() == "lang:zh"
    assert DecideChange(7, Verdict.REJECT).encode() == "chg:7:r"
    assert parse("chg:7:a") == DecideChange(7, Verdict.APPROVE)


@pytest.mark.parametrize("data", [
    "chg:²:a",  # str.isdigit() says yes, int() says no
    "chg:٣:a",
    "chg:0:a",  # ids start at 1
    "chg:007:a",  # one spelling per id
    "chg:-1:a",
    "chg:99999999999999999999999:a",  # would overflow the database
    f"chg:{MAX_ID + 1}:a",
    "chg:7:x",  # not a verdict
    "chg:7",  # missing field
    "chg:7:a:extra",
    "chg",
    "",
    "nothing:here",
    "lang:zh zh",
    "lang:" + "a" * 40,
    "x" * 65,
])
def test_malformed_or_unknown_data_is_a_refusal(data: str) -> None:
    assert isinstance(parse(data), Refusal)


@given(st.text(max_size=80))
def test_parse_never_raises(data: str) -> None:
    result = parse(data)
    assert isinstance(result, Action | Refusal)
    if isinstance(result, Action):
        assert result.encode() == data


def test_a_value_a_field_cannot_carry_is_refused_when_the_button_is_built() -> None:
    with pytest.raises(MalformedAction):
        DecideChange(0, Verdict.APPROVE).encode()
    with pytest.raises(MalformedAction):
        ChooseLanguage("zh:en").encode()


def test_callback_data_over_64_bytes_is_refused_when_the_button_is_built() -> None:
    @dataclass(frozen=True)
    class Long(Action):
        prefix: ClassVar[str] = "test:long"
        a: str
        b: str

    with pytest.raises(MalformedAction):
        Long("a" * 32, "b" * 32).encode()


def test_prefixes_cannot_shadow_each_other() -> None:
    with pytest.raises(TypeError):
        @dataclass(frozen=True)
        class Shadow(Action):
            prefix: ClassVar[str] = "chg:7"


def test_every_registered_prefix_is_short_and_unique() -> None:
    for prefix in registered():
        assert len(prefix.encode()) <= 16, prefix


def test_ids_are_ascii_digits_that_fit_the_database() -> None:
    assert parse_id("1") == 1
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(str(MAX_ID + 1)) is None
    assert parse_id("²") is None
    assert parse_id(" 1") is None
