"""National identifiers: unified social credit codes (GB 32100-2015 with GB 11714-1997 organisation codes),
citizen identity numbers (GB 11643-1999), mainland mobile numbers, and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.platform.identifiers import (
    CREDIT_CODE_ALPHABET,
    IdNumber,
    InvalidIdentifier,
    age_on,
    credit_code_check_char,
    id_check_char,
    is_valid_credit_code,
    mask_id_number,
    mask_phone,
    normalize_credit_code,
    org_code_check_char,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)

TODAY = date(2026, 3, 2)
DIGITS = "0123456789"

# The worked example printed in GB 32100-2015 itself.
GB_32100_SAMPLE = "91350100M000100Y43"
# Published codes of well-known companies, each also listed as valid in bluesky335/IDCheck's tests.
HUAWEI = "914403001922038216"  # 华为技术有限公司
GOOGLE_CHINA = "91110108795101314G"  # 谷歌信息技术（中国）有限公司
# The worked examples printed in GB 11643-1999.
GB_11643_SAMPLE = "11010519491231002X"
GB_11643_SAMPLE_1880 = "440524188001010014"


def _reason(excinfo: pytest.ExceptionInfo[InvalidIdentifier]) -> str:
    return excinfo.value.reason


# --- unified social credit code ------------------------------------------------------------------


@pytest.mark.parametrize("code", [GB_32100_SAMPLE, HUAWEI, GOOGLE_CHINA])
def test_published_credit_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)


def test_the_standard_sample_check_character_matches_a_hand_computation() -> None:
    # GB 32100 over 91350100M000100Y4, values = index in 0123456789ABCDEFGHJKLMNPQRTUWXY (M=21, Y=30):
    #   9*1 + 1*3 + 3*9 + 5*27 + 0*19 + 1*26 + 0*16 + 0*17 + 21*20 + 0*29 + 0*25 + 0*13 + 1*8 + 0*24
    #   + 0*10 + 30*30 + 4*28 = 9+3+27+135+26+420+8+900+112 = 1640; 1640 mod 31 = 28 (31*52 = 1612);
    #   31 - 28 = 3 -> alphabet[3] = "3", the 18th character.
    assert credit_code_check_char("91350100M000100Y4") == "3"
    # GB 11714 over the organisation code body M000100Y, letters over the full alphabet (M=22, Y=34):
    #   22*3 + 0*7 + 0*9 + 0*10 + 1*5 + 0*8 + 0*4 + 34*2 = 66+5+68 = 139; 139 mod 11 = 7; 11 - 7 = 4,
    #   the 17th character.
    assert org_code_check_char("M000100Y") == "4"


def test_organisation_code_check_writes_ten_as_x_and_eleven_as_zero() -> None:
    # 9135010557098120XJ: body 57098120 -> 5*3+7*7+0*9+9*10+8*5+1*8+2*4+0*2 = 210; 210 mod 11 = 1; 11-1 = 10 -> X
    assert org_code_check_char("57098120") == "X"
    assert validate_credit_code("9135010557098120XJ") == "9135010557098120XJ"
    # body 00000000 sums to 0; 11 - 0 = 11 -> "0"
    assert org_code_check_char("00000000") == "0"


def test_credit_code_check_character_thirty_one_wraps_to_zero() -> None:
    # 913502006120495420 ends in "0": its weighted sum is a multiple of 31.
    assert credit_code_check_char("91350200612049542") == "0"
    assert validate_credit_code("913502006120495420") == "913502006120495420"


def test_a_credit_code_is_normalized_from_spaces_lower_case_and_full_width() -> None:
    assert normalize_credit_code(" 9135 0100 m000 100y 43 ") == GB_32100_SAMPLE
    assert validate_credit_code("９１３５０１００ｍ０００１００ｙ４３") == GB_32100_SAMPLE
    assert validate_credit_code("91350100\u3000M000100Y43") == GB_32100_SAMPLE


@pytest.mark.parametrize("raw", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_a_credit_code_of_the_wrong_length_is_rejected_for_length(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code(raw)
    assert _reason(excinfo) == "length"
    assert "18 characters" in str(excinfo.value)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "-", "#"])
def test_a_credit_code_with_a_letter_outside_the_alphabet_is_rejected_for_charset(letter: str) -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code("91350100M000100" + letter + "43")
    assert _reason(excinfo) == "charset"


def test_a_credit_code_with_a_letter_in_the_division_code_is_rejected_for_division() -> None:
    body = "91A50100M000100Y4"
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code(body + credit_code_check_char(body))
    assert _reason(excinfo) == "division"


def test_a_credit_code_with_a_wrong_check_character_is_rejected_for_check_digit() -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code("91350100M000100Y44")
    assert _reason(excinfo) == "check_digit"
    assert not is_valid_credit_code("91350100M000100Y44")


def test_a_credit_code_whose_organisation_code_fails_gb_11714_is_rejected_unless_that_check_is_off() -> None:
    body = "91350100M000100Y5"  # organisation check character should be 4
    code = body + credit_code_check_char(body)  # the GB 32100 check itself holds
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code(code)
    assert _reason(excinfo) == "org_code_check"
    assert not is_valid_credit_code(code)
    assert validate_credit_code(code, check_org_code=False) == code
    assert is_valid_credit_code(code, check_org_code=False)


def test_genuine_fujian_pilot_codes_that_predate_the_standard_fail_the_check_character() -> None:
    # Issued in the Xiamen pilot before GB 32100 took effect; genuine, but not standard-conformant
    # (documented by bluesky335/IDCheck and hutool's tests). The product rejects them.
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_credit_code("91350211M0000XUF46")
    assert _reason(excinfo) == "check_digit"


def test_check_character_helpers_reject_malformed_bodies() -> None:
    for call, arg, reason in [
        (credit_code_check_char, "9135", "length"),
        (credit_code_check_char, "91350100M000100I4", "charset"),
        (org_code_check_char, "M00010", "length"),
        (org_code_check_char, "M00010-Y", "charset"),
    ]:
        with pytest.raises(InvalidIdentifier) as excinfo:
            call(arg)
        assert _reason(excinfo) == reason


_CREDIT_CHAR = st.sampled_from(CREDIT_CODE_ALPHABET)
_DIGIT = st.sampled_from(DIGITS)


@st.composite
def _credit_code_bodies(draw: st.DrawFn) -> str:
    """17 characters a credit code may start with: the division code is digits, the rest any alphabet character."""
    head = "".join(draw(st.lists(_CREDIT_CHAR, min_size=2, max_size=2)))
    division = "".join(draw(st.lists(_DIGIT, min_size=6, max_size=6)))
    org = "".join(draw(st.lists(_CREDIT_CHAR, min_size=9, max_size=9)))
    return head + division + org


@st.composite
def _credit_code_bodies_with_valid_org_code(draw: st.DrawFn) -> str:
    body = draw(_credit_code_bodies())
    return body[:16] + org_code_check_char(body[8:16])


@given(_credit_code_bodies())
def test_any_credit_code_body_with_its_computed_check_character_validates(body: str) -> None:
    code = body + credit_code_check_char(body)
    assert validate_credit_code(code, check_org_code=False) == code


@given(_credit_code_bodies_with_valid_org_code())
def test_a_body_with_a_valid_organisation_code_and_its_check_character_validates_fully(body: str) -> None:
    code = body + credit_code_check_char(body)
    assert validate_credit_code(code) == code


@given(_credit_code_bodies_with_valid_org_code(), st.data())
def test_changing_any_one_credit_code_character_makes_it_invalid(body: str, data: st.DataObject) -> None:
    code = body + credit_code_check_char(body)
    index = data.draw(st.integers(min_value=0, max_value=17))
    allowed = DIGITS if 2 <= index <= 7 else CREDIT_CODE_ALPHABET
    replacement = data.draw(st.sampled_from(allowed).filter(lambda char: char != code[index]))
    mutated = code[:index] + replacement + code[index + 1 :]
    for check_org_code in (True, False):
        with pytest.raises(InvalidIdentifier) as excinfo:
            validate_credit_code(mutated, check_org_code=check_org_code)
        assert _reason(excinfo) == "check_digit"


# --- citizen identity number ---------------------------------------------------------------------


def test_the_gb_11643_sample_is_a_woman_born_on_31_december_1949() -> None:
    assert validate_id_number(GB_11643_SAMPLE, today=TODAY) == IdNumber(
        number=GB_11643_SAMPLE, birth_date=date(1949, 12, 31), gender="female", region_code="110105"
    )


def test_the_sample_check_character_matches_a_hand_computation() -> None:
    # 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 against weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    #   7 + 9 + 0 + 5 + 0 + 20 + 2 + 9 + 24 + 27 + 7 + 18 + 30 + 5 + 0 + 0 + 4 = 167;
    #   167 mod 11 = 2; "10X98765432"[2] = "X".
    assert id_check_char("11010519491231002") == "X"


def test_an_odd_seventeenth_digit_means_male() -> None:
    body = "11010519900307123"
    parsed = validate_id_number(body + id_check_char(body), today=TODAY)
    assert parsed.gender == "male"
    assert parsed.birth_date == date(1990, 3, 7)
    assert parsed.region_code == "110105"


def test_an_identity_number_is_normalized_from_lower_case_x_spaces_and_full_width() -> None:
    for raw in ["11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２ｘ"]:
        assert validate_id_number(raw, today=TODAY).number == GB_11643_SAMPLE


@pytest.mark.parametrize("raw", ["", "110105491231002", "11010519491231002", "11010519491231002X0"])
def test_an_identity_number_of_the_wrong_length_is_rejected_for_length(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number(raw, today=TODAY)
    assert _reason(excinfo) == "length"


@pytest.mark.parametrize(
    "raw", ["1101051949123100Y2", "11010519491231002Y", "X10105194912310020", "1101051949123100٢X"]
)
def test_an_identity_number_with_a_non_digit_body_or_bad_check_letter_is_rejected_for_charset(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number(raw, today=TODAY)
    assert _reason(excinfo) == "charset"


def test_an_identity_number_with_a_wrong_check_character_is_rejected_for_check_digit() -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number("110105194912310021", today=TODAY)
    assert _reason(excinfo) == "check_digit"


@pytest.mark.parametrize(
    ("birth", "why"),
    [
        ("19490231", "not a real date"),
        ("19491301", "not a real date"),
        ("19490000", "not a real date"),
        ("20250229", "not a real date"),
        ("18991231", "before 1900"),
        ("20260303", "in the future"),
    ],
)
def test_an_impossible_birth_date_is_rejected_for_birth_date(birth: str, why: str) -> None:
    body = "110105" + birth + "002"
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number(body + id_check_char(body), today=TODAY)
    assert _reason(excinfo) == "birth_date"
    assert why in str(excinfo.value)


def test_birth_dates_on_the_boundaries_are_accepted() -> None:
    for birth, expected in [("19000101", date(1900, 1, 1)), ("20260302", TODAY), ("20240229", date(2024, 2, 29))]:
        body = "110105" + birth + "001"
        assert validate_id_number(body + id_check_char(body), today=TODAY).birth_date == expected


def test_the_standards_1880_sample_has_a_valid_check_but_is_refused_as_born_before_1900() -> None:
    assert id_check_char(GB_11643_SAMPLE_1880[:17]) == GB_11643_SAMPLE_1880[17]
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number(GB_11643_SAMPLE_1880, today=TODAY)
    assert _reason(excinfo) == "birth_date"


def test_the_identity_check_helper_rejects_malformed_bodies() -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        id_check_char("1101051949")
    assert _reason(excinfo) == "length"
    with pytest.raises(InvalidIdentifier) as excinfo:
        id_check_char("1101051949123100X")
    assert _reason(excinfo) == "charset"


@st.composite
def _id_bodies(draw: st.DrawFn) -> str:
    region = "".join(draw(st.lists(_DIGIT, min_size=6, max_size=6)))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = "".join(draw(st.lists(_DIGIT, min_size=3, max_size=3)))
    return region + birth.strftime("%Y%m%d") + sequence


@given(_id_bodies())
def test_any_identity_body_with_its_computed_check_character_validates(body: str) -> None:
    parsed = validate_id_number(body + id_check_char(body), today=TODAY)
    assert parsed.number == body + id_check_char(body)
    assert parsed.birth_date.strftime("%Y%m%d") == body[6:14]
    assert parsed.gender == ("male" if int(body[16]) % 2 else "female")


@given(_id_bodies(), st.data())
def test_changing_any_one_identity_character_makes_it_invalid(body: str, data: st.DataObject) -> None:
    number = body + id_check_char(body)
    index = data.draw(st.integers(min_value=0, max_value=17))
    allowed = DIGITS + "X" if index == 17 else DIGITS
    replacement = data.draw(st.sampled_from(allowed).filter(lambda char: char != number[index]))
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_id_number(number[:index] + replacement + number[index + 1 :], today=TODAY)
    assert _reason(excinfo) == "check_digit"


# --- age -----------------------------------------------------------------------------------------


def test_age_counts_completed_years_across_a_birthday() -> None:
    born = date(1949, 12, 31)
    assert age_on(born, born) == 0
    assert age_on(born, date(1950, 12, 30)) == 0
    assert age_on(born, date(1950, 12, 31)) == 1
    assert age_on(born, TODAY) == 76


def test_someone_born_on_29_february_turns_older_on_1_march_in_non_leap_years() -> None:
    born = date(2000, 2, 29)
    assert age_on(born, date(2001, 2, 28)) == 0
    assert age_on(born, date(2001, 3, 1)) == 1
    assert age_on(born, date(2004, 2, 28)) == 3
    assert age_on(born, date(2004, 2, 29)) == 4


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --- mobile numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "8613800138000", "１３８００１３８０００"],
)
def test_a_mainland_mobile_is_normalized_to_eleven_digits(raw: str) -> None:
    assert validate_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    ["", "1380013800", "138001380001", "12800138000", "23800138000", "1380013800a", "+85213800138000", "010-12345678"],
)
def test_anything_but_a_mainland_mobile_is_rejected_for_mobile(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_mobile(raw)
    assert _reason(excinfo) == "mobile"


# --- masking -------------------------------------------------------------------------------------


def test_an_identity_number_is_masked_to_its_first_six_and_last_four_characters() -> None:
    assert mask_id_number(GB_11643_SAMPLE) == "110105********002X"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_id_number("110105491231002") == "110105*****1002"
    assert mask_id_number("1234") == "****"
    assert mask_id_number("") == ""


def test_a_mobile_is_masked_to_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_a_phone_of_another_length_keeps_its_first_three_and_last_two() -> None:
    assert mask_phone("02112345678") == "021****5678"  # eleven characters: the mobile rule
    assert mask_phone("0211234567") == "021*****67"
    assert mask_phone("8613812345678") == "861********78"
    assert mask_phone("123456") == "123*56"


def test_a_very_short_or_empty_phone_reveals_nothing() -> None:
    assert mask_phone("12345") == "*****"
    assert mask_phone("") == ""


def test_an_invalid_identifier_is_a_value_error_with_a_reason_and_an_english_message() -> None:
    with pytest.raises(ValueError, match="18 characters") as excinfo:
        validate_credit_code("123")
    assert isinstance(excinfo.value, InvalidIdentifier)
    assert excinfo.value.reason == "length"
