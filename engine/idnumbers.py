"""Identity numbers and contact data: validation, masking and PII detection.

Owns:
- `check_id_number`: the 18-character 公民身份号码 of GB 11643-1999 (address code 6 +
  birth date 8 + sequence 3 + ISO 7064 MOD 11-2 check character);
- `check_uscc`: the 18-character 统一社会信用代码 of GB 32100-2015 (MOD 31 check);
- `check_mobile`: mainland mobile numbers (`1[3-9]` + 9 digits);
- masking (`mask_mobile`, `mask_id_number`, `mask_name`) for events, reports and responses;
- `PII_PATTERNS` / `find_unmasked_pii`: the one detector of unmasked phone and ID numbers
  (the engine screens every free-text field with it; tests scan outputs and logs with it)
  and `mask_pii_in_text`, which masks what it finds (complaint text kept in events).

Invariants:
- Pure functions: no clock (the caller passes `now_ms`), no I/O, no randomness.
- Every failure raises `engine.commands.Refusal(field, rule, message)`. Messages never
  echo the offending value: it is personal data and refusals end up in logs and responses.
- `IdInfo` exposes the birth date but not the sex digit (see the comment on it).
- Mask functions are total: a value that is not in the expected form is masked entirely,
  so a mask can never leak more than the documented characters.

Limits:
- Only the 18-character second-generation number is accepted; the 15-digit first
  generation has not been valid since 2013.
- The 6-digit address code is checked only for a real province-level prefix, never against
  a current GB/T 2260 list: codes of abolished counties (e.g. 110104, Beijing's 宣武区,
  merged into 西城区 in 2010) stay valid for life on the people who were issued them.
- USCC positions 9-17 (the 主体标识码, usually the old GB 11714 organisation code) are
  checked for the character set only; their own GB 11714 check digit is not verified,
  because codes issued by some registries after 2015 do not carry one.
"""

from __future__ import annotations

import re

import msgspec

from engine.commands import Refusal
from engine.geo import local_date

MAX_INPUT_CHARS = 64  # refuse longer inputs before doing any work on them

# ------------------------------------------------------------------ 公民身份号码 ----

ID_LENGTH = 18
ID_MIN_BIRTH_YEAR = 1900
# GB 11643-1999: weight of position i (1-based) is 2^(18-i) mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# ISO 7064 MOD 11-2: check value for (weighted sum mod 11) = 0..10; 10 is written 'X'.
_ID_CHECK_CHARS = "10X98765432"
# Province-level codes (GB/T 2260): 11-15 north, 21-23 north-east, 31-37 east,
# 41-46 central-south, 50-54 south-west, 61-65 north-west, 71 Taiwan, 81 Hong Kong and
# 82 Macao (residence permits of HK/MO residents), 83 (residence permits of Taiwan
# residents, 830000).
ID_PROVINCE_CODES: frozenset[str] = frozenset(
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)
_DIGITS = frozenset("0123456789")


class IdInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid 公民身份号码 tells the engine.

    The sex digit (position 17: odd male, even female) is deliberately NOT exposed:
    gender must never reach scoring or any other decision (DESIGN.md section 4), and the
    surest way to keep it out is not to extract it at all. Only `birth_year` is meant for
    scoring (older-worker priority, 大龄); the full birth date is here for validation
    displays and age checks, not for scores.
    """

    number: str  # normalised: upper-case 'X'
    region6: str  # address code at issue (may be an abolished county code)
    birth_year: int
    birth_month: int
    birth_day: int


def id_check_char(body17: str) -> str:
    """MOD 11-2 check character of the first 17 digits of a 公民身份号码."""
    total = 0
    for ch, weight in zip(body17, _ID_WEIGHTS, strict=True):
        total += (ord(ch) - 48) * weight
    return _ID_CHECK_CHARS[total % 11]


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def check_id_number(value: str, *, now_ms: int, field: str = "personal.id_number") -> IdInfo:
    """Validate a 公民身份号码 (GB 11643-1999) and return what it encodes.

    Accepts surrounding whitespace and a lower-case 'x'. Refusal rules, checked in order:
    "length" (not 18 characters), "characters" (17 digits then a digit or X),
    "province" (first two digits not a province-level code), "birth_date" (not a real
    calendar date), "birth_range" (before 1900 or after the local (UTC+8) day of `now_ms`),
    "checksum" (MOD 11-2 check character wrong).
    """
    if not isinstance(value, str):
        raise Refusal(field, "characters", "ID number (公民身份号码) must be a string")
    if len(value) > MAX_INPUT_CHARS:
        raise Refusal(field, "length", "ID number (公民身份号码) must have 18 characters")
    number = value.strip().upper()
    if len(number) != ID_LENGTH:
        raise Refusal(field, "length", "ID number (公民身份号码) must have 18 characters")
    body = number[:17]
    if not all(ch in _DIGITS for ch in body) or not (number[17] in _DIGITS or number[17] == "X"):
        raise Refusal(
            field, "characters", "ID number (公民身份号码) must be 17 digits then a digit or X"
        )
    if number[:2] not in ID_PROVINCE_CODES:
        raise Refusal(field, "province", "ID number has no valid province code (省级行政区划代码)")
    year = int(number[6:10])
    month = int(number[10:12])
    day = int(number[12:14])
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise Refusal(field, "birth_date", "ID number birth date (出生日期) is not a real date")
    if year < ID_MIN_BIRTH_YEAR:
        raise Refusal(field, "birth_range", "ID number birth date (出生日期) is before 1900")
    if (year, month, day) > local_date(now_ms):
        raise Refusal(field, "birth_range", "ID number birth date (出生日期) is in the future")
    if id_check_char(body) != number[17]:
        raise Refusal(field, "checksum", "ID number check character (校验码) is wrong")
    return IdInfo(
        number=number,
        region6=number[:6],
        birth_year=year,
        birth_month=month,
        birth_day=day,
    )


# ------------------------------------------------------------------ 统一社会信用代码 --

USCC_LENGTH = 18
# GB 32100-2015: the 31 code characters (no I, O, S, V, Z) and their values 0..30.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Position 1, 登记管理部门代码 (registering authority), per the GB 32100-2015 table and
# its later additions. Accepted: all of these. Position 2 (机构类别, entity category) is
# only checked for the character set, since categories are assigned by each authority.
USCC_AUTHORITIES: dict[str, str] = {
    "1": "机构编制 (establishment offices: organs, public institutions)",
    "2": "外交 (foreign affairs: resident foreign news agencies)",
    "3": "司法行政 (justice: law firms, notaries, arbitration bodies)",
    "4": "文化 (culture: foreign cultural centres)",
    "5": "民政 (civil affairs: social organisations, foundations)",
    "6": "旅游 (tourism: representative offices of foreign tourism bodies)",
    "7": "宗教 (religious affairs: venues, colleges)",
    "8": "工会 (trade unions)",
    "9": "工商 (market regulation: enterprises, 个体工商户, cooperatives)",
    "A": "中央军委改革和编制办公室 (military public institutions)",
    "N": "农业 (agriculture: rural collective economic organisations)",
    "Y": "其他 (other registering authorities)",
}


def uscc_check_char(body17: str) -> str:
    """MOD 31 check character of the first 17 characters of a 统一社会信用代码."""
    total = 0
    for ch, weight in zip(body17, _USCC_WEIGHTS, strict=True):
        total += _USCC_VALUE[ch] * weight
    return USCC_CHARSET[(31 - total % 31) % 31]


def check_uscc(value: str, *, field: str = "uscc") -> str:
    """Validate a 统一社会信用代码 (GB 32100-2015); return it normalised (upper case).

    Refusal rules, checked in order: "length" (not 18 characters), "characters" (a
    character outside the 31-character set), "authority" (first character not a
    registering-authority code of `USCC_AUTHORITIES`), "region" (positions 3-8 not six
    digits), "checksum" (MOD 31 check character wrong).
    """
    if not isinstance(value, str):
        raise Refusal(field, "characters", "USCC (统一社会信用代码) must be a string")
    if len(value) > MAX_INPUT_CHARS:
        raise Refusal(field, "length", "USCC (统一社会信用代码) must have 18 characters")
    code = value.strip().upper()
    if len(code) != USCC_LENGTH:
        raise Refusal(field, "length", "USCC (统一社会信用代码) must have 18 characters")
    if not all(ch in _USCC_VALUE for ch in code):
        raise Refusal(
            field,
            "characters",
            "USCC (统一社会信用代码) uses digits and capital letters except I, O, S, V, Z",
        )
    if code[0] not in USCC_AUTHORITIES:
        raise Refusal(
            field, "authority", "USCC registering-authority code (登记管理部门代码) unknown"
        )
    if not all(ch in _DIGITS for ch in code[2:8]):
        raise Refusal(
            field, "region", "USCC positions 3-8 must be a 6-digit region code (行政区划码)"
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise Refusal(field, "checksum", "USCC check character (校验码) is wrong")
    return code


# ------------------------------------------------------------------ mobile ---------

MOBILE_LENGTH = 11
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def check_mobile(value: str, *, field: str = "personal.mobile") -> str:
    """Validate a mainland mobile number; return the 11-digit form.

    Tolerates spaces and hyphens anywhere and a leading '+86', '0086' or '86'.
    Refusal rules: "characters" (anything else than digits after cleaning), "length"
    (not 11 digits after removing the country code), "prefix" (not 1[3-9]).
    """
    if not isinstance(value, str):
        raise Refusal(field, "characters", "mobile number (手机号) must be a string")
    if len(value) > MAX_INPUT_CHARS:
        raise Refusal(field, "length", "mobile number (手机号) must have 11 digits")
    digits = value.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == MOBILE_LENGTH + 2:
        digits = digits[2:]
    if not digits or not all(ch in _DIGITS for ch in digits):
        raise Refusal(field, "characters", "mobile number (手机号) must contain only digits")
    if len(digits) != MOBILE_LENGTH:
        raise Refusal(field, "length", "mobile number (手机号) must have 11 digits")
    if _MOBILE_RE.fullmatch(digits) is None:
        raise Refusal(field, "prefix", "mobile number (手机号) must start with 13-19")
    return digits


# ------------------------------------------------------------------ masking --------


def mask_mobile(value: str) -> str:
    """'13812341234' -> '138****1234'. Anything not a valid mobile is masked entirely."""
    if not value:
        return ""
    try:
        digits = check_mobile(value)
    except Refusal:
        return "*" * min(len(value), MOBILE_LENGTH)
    return digits[:3] + "****" + digits[7:]


def mask_id_number(value: str) -> str:
    """Keep the first 3 characters and the check character: '110**************X'.

    The 17th character encodes gender, so it is never shown (gender must not leak
    through a masked string that stays in the log after erasure).

    Anything that is not 18 digits/X (after trimming) is masked entirely (18 '*').
    """
    if not value:
        return ""
    number = value.strip().upper()
    if (
        len(number) != ID_LENGTH
        or not all(ch in _DIGITS for ch in number[:17])
        or not (number[17] in _DIGITS or number[17] == "X")
    ):
        return "*" * ID_LENGTH
    return number[:3] + "*" * (ID_LENGTH - 4) + number[-1:]


def mask_name(value: str) -> str:
    """Keep the first character, one '*' per further character: '张三' -> '张*'.

    '欧阳娜娜' -> '欧***'. A one-character name is fully masked ('*'): keeping its only
    character would keep the whole name.
    """
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


# ------------------------------------------------------------------ leak detection -

# Boundaries are ASCII letters and digits (not `\b`, which treats CJK as word characters):
# a number glued to Chinese text ("电话13812341234") is found, one inside a hex digest or
# a longer digit run is not. Masked forms contain '*' and never match.
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_PROVINCE_ALT = "(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3])"

PII_PATTERNS: list[re.Pattern[str]] = [
    # mainland mobile, optionally with +86/0086/86, written 13812341234, 138-1234-1234 or
    # 138 1234 1234 (the separated forms can, rarely, match three numbers in a table).
    re.compile(
        _NOT_ALNUM_BEFORE
        + r"(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:([ -]?)[0-9]{4}\1[0-9]{4})"
        + _NOT_ALNUM_AFTER
    ),
    # 18-character ID number: province code, 4 more region digits, a 18xx/19xx/20xx date,
    # 3 sequence digits and a check character (the checksum is not required: a mistyped
    # ID number is still personal data).
    re.compile(
        _NOT_ALNUM_BEFORE
        + _PROVINCE_ALT
        + r"[0-9]{4}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
        + r"[0-9]{3}[0-9Xx]"
        + _NOT_ALNUM_AFTER
    ),
]


# what both patterns need: 11 digits as a mobile writes them (an ID number's 17 digits in
# a row hold such a run); text without it is answered with one scan instead of two
_CANDIDATE = re.compile(r"[0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}")


def find_unmasked_pii(text: str) -> list[str]:
    """Every unmasked mobile or ID number in `text`, in order of appearance."""
    if _CANDIDATE.search(text) is None:
        return []
    hits: list[tuple[int, str]] = []
    for pattern in PII_PATTERNS:
        for match in pattern.finditer(text):
            hits.append((match.start(), match.group(0)))
    hits.sort()
    return [found for _, found in hits]


def mask_pii_in_text(text: str) -> str:
    """`text` with every mobile and ID number `find_unmasked_pii` would find masked.

    Mobiles become '138****1234', ID numbers '110**************X' (the same masks as the
    registry's); the masked forms contain '*' and are never found again.
    """
    mobile, id_number = PII_PATTERNS
    text = id_number.sub(lambda m: mask_id_number(m.group(0)), text)
    return mobile.sub(lambda m: mask_mobile(m.group(0)), text)
