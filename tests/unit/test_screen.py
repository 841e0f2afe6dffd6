"""The screen for discriminatory requirements (engine.screen) and the plain Chinese of
review reasons (engine.reasons): positives, negatives (lawful wording and look-alikes),
properties, limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reasons import reason_text
from engine.screen import (
    MAX_FINDINGS,
    MAX_PHRASE,
    RULES,
    finding_code,
    finding_text,
    parse_finding,
    screen_texts,
)

POSITIVE = [
    ("日结，限男性，45岁以下", {("sex", "限男性"), ("age", "45岁以下")}),
    ("只要女的", {("sex", "只要女的")}),
    ("男性优先", {("sex", "男性优先")}),
    ("女士优先", {("sex", "女士优先")}),
    ("招男工5名", {("sex", "招男工")}),
    ("不招女工", {("sex", "不招女工")}),
    ("性别：男", {("sex", "性别:男")}),
    ("招聘保安，男，50岁以下", {("sex", "男"), ("age", "50岁以下")}),
    ("保洁（女）", {("sex", "女")}),
    ("仅限男 性", {("sex", "仅限男")}),
    ("日结 限男性 45岁以下", {("sex", "限男性"), ("age", "45岁以下")}),
    ("年龄18-40", {("age", "年龄18-40")}),
    ("年龄：20~35岁", {("age", "年龄:20~35岁")}),
    ("18至45周岁", {("age", "18至45周岁")}),
    ("限35周岁", {("age", "限35周岁")}),
    ("四十五岁以下", {("age", "45岁以下")}),
    ("４５岁以下", {("age", "45岁以下")}),
    ("超过45岁勿扰", {("age", "超过45岁勿扰")}),
    ("30岁以上", {("age", "30岁以上")}),
    ("90后优先", {("age", "90后优先")}),
    ("限汉族", {("ethnicity", "限汉族")}),
    ("汉族优先", {("ethnicity", "汉族优先")}),
    ("不要少数民族", {("ethnicity", "不要少数民族")}),
    ("维吾尔族勿扰", {("ethnicity", "维吾尔族勿扰")}),
    ("本地户口", {("hukou", "本地户口")}),
    ("限城镇户口", {("hukou", "城镇户口")}),
    ("非农业户口", {("hukou", "非农业户口")}),
    ("不要河南人", {("origin", "不要河南人")}),
    ("东北人勿扰", {("origin", "东北人勿扰")}),
    ("外地人勿扰", {("origin", "外地人勿扰")}),
    ("限本地人", {("origin", "限本地人")}),
    ("本地人优先", {("origin", "本地人优先")}),
    ("形象好气质佳", {("appearance", "形象好"), ("appearance", "气质佳")}),
    ("五官端正", {("appearance", "五官端正")}),
    ("身高160以上", {("appearance", "身高160以上")}),
    ("身高165cm", {("appearance", "身高165cm")}),
    ("体重120斤以下", {("appearance", "体重120斤以下")}),
    ("已婚已育", {("marital", "已婚已育")}),
    ("未婚", {("marital", "未婚")}),
    ("限单身", {("marital", "限单身")}),
    ("孕妇勿扰", {("marital", "孕妇勿扰")}),
    ("一年内无生育计划", {("marital", "无生育计划")}),
]

NEGATIVE = [
    "男女不限",
    "不限男女",
    "性别不限",
    "男女均可",
    "男/女均可",
    "男、女不限",
    "男，女均可",
    "男女工各半，日结",
    "招男女工",
    "需要男女各2名",
    "不限男性女性均可",
    "年满16周岁",
    "年满18周岁",
    "18岁以上",
    "限18周岁以上",
    "未满16周岁不招",
    "年龄不限",
    "年龄18-60岁",
    "60岁以上勿扰",
    "45分钟到岗",
    "工作时间8-12点",
    "8-10人",
    "照顾3岁以下婴儿",
    "照顾80岁以上老人",
    "陪护2-3岁孩子",
    "少数民族优先",
    "户口不限",
    "本地户口不限",
    "本地外地均可",
    "日薪160以上",
    "企业形象墙安装",
    "外貌不限",
    "婚育不限",
    "享受婚育假",
    "婚庆布置",
    "提供单身宿舍",
    "孕婴店导购",
    "照顾孕妇",
    "搬家工 3人",
    "日结，300元/天",
    "河南路口装卸",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[t for t, _ in POSITIVE])
def test_discriminatory_requirements_are_found_with_rule_and_phrase(text, expected) -> None:
    assert set(screen_texts([text])) == expected


@pytest.mark.parametrize("text", NEGATIVE)
def test_lawful_wording_and_look_alikes_are_not_held(text: str) -> None:
    assert screen_texts([text]) == ()


def test_every_rule_has_a_positive_case() -> None:
    assert {rule for _, exp in POSITIVE for rule, _ in exp} == set(RULES)


def test_title_and_description_are_screened_together_in_rule_order() -> None:
    found = screen_texts(["搬运工", "日结，45岁以下，限男性", "", "本地户口优先"])
    assert found == (("sex", "限男性"), ("age", "45岁以下"), ("hukou", "本地户口"))


def test_findings_are_capped_and_phrases_cut() -> None:
    text = "，".join(f"{n}岁以下" for n in range(20, 50))
    found = screen_texts([text])
    assert len(found) == MAX_FINDINGS
    long = "年龄" + "要" * 5 + "18-40岁"
    assert all(len(p) <= MAX_PHRASE for _, p in screen_texts([long]))


NEUTRAL = st.sampled_from(
    [
        "搬家工",
        "日结",
        "300元/天",
        "男女不限",
        "年满16周岁",
        "包午餐",
        "8点到岗",
        "45分钟车程",
        "工作3小时",
        "需自带工具",
        "照顾80岁以上老人",
        "提供单身宿舍",
        "户口不限",
        "少数民族优先",
        "长期合作",
        "现场结算",
        "年龄18-60岁",
        "限18周岁以上",
    ]  # fmt: skip
)
SEPARATORS = st.sampled_from(["，", "。", "；", " ", "\n", "！"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NEUTRAL, SEPARATORS), max_size=12))
def test_neutral_postings_are_never_held(parts) -> None:
    assert screen_texts(["".join(a + b for a, b in parts)]) == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(NEUTRAL, SEPARATORS), max_size=6),
    st.sampled_from(POSITIVE),
    st.lists(st.tuples(NEUTRAL, SEPARATORS), max_size=6),
)
def test_a_requirement_is_found_whatever_surrounds_it(before, case, after) -> None:
    text, expected = case
    posting = "".join(a + b for a, b in before) + text + "。" + "".join(a + b for a, b in after)
    assert expected <= set(screen_texts([posting]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=10))
def test_any_text_is_screened_without_error_and_deterministically(texts) -> None:
    a = screen_texts(texts)
    assert a == screen_texts(list(texts))
    assert len(a) <= MAX_FINDINGS
    for rule, phrase in a:
        assert rule in RULES and 0 < len(phrase) <= MAX_PHRASE
        assert parse_finding(finding_code(rule, phrase)) == (rule, phrase)


def test_codes_read_as_plain_chinese() -> None:
    assert reason_text("pay_far_below_local:6000<30000x0.5") == (
        "日薪60.00元，低于本地参考日薪300.00元的一半"
    )
    assert reason_text("pay_far_above_local:100000>30000x3.0") == (
        "日薪1000.00元，高于本地参考日薪300.00元的3倍"
    )
    assert reason_text("pay_far_below_local:6000<30000x0.6") == (
        "日薪60.00元，低于本地参考日薪300.00元的60%"
    )
    assert reason_text("pay_below_floor:4000<5000") == "日薪40.00元，低于最低日薪50.00元，不予发布"
    assert reason_text("employer_flagged:wage_arrears") == "用人单位被标记为“拖欠工资”，需人工审核"
    assert reason_text("duplicate_of:J7") == "与该用人单位在招岗位 J7 重复"
    assert reason_text(finding_code("sex", "限男性")) == (
        "招聘条件涉嫌就业歧视：" + finding_text("sex", "限男性")
    )
    assert "性别限制：“限男性”" in reason_text("discrimination:sex:限男性")
    assert reason_text("review:job_over") == "审核通过时岗位已结束，未发布"
    assert reason_text("review:工资写错") == "审核未通过：工资写错"
    # never raises on a malformed code
    for odd in ("", "pay_far_below_local:x<y", "pay_below_floor:1", "discrimination:nope:x", "?"):
        assert reason_text(odd)


class _Always:
    """A trigger set that never lets a rule be skipped."""

    def isdisjoint(self, _text: str) -> bool:
        return False


ALPHABET = st.sampled_from(
    list("男女性限只要招不岁年龄后轻汉族户口本地人籍河南形象身高婚育孕单以上下-至，。 ")
    + list("0123456789")
    + ["45", "18", "160", "cm", "优先", "勿扰", "已婚", "少数民族", "外地", "五官端正"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40))
def test_skipping_rules_by_trigger_characters_changes_nothing(parts) -> None:
    import engine.screen as S

    text = "".join(parts)
    fast = S.screen_texts([text])
    saved = S._TRIGGERS
    S._TRIGGERS = {rule: _Always() for rule in saved}  # type: ignore[misc]
    try:
        assert S.screen_texts([text]) == fast
    finally:
        S._TRIGGERS = saved
