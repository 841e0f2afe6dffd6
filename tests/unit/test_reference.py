"""engine.reference: the shipped 大典 occupation list and the GB/T 2260 region list."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commands import Refusal
from engine.reference import _dadian2022, _gbt2260
from engine.reference import occupations as occ
from engine.reference import regions as reg
from sim.morning import SKILLS

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ occupations ----


def test_every_legacy_code_maps_to_a_known_dadian_code() -> None:
    assert {code for code, _label, _pay in SKILLS} <= set(occ.LEGACY_CODES)
    for legacy, code in occ.LEGACY_CODES.items():
        assert occ.is_known(code), legacy
        assert occ.lookup(code).level >= 3, legacy  # a 小类 or a 职业, never a broad group


def test_search_moving_finds_the_moving_code() -> None:
    assert occ.search("搬家")[0] == occ.LEGACY_CODES["moving"]
    assert occ.search("找个搬家师傅")[0] == occ.LEGACY_CODES["moving"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("搬运", "4-02-05-01"),
        ("装卸", "4-02-05-01"),
        ("小工", "6-29-99-00"),
        ("建筑小工", "6-29-99-00"),
        ("保洁", "4-09-08-01"),
        ("钟点工", "4-10-01-06"),
        ("家政", "4-10-01-06"),
        ("育婴员", "4-10-01-02"),
        ("养老护理员", "4-10-01-05"),
        ("砌筑工", "6-29-01-01"),
        ("钢筋工", "6-29-01-04"),
        ("油漆工", "6-29-04-01"),
        ("木工", "6-06-03-01"),
        ("水电工", "6-31-01-03"),
        ("厨房帮工", "4-03-02-01"),
        ("餐厅服务员", "4-03-02-05"),
        ("采摘", "5-01-02-02"),
        ("快递员", "4-02-07-08"),
        ("快递分拣", "4-02-07-09"),
        ("配送", "4-10-08-01"),
        ("送餐", "4-10-08-01"),
        ("保安", "4-07-05-01"),
        ("绿化", "4-09-10-01"),
        ("普工", "6-31-99-00"),
        ("洗车", "4-12-01-01"),
        ("仓储管理员", "4-02-06-01"),
        ("家电维修", "4-12-03-01"),
        ("管道工", "6-29-02-15"),
        ("焊工", "6-18-02-04"),
        ("moving", "4-02-05-01"),
        ("4-07-05-01", "4-07-05-01"),
    ],
)
def test_market_words_find_their_trade_first(text: str, code: str) -> None:
    assert occ.search(text)[0] == code


def test_market_trades_are_known_distinct_and_cover_the_brief() -> None:
    codes = [c for c, _f, _a in occ.MARKET_TRADES]
    assert len(codes) == len(set(codes))
    assert all(occ.is_known(c) for c in codes)
    names = {t.name for t in occ.market_trades()}
    wanted = "装卸搬运工 保洁员 家政服务员 育婴员 养老护理员 砌筑工 混凝土工 钢筋工 架子工 "
    wanted += "装饰装修工 电工 中式烹调师 餐厅服务员 园艺工 快递员 快件处理员 网约配送员 保安员 "
    wanted += "园林绿化工 仓储管理员 家用电器产品维修工 管道工 焊工 汽车维修工 包装工"
    assert set(wanted.split()) <= names
    for alias_list in (a for _c, _f, a in occ.MARKET_TRADES):
        assert all(a and " " not in a and not a.isascii() for a in alias_list)


def test_lookup_carries_the_group_and_the_basis() -> None:
    mover = occ.lookup("4-02-05-01")
    assert mover.name == "装卸搬运工"
    assert mover.level == 4
    assert (mover.group_code, mover.group_name) == ("4-02-05-00", "装卸搬运和运输代理服务人员")
    assert (mover.major_code, mover.major_name) == ("4-00-00-00", "社会生产服务和生活服务人员")
    assert mover.family == "搬运装卸" and "搬家" in mover.aliases
    assert mover.basis == "source"
    assert occ.lookup("4-10-01-02").basis == "best-effort"
    assert occ.lookup("4-09-08-01").marks == "L"  # 保洁员 is a 绿色职业 in the 2022 edition
    assert occ.lookup("6-00-00-00").group_code == ""
    assert occ.name("6-29-01-01") == "砌筑工"
    assert occ.name("5-00-00-00") == "农、林、牧、渔业生产及辅助人员"


def test_label_turns_legacy_and_dadian_codes_into_chinese_and_leaves_others() -> None:
    assert occ.label("moving") == "装卸搬运工"
    assert occ.label("4-07-05-01") == "保安员"
    assert occ.label("not-a-skill") == "not-a-skill"
    assert occ.from_legacy("factory") == "6-31-99-00"
    assert occ.from_legacy("nothing") is None


def test_counts_per_level_are_plausible_for_the_2022_edition() -> None:
    counts = occ.counts_by_level()
    assert counts[1] == 8
    assert 70 <= counts[2] <= 79
    assert 1600 <= counts[4] <= 1636
    assert sum(counts.values()) == _dadian2022.ROW_COUNT
    assert occ.CODE_LIST_VERSION == "大典2022-lingong-1"


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("4-2-5-1", "occupation_code_format"),
        ("moving", "occupation_code_format"),
        (402050, "occupation_code_format"),
        ("9-00-00-00", "occupation_code_format"),
        ("4-02-05-77", "occupation_code_unknown"),
    ],
)
def test_bad_codes_are_refused_with_field_and_rule(code: object, rule: str) -> None:
    with pytest.raises(Refusal) as err:
        occ.name(code, field="skills[0]")  # type: ignore[arg-type]
    assert (err.value.field, err.value.rule) == ("skills[0]", rule)
    assert not occ.is_known(code)


def test_search_refuses_long_text_without_echoing_it() -> None:
    secret = "王小明身份证号码" * 5
    with pytest.raises(Refusal) as err:
        occ.search(secret)
    assert err.value.rule == "search_text_length"
    assert "王小明" not in str(err.value)
    with pytest.raises(Refusal):
        occ.search("搬家", limit=occ.MAX_RESULTS + 1)
    assert occ.search("   ") == []


def _brute_search(text: str, limit: int) -> list[str]:
    """Plain-Python twin of occ.search: score every term of every code."""
    query = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    best: dict[str, int] = {}
    for code, (_level, own, _m) in occ._ROWS.items():
        family, aliases = occ._TRADES.get(code, ("", ()))
        terms = [(own, 0)] + [(a, 0) for a in aliases] + ([(family, 5)] if family else [])
        for term, penalty in terms:
            if term == query:
                s = 100
            elif term.startswith(query):
                s = 80
            elif query in term:
                s = 60
            elif len(term) >= 2 and term in query:
                s = 40 + min(len(term), 10)
            else:
                continue
            best[code] = max(best.get(code, 0), s - penalty)
    key = {c: (0 if c in occ._TRADES else 1, -occ._ROWS[c][0]) for c in best}
    ranked = sorted(best, key=lambda c: (-best[c], *key[c], c))
    return ranked[:limit]


_CHARS = sorted({ch for _c, (_l, n, _m) in occ._ROWS.items() for ch in n} | set("搬家小工保洁"))
_WORDS = [a for _c, _f, al in occ.MARKET_TRADES for a in al] + ["装卸搬运工", "焊工", "电工"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(_CHARS), st.sampled_from(_WORDS)), min_size=1, max_size=6
    ).map("".join),
    st.integers(min_value=1, max_value=occ.MAX_RESULTS),
)
def test_indexed_search_equals_the_brute_force_twin(text: str, limit: int) -> None:
    text = text[: occ.MAX_QUERY_CHARS]
    got = occ.search(text, limit)
    if occ.from_legacy(text) is None:
        assert got == _brute_search(text, limit)
    assert len(got) == len(set(got)) <= limit
    assert all(occ.is_known(c) for c in got)


# ------------------------------------------------------------------ regions ----


@pytest.mark.parametrize(
    ("code", "full", "short", "level"),
    [
        ("420000", "湖北省", "湖北省", "province"),
        ("420600", "湖北省襄阳市", "襄阳市", "prefecture"),
        ("420606", "湖北省襄阳市樊城区", "樊城区", "county"),
        ("450000", "广西壮族自治区", "广西壮族自治区", "province"),
        ("350500", "福建省泉州市", "泉州市", "prefecture"),
        ("370000", "山东省", "山东省", "province"),
        ("141000", "山西省临汾市", "临汾市", "prefecture"),
        ("110101", "北京市东城区", "东城区", "county"),
        ("429004", "湖北省仙桃市", "仙桃市", "county"),
        ("441900", "广东省东莞市", "东莞市", "prefecture"),
        ("450181", "广西壮族自治区南宁市横州市", "横州市", "county"),  # new in 2021
    ],
)
def test_known_regions_have_the_right_names(code: str, full: str, short: str, level: str) -> None:
    assert reg.is_known(code) and reg.is_current(code)
    assert reg.name(code) == full
    assert reg.short_name(code) == short
    assert reg.level(code) == level


def test_parents_skip_what_is_not_a_division() -> None:
    assert reg.parent("420606") == "420600"
    assert reg.parent("420600") == "420000"
    assert reg.parent("420000") is None
    assert reg.parent("110101") == "110000"  # municipality: no 110100
    assert reg.parent("429004") == "420000"  # not the 429000 placeholder
    assert reg.is_municipality("500000") and not reg.is_municipality("420000")
    assert "420606" in reg.children("420600")
    assert "429004" in reg.children("420000") and "429000" not in reg.children("420000")
    assert "110101" in reg.children("110000")


def test_retired_codes_stay_known_with_old_names_and_a_current_successor() -> None:
    assert reg.is_known("110104") and not reg.is_current("110104")
    assert reg.name("110104") == "北京市宣武区"
    assert reg.successor("110104") == "110102"
    assert reg.name("371202") == "山东省莱芜市莱城区"
    assert reg.successor("371202") == "370116"
    assert reg.successor("330103") == "330105"  # 下城区 -> 拱墅区 (2021, from the data)
    assert reg.successor("420606") == "420606"
    for record in _gbt2260.RETIRED.split():
        code = record.split("|")[0]
        assert reg.is_current(reg.successor(code)), code
        assert all(code not in reg.children(p) for p in ("110000", code[:2] + "0000"))


def test_every_current_code_hangs_under_a_current_province() -> None:
    for record in _gbt2260.CURRENT.split():
        code = record[:6]
        province = code[:2] + "0000"
        assert reg.is_current(province), code
        assert reg.name(code).startswith(reg.short_name(province)), code
        up = reg.parent(code)
        assert up is None or reg.is_current(up), code


def test_counts_per_level_are_plausible() -> None:
    counts = reg.counts_by_level()
    assert counts["province"] == 34  # 31 mainland + Taiwan, Hong Kong, Macao
    assert 333 <= counts["prefecture"] <= 340  # 333 divisions + 直辖县级 placeholders
    assert 2800 <= counts["county"] <= 2900
    assert sum(counts.values()) == _gbt2260.CURRENT_COUNT
    assert reg.REGION_LIST_VERSION == "GB/T2260-2023-06-30-lingong-1"


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("4206", "region_code_format"),
        (420606, "region_code_format"),
        ("999999", "region_code_unknown"),
    ],
)
def test_bad_region_codes_are_refused(code: object, rule: str) -> None:
    with pytest.raises(Refusal) as err:
        reg.name(code, field="region")  # type: ignore[arg-type]
    assert (err.value.field, err.value.rule) == ("region", rule)
    assert reg.label(code) == code  # type: ignore[arg-type]


# ------------------------------------------------------------------ generated data ----


def test_generated_modules_match_the_generator_pins() -> None:
    gen = (ROOT / "tools" / "reference" / "gen_reference.py").read_text(encoding="utf-8")
    for digest in (_dadian2022.SOURCE_SHA256, *_gbt2260.SOURCE_SHA256):
        assert re.search(rf'_SHA256 = "{digest}"', gen), digest
    assert len(occ._ROWS) == _dadian2022.ROW_COUNT
    assert len(_gbt2260.CURRENT.split()) == _gbt2260.CURRENT_COUNT
    assert len(_gbt2260.RETIRED.split()) == _gbt2260.RETIRED_COUNT
    for module in ("_dadian2022.py", "_gbt2260.py", "occupations.py", "regions.py"):
        text = (ROOT / "engine" / "reference" / module).read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 700, module  # the codebase's hard module limit


def test_import_is_cheap_and_does_not_pull_in_the_command_schema() -> None:
    """Measures the import (printed with -s); asserts only what it pulls in."""
    code = "import engine.reference.occupations, engine.reference.regions"
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    times = {}
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            times[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    assert "engine.reference.occupations" in times and "engine.reference.regions" in times
    assert "engine.commands" not in times  # Refusal is imported only when refusing
    assert "msgspec" not in times
    for mod in ("engine.reference.occupations", "engine.reference.regions"):
        print(
            f"{mod}: self {times[mod][0] / 1000:.1f} ms, cumulative {times[mod][1] / 1000:.1f} ms"
        )
