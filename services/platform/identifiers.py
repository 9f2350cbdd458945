"""The national identifiers the product validates, as pure functions (standard library only, no I/O).

* Unified social credit code (统一社会信用代码), GB 32100-2015, whose positions 9–17 are an organisation
  code (组织机构代码) under GB 11714-1997 with its own check character.
* Citizen identity number (公民身份号码), GB 11643-1999.
* Mainland mobile numbers, and masking of identity and phone numbers for display and logs.

Every rejection raises :class:`InvalidIdentifier`, whose ``reason`` is a short, stable machine key
(for message catalogues and metrics) and whose message is a human English sentence.

Known limitation: some credit codes issued in Fujian (Xiamen, Fuzhou) during the pilot before the
standard took effect (e.g. ``91350211M0000XUF46``) are genuine but fail the GB 32100 check character;
they are rejected with reason ``"check_digit"``. No genuine code is known whose GB 11714 organisation
code check fails while the GB 32100 check holds, but that check can be switched off with
``check_org_code=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Reason = Literal["length", "charset", "check_digit", "org_code_check", "division", "birth_date", "mobile"]
Gender = Literal["male", "female"]

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100-2015 code characters (no I, O, Z, S, V); a character's value is its index here."""

_CREDIT_CODE_VALUES = {char: value for value, char in enumerate(CREDIT_CODE_ALPHABET)}
# GB 32100-2015 weights: 3**(i-1) mod 31 for positions i = 1..17 (ISO 7064 style, GB/T 17710).
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11714-1997 values: digits are themselves, letters A..Z are 10..35 over the *full* Latin alphabet
# (so "M" is 22 here, though it is 21 in the GB 32100 alphabet above).
_ORG_CODE_VALUES = {char: value for value, char in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_DIGITS = frozenset("0123456789")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Full-width ASCII variants (U+FF01..U+FF5E) to ASCII, and the ideographic space to a space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class InvalidIdentifier(ValueError):
    """An identifier failed validation. ``reason`` is a stable machine key; ``str(error)`` is for humans."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


def _to_half_width_compact(raw: str) -> str:
    """Full-width characters to half-width, all whitespace removed, upper-cased."""
    return "".join(raw.translate(_HALF_WIDTH).split()).upper()


# --- unified social credit code (GB 32100-2015) -------------------------------------------------


def normalize_credit_code(raw: str) -> str:
    """Canonical form of a unified social credit code (GB 32100-2015) as typed: whitespace removed,
    full-width characters made half-width, letters upper-cased. Does not validate."""
    return _to_half_width_compact(raw)


def org_code_check_char(first8: str) -> str:
    """The check character (9th) of an organisation code under GB 11714-1997, from its 8-character body.

    Weights 3, 7, 9, 10, 5, 8, 4, 2; digits count as themselves and letters A..Z as 10..35;
    check = 11 - (sum mod 11), where 10 is written "X" and 11 is written "0".
    """
    if len(first8) != 8:
        raise InvalidIdentifier("length", f"an organisation code body has 8 characters, got {len(first8)}")
    if any(char not in _ORG_CODE_VALUES for char in first8):
        raise InvalidIdentifier("charset", "an organisation code body uses only digits and capital letters")
    total = sum(_ORG_CODE_VALUES[char] * weight for char, weight in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def credit_code_check_char(first17: str) -> str:
    """The 18th (check) character of a unified social credit code under GB 32100-2015.

    Each of the first 17 characters takes its index in ``0123456789ABCDEFGHJKLMNPQRTUWXY`` as value;
    weights are 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28;
    check = 31 - (sum mod 31), where 31 becomes 0, mapped back through the same alphabet.
    ``first17`` must already be normalized.
    """
    if len(first17) != 17:
        raise InvalidIdentifier("length", f"a credit code body has 17 characters, got {len(first17)}")
    if any(char not in _CREDIT_CODE_VALUES for char in first17):
        raise InvalidIdentifier(
            "charset", "a credit code uses only digits and capital letters other than I, O, S, V, Z"
        )
    total = sum(_CREDIT_CODE_VALUES[char] * weight for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(raw: str, *, check_org_code: bool = True) -> str:
    """Validate a unified social credit code (统一社会信用代码, GB 32100-2015) and return it normalized.

    Checks, in order: 18 characters ("length"); every character from the GB 32100 alphabet
    ("charset"); positions 3–8, the administrative division code (GB/T 2260), all digits ("division");
    the GB 32100 check character in position 18 ("check_digit"); and, unless ``check_org_code`` is
    false, the GB 11714-1997 check character of the organisation code in positions 9–17
    ("org_code_check"). Raises :class:`InvalidIdentifier` with that reason.
    """
    code = normalize_credit_code(raw)
    if len(code) != 18:
        raise InvalidIdentifier("length", f"a unified social credit code has 18 characters, got {len(code)}")
    if any(char not in _CREDIT_CODE_VALUES for char in code):
        raise InvalidIdentifier(
            "charset", "a unified social credit code uses only digits and capital letters other than I, O, S, V, Z"
        )
    if any(char not in _DIGITS for char in code[2:8]):
        raise InvalidIdentifier("division", "characters 3 to 8 of a credit code (the division code) must be digits")
    if code[17] != credit_code_check_char(code[:17]):
        raise InvalidIdentifier("check_digit", "the credit code's check character does not match; check for a typo")
    if check_org_code and code[16] != org_code_check_char(code[8:16]):
        raise InvalidIdentifier(
            "org_code_check", "the organisation code inside the credit code (characters 9 to 17) fails its check"
        )
    return code


def is_valid_credit_code(raw: str, *, check_org_code: bool = True) -> bool:
    """Whether ``raw`` is a valid unified social credit code (GB 32100-2015); see :func:`validate_credit_code`."""
    try:
        validate_credit_code(raw, check_org_code=check_org_code)
    except InvalidIdentifier:
        return False
    return True


# --- citizen identity number (GB 11643-1999) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A valid citizen identity number (GB 11643-1999) and what it encodes."""

    number: str
    birth_date: date
    gender: Gender
    region_code: str


def normalize_id_number(raw: str) -> str:
    """Canonical form of a citizen identity number (GB 11643-1999) as typed: whitespace removed,
    full-width characters made half-width, a lower-case check "x" upper-cased. Does not validate."""
    return _to_half_width_compact(raw)


def id_check_char(first17: str) -> str:
    """The 18th (check) character of a citizen identity number under GB 11643-1999 (ISO 7064 MOD 11-2).

    Weights 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 over the 17 digits; the check is
    ``"10X98765432"[sum mod 11]``.
    """
    if len(first17) != 17:
        raise InvalidIdentifier("length", f"an identity number body has 17 digits, got {len(first17)}")
    if any(char not in _DIGITS for char in first17):
        raise InvalidIdentifier("charset", "the first 17 characters of an identity number are digits")
    total = sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def validate_id_number(raw: str, *, today: date) -> IdNumber:
    """Validate a citizen identity number (公民身份号码, GB 11643-1999) and say what it encodes.

    Checks, in order: 18 characters ("length"); 17 digits then a digit or "X" ("charset"); the
    GB 11643 check character ("check_digit"); positions 7–14 a real date YYYYMMDD no earlier than
    1900-01-01 and not after ``today`` ("birth_date"). Raises :class:`InvalidIdentifier` with that
    reason. Position 17 odd means male, even female; positions 1–6 are the region (address) code.
    """
    number = normalize_id_number(raw)
    if len(number) != 18:
        raise InvalidIdentifier("length", f"an identity number has 18 characters, got {len(number)}")
    if any(char not in _DIGITS for char in number[:17]) or number[17] not in "0123456789X":
        raise InvalidIdentifier("charset", "an identity number is 17 digits followed by a digit or X")
    if number[17] != id_check_char(number[:17]):
        raise InvalidIdentifier("check_digit", "the identity number's check character does not match; check for a typo")
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", "the identity number's birth date is not a real date") from None
    if birth_date < _EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier("birth_date", "the identity number's birth date is before 1900")
    if birth_date > today:
        raise InvalidIdentifier("birth_date", "the identity number's birth date is in the future")
    gender: Gender = "male" if int(number[16]) % 2 == 1 else "female"
    return IdNumber(number=number, birth_date=birth_date, gender=gender, region_code=number[:6])


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``. Someone born on 29 February turns a year older on 1 March in
    non-leap years. Raises ``ValueError`` if ``on`` is before ``birth_date``."""
    if on < birth_date:
        raise ValueError("the date is before the birth date")
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


# --- mobile numbers and masking -----------------------------------------------------------------


def validate_mobile(raw: str) -> str:
    """Validate a mainland China mobile number and return its 11 digits.

    Whitespace and hyphens are dropped, full-width characters made half-width, and a leading "+86"
    or "86" country code removed; what remains must be 11 digits starting with 1 then 3–9.
    Raises :class:`InvalidIdentifier` with reason "mobile".
    """
    digits = _to_half_width_compact(raw).replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11 or any(char not in _DIGITS for char in digits) or digits[0] != "1" or digits[1] in "012":
        raise InvalidIdentifier("mobile", "a mainland mobile number is 11 digits starting with 13 to 19")
    return digits


def mask_id_number(number: str) -> str:
    """An identity number for display: the first 6 and last 4 characters, ``*`` in between
    (``11010519491231002X`` → ``110105********002X``). The input is normalized first; anything of
    10 characters or fewer is masked entirely."""
    normalized = normalize_id_number(number)
    if len(normalized) <= 10:
        return "*" * len(normalized)
    return normalized[:6] + "*" * (len(normalized) - 10) + normalized[-4:]


def mask_phone(mobile: str) -> str:
    """A phone number for display. Eleven characters (a mainland mobile) keep the first 3 and last 4
    (``13800138000`` → ``138****8000``); other lengths keep the first 3 and last 2; fewer than 6
    characters are masked entirely; the empty string stays empty. Characters are taken as given."""
    if len(mobile) == 11:
        return mobile[:3] + "****" + mobile[-4:]
    if len(mobile) < 6:
        return "*" * len(mobile)
    return mobile[:3] + "*" * (len(mobile) - 5) + mobile[-2:]


_ID_NUMBER_IN_TEXT = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?![\dXx])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_personal(text: str) -> str:
    """``text`` with every identity number masked as :func:`mask_id_number` does and every mobile as ``138****8000``:
    for showing back what someone typed (PIPL: a number the bureau keeps encrypted is not repeated in a chat)."""
    text = _ID_NUMBER_IN_TEXT.sub(lambda m: mask_id_number(m.group()), text)
    return _MOBILE_IN_TEXT.sub(lambda m: m.group()[:3] + "****" + m.group()[-4:], text)
