"""Report `stars` (星级认定): the station assessment, score, star level and subsidies.

Owns: loading and checking the assessment rules (default: the Quanzhou rules shipped in
`rules/quanzhou_stars.json`, replaceable with `--rules FILE`), loading manual items
(`--manual FILE`, JSON list or CSV with columns station_id,item,points), computing the
data-driven items per station from the reporting store, the scoring, the one-time
subsidy and the 公示 list.

The default rules are the seed's, nothing more: 泉州市零工市场(驿站)标准化建设实施方案(试行)
(泉人社规〔2023〕5号, 2023-11-10), 二(二)成效奖励 and 二(三)申报流程:
- two categories, 零工市场 and 零工驿站; a 零工市场 of 90+ points is "五星级" (10万元),
  80-89 "四星级" (8万), 70-79 "三星级" (5万), named "泉州市XX年度X星级零工市场"; a 零工驿站
  of 90+ gets 3万, 80-89 2万, 70-79 1万 (no star title); below 70 nothing;
- only stations recognised (认定) for at least half a year (183 days) are assessed;
- the score is the on-site assessment of 附件6 (工作考核自评表, "重点考核工作量和服务成效"),
  entered by the bureau as the manual item `assessment` (0..100). The seed does not
  publish the items of 附件6 or their weights, so the default rules weigh no data item:
  the workload and service figures from the log (placements, slots, check-ins,
  complaints, wage arrears) are listed beside the score as evidence. A bureau that has
  附件6's weights supplies them with `--rules` (data items, below);
- 一次性运维补助: a station recognised for the first time (首次创建成功并通过认定) in the
  period gets 6万元 (零工市场) or 3万元 (零工驿站) once;
- results are published (公示) before payment: section `publicity` lists every station
  proposed for a subsidy, with its category, title, score and amounts.

Data items (per station, over the period; a posting's figures count for its collecting
station): `placements` (hires), `fill_rate` (hires / slots published), `checkins`
(check-ins at the station), `complaints_handled` (complaints about the station's hires
filed in the period and closed by its end / filed; closed: resolved or dismissed, or a
case's step resolved or rejected), `wage_arrears` (wage-arrears complaints about its hires
filed in the period and not dismissed or rejected by its end).

Scoring: `linear` items give points * min(1, value / full_at) (full_at per station class,
prorated by period days / 365 when `prorate`), `ratio` items the same on a ratio
(`if_none` when there is nothing to divide), `penalty` items points - per_case * count
(never below 0). Manual items are capped at their points. The score (<= max_score) picks
the first level whose min_score it reaches; a station that is not approved at the
period's end, or approved fewer than `min_operating_days` before it, gets no subsidy.

Invariants: the subsidy is integer fen internally (rules state yuan). Unknown manual
items or stations raise ValueError. A station without a manual score is "未考核" and gets
no performance subsidy.
Limits: none.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_complaints import CLOSINGS
from adapters.stores.report_model import (
    KIND_ZH,
    STATUS_ZH,
    Chart,
    Column,
    Report,
    Scope,
    Section,
    region_name,
)
from adapters.stores.report_model import day_date as _date
from adapters.stores.report_roster import station_status_at
from adapters.stores.report_sql import period_params, position

DEFAULT_RULES = Path(__file__).parent / "rules" / "quanzhou_stars.json"
STAR_ZH = {5: "五星级", 4: "四星级", 3: "三星级"}
DATA_ITEMS = ("placements", "fill_rate", "checkins", "complaints_handled", "wage_arrears")


def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    rules = json.loads(Path(path or DEFAULT_RULES).read_text(encoding="utf-8"))
    rules.setdefault("one_time_subsidy_yuan", {})
    rules.setdefault("star_titles", {})
    for key in ("max_score", "classes", "levels", "data_items", "manual_items"):
        if key not in rules:
            raise ValueError(f"rules file lacks {key!r}")
    for item in rules["data_items"]:
        if item.get("item") not in DATA_ITEMS:
            raise ValueError(f"unknown data item {item.get('item')!r}; known: {DATA_ITEMS}")
        if item.get("kind") not in ("linear", "ratio", "penalty"):
            raise ValueError(f"item {item['item']}: kind must be linear, ratio or penalty")
    for cls in set(rules["classes"].values()):
        levels = rules["levels"].get(cls)
        if not levels:
            raise ValueError(f"no levels for station class {cls!r}")
        rules["levels"][cls] = sorted(levels, key=lambda lv: -lv["min_score"])
    return rules


def load_manual(path: str | Path | None) -> list[tuple[str, str, float]]:
    """(station_id, item, points) rows of a JSON list or a CSV file."""
    if path is None:
        return []
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    if p.suffix.lower() == ".json":
        data = json.loads(text)
        entries = [(d["station_id"], d["item"], d["points"]) for d in data]
    else:
        entries = [
            (r["station_id"], r["item"], r["points"]) for r in csv.DictReader(text.splitlines())
        ]
    return [(str(s).strip(), str(i).strip(), float(pts)) for s, i, pts in entries]


def station_figures(store: Backend, scope: Scope) -> dict[str, dict[str, int]]:
    """The raw data items per station id."""
    pp = period_params(scope)
    fig: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    q = store.query
    for sid, n in q(
        "SELECT p.station_id, count(*) FROM f_hire h JOIN f_posting p ON p.job_id = h.job_id "
        "WHERE h.day BETWEEN ? AND ? GROUP BY p.station_id",
        pp,
    ):
        fig[sid]["placements"] = int(n)
    for sid, slots in q(
        "SELECT p.station_id, sum(p.headcount) FROM f_job_event j JOIN f_posting p "
        "ON p.job_id = j.job_id WHERE j.kind = 'published' AND j.day BETWEEN ? AND ? "
        "GROUP BY p.station_id",
        pp,
    ):
        fig[sid]["slots"] = int(slots or 0)
    for sid, n in q(
        "SELECT station_id, count(*) FROM f_checkin WHERE day BETWEEN ? AND ? "
        "AND station_id <> '' GROUP BY station_id",
        pp,
    ):
        fig[sid]["checkins"] = int(n)
    for sid, kind, resolved, upheld in q(
        "SELECT p.station_id, c.kind, r.day, r.upheld FROM f_complaint c "
        "JOIN f_hire h ON h.hire_id = c.hire_id JOIN f_posting p ON p.job_id = h.job_id "
        f"LEFT JOIN ({CLOSINGS}) r ON r.complaint_id = c.complaint_id AND r.day <= ? "
        "WHERE c.day BETWEEN ? AND ?",
        [scope.period.last_day, *pp],
    ):
        fig[sid]["complaints"] += 1
        if resolved is not None:
            fig[sid]["complaints_resolved"] += 1
        if kind == "wage_arrears" and (resolved is None or upheld):
            fig[sid]["wage_arrears"] += 1
    return fig


def _value(item: dict, f: dict[str, int]) -> tuple[float, bool]:
    """(value, has_denominator) of a data item from a station's figures."""
    name = item["item"]
    if name == "fill_rate":
        return (f["placements"] / f["slots"], True) if f["slots"] else (0.0, False)
    if name == "complaints_handled":
        n = f["complaints"]
        return (f["complaints_resolved"] / n, True) if n else (0.0, False)
    return float(f[name]), True


