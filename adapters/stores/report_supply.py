"""Reports `supply-demand` (供需情况) and `wages` (工资价位), from the reporting store.

Owns: the figures of Guangxi 四(二) — job seekers, postings, matches and wage levels —
by region, station and skill, for a period and scope.

Definitions (each counted by its own event's Asia/Shanghai day inside the period):
- job seekers (求职人数): distinct workers who checked in; visits (求职人次): check-ins.
  By skill, a worker counts once under each of their (current) skills.
- postings (岗位发布数): JobSubmitted; published (已发布): JobPublished; slots (岗位数):
  headcount of the postings published in the period.
- hires (录用人数): HireConfirmed; fill rate (满足率) = hires / slots, both of the period.
- median time to fill (中位满岗时长): JobFilled minus the job's first JobPublished, over
  jobs filled in the period, in minutes.
- wages: per hire paid in the period, daily pay = wages paid in the period for it /
  the days the work spans (`f_hire.work_days`); P10..P90 are linear-interpolation
  percentiles (numpy's default, SQL percentile_cont) over hires; shown in yuan.

Limits: grouping by region uses `scope.level` digits of the GB/T 2260 code.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import numpy as np

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
from adapters.stores.report_sql import (
    CHECKIN_FROM,
    CHECKIN_REGION,
    checkin_filter,
    job_filter,
    period_params,
    position,
    region_group,
    station_names,
)

NO_STATION = "（位置签到）"
TOTAL = "合计"
PERCENTILES = (10, 25, 50, 75, 90)


def _job_group(by: str, level: int) -> str:
    return {
        "region": region_group("p.region", level),
        "station": "p.station_id",
        "skill": "p.skill",
        "total": "'合计'",
    }[by]


def _sd_metrics(store: Backend, scope: Scope, by: str) -> dict[str, dict[str, Any]]:
    """Supply-demand figures keyed by group value (by skill: the 大典 code, so legacy
    codes that map to one occupation are one row)."""
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: dict.fromkeys(("seekers", "visits", "postings", "published", "slots", "hires"), 0)
    )
    k = skill_code if by == "skill" else str
    g = _job_group(by, scope.level)
    jf, jp = job_filter(scope)
    pp = period_params(scope)
    for key, n in store.query(
        f"SELECT {g}, count(*) FROM f_posting p WHERE p.day BETWEEN ? AND ? AND {jf} GROUP BY 1",
        pp + jp,
    ):
        out[k(key)]["postings"] += int(n)
    for key, n, slots in store.query(
        f"SELECT {g}, count(*), sum(p.headcount) FROM f_job_event j "
        f"JOIN f_posting p ON p.job_id = j.job_id WHERE j.kind = 'published' "
        f"AND j.day BETWEEN ? AND ? AND {jf} GROUP BY 1",
        pp + jp,
    ):
        out[k(key)]["published"] += int(n)
        out[k(key)]["slots"] += int(slots or 0)
    for key, n in store.query(
        f"SELECT {g}, count(*) FROM f_hire h JOIN f_posting p ON p.job_id = h.job_id "
        f"WHERE h.day BETWEEN ? AND ? AND {jf} GROUP BY 1",
        pp + jp,
    ):
        out[k(key)]["hires"] += int(n)
    fill: dict[str, list[float]] = defaultdict(list)
    for key, ms in store.query(
        f"SELECT {g}, f.ts_ms - pub.ts_ms FROM f_job_event f "
        "JOIN (SELECT job_id, min(ts_ms) AS ts_ms FROM f_job_event WHERE kind = 'published' "
        "GROUP BY job_id) pub ON pub.job_id = f.job_id "
        f"JOIN f_posting p ON p.job_id = f.job_id WHERE f.kind = 'filled' "
        f"AND f.day BETWEEN ? AND ? AND {jf}",
        pp + jp,
    ):
        fill[k(key)].append(int(ms) / 60000.0)
    cf, cp = checkin_filter(scope)
    if by == "skill":
        for skills, visits in store.query(
            f"SELECT w.skills, count(*) FROM {CHECKIN_FROM} WHERE c.day BETWEEN ? AND ? "
            f"AND {cf} GROUP BY c.worker_id, w.skills",
            pp + cp,
        ):
            for code in sorted({skill_code(s) for s in (skills or "").split(",") if s}):
                out[code]["seekers"] += 1
                out[code]["visits"] += int(visits)
    else:
        cg = {"region": region_group(CHECKIN_REGION, scope.level), "station": "c.station_id"}
        cg_expr = cg.get(by, "'合计'")
        for key, seekers, visits in store.query(
            f"SELECT {cg_expr}, count(DISTINCT c.worker_id), count(*) FROM {CHECKIN_FROM} "
            f"WHERE c.day BETWEEN ? AND ? AND {cf} GROUP BY 1",
            pp + cp,
        ):
            out[key]["seekers"], out[key]["visits"] = int(seekers), int(visits)
    for key in fill:  # a group may have fills only
        out[key]  # noqa: B018 - creates the group's zero row
    for key, row in out.items():
        row["fill_rate"] = ratio(row["hires"], row["slots"])
        times = fill.get(key, [])
        row["median_fill_min"] = round(statistics.median(times), 1) if times else 0.0
        row["filled_jobs"] = len(times)
    return dict(out)


_SD_COLUMNS = [
    Column("seekers", "求职人数", "int"),
    Column("visits", "求职人次", "int"),
    Column("postings", "岗位发布数", "int"),
    Column("published", "已发布岗位", "int"),
    Column("slots", "岗位数(人)", "int"),
    Column("hires", "录用人数", "int"),
    Column("fill_rate", "满足率", "ratio"),
    Column("filled_jobs", "满岗岗位数", "int"),
    Column("median_fill_min", "中位满岗时长(分钟)", "float"),
]


def supply_demand(store: Backend, scope: Scope) -> Report:
    stations = station_names(store)
    total = _sd_metrics(store, scope, "total").get(TOTAL, _sd_metrics_empty())
    empty = not any(total[c] for c in ("seekers", "visits", "postings", "published", "hires"))
    by_region = {} if empty else _sd_metrics(store, scope, "region")
    region_rows = [
        {"region": k, "region_name": region_name(k), **v} for k, v in sorted(by_region.items())
    ]
    if not empty:
        region_rows.append({"region": TOTAL, "region_name": "", **total})
    station_rows = []
    for key, v in sorted(() if empty else _sd_metrics(store, scope, "station").items()):
        name, kind, region = stations.get(key, (NO_STATION if not key else "", "", ""))
        station_rows.append(
            {"station_id": key, "station": name, "region": region,
             "region_name": region_name(region), **v}
        )  # fmt: skip
    by_skill = {} if empty else _sd_metrics(store, scope, "skill")
    skill_rows = [
        {"skill": k, "skill_name": skill_name(k), **v} for k, v in sorted(by_skill.items())
    ]
    region_cols = [Column("region", "地区代码"), Column("region_name", "地区名称")]
    sections = [
        Section(
            "by_region", "按地区", [*region_cols, *_SD_COLUMNS], region_rows,
            Chart("bar", "region_name", ("seekers", "slots", "hires"), "Seekers, slots and hires by region", "按地区求职、岗位与录用"),
        ),
        Section(
            "by_station", "按站点",
            [Column("station_id", "站点编号"), Column("station", "站点名称"), *region_cols,
             *_SD_COLUMNS],
            station_rows,
        ),
        Section(
            "by_skill", "按工种", [*SKILL_COLUMNS, *_SD_COLUMNS], skill_rows,
            Chart("bar", "skill_name", ("seekers", "slots", "hires"), "Seekers, slots and hires by skill", "按工种求职、岗位与录用"),
        ),
    ]  # fmt: skip
    return Report(
        name="supply-demand",
        title="零工市场供需情况表",
        scope=scope,
        position=position(store),
        sections=sections,
        notes=[
            "求职人数为期间内签到的不同求职者数，求职人次为签到次数；按工种统计时，一人按其每个工种各计一次。",
            "岗位数为期间内发布岗位的招聘人数之和；满足率 = 录用人数 / 岗位数。",
            "中位满岗时长：期间内满岗岗位从发布到满岗的时长中位数。",
        ],
        empty=empty,
    )


def _sd_metrics_empty() -> dict[str, Any]:
    keys = ("seekers", "visits", "postings", "published", "slots", "hires", "filled_jobs")
    return {**dict.fromkeys(keys, 0), "fill_rate": 0.0, "median_fill_min": 0.0}


# ---------------------------------------------------------------- wages ------------------


def daily_pay_rows(store: Backend, scope: Scope) -> list[tuple[str, str, str, float]]:
    """(大典 skill code, region group, hire id, daily pay fen) of every hire paid in the
    period."""
    jf, jp = job_filter(scope)
    g = region_group("p.region", scope.level)
    rows = store.query(
        f"SELECT p.skill, {g}, w.hire_id, sum(w.amount_fen), h.work_days FROM f_wage w "
        "JOIN f_hire h ON h.hire_id = w.hire_id JOIN f_posting p ON p.job_id = h.job_id "
        f"WHERE w.day BETWEEN ? AND ? AND {jf} GROUP BY p.skill, {g}, w.hire_id, h.work_days",
        period_params(scope) + jp,
    )
    return [(skill_code(r[0]), r[1], r[2], int(r[3]) / max(1, int(r[4]))) for r in rows]


def wage_levels(values: list[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=np.float64)
    out: dict[str, Any] = {"hires": len(values)}
    qs = np.percentile(arr, PERCENTILES) if len(values) else [0.0] * len(PERCENTILES)
    for p, q in zip(PERCENTILES, qs, strict=True):
        out[f"p{p}_fen"] = int(round(float(q)))
    out["mean_fen"] = int(round(float(arr.mean()))) if len(values) else 0
    return out


_WAGE_COLUMNS = [
    Column("hires", "样本数(人次)", "int"),
    *(Column(f"p{p}_fen", f"P{p}日工资(元)", "fen") for p in PERCENTILES),
    Column("mean_fen", "平均日工资(元)", "fen"),
]


def wages(store: Backend, scope: Scope) -> Report:
    rows = daily_pay_rows(store, scope)
    by_skill: dict[str, list[float]] = defaultdict(list)
    by_region_skill: dict[tuple[str, str], list[float]] = defaultdict(list)
    for skill, region, _, pay in rows:
        by_skill[skill].append(pay)
        by_region_skill[(region, skill)].append(pay)
    skill_rows = [
        {"skill": k, "skill_name": skill_name(k), **wage_levels(v)}
        for k, v in sorted(by_skill.items())
    ]
    if rows:
        skill_rows.append({"skill": TOTAL, "skill_name": "", **wage_levels([r[3] for r in rows])})
    region_rows = [
        {"region": r, "region_name": region_name(r), "skill": s, "skill_name": skill_name(s),
         **wage_levels(v)}
        for (r, s), v in sorted(by_region_skill.items())
    ]  # fmt: skip
    return Report(
        name="wages",
        title="零工市场工资价位表",
        scope=scope,
        position=position(store),
        sections=[
            Section(
                "by_skill",
                "按工种",
                [*SKILL_COLUMNS, *_WAGE_COLUMNS],
                skill_rows,
                Chart(
                    "range",
                    "skill_name",
                    tuple(f"p{p}_fen" for p in PERCENTILES),
                    "Daily pay P10-P90 by skill (yuan)",
                    "按工种日工资分位数(元)",
                ),
            ),
            Section(
                "by_region_skill",
                "按地区和工种",
                [
                    Column("region", "地区代码"),
                    Column("region_name", "地区名称"),
                    *SKILL_COLUMNS,
                    *_WAGE_COLUMNS,
                ],
                region_rows,
            ),
        ],  # fmt: skip
        notes=[
            "日工资 = 期间内实际支付的工资 / 用工天数；每笔录用计一个样本。",
            "分位数按线性插值计算（P50 即中位数）。",
        ],
        empty=not rows,
    )
