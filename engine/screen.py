"""The screen of postings for discriminatory requirements (就业歧视).

Owns: `screen_texts(texts)` -> the findings (rule, phrase) in a posting's title,
description or any other text, `RULES` (rule code -> plain Chinese name and the law it
breaks), `finding_code` / `parse_finding` (the machine form kept in the event:
`discrimination:<rule>:<phrase>`), and `finding_text` (what staff read).

Rules (就业促进法 art. 3, 27, 28, 31; 妇女权益保障法 art. 43; Shandong 四(五) 坚决纠正就业歧视):
- sex: a sex required, preferred or excluded (限男性, 只要女, 男性优先, 不招女工, 性别：男);
- age: an upper age limit below `AGE_CAP_ALLOWED` (45岁以下, 年龄18-40, 限35周岁,
  超过45岁勿扰, 90后优先) or a lower limit above `AGE_FLOOR_ALLOWED` (30岁以上); the
  legal minimum (年满16周岁, 18岁以上) is fine, and ages of the people cared for
  (照顾3岁以下婴儿, 80岁以上老人; not after 年龄) are not requirements on the worker;
- ethnicity: 限汉族, 汉族优先, 不要少数民族 / 不招<民族>族 (少数民族优先 is lawful, art. 28);
- hukou: 本地户口, 限城镇户口, 非农户口 ... (户口不限 is fine);
- origin: 不要河南人, 外地人勿扰, 限本地人, 本地人优先;
- appearance: 形象好, 五官端正, 身高160以上, 体重 .. 斤以下, 颜值;
- marital: 已婚已育, 未婚, 限单身, 孕妇勿扰, 一年内无生育计划.
A phrase followed (before any punctuation) by 不限 / 均可 / 皆可 / 无要求, or preceded
by 不 / 无 (不限男性), does not count.

Invariants: pure and deterministic (regular expressions compiled at import, no state);
the text is normalised first (NFKC: full-width digits and punctuation become ASCII;
whitespace read as a clause break; Chinese numerals before 岁 become digits). Findings come in text order
per rule, in `RULES` order, de-duplicated.

Limits: at most `MAX_TEXTS` texts of which the first `MAX_SCREEN_CHARS` characters each
are screened (commands bound their fields well below); at most `MAX_FINDINGS` findings;
a phrase is cut to `MAX_PHRASE` characters. The patterns have no nested repetition, so
the work is linear in the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TEXTS = 8
MAX_SCREEN_CHARS = 4000
MAX_FINDINGS = 8
MAX_PHRASE = 20
AGE_CAP_ALLOWED = 60  # an upper limit at or above the statutory retirement age is not held
AGE_FLOOR_ALLOWED = 18  # a lower limit up to the age of majority is lawful (未成年工)
PREFIX = "discrimination"

# rule -> (plain name, the law it breaks)
RULES: dict[str, tuple[str, str]] = {
    "sex": ("性别限制", "就业促进法第三条、第二十七条，妇女权益保障法第四十三条"),
    "age": ("年龄限制", "就业促进法第三条，鲁人社字〔2022〕3号第四部分（五）"),
    "ethnicity": ("民族限制", "就业促进法第三条、第二十八条"),
    "hukou": ("户籍限制", "就业促进法第三十一条"),
    "origin": ("地域限制", "就业促进法第三条，鲁人社字〔2022〕3号第四部分（五）"),
    "appearance": ("外貌限制", "就业促进法第三条，鲁人社字〔2022〕3号第四部分（五）"),
    "marital": ("婚育限制", "就业促进法第二十七条，妇女权益保障法第四十三条"),
}

_PROVINCES = (
    "北京|天津|河北|山西|内蒙古?|辽宁|吉林|黑龙江|东北|上海|江苏|浙江|安徽|福建|江西|山东|"
    "河南|湖北|湖南|广东|广西|海南|重庆|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆|西北|"
    "台湾|香港|澳门"
)
_MINORITIES = (
    "少数民族|维族|蒙古族|回族|藏族|维吾尔族|苗族|彝族|壮族|布依族|朝鲜族|满族|侗族|瑶族|白族|"
    "土家族|哈尼族|哈萨克族|傣族|黎族|傈僳族|佤族|畲族|高山族|拉祜族|水族|东乡族|纳西族|景颇族|"
    "柯尔克孜族|土族|达斡尔族|仫佬族|羌族|布朗族|撒拉族|毛南族|仡佬族|锡伯族|阿昌族|普米族|"
    "塔吉克族|怒族|乌孜别克族|俄罗斯族|鄂温克族|德昂族|保安族|裕固族|京族|塔塔尔族|独龙族|"
    "鄂伦春族|赫哲族|门巴族|珞巴族|基诺族"
)
_REFUSE = "不要|不招|不收|不用|不需要|谢绝|拒绝|拒收|拒招"
_AWAY = "勿扰|免谈|莫扰|不要|不收|不招|谢绝|止步|绕道|除外|免进"
_ONLY = "仅限|只限|只要|只招|只收|仅招|仅要|仅收|要求|需要|必须是|必须|须是|须为|限"
_SEX_TAIL = "(?:性|士|生|工|的|人|同志)"

_P: dict[str, tuple[re.Pattern[str], ...]] = {
    "sex": (
        re.compile(rf"(?:{_ONLY})[男女]{_SEX_TAIL}?+(?![男女])"),
        re.compile(rf"(?:招聘|招收|招)[男女]{_SEX_TAIL}(?![男女])"),
        re.compile(rf"(?<![男女])[男女]{_SEX_TAIL}?+优先"),
        re.compile(rf"(?:{_REFUSE})[男女]{_SEX_TAIL}?+(?![男女])"),
        re.compile(rf"(?<![男女])[男女](?:性|士|生|的|同志)?+(?:{_AWAY})"),
        re.compile(r"性别(?:要求)?[:：]?(?:限|为|是)?[男女](?:性|士)?+(?![男女])"),
        # a bare 男 / 女 as a clause of its own: "保安，男，50岁以下", "保洁（女）"
        re.compile(
            r"(?:(?<=^)|(?<=[,，;；:：(（\[【]))(?<![男女][,，;；:：(（\[【])[男女](?:性|士|工)?"
            r"(?=$|[,，;；。.)）\]】])(?![,，;；。.)）\]】][男女])"
        ),
    ),
    "ethnicity": (
        re.compile(rf"(?:{_ONLY})(?:汉族|汉人)"),
        re.compile(r"(?:汉族|汉人)优先"),
        re.compile(r"民族[:：]?(?:要求|限|为)?[:：]?汉族?"),
        re.compile(rf"(?:{_REFUSE})(?:{_MINORITIES})"),
        re.compile(rf"(?:{_MINORITIES})(?:人员|同胞|的)?(?:{_AWAY})"),
    ),
    "hukou": (
        re.compile(
            rf"(?:本地|本市|本省|本县|本区|城镇|城市|非农业?|农业|农村|外地|外来|外省|常住|{_PROVINCES})"
            r"(?:户口|户籍)"
        ),
    ),
    "origin": (
        re.compile(rf"(?:{_REFUSE})(?:{_PROVINCES}|外地|外省)籍?(?:人员|人|老乡|籍)"),
        re.compile(rf"(?:{_PROVINCES}|外地|外省)籍?(?:人员|人|老乡)(?:{_AWAY})"),
        re.compile(rf"(?:{_ONLY})(?:本地|本市|本县|本省|{_PROVINCES})籍?(?:人员|人|籍)"),
        re.compile(r"(?:本地|本市|本县|本省)(?:人|籍)优先"),
    ),
    "appearance": (
        re.compile(r"形象(?:好|佳|气质|端正|良好|出众)|气质(?:好|佳)|五官端正|相貌(?:端正|好|佳)"),
        re.compile(r"长相(?:好|佳|甜美|漂亮|端正|帅气|清秀)|颜值|容貌|外貌|肤色"),
        re.compile(r"身材(?:好|佳|苗条|匀称|高挑)|身高要求|(?:不要|谢绝)(?:胖子|太胖|胖的)"),
        re.compile(r"身高[:：]?(?:\d{3}|1\.\d{1,2})(?:cm|厘米|公分|米|m)?(?:及?以上)?"),
        re.compile(r"\d{3}(?:cm|厘米|公分)(?:及?以上)"),
        re.compile(r"体重[:：]?\d{2,3}(?:斤|公斤|kg)(?:及?以下|以内)"),
    ),
    "marital": (
        re.compile(r"已婚已育|已婚未育|未婚未育|已婚|未婚|已育|未育|离异|婚育(?!假)|婚否"),
        re.compile(r"(?:限|只要|要求|须)单身|单身优先"),
        re.compile(rf"(?:孕妇|孕期|怀孕|哺乳期)(?:者|的|人员)?(?:{_AWAY})"),
        re.compile(rf"(?:{_REFUSE})(?:孕妇|怀孕|孕期|哺乳期)"),
        re.compile(r"(?:近期|\d年内)(?:无|不|没有)(?:生育|怀孕|要孩子|生孩子)"),
        re.compile(r"(?:无|没有)(?:生育|怀孕|婚育)计划"),
    ),
}

# every pattern of a rule needs one of these characters: a text without any skips the rule
_TRIGGERS: dict[str, frozenset[str]] = {
    "sex": frozenset("男女"),
    "age": frozenset("岁龄后轻青老"),
    "ethnicity": frozenset("族汉"),
    "hukou": frozenset("户"),
    "origin": frozenset("人籍乡"),
    "appearance": frozenset("形气五相长颜容外肤身体胖c厘公"),
    "marital": frozenset("婚育离单孕哺"),
}

_AGE = r"(?:周岁|岁)"
_N = r"(\d{1,3})"
_RANGE = re.compile(
    rf"(年龄[^\d,.;!?，。；！？]{{0,6}})?{_N}{_AGE}?(?:-|—|–|~|～|至|到){_N}({_AGE})?"
)
# exclusions of the older ("超过45岁勿扰") first, then lower limits (a lawful one, 18岁以上,
# takes its span so that "限18周岁以上" is not read as "限18周岁"), then upper limits
_AWAY_OLDER = (
    re.compile(rf"(?:超过|大于|高于|超){_N}{_AGE}?(?:的)?(?:{_AWAY})"),
    re.compile(rf"{_N}{_AGE}(?:及以上|以上)(?:的)?(?:{_AWAY})"),
)
_LOWER = re.compile(rf"(?:年满|满)?{_N}{_AGE}(?:及以上|以上)")
_UPPER = (
    re.compile(rf"{_N}{_AGE}(?:及以下|以下|以内|之内|内)"),
    re.compile(rf"(?:不超过|不大于|低于|小于|不得超过|不超|限){_N}{_AGE}"),
    re.compile(rf"年龄[^\d,.;!?，。；！？]{{0,6}}{_N}{_AGE}?(?:及以下|以下|以内)"),
)
_COHORT = re.compile(r"(?:(?<!不)限|只要|只招|仅限)\d[05]后|\d[05]后优先")
_YOUNG = re.compile(
    r"(?:(?<!不)限|只要|只招|仅限)(?:年轻人?|青年)|年轻人?优先|(?:大龄|中老年|老年人)(?:勿扰|免谈|不要|谢绝)"
)
# ages of the people a worker looks after are not requirements on the worker
_CARED_AFTER = re.compile(r"(?:的)?(?:老人|老年|孩子|儿童|婴|宝宝|幼儿|小孩|学生|患者|病人)")
_CARED_BEFORE = re.compile(
    r"(?:照顾|看护|陪护|护理|陪伴|照看|接送|辅导|带孩子|带小孩)[^,.;:!?，。；！？]{0,3}$"
)
_NEGATED_AFTER = re.compile(
    r"[^,.;:!?，。；！？、]{0,3}?(?:不限|均可|皆可|无要求|无限制|都可|都行)"
)
_NEGATED_BEFORE = re.compile(r"(?:不|无)$")
_CN_NUM = re.compile(r"([零一二两三四五六七八九十]{1,4})(?=周?岁)")
_CN_DIGIT = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SPACE = re.compile(r"\s+")


def _cn_number(s: str) -> str:
    """'四十五' -> '45', '十八' -> '18', '六十' -> '60'; anything else unchanged."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        if "十" in ones or len(tens) > 1 or len(ones) > 1:
            return s
        t = _CN_DIGIT.get(tens, -1) if tens else 1
        o = _CN_DIGIT.get(ones, -1) if ones else 0
        return s if t < 0 or o < 0 else str(10 * t + o)
    if len(s) > 2:
        return s
    return "".join(str(_CN_DIGIT[ch]) for ch in s)