def _stars_text(level: dict | None, assessed: bool) -> str:
    if not assessed:
        return "未考核"
    if level is None:
        return "未达标"
    return STAR_ZH.get(level["stars"], "达标") if level["stars"] else f"{level['min_score']}分档"


def _title(rules: dict, cls: str, level: dict, period: Any) -> str:
    template = rules["star_titles"].get(cls, "")
    if not template or not level["stars"]:
        return ""
    stars = STAR_ZH.get(level["stars"], f"{level['stars']}星")
    return template.format(year=period.last_day // 10000, stars=stars)


def score_item(item: dict, value: float, has_den: bool, cls: str, days: int) -> float:
    pts = float(item["points"])
    if item["kind"] == "penalty":
        return max(0.0, pts - float(item["per_case"]) * value)
    if item["kind"] == "ratio" and not has_den:
        value = float(item.get("if_none", 0.0))
    full = item["full_at"]
    full = float(full[cls] if isinstance(full, dict) else full)
    if item.get("prorate"):
        full = full * days / 365.0
    return pts * min(1.0, value / full) if full > 0 else pts


def stars(
    store: Backend, scope: Scope, *, rules_path: str | Path | None = None,
    manual_path: str | Path | None = None,
) -> Report:  # fmt: skip
    rules = load_rules(rules_path)
    manual = load_manual(manual_path)
    period = scope.period
    known = {
        r[0]: r[1:] for r in store.query("SELECT station_id, name, kind, region FROM d_station")
    }
    manual_max = {m["item"]: float(m["points"]) for m in rules["manual_items"]}
    manual_pts: dict[str, dict[str, float]] = defaultdict(dict)
    for sid, item, pts in manual:
        if sid not in known:
            raise ValueError(f"manual items: unknown station {sid!r}")
        if item not in manual_max:
            raise ValueError(f"manual items: unknown item {item!r}; known: {sorted(manual_max)}")
        manual_pts[sid][item] = max(0.0, min(manual_max[item], pts))
    status = station_status_at(store, period.last_day)
    figures = station_figures(store, scope)
    summary, detail = [], []
    for sid, (name, kind, region) in sorted(known.items()):
        if not region.startswith(scope.region) or (scope.station and sid != scope.station):
            continue
        cls = rules["classes"].get(kind, "post")
        st, approved_day = status.get(sid, ("", 0))
        f = figures.get(sid, defaultdict(int))
        total = 0.0
        for item in rules["data_items"]:
            value, has_den = _value(item, f)
            pts = score_item(item, value, has_den, cls, period.days)
            total += pts
            detail.append({"station_id": sid, "item": item["label"], "value": round(value, 4),
                           "points": round(pts, 2), "max": float(item["points"])})  # fmt: skip
        for item in rules["manual_items"]:
            pts = manual_pts.get(sid, {}).get(item["item"], 0.0)
            total += pts
            detail.append({"station_id": sid, "item": item["label"] + "(人工)", "value": pts,
                           "points": pts, "max": float(item["points"])})  # fmt: skip
        score = round(min(float(rules["max_score"]), total), 1)
        level = next((lv for lv in rules["levels"][cls] if score >= lv["min_score"]), None)
        days_on = (_date(period.last_day) - _date(approved_day)).days + 1 if approved_day else 0
        eligible = st == "approved" and days_on >= int(rules.get("min_operating_days", 0))
        assessed = bool(rules["data_items"]) or sid in manual_pts
        note = "" if eligible else ("非认定状态" if st != "approved" else "认定未满规定期限")
        if eligible and not assessed:
            note, eligible = "未考核（无现场考核得分）", False
        one_time_yuan = rules["one_time_subsidy_yuan"].get(cls, 0)
        first_time = bool(approved_day) and period.first_day <= approved_day <= period.last_day
        one_time_fen = int(round(one_time_yuan * 100)) if first_time and st == "approved" else 0
        summary.append({
            "station_id": sid, "station": name, "kind": KIND_ZH.get(kind, kind),
            "class": rules.get("class_names", {}).get(cls, cls), "region": region,
            "status": STATUS_ZH.get(st, st), "operating_days": days_on,
            "placements": f["placements"], "slots": f["slots"], "checkins": f["checkins"],
            "complaints": f["complaints"], "wage_arrears": f["wage_arrears"],
            "manual_points": round(sum(manual_pts.get(sid, {}).values()), 1), "score": score,
            "stars": _stars_text(level, assessed),
            "title": _title(rules, cls, level, period) if level and eligible else "",
            "subsidy_fen": int(round(level["subsidy_yuan"] * 100)) if level and eligible else 0,
            "one_time_fen": one_time_fen,
            "note": note,
        })  # fmt: skip
    cols = [
        Column("station_id", "站点编号"), Column("station", "站点名称"), Column("kind", "类型"),
        Column("class", "认定类别"), Column("region", "地区代码"), Column("status", "期末状态"),
        Column("operating_days", "认定天数", "int"), Column("placements", "推荐成功人数", "int"),
        Column("slots", "岗位数(人)", "int"), Column("checkins", "服务人次", "int"),
        Column("complaints", "投诉(件)", "int"), Column("wage_arrears", "欠薪投诉(件)", "int"),
        Column("manual_points", "人工评分", "float"), Column("score", "总分", "float"),
        Column("stars", "星级"), Column("title", "认定名称"),
        Column("subsidy_fen", "绩效补助(元)", "fen"),
        Column("one_time_fen", "一次性运维补助(元)", "fen"), Column("note", "备注"),
    ]  # fmt: skip
    for row in summary:
        row["region_name"] = region_name(row["region"])
    cols.insert(5, Column("region_name", "地区名称"))
    public = [
        {"no": i, "station": r["station"], "class": r["class"], "region_name": r["region_name"],
         "score": r["score"] if r["subsidy_fen"] else None, "title": r["title"],
         "subsidy_fen": r["subsidy_fen"], "one_time_fen": r["one_time_fen"],
         "total_fen": r["subsidy_fen"] + r["one_time_fen"]}
        for i, r in enumerate(
            (r for r in summary if r["subsidy_fen"] or r["one_time_fen"]), 1
        )
    ]  # fmt: skip
    public_cols = [
        Column("no", "序号", "int"), Column("station", "零工市场(驿站)名称"),
        Column("class", "类别"), Column("region_name", "所在地区"),
        Column("score", "考核得分", "float"), Column("title", "星级认定名称"),
        Column("subsidy_fen", "绩效补助(元)", "fen"),
        Column("one_time_fen", "一次性运维补助(元)", "fen"),
        Column("total_fen", "拟发放合计(元)", "fen"),
    ]  # fmt: skip
    detail_cols = [
        Column("station_id", "站点编号"), Column("item", "考核项目"),
        Column("value", "指标值", "float"), Column("points", "得分", "float"),
        Column("max", "满分", "float"),
    ]  # fmt: skip
    chart = Chart("bar", "station", ("score",), "Assessment score by station", "各站点考核得分")
    return Report(
        name="stars",
        title="零工市场(驿站)星级认定与绩效补助测算表",
        scope=scope,
        position=position(store),
        sections=[
            Section("summary", "评分汇总", cols, summary, chart),
            Section("detail", "评分明细", detail_cols, detail),
            Section("publicity", "公示名单", public_cols, public),
        ],
        notes=[
            f"规则：{rules.get('name', '')}。",
            "数据项由事件日志计算，人工项来自现场考核评分文件；年度目标按期间天数折算。",
            f"认定满 {rules.get('min_operating_days', 0)} 天且期末为已认定状态的站点方可享受绩效补助。",
            "一次性运维补助：期间内首次通过认定的零工市场每家 "
            f"{rules['one_time_subsidy_yuan'].get('market', 0) / 10000:g} 万元、零工驿站每家 "
            f"{rules['one_time_subsidy_yuan'].get('post', 0) / 10000:g} 万元。",
            "公示名单：评审结果经公示无异议后，按规定将补助资金支付到申请单位账户（公示期由所在地人社部门确定）。",
            *([f"依据：{rules['source']}。"] if rules.get("source") else []),
        ],
        extra={"thresholds": sorted({lv["min_score"] for lv in sum(rules["levels"].values(), [])})},
    )
