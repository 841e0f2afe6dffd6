"""engine.idnumbers: 公民身份号码, 统一社会信用代码, mobile numbers, masking, leak scanning."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commands import Refusal
from engine.idnumbers import (
    ID_PROVINCE_CODES,
    PII_PATTERNS,
    USCC_AUTHORITIES,
    USCC_CHARSET,
    IdInfo,
    check_id_number,
    check_mobile,
    check_uscc,
    find_unmasked_pii,
    id_check_char,
    mask_id_number,
    mask_mobile,
    mask_name,
    uscc_check_char,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# 2025-11-21 00:00 in Asia/Shanghai (= 2025-11-20 16:00 UTC).
NOW_MS = int(dt.datetime(2025, 11, 21, tzinfo=SHANGHAI).timestamp() * 1000)
TODAY = dt.date(2025, 11, 21)
DIGITS = "0123456789"


def make_id(region6: str, birth: dt.date, seq: int) -> str:
    body = f"{region6}{birth:%Y%m%d}{seq:03d}"
    return body + id_check_char(body)


def refusal_of(fn, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as info:
        fn(*args, **kwargs)
    return info.value


# ------------------------------------------------------------------ strategies -----

valid_ids = st.builds(
    make_id,
    st.builds(
        lambda p, rest: p + rest,
        st.sampled_from(sorted(ID_PROVINCE_CODES)),
        st.text(DIGITS, min_size=4, max_size=4),
    ),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


def _make_uscc(authority: str, category: str, region: str, subject: str) -> str:
    body = authority + category + region + subject
    return body + uscc_check_char(body)


valid_usccs = st.builds(
    _make_uscc,
    st.sampled_from(sorted(USCC_AUTHORITIES)),
    st.sampled_from(USCC_CHARSET),
    st.text(DIGITS, min_size=6, max_size=6),
    st.text(USCC_CHARSET, min_size=9, max_size=9),
)

valid_mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(DIGITS, min_size=9, max_size=9),
)


# ------------------------------------------------------------------ ID numbers -----


def test_standard_example_passes_and_x_is_normalised() -> None:
    info = check_id_number("11010519491231002X", now_ms=NOW_MS)
    assert info == IdInfo(
        number="11010519491231002X",
        region6="110105",
        birth_year=1949,
        birth_month=12,
        birth_day=31,
    )
    assert check_id_number("11010519491231002x", now_ms=NOW_MS).number == "11010519491231002X"
    assert check_id_number(" 11010519491231002x\n", now_ms=NOW_MS).number == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # GB 11643-1999 example
        make_id("440305", dt.date(1990, 2, 28), 123),
        make_id("650102", dt.date(2000, 2, 29), 7),  # leap day of a leap century
        make_id("810000", dt.date(1985, 6, 1), 1),  # HK resident residence permit
        make_id("820000", dt.date(1985, 6, 1), 2),  # Macao resident residence permit
        make_id("830000", dt.date(1985, 6, 1), 3),  # Taiwan resident residence permit
        make_id("110101", dt.date(1900, 1, 1), 999),  # earliest accepted birth date
    ],
)
def test_known_good(number: str) -> None:
    assert check_id_number(number, now_ms=NOW_MS).number == number


def test_abolished_region_code_still_valid() -> None:
    # 110104 was 北京市宣武区, merged into 西城区 in 2010 (the code is no longer in
    # GB/T 2260), yet everyone born there before 2010 keeps an ID number starting 110104.
    number = make_id("110104", dt.date(1980, 1, 1), 1)
    assert number == "11010419800101001X"
    info = check_id_number(number, now_ms=NOW_MS)
    assert info.region6 == "110104"
    # Likewise 110103 (崇文区, merged into 东城区 in 2010).
    assert check_id_number(make_id("110103", dt.date(1975, 5, 5), 42), now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("", "length"),
        ("110105491231002", "length"),  # 15-digit first generation
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1" * 70, "length"),
        ("11010519491231002Y", "characters"),
        ("1101051949123100X2", "characters"),
        ("11010519491231002 ", "length"),  # trailing space is trimmed, then 17 long
        ("１１010519491231002X", "characters"),  # full-width digits
        ("11010519491231002-", "characters"),
        ("11010519491231002", "length"),
        ("11010519491231002X".replace("X", "0"), "checksum"),
        ("11010519491231003X", "checksum"),
    ],
)
def test_known_bad(number: str, rule: str) -> None:
    exc = refusal_of(check_id_number, number, now_ms=NOW_MS)
    assert exc.rule == rule
    assert exc.field == "personal.id_number"


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "24", "38", "47", "55", "70", "84", "99"]
)
def test_bad_province(province: str) -> None:
    number = make_id(province + "0101", dt.date(1980, 1, 1), 1)
    assert refusal_of(check_id_number, number, now_ms=NOW_MS).rule == "province"


@pytest.mark.parametrize(
    ("date8", "rule"),
    [
        ("19000229", "birth_date"),  # 1900 is not a leap year
        ("19991301", "birth_date"),
        ("19990001", "birth_date"),
        ("19990431", "birth_date"),
        ("19990100", "birth_date"),
        ("18991231", "birth_range"),
        ("20251122", "birth_range"),  # tomorrow (local)
        ("21000101", "birth_range"),
    ],
)
def test_bad_birth_dates(date8: str, rule: str) -> None:
    body = "110105" + date8 + "001"
    number = body + id_check_char(body)
    assert refusal_of(check_id_number, number, now_ms=NOW_MS).rule == rule


def test_future_is_judged_on_the_local_day() -> None:
    born_today = make_id("110105", TODAY, 1)
    # At local midnight the local day has started: born today is fine ...
    assert check_id_number(born_today, now_ms=NOW_MS).birth_day == 21
    # ... one millisecond earlier it was still yesterday in Shanghai (though already the
    # 20th 16:00 UTC), so the same birth date is in the future.
    assert refusal_of(check_id_number, born_today, now_ms=NOW_MS - 1).rule == "birth_range"


def test_refusal_never_echoes_the_number() -> None:
    number = "11010519491231003X"
    exc = refusal_of(check_id_number, number, now_ms=NOW_MS, field="contact.id")
    assert exc.field == "contact.id"
    assert number not in str(exc) and number not in exc.message


def test_idinfo_does_not_expose_gender() -> None:
    assert set(IdInfo.__struct_fields__) == {
        "number",
        "region6",
        "birth_year",
        "birth_month",
        "birth_day",
    }


@given(valid_ids)
def test_generated_ids_pass(number: str) -> None:
    info = check_id_number(number, now_ms=NOW_MS)
    assert info.number == number
    assert info.region6 == number[:6]
    assert dt.date(info.birth_year, info.birth_month, info.birth_day) == dt.date(
        int(number[6:10]), int(number[10:12]), int(number[12:14])
    )
    assert check_id_number(number.lower(), now_ms=NOW_MS) == info


@given(valid_ids, st.integers(0, 17), st.data())
def test_any_single_substitution_is_refused(number: str, pos: int, data: st.DataObject) -> None:
    alphabet = DIGITS + ("X" if pos == 17 else "")
    new = data.draw(st.sampled_from([c for c in alphabet if c != number[pos]]))
    mutated = number[:pos] + new + number[pos + 1 :]
    exc = refusal_of(check_id_number, mutated, now_ms=NOW_MS)
    if pos >= 14:  # sequence and check positions carry no other rule
        assert exc.rule == "checksum"
    else:
        assert exc.rule in {"checksum", "province", "birth_date", "birth_range"}


# ------------------------------------------------------------------ USCC -----------

KNOWN_GOOD_USCC = [
    "91350100M000100Y43",  # authority 9 (工商), region 350100 (福州市)
    "91110000600037341L",
    "91310115MA1K3BTP2B",  # letters in the subject code
    "9144030071526726XG",
    "121200004013590816",  # authority 1 (机构编制), check character '6'
    "92340602MA2PBMEM24",  # category 2: 个体工商户
    "11100000000013127D",  # region 100000: central-level registration
    "53100000500021676K",  # authority 5 (民政), central level
]


@pytest.mark.parametrize("code", KNOWN_GOOD_USCC)
def test_uscc_known_good(code: str) -> None:
    assert check_uscc(code) == code
    assert check_uscc(f"  {code.lower()} ") == code


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y431", "length"),
        ("91350100M000100I43", "characters"),  # I is not in the charset
        ("91350100M000100O43", "characters"),
        ("9135010OM000100Y43", "characters"),
        ("91350100M000100Y4-", "characters"),
        ("91350100M000100Y44", "checksum"),
        ("91110000600037341N", "checksum"),
    ],
)
def test_uscc_known_bad(code: str, rule: str) -> None:
    exc = refusal_of(check_uscc, code, field="employer.uscc")
    assert (exc.field, exc.rule) == ("employer.uscc", rule)


@pytest.mark.parametrize("authority", ["0", "B", "C", "G", "M", "X"])
def test_uscc_unknown_authority(authority: str) -> None:
    body = authority + "1350100M000100Y4"
    assert refusal_of(check_uscc, body + uscc_check_char(body)).rule == "authority"


def test_uscc_region_must_be_digits() -> None:
    body = "9135A100M000100Y4"
    assert refusal_of(check_uscc, body + uscc_check_char(body)).rule == "region"


def test_uscc_accepted_authorities_documented() -> None:
    assert set(USCC_AUTHORITIES) == set("123456789ANY")


@given(valid_usccs)
def test_generated_usccs_pass(code: str) -> None:
    assert check_uscc(code) == code


@pytest.mark.parametrize("code", KNOWN_GOOD_USCC)
def test_uscc_every_single_substitution_is_refused(code: str) -> None:
    for pos in range(18):
        for ch in USCC_CHARSET:
            if ch == code[pos]:
                continue
            mutated = code[:pos] + ch + code[pos + 1 :]
            exc = refusal_of(check_uscc, mutated)
            assert exc.rule in {"checksum", "authority", "region"}, (pos, ch)


@given(valid_usccs, st.integers(2, 17), st.data())
def test_generated_uscc_substitution_fails_checksum(
    code: str, pos: int, data: st.DataObject
) -> None:
    alphabet = DIGITS if 2 <= pos < 8 else USCC_CHARSET
    new = data.draw(st.sampled_from([c for c in alphabet if c != code[pos]]))
    exc = refusal_of(check_uscc, code[:pos] + new + code[pos + 1 :])
    assert exc.rule == "checksum"


# ------------------------------------------------------------------ mobile ---------


@pytest.mark.parametrize(
    "raw",
    [
        "13812341234",
        "+8613812341234",
        "+86 138 1234 1234",
        "86-138-1234-1234",
        "008613812341234",
        " 138-1234-1234 ",
    ],
)
def test_mobile_tolerated_forms(raw: str) -> None:
    assert check_mobile(raw) == "13812341234"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "characters"),
        ("12812341234", "prefix"),
        ("10012341234", "prefix"),
        ("23812341234", "prefix"),
        ("1381234123", "length"),
        ("138123412345", "length"),
        ("+1 415 555 0100", "characters"),  # foreign country code
        ("138l2341234", "characters"),
        ("138.1234.1234", "characters"),
        ("1" * 100, "length"),
    ],
)
def test_mobile_bad(raw: str, rule: str) -> None:
    exc = refusal_of(check_mobile, raw)
    assert (exc.field, exc.rule) == ("personal.mobile", rule)


@given(valid_mobiles)
def test_generated_mobiles_pass(mobile: str) -> None:
    assert check_mobile(mobile) == mobile
    assert check_mobile(f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}") == mobile


# ------------------------------------------------------------------ masking --------


def test_masks() -> None:
    assert mask_mobile("13812341234") == "138****1234"
    assert mask_mobile("+86 138-1234-1234") == "138****1234"
    assert mask_mobile("") == ""
    assert mask_mobile("12345") == "*****"
    assert mask_id_number("11010519491231002x") == "110**************X"
    assert len(mask_id_number("11010519491231002X")) == 18
    assert mask_id_number("garbage") == "*" * 18
    assert mask_id_number("") == ""
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("买买提·艾力") == "买*****"
    assert mask_name("张") == "*"
    assert mask_name("") == ""


# ------------------------------------------------------------------ leak scanning --


def test_finds_unmasked_pii_in_text() -> None:
    text = (
        "联系电话13812341234，备用 +86 139-8765-4321; id=11010519491231002X, "
        '"mobile": "15900001111"'
    )
    assert find_unmasked_pii(text) == [
        "13812341234",
        "+86 139-8765-4321",
        "11010519491231002X",
        "15900001111",
    ]


def test_masked_and_lookalike_forms_are_not_flagged() -> None:
    text = " ".join(
        [
            "138****1234",
            "110***********002X",
            "张*",
            "ts_ms=1763654400000",  # 13-digit epoch ms
            "seq 1381234123412",
            "blake2=a13812341234b9f0",  # digits inside a hex digest
            "uscc 91350100M000100Y43",
            "2025-11-21 08:00",
            "price 13800 fen",
            "id 99010519491231002X",  # not a province code
        ]
    )
    assert find_unmasked_pii(text) == []


@given(valid_mobiles, valid_ids, st.sampled_from(["", " ", "：", "号码", "\n", '"']))
def test_every_unmasked_value_is_found_and_every_masked_one_is_not(
    mobile: str, number: str, sep: str
) -> None:
    text = f"工人{sep}{mobile}{sep}身份证{sep}{number}{sep}完"
    assert find_unmasked_pii(text) == [mobile, number]
    masked = f"工人{sep}{mask_mobile(mobile)}{sep}身份证{sep}{mask_id_number(number)}{sep}完"
    assert find_unmasked_pii(masked) == []
    assert all(p.search(masked) is None for p in PII_PATTERNS)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    text=st.lists(
        st.sampled_from([*"0123456789 -+Xx*aZ电话：/", "13812341234", "86", "110105199003071234"]),
        max_size=40,
    ).map("".join)
)
def test_the_quick_reject_never_hides_a_number(text: str) -> None:
    """`find_unmasked_pii` answers text without an 11-digit run at once: it finds what
    the two patterns find on their own, in the same order."""
    hits = sorted((m.start(), m.group(0)) for p in PII_PATTERNS for m in p.finditer(text))
    assert find_unmasked_pii(text) == [found for _, found in hits]