def normalise(text: str) -> str:
    """The form the patterns read: NFKC, lower case, whitespace as a comma, 岁 ages in digits."""
    t = text[:MAX_SCREEN_CHARS]
    if not unicodedata.is_normalized("NFKC", t):
        t = unicodedata.normalize("NFKC", t)
    t = _SPACE.sub("，", t.lower())  # a space separates clauses ("日结 限男性 45岁以下")
    return _CN_NUM.sub(lambda m: _cn_number(m.group(1)), t) if "岁" in t else t


def _negated(text: str, start: int, end: int) -> bool:
    return bool(
        _NEGATED_AFTER.match(text, end) or _NEGATED_BEFORE.search(text, max(0, start - 1), start)
    )


def _cared_for(text: str, start: int, end: int) -> bool:
    if text.startswith("年龄", start):  # 年龄 always speaks of the worker
        return False
    return bool(
        _CARED_AFTER.match(text, end) or _CARED_BEFORE.search(text, max(0, start - 8), start)
    )


def _ages(text: str) -> list[tuple[int, str]]:
    """(position, phrase) of age limits on the worker in a normalised text.

    Every age phrase read takes its characters, lawful or not, so that a shorter pattern
    never re-reads part of it ("限18周岁以上" is a lawful floor, not "限18周岁").
    """
    out: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []

    def read(m: re.Match[str], unlawful: bool) -> None:
        start, end = m.span()
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        if unlawful and not _negated(text, start, end) and not _cared_for(text, start, end):
            out.append((start, m.group(0)))

    for m in _RANGE.finditer(text):
        if m.group(1) or m.group(4):  # "8-12" without 年龄 or 岁 is not an age
            lo, hi = int(m.group(2)), int(m.group(3))
            read(m, 14 <= lo <= hi <= 99 and (hi < AGE_CAP_ALLOWED or lo > AGE_FLOOR_ALLOWED))
    for pattern in _AWAY_OLDER:
        for m in pattern.finditer(text):
            read(m, 16 <= int(m.group(1)) < AGE_CAP_ALLOWED)
    for m in _LOWER.finditer(text):
        read(m, AGE_FLOOR_ALLOWED < int(m.group(1)) <= 70)
    for pattern in _UPPER:
        for m in pattern.finditer(text):
            read(m, 16 <= int(m.group(1)) < AGE_CAP_ALLOWED)
    for pattern in (_COHORT, _YOUNG):
        for m in pattern.finditer(text):
            read(m, True)
    out.sort()
    return out


