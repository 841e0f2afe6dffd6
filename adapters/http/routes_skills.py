"""Skills as 国家职业分类大典 codes: the searchable code list (issue 14).

Owns the route (every reading role; reference data, not regional)
    GET /skills?q=搬运&limit=10    大典 codes matching Chinese text, best first; without
                                   `q`, the trades of a 零工市场 in picker order
and `SkillView`/`SkillList`.
Invariants: the list is the shipped, versioned one (`engine.reference.occupations`,
`version` in every answer); a legacy English code of older logs finds its 大典 code and
is listed in `legacy`; a query is never echoed in an error.
Limits: `q` at most `MAX_QUERY_CHARS` characters; 1..`MAX_RESULTS` results.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.params import QueryParameter

from adapters.http.common import READ, Req, api_of
from adapters.http.problems import ApiError
from engine.commands import Refusal
from engine.reference import occupations as occ

Query = Annotated[str, QueryParameter(max_length=4 * occ.MAX_QUERY_CHARS, description="中文")]
Limit = Annotated[int, QueryParameter(ge=1, le=occ.MAX_RESULTS, description="results")]
_LEGACY: dict[str, list[str]] = {}
for _old, _code in occ.LEGACY_CODES.items():
    _LEGACY.setdefault(_code, []).append(_old)


class SkillView(msgspec.Struct, kw_only=True):
    code: str  # 4-02-05-01
    name: str  # 装卸搬运工
    level: int  # 1 大类 .. 4 职业
    group_name: str
    major_name: str
    family: str  # 零工市场 trade family ("" if not a market trade)
    aliases: list[str]
    legacy: list[str]  # English codes of older logs that map onto this code


class SkillList(msgspec.Struct, kw_only=True):
    version: str
    edition: str
    skills: list[SkillView]


def skill_view(code: str) -> SkillView:
    o = occ.lookup(code)
    return SkillView(
        code=o.code,
        name=o.name,
        level=o.level,
        group_name=o.group_name,
        major_name=o.major_name,
        family=o.family,
        aliases=list(o.aliases),
        legacy=_LEGACY.get(o.code, []),
    )


@get("/skills", tags=["registry"], summary="Search the 大典 occupation codes (技能)", **READ)
async def skills(request: Req, q: Query = "", limit: Limit = occ.DEFAULT_RESULTS) -> SkillList:
    api_of(request).reader(request)
    try:
        codes = occ.search(q, limit) if q else [t[0] for t in occ.MARKET_TRADES][:limit]
    except Refusal as ref:
        raise ApiError(400, ref.rule, ref.message, "q") from None
    return SkillList(
        version=occ.CODE_LIST_VERSION,
        edition=occ.EDITION,
        skills=[skill_view(code) for code in codes],
    )


ROUTES = [skills]
