"""Reports `roster` (岗位推荐成功花名册) and `progress` (零工市场建设进展调度表).

Owns:
- roster: every placement (HireConfirmed) of the period in scope, with the worker's id,
  MASKED 姓名 (unsealed under the worker's key and masked by `worker_names`, when the
  builder is given a `names` function: the CLI and HTTP give it), MASKED ID number and
  mobile (from WorkerRegistered), employer, job, occupation (大典 code and name), station,
  region (code and GB/T 2260 name), date, pay and what followed (arrival, completion,
  wages paid). What a station attaches to a subsidy claim (Quanzhou 附件5).
- progress: the monthly table per region a city sends by the 25th (Guangxi): stations in
  service at the period's end (by level and by market type: 综合性/产业园区/服务站点),
  county coverage, registrations (cumulative and new), seekers, postings, slots, hires
  (period and year to date), fill rate, wages paid, training (sessions, sign-ups,
  completions: `report_training`) and complaints; and, as a section of its own, complaint
  cases past their 限时办结 deadline (`report_complaints`).

Invariants: no unmasked personal data (erased workers show blank masked fields and
"已删除"); money in fen, shown in yuan. Station status at the period's end is the last
status change on or before its last day.

Limits: registrations cannot be attributed to a station; with `--station` they are those
of the station's region prefix.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_complaints import CLOSINGS, overdue_section
from adapters.stores.report_model import (
    OPERATING,
    SKILL_COLUMNS,
    Chart,
    Column,
    Period,
    Report,
    Scope,
    Section,
    counties_of,
    day_str,
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
)
from adapters.stores.report_training import training_by_region
from adapters.stores.reporting import day_of
from adapters.stores.worker_names import ERASED, Names

PAY_UNIT_ZH = {"day": "元/天", "hour": "元/小时", "piece": "元/件"}
HIRE_STATUS_ZH = {"": "已录用", "arrived": "已到岗", "no_show": "未到岗", "completed": "已完工"}


def roster_rows(store: Backend, scope: Scope, names: Names | None = None) -> list[dict[str, Any]]:
    jf, jp = job_filter(scope)
    rows = store.query(
        "SELECT h.hire_id, h.ts_ms, h.day, h.worker_id, COALESCE(w.id_masked, ''), "
        "COALESCE(w.phone_masked, ''), COALESCE(w.erased, 0), COALESCE(e.display_name, ''), "
        "p.employer_id, p.title, p.skill, p.station_id, COALESCE(s.name, ''), p.region, "
        "h.start_ms, h.pay_fen, h.pay_unit FROM f_hire h "
        "JOIN f_posting p ON p.job_id = h.job_id "
        "LEFT JOIN d_worker w ON w.worker_id = h.worker_id "
        "LEFT JOIN d_employer e ON e.employer_id = p.employer_id "
        "LEFT JOIN d_station s ON s.station_id = p.station_id "
        f"WHERE h.day BETWEEN ? AND ? AND {jf} ORDER BY h.seq, h.idx",
        period_params(scope) + jp,
    )
    status: dict[str, str] = {}
    for hire_id, kind in store.query(
        "SELECT he.hire_id, he.kind FROM f_hire_event he JOIN f_hire h ON h.hire_id = he.hire_id "
        "WHERE h.day BETWEEN ? AND ? ORDER BY he.seq, he.idx",
        period_params(scope),
    ):
        status[hire_id] = kind
    paid: dict[str, int] = {}
    for hire_id, fen in store.query(
        "SELECT wg.hire_id, sum(wg.amount_fen) FROM f_wage wg JOIN f_hire h "
        "ON h.hire_id = wg.hire_id WHERE h.day BETWEEN ? AND ? GROUP BY wg.hire_id",
        period_params(scope),
    ):
        paid[hire_id] = int(fen)
    masked = names({r[3] for r in rows}) if names is not None else {}
    out = []
    for i, r in enumerate(rows, 1):
        erased = bool(r[6])
        out.append(
            {
                "no": i,
                "hire_day": day_str(int(r[2])),
                "worker_id": r[3],
                "name_masked": ERASED if erased else masked.get(r[3], ""),
                "id_masked": "" if erased else r[4],
                "phone_masked": "" if erased else r[5],
                "employer": r[7] or r[8],
                "job": r[9],
                "skill": skill_code(r[10]),
                "skill_name": skill_name(r[10]),
                "station_id": r[11],
                "station": r[12],
                "region": r[13],
                "region_name": region_name(r[13]),
                "work_day": day_str(day_of(int(r[14]))),
                "pay_fen": int(r[15]),
                "pay_unit": PAY_UNIT_ZH.get(r[16], r[16]),
                "status": "已删除" if erased else HIRE_STATUS_ZH.get(status.get(r[0], ""), ""),
                "paid_fen": paid.get(r[0], 0),
                "hire_id": r[0],
            }
        )
    return out


def roster(store: Backend, scope: Scope, names: Names | None = None) -> Report:
    rows = roster_rows(store, scope, names)
    per_day = Counter(r["hire_day"] for r in rows)
    columns = [
        Column("no", "序号", "int"), Column("hire_day", "推荐成功日期"),
        Column("worker_id", "求职者编号"), Column("name_masked", "姓名(脱敏)"),
        Column("id_masked", "身份证号(脱敏)"),
        Column("phone_masked", "手机号(脱敏)"), Column("employer", "用工单位"),
        Column("job", "岗位"), *SKILL_COLUMNS, Column("station_id", "推荐站点编号"),
        Column("station", "推荐站点"), Column("region", "地区代码"),
        Column("region_name", "地区名称"),
        Column("work_day", "用工日期"), Column("pay_fen", "工资标准(元)", "fen"),
        Column("pay_unit", "计薪单位"), Column("status", "到岗情况"),
        Column("paid_fen", "已付工资(元)", "fen"), Column("hire_id", "录用编号"),
    ]  # fmt: skip
    daily = [{"day": d, "hires": n} for d, n in sorted(per_day.items())]
    return Report(
        name="roster",
        title="零工市场(驿站)岗位推荐成功花名册",
        scope=scope,
        position=position(store),
        empty=not rows,
        sections=[
            Section("roster", "花名册", columns, rows),
            Section(
                "by_day",
                "按日统计",
                [Column("day", "日期"), Column("hires", "推荐成功人数", "int")],
                daily,
                Chart("bar", "day", ("hires",), "Placements per day", "每日推荐成功人数"),
            ),
        ],  # fmt: skip
        notes=[
            "个人信息仅显示脱敏后的姓名、身份证号与手机号；姓名在生成报表时用求职者本人的密钥解密后脱敏，"
            "已删除个人信息的求职者显示为“（已删除）”。",
            "推荐站点为岗位的收集发布站点（谁收集、谁发布、谁负责）。",
        ],
    )


# ---------------------------------------------------------------- progress ---------------


def station_status_at(store: Backend, last_day: int) -> dict[str, tuple[str, int]]:
    """station_id -> (status at the end of last_day, first day it was approved or 0)."""
    status: dict[str, tuple[str, int]] = {}
    for sid, st, day in store.query(
        "SELECT station_id, status, day FROM f_station_status WHERE day <= ? ORDER BY seq, idx",
        [last_day],
    ):
        first = status.get(sid, ("", 0))[1]
        if st == "approved" and not first:
            first = int(day)
        status[sid] = (st, first)
    return status


def progress(store: Backend, scope: Scope) -> Report:
    p, lvl = scope.period, scope.level
    pp = period_params(scope)
    jf, jp = job_filter(scope)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    stations = {
        r[0]: (r[1], r[2], r[3])
        for r in store.query("SELECT station_id, kind, region, market_type FROM d_station")
    }
    covered: dict[str, set[str]] = defaultdict(set)
    for sid, (st, first) in station_status_at(store, p.last_day).items():
        kind, region, mtype = stations.get(sid, ("", "", ""))
        if not region.startswith(scope.region) or (scope.station and sid != scope.station):
            continue
        row = rows[region[:lvl]]
        if st in OPERATING:
            row["markets" if kind in ("hub", "branch") else "posts"] += 1
            row[f"mt_{mtype or 'general'}"] += 1
            covered[region[:lvl]].add(region)
        if first and p.first_day <= first <= p.last_day:
            row["new_stations"] += 1
    if not scope.station:  # county coverage of each row's region (a station covers one)
        for key in list(rows) + [k for k in _row_keys(scope) if k not in rows]:
            counties = set(counties_of(key))
            if counties:
                rows[key]["counties_total"] = len(counties)
                rows[key]["counties_covered"] = len(counties & covered.get(key, set()))
    for table, prefix in (("d_worker", "workers"), ("d_employer", "employers")):
        for key, total, new in store.query(
            f"SELECT {region_group('region', lvl)}, count(*), "
            "sum(CASE WHEN registered_day >= ? THEN 1 ELSE 0 END) "
            f"FROM {table} WHERE registered_day <= ? AND region LIKE ? "
            f"GROUP BY 1",
            [p.first_day, p.last_day, scope.region + "%"],
        ):
            rows[key][f"{prefix}_total"], rows[key][f"{prefix}_new"] = int(total), int(new or 0)
    cf, cp = checkin_filter(scope)
    cg = region_group(CHECKIN_REGION, lvl)
    for key, seekers, visits in store.query(
        f"SELECT {cg}, count(DISTINCT c.worker_id), count(*) FROM {CHECKIN_FROM} "
        f"WHERE c.day BETWEEN ? AND ? AND {cf} GROUP BY 1",
        pp + cp,
    ):
        rows[key]["seekers"], rows[key]["visits"] = int(seekers), int(visits)
    g = region_group("p.region", lvl)
    for key, n, slots in store.query(
        f"SELECT {g}, count(*), sum(p.headcount) FROM f_job_event j JOIN f_posting p "
        f"ON p.job_id = j.job_id WHERE j.kind = 'published' AND j.day BETWEEN ? AND ? AND {jf} "
        f"GROUP BY 1",
        pp + jp,
    ):
        rows[key]["published"], rows[key]["slots"] = int(n), int(slots or 0)
    year = Period.year_of(p.last_day)
    for key, n, ytd in store.query(
        f"SELECT {g}, sum(CASE WHEN h.day >= ? THEN 1 ELSE 0 END), "
        "sum(CASE WHEN h.day >= ? THEN 1 ELSE 0 END) FROM f_hire h "
        f"JOIN f_posting p ON p.job_id = h.job_id WHERE h.day BETWEEN ? AND ? AND {jf} "
        f"GROUP BY 1",
        [p.first_day, year.first_day, min(p.first_day, year.first_day), p.last_day] + jp,
    ):
        rows[key]["hires"], rows[key]["hires_ytd"] = int(n or 0), int(ytd or 0)
    for key, fen in store.query(
        f"SELECT {g}, sum(w.amount_fen) FROM f_wage w JOIN f_hire h ON h.hire_id = w.hire_id "
        f"JOIN f_posting p ON p.job_id = h.job_id WHERE w.day BETWEEN ? AND ? AND {jf} GROUP BY 1",
        pp + jp,
    ):
        rows[key]["wages_fen"] = int(fen or 0)
    for key, filed in store.query(
        f"SELECT {region_group('e.region', lvl)}, count(*) FROM f_complaint c "
        "JOIN d_employer e ON e.employer_id = c.employer_id WHERE c.day BETWEEN ? AND ? "
        f"AND e.region LIKE ? GROUP BY 1",
        pp + [scope.region + "%"],
    ):
        rows[key]["complaints"] = int(filed)
    for key, resolved in store.query(
        f"SELECT {region_group('e.region', lvl)}, count(*) FROM ({CLOSINGS}) r "
        "JOIN f_complaint c ON c.complaint_id = r.complaint_id "
        "JOIN d_employer e ON e.employer_id = c.employer_id WHERE r.day BETWEEN ? AND ? "
        f"AND e.region LIKE ? GROUP BY 1",
        pp + [scope.region + "%"],
    ):
        rows[key]["complaints_resolved"] = int(resolved)
    for key, fig in training_by_region(store, scope).items():
        for k in ("sessions", "signups", "completed"):
            rows[key][f"training_{k}"] = fig[k]
    out = [{"region": k, "region_name": region_name(k), **v} for k, v in sorted(rows.items())]
    total: dict[str, Any] = defaultdict(int)
    for r in out:
        for k, v in r.items():
            if k not in ("region", "region_name"):
                total[k] += v
    total["seekers"] = _distinct_seekers(store, scope)  # not a sum: a person counts once
    out.append({"region": "合计", "region_name": "", **total})
    for r in out:
        r["fill_rate"] = ratio(r.get("hires", 0), r.get("slots", 0))
        r["county_coverage"] = ratio(r.get("counties_covered", 0), r.get("counties_total", 0))
    columns = [Column("region", "地区代码"), Column("region_name", "地区名称")] + [
        Column(k, h, kind) for k, h, kind in _PROGRESS
    ]
    activity = ("seekers", "published", "hires", "wages_fen", "complaints", "workers_new",
                "training_signups")  # fmt: skip
    empty = not any(total.get(k) for k in activity)
    return Report(
        name="progress",
        title="零工市场建设进展调度表",
        scope=scope,
        position=position(store),
        empty=empty,
        sections=[
            Section(
                "by_region",
                "按地区",
                columns,
                [{c.key: r.get(c.key, 0) for c in columns} for r in out],
                Chart(
                    "bar",
                    "region",
                    ("slots", "hires"),
                    "Slots and hires by region",
                    "按地区岗位数与录用人数",
                ),
            ),
            overdue_section(store, scope),  # issue 14: 限时办结 (its own section)
        ],  # fmt: skip
        notes=[
            "零工市场含总站、分站；零工驿站单列。站点数为期末处于“已认定”状态的站点。",
            "市场类型（综合性/产业园区/服务站点）按站点认定时登记的类型统计，合计等于零工市场数与驿站数之和。",
            "县域覆盖率 = 有至少一个已认定站点的县级行政区数 / 该地区全部县级行政区数（GB/T 2260）；"
            "站点所在地代码不在代码表中的不计入。按站点查询时不计覆盖率。",
            "累计数截至期末；本期数为期间内发生数；年度累计自当年1月1日起。",
            "投诉按用工单位所在地区统计（不按站点筛选）。",
        ],
    )


def _distinct_seekers(store: Backend, scope: Scope) -> int:
    cf, cp = checkin_filter(scope)
    rows = store.query(
        f"SELECT count(DISTINCT c.worker_id) FROM {CHECKIN_FROM} WHERE c.day BETWEEN ? AND ? "
        f"AND {cf}",
        period_params(scope) + cp,
    )
    return int(rows[0][0] or 0)


def _row_keys(scope: Scope) -> list[str]:
    """The regions of the scope at its level, so a region with no station still shows
    its county coverage of 0 (only below a province: a nation-wide table lists the rows
    that have data)."""
    if len(scope.region) < 2 or scope.level <= len(scope.region):
        return [scope.region] if len(scope.region) == scope.level else []
    keys = {c[: scope.level] for c in counties_of(scope.region)}
    return sorted(keys)


_PROGRESS = (
    ("markets", "零工市场数(个)", "int"),
    ("posts", "零工驿站数(个)", "int"),
    ("mt_general", "综合性(个)", "int"),
    ("mt_industrial_park", "产业园区(个)", "int"),
    ("mt_service_point", "服务站点(个)", "int"),
    ("counties_covered", "已覆盖县(市、区)数", "int"),
    ("counties_total", "县(市、区)总数", "int"),
    ("county_coverage", "县域覆盖率", "ratio"),
    ("new_stations", "本期新认定站点", "int"),
    ("workers_total", "累计登记求职者", "int"),
    ("workers_new", "本期新登记求职者", "int"),
    ("employers_total", "累计登记用工主体", "int"),
    ("employers_new", "本期新登记用工主体", "int"),
    ("seekers", "本期求职人数", "int"),
    ("visits", "本期求职人次", "int"),
    ("published", "本期发布岗位", "int"),
    ("slots", "本期岗位数(人)", "int"),
    ("hires", "本期推荐成功人数", "int"),
    ("hires_ytd", "年度累计推荐成功", "int"),
    ("fill_rate", "满足率", "ratio"),
    ("wages_fen", "本期支付工资(元)", "fen"),
    ("training_sessions", "本期培训场次", "int"),
    ("training_signups", "本期培训报名人数", "int"),
    ("training_completed", "本期培训结业人数", "int"),
    ("complaints", "本期投诉(件)", "int"),
    ("complaints_resolved", "本期办结投诉(件)", "int"),
)