def _matches(rule: str, text: str) -> list[tuple[int, str]]:
    if _TRIGGERS[rule].isdisjoint(text):
        return []
    if rule == "age":
        return _ages(text)
    spans: list[tuple[int, int]] = []
    for pattern in _P[rule]:
        for m in pattern.finditer(text):
            if not _negated(text, m.start(), m.end()):
                spans.append(m.span())
    # a phrase inside a longer one of the same rule is the same finding ("性别:男" / "男")
    return [
        (s, text[s:e])
        for s, e in spans
        if not any(o != (s, e) and o[0] <= s and e <= o[1] for o in spans)
    ]


def screen_texts(texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The discriminatory requirements in `texts`: ((rule, phrase), ...), possibly empty."""
    normal = [normalise(t) for i, t in enumerate(texts) if i < MAX_TEXTS and t]
    found: list[tuple[str, str]] = []
    for rule in RULES:
        hits: list[tuple[int, int, str]] = []
        for n, text in enumerate(normal):
            hits.extend((n, pos, phrase) for pos, phrase in _matches(rule, text))
        for _, _, phrase in sorted(hits):
            item = (rule, phrase[:MAX_PHRASE])
            if item not in found:
                found.append(item)
            if len(found) >= MAX_FINDINGS:
                return tuple(found)
    return tuple(found)


def finding_code(rule: str, phrase: str) -> str:
    """The machine form of a finding, as kept in `JobHeldForReview.reasons`."""
    return f"{PREFIX}:{rule}:{phrase}"


def parse_finding(code: str) -> tuple[str, str] | None:
    """(rule, phrase) of a finding code; None for any other reason code."""
    head, _, rest = code.partition(":")
    rule, sep, phrase = rest.partition(":")
    if head != PREFIX or not sep or rule not in RULES:
        return None
    return rule, phrase


def finding_text(rule: str, phrase: str) -> str:
    """What staff read: '性别限制：“限男性”（就业促进法……）'."""
    name, law = RULES.get(rule, (rule, ""))
    return f"{name}：“{phrase}”（{law}）" if law else f"{name}：“{phrase}”"
