"""The overdue-complaints figure of the monthly progress report (限时办结, issue 14).

Owns: `CLOSINGS` (SQL: how each complaint was closed, for every report that counts closed
complaints) and `overdue_section(store, scope)`, a section of its own appended to `progress`
(`adapters.stores.report_roster`): by region, the complaint cases that passed their
限时办结 deadline in the period (`f_complaint_overdue`, written when a `Tick` decided it)
and, of every case overdue by the period's end, those still not closed at its end.

Invariants: counted from the engine's own decisions, never from a clock or a deadline
recomputed here; regions are the employer's (as the report's other complaint figures);
a case is closed by a resolved/rejected step (`f_complaint_step`) or by a resolution
(`f_complaint_resolved`) on or before the period's last day.

Limits: one query per figure; no station filter (as the other complaint figures).
"""

from __future__ import annotations

from collections import defaultdict

from adapters.stores.backend import Backend
from adapters.stores.report_model import Column, Scope, Section
from adapters.stores.report_sql import region_group

_FROM = (
    "FROM f_complaint_overdue o JOIN f_complaint c ON c.complaint_id = o.complaint_id "
    "JOIN d_employer e ON e.employer_id = c.employer_id "
)
# how each complaint was closed: a resolution (older logs) or a case's closing step
CLOSINGS = (
    "SELECT complaint_id, day, upheld FROM f_complaint_resolved UNION ALL "
    "SELECT complaint_id, day, CASE WHEN status = 'resolved' THEN 1 ELSE 0 END "
    "FROM f_complaint_step WHERE status IN ('resolved', 'rejected')"
)
_CLOSED_BY = (
    "SELECT complaint_id FROM f_complaint_step WHERE status IN ('resolved', 'rejected') "
    "AND day <= ? UNION SELECT complaint_id FROM f_complaint_resolved WHERE day <= ?"
)
COLUMNS = [
    Column("region", "地区代码"),
    Column("overdue_new", "本期超期投诉(件)", "int"),
    Column("overdue_open", "期末超期未办结投诉(件)", "int"),
]


def overdue_section(store: Backend, scope: Scope) -> Section:
    p, lvl = scope.period, scope.level
    g = region_group("e.region", lvl)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"overdue_new": 0, "overdue_open": 0})
    like = scope.region + "%"
    for key, n in store.query(
        f"SELECT {g}, count(*) {_FROM}WHERE o.day BETWEEN ? AND ? AND e.region LIKE ? GROUP BY 1",
        [p.first_day, p.last_day, like],
    ):
        rows[key]["overdue_new"] = int(n)
    for key, n in store.query(
        f"SELECT {g}, count(*) {_FROM}WHERE o.day <= ? AND e.region LIKE ? "
        f"AND o.complaint_id NOT IN ({_CLOSED_BY}) GROUP BY 1",
        [p.last_day, like, p.last_day, p.last_day],
    ):
        rows[key]["overdue_open"] = int(n)
    out = [{"region": k, **v} for k, v in sorted(rows.items())]
    out.append(
        {
            "region": "合计",
            "overdue_new": sum(r["overdue_new"] for r in out),
            "overdue_open": sum(r["overdue_open"] for r in out),
        }
    )
    return Section("complaints_overdue", "超期投诉（限时办结）", COLUMNS, out)
