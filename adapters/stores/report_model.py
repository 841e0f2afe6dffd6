"""What a report is, independent of its output format; periods and scopes.

Owns: `Period` (a month or an inclusive range of Asia/Shanghai days, as YYYYMMDD
integers), `Scope` (period + region prefix + station + grouping level), and `Report`
(sections of typed columns and rows, optional chart hints, notes) that the renderers
(`render.py`, `render_html.py`) turn into CSV, XLSX, HTML or JSON.

Invariants:
- Money in rows is integer fen (column kind "fen"); renderers show yuan. Ratios are
  floats in [0, 1] (kind "ratio"), shown as percentages.
- Rows hold only masked personal data; nothing here unseals anything.
- A report records the log seq its store had reached (`position`).

Limits: periods from 1970 to 9999; region prefixes of 2, 4 or 6 digits (or empty).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from engine.reference import occupations, regions

# GB/T 2260 province-level codes -> short names (for region labels in reports).
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁",
    "22": "吉林", "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽",
    "35": "福建", "36": "江西", "37": "山东", "41": "河南", "42": "湖北", "43": "湖南",
    "44": "广东", "45": "广西", "46": "海南", "50": "重庆", "51": "四川", "52": "贵州",
    "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏",
    "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}  # fmt: skip
KIND_ZH = {"hub": "总站", "branch": "分站", "post": "驿站"}
MARKET_TYPE_ZH = {"general": "综合性", "industrial_park": "产业园区", "service_point": "服务站点"}
STATUS_ZH = {"applied": "申请中", "approved": "已认定", "suspended": "暂停", "revoked": "撤销",
             "reviewed": "审核合格", "returned": "审核不合格", "rectifying": "限期整改中"}  # fmt: skip
OPERATING = ("approved", "rectifying")  # a station under 限期整改 keeps serving
LEVELS = {"province": 2, "city": 4, "county": 6}
_REGION = re.compile(r"^(\d{2}|\d{4}|\d{6})?$")


def day_int(date: dt.date) -> int:
    return date.year * 10000 + date.month * 100 + date.day


def day_date(day: int) -> dt.date:
    return dt.date(day // 10000, day // 100 % 100, day % 100)


def day_str(day: int) -> str:
    return day_date(day).isoformat() if day else ""


@dataclass(frozen=True)
class Period:
    first_day: int  # YYYYMMDD, Asia/Shanghai, inclusive
    last_day: int  # inclusive
    label: str

    @property
    def days(self) -> int:
        return (day_date(self.last_day) - day_date(self.first_day)).days + 1

    @classmethod
    def month(cls, month: str) -> Period:
        m = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month must be YYYY-MM, got {month!r}")
        y, mo = int(m.group(1)), int(m.group(2))
        last = calendar.monthrange(y, mo)[1]
        return cls(y * 10000 + mo * 100 + 1, y * 10000 + mo * 100 + last, f"{y:04d}-{mo:02d}")

    @classmethod
    def range(cls, first: str, last: str) -> Period:
        try:
            a, b = dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
        except ValueError as exc:
            raise ValueError(f"dates must be YYYY-MM-DD: {exc}") from exc
        if b < a:
            raise ValueError(f"--to {last} is before --from {first}")
        return cls(day_int(a), day_int(b), f"{a.isoformat()} ~ {b.isoformat()}")

    @classmethod
    def year_of(cls, day: int) -> Period:
        y = day // 10000
        return cls(y * 10000 + 101, y * 10000 + 1231, f"{y:04d}")


@dataclass(frozen=True)
class Scope:
    period: Period
    region: str = ""  # GB/T 2260 prefix
    station: str = ""
    level: int = 4  # digits of the region code rows are grouped by

    def __post_init__(self) -> None:
        if not _REGION.match(self.region):
            raise ValueError(f"region prefix must be 2, 4 or 6 digits, got {self.region!r}")
        if self.level not in (2, 4, 6):
            raise ValueError("level must be 2, 4 or 6 digits")

    def describe(self) -> str:
        parts = [f"期间 {self.period.label}"]
        parts.append(f"地区 {region_label(self.region)}" if self.region else "地区 全部")
        if self.station:
            parts.append(f"站点 {self.station}")
        return "；".join(parts)


def region_label(code: str) -> str:
    name = region_name(code)
    return f"{code} {name}".strip() if name else code


def region_name(code: str) -> str:
    """GB/T 2260 name of a 2-, 4- or 6-digit code or prefix ("4206" -> "湖北省襄阳市");
    "" when the list has no such division (the code is then shown alone)."""
    if not code or not code.isdigit() or len(code) not in (2, 4, 6):
        return ""
    full = code.ljust(6, "0")
    if regions.is_known(full):
        return regions.name(full)
    if len(code) == 4 and code[2:] == "01" and regions.is_known(code[:2] + "0000"):
        return regions.name(code[:2] + "0000")  # a municipality's districts: no 110100
    if len(code) == 6:  # a county the list lacks (newer, or wrong): name what is known
        up = region_name(code[:4])
        return f"{up}（区县代码不在代码表中）" if up else ""
    return ""


def counties_of(prefix: str) -> tuple[str, ...]:
    """Current county-level divisions (区, 县, 县级市, 旗) whose code starts with `prefix`
    (2, 4 or 6 digits), from the shipped GB/T 2260 list."""
    if not prefix or not prefix.isdigit() or len(prefix) not in (2, 4, 6):
        return ()
    if len(prefix) == 6:
        return (prefix,) if regions.is_current(prefix) and regions.level(prefix) == "county" else ()
    top = prefix[:2] + "0000"
    if not regions.is_known(top):
        return ()
    out: list[str] = []
    stack = [top]
    while stack:  # province -> prefectures (and counties under the province) -> counties
        for child in regions.children(stack.pop()):
            if regions.level(child) == "county":
                out.append(child)
            else:
                stack.append(child)
    return tuple(sorted(c for c in out if c.startswith(prefix)))


def skill_code(skill: str) -> str:
    """The 大典 code of a skill as the log carries it (a 大典 code or a legacy English
    code); an unknown skill comes back unchanged."""
    return occupations.from_legacy(skill) or skill


def skill_name(skill: str) -> str:
    """The 大典 name of a skill (code or legacy code); "未归类工种" for one the list lacks,
    so no English code is ever shown to staff."""
    code = occupations.from_legacy(skill)
    return occupations.name(code) if code is not None else "未归类工种"


def code_list_note() -> str:
    """Which code lists a report's names come from (their versions and dates)."""
    return (
        f"工种名称按《{occupations.EDITION}》（代码表版本 {occupations.CODE_LIST_VERSION}）；"
        f"地区名称按 GB/T 2260 行政区划代码（代码表版本 {regions.REGION_LIST_VERSION}，"
        f"截至 {regions.REGION_LIST_AS_OF}）。"
    )


def empty_text(period: Period) -> str:
    return "本月无数据" if re.fullmatch(r"\d{4}-\d{2}", period.label) else "本期无数据"


@dataclass
class Column:
    key: str
    header: str  # Chinese header bureau staff read
    kind: str = "text"  # text | int | fen | ratio | float


SKILL_COLUMNS = [Column("skill", "职业编码"), Column("skill_name", "工种")]


@dataclass
class Chart:
    kind: str  # "bar" (grouped bars), "range" (P10..P90), "scatter" (lng/lat), "line"
    x: str  # column key of the category (or lng for scatter)
    y: tuple[str, ...]  # column keys plotted
    title: str  # ASCII title (used when no CJK font is available)
    title_zh: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: Chart | None = None


@dataclass
class Report:
    name: str
    title: str
    scope: Scope
    position: int  # last log seq in the store the report was built from
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. GeoJSON of the directory
    empty: bool = False  # no data in the period: renderers say so instead of zero totals

    @property
    def empty_text(self) -> str:
        return empty_text(self.scope.period)


def ratio(num: float, den: float) -> float:
    return round(num / den, 4) if den else 0.0
