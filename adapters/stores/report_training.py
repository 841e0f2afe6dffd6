"""Report `training` (培训与政策咨询情况表): sessions, sign-ups and completions per station.

Owns: the figures of the stations' training and consultation services (Xiangyang art. 3
and 7 培训报名、政策咨询; Guangxi 四(三) 组织培训报名; Shandong 四(四) 政策咨询) for a
period and scope, and `training_by_region`, the three figures the 调度表 (progress)
carries per region.

Definitions (each counted by its own event's Asia/Shanghai day inside the period; a
session, its sign-ups and completions count for the session's host station and region):
- sessions (培训场次): TrainingPublished; places (计划人数): their capacity;
- sign-ups (报名人数): TrainingSignedUp, split by channel: 窗口 (station counter),
  小程序/App (front end), 短信 (SMS reply);
- completions (结业人数): TrainingCompleted; completion rate = completions / sign-ups of
  the period (a sign-up of an earlier period completing now counts in both figures of
  their own periods, so the rate can exceed 100% only across such periods);
- policy Q&A entries (政策问答条目): PolicyAnswerPublished.

Invariants: worker ids only (no personal data); names of occupations and regions from the
shipped code lists. Limits: none beyond the store's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_model import (
    SKILL_COLUMNS,
    Chart,
    Column,
    Report,
    Scope,
    Section,
    ratio,
    region_name,
    skill_code,
    skill_name,
)
from adapters.stores.report_sql import period_params, position, region_group, station_names

CHANNELS = ("counter", "app", "sms")
GENERAL = "（通用培训）"
_KEYS = ("sessions", "places", "signups", "counter", "app", "sms", "completed", "qa")


def _filter(scope: Scope, alias: str) -> tuple[str, list[Any]]:
    sql = f"{alias}.region LIKE ?"
    params: list[Any] = [scope.region + "%"]
    if scope.station:
        sql += f" AND {alias}.station_id = ?"
        params.append(scope.station)
    return sql, params


def _figures(store: Backend, scope: Scope, group: str) -> dict[str, dict[str, int]]:
    """Figures keyed by `group`, an expression over a session `t` ("t.station_id", ...)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_KEYS, 0))
    pp = period_params(scope)
    tf, tp = _filter(scope, "t")
    for key, n, places in store.query(
        f"SELECT {group}, count(*), sum(t.capacity) FROM f_training t "
        f"WHERE t.day BETWEEN ? AND ? AND {tf} GROUP BY 1",
        pp + tp,
    ):
        out[key]["sessions"] += int(n)
        out[key]["places"] += int(places or 0)
    for key, channel, n in store.query(
        f"SELECT {group}, s.channel, count(*) FROM f_training_signup s "
        "JOIN f_training t ON t.training_id = s.training_id "
        f"WHERE s.day BETWEEN ? AND ? AND {tf} GROUP BY 1, 2",
        pp + tp,
    ):
        out[key]["signups"] += int(n)
        if channel in CHANNELS:
            out[key][channel] += int(n)
    for key, n in store.query(
        f"SELECT {group}, count(*) FROM f_training_done d "
        "JOIN f_training t ON t.training_id = d.training_id "
        f"WHERE d.day BETWEEN ? AND ? AND {tf} GROUP BY 1",
        pp + tp,
    ):
        out[key]["completed"] += int(n)
    return out


def training_by_region(store: Backend, scope: Scope) -> dict[str, dict[str, int]]:
    """region group -> {sessions, signups, completed, ...} for the 调度表."""
    return _figures(store, scope, region_group("t.region", scope.level))


def _qa(store: Backend, scope: Scope) -> dict[str, int]:
    qf, qp = _filter(scope, "q")
    return {
        sid: int(n)
        for sid, n in store.query(
            f"SELECT q.station_id, count(*) FROM f_policy_qa q WHERE q.day BETWEEN ? AND ? "
            f"AND {qf} GROUP BY 1",
            period_params(scope) + qp,
        )
    }


_COLUMNS = [
    Column("sessions", "培训场次", "int"),
    Column("places", "计划人数", "int"),
    Column("signups", "报名人数", "int"),
    Column("counter", "其中：窗口报名", "int"),
    Column("app", "其中：小程序/App报名", "int"),
    Column("sms", "其中：短信报名", "int"),
    Column("completed", "结业人数", "int"),
    Column("completion_rate", "结业率", "ratio"),
]


def training(store: Backend, scope: Scope) -> Report:
    stations = station_names(store)
    by_station = _figures(store, scope, "t.station_id")
    for sid, n in _qa(store, scope).items():
        by_station[sid]["qa"] += n
    station_rows = []
    total: dict[str, int] = dict.fromkeys(_KEYS, 0)
    for sid, fig in sorted(by_station.items()):
        name, _, region = stations.get(sid, ("", "", ""))
        station_rows.append(
            {"station_id": sid, "station": name, "region": region,
             "region_name": region_name(region), **fig,
             "completion_rate": ratio(fig["completed"], fig["signups"])}
        )  # fmt: skip
        for k in _KEYS:
            total[k] += fig[k]
    empty = not any(total.values())
    if not empty:
        station_rows.append(
            {"station_id": "合计", "station": "", "region": "", "region_name": "", **total,
             "completion_rate": ratio(total["completed"], total["signups"])}
        )  # fmt: skip
    by_skill: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_KEYS, 0))
    for raw, fig in _figures(store, scope, "t.skill").items():
        code = skill_code(raw) if raw else ""
        for k in _KEYS:
            by_skill[code][k] += fig[k]
    skill_rows = [
        {"skill": code, "skill_name": skill_name(code) if code else GENERAL, **fig,
         "completion_rate": ratio(fig["completed"], fig["signups"])}
        for code, fig in sorted(by_skill.items())
    ]  # fmt: skip
    station_cols = [
        Column("station_id", "站点编号"), Column("station", "站点名称"),
        Column("region", "地区代码"), Column("region_name", "地区名称"), *_COLUMNS,
        Column("qa", "政策问答条目", "int"),
    ]  # fmt: skip
    return Report(
        name="training",
        title="零工市场培训报名与政策咨询情况表",
        scope=scope,
        position=position(store),
        sections=[
            Section(
                "by_station",
                "按站点",
                station_cols,
                station_rows,
                Chart(
                    "bar",
                    "station",
                    ("signups", "completed"),
                    "Sign-ups and completions by station",
                    "各站点报名与结业人数",
                ),
            ),
            Section("by_skill", "按培训工种", [*SKILL_COLUMNS, *_COLUMNS], skill_rows),
        ],  # fmt: skip
        notes=[
            "培训场次与计划人数按发布日期统计；报名、结业按各自发生日期统计，均计入举办站点。",
            "报名渠道：窗口（站点工作人员代为报名）、小程序/App、短信回复。",
            "结业率 = 期间内结业人数 / 期间内报名人数。",
        ],
        empty=empty,
    )
