"""SQL fragments shared by the report builders, portable across DuckDB and PostgreSQL.

Owns: how a report's scope becomes WHERE clauses (`job_filter`, `checkin_filter`), the
region a check-in counts for (`CHECKIN_REGION`), region grouping (`region_group`), the
store's position and the latest day with data (the default report month).

Invariants:
- A posting, its offers, hires, wages and complaints count for the posting's region and
  collecting station (谁收集、谁发布、谁负责). A check-in counts for its station's region, or
  for the worker's home region when it was made at a location rather than a station.
- Only standard SQL that DuckDB and PostgreSQL both run: `?` placeholders, `substr`,
  `LIKE`, `COALESCE`, `count(DISTINCT ..)`, `GROUP BY 1` (PostgreSQL refuses a constant
  expression in GROUP BY). Integers spliced into SQL are validated ints.

Limits: none.
"""

from __future__ import annotations

from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_model import Scope
from adapters.stores.reporting import NAME as REPORTING

CHECKIN_FROM = (
    "f_checkin c LEFT JOIN d_station s ON s.station_id = c.station_id "
    "LEFT JOIN d_worker w ON w.worker_id = c.worker_id"
)
CHECKIN_REGION = "COALESCE(CASE WHEN c.station_id <> '' THEN s.region ELSE w.region END, '')"


def region_group(expr: str, level: int) -> str:
    return f"substr({expr}, 1, {int(level)})"


def period_params(scope: Scope) -> list[Any]:
    return [scope.period.first_day, scope.period.last_day]


def job_filter(scope: Scope, alias: str = "p") -> tuple[str, list[Any]]:
    """WHERE fragment (and params) limiting postings `alias` to the scope's region/station."""
    sql = f"{alias}.region LIKE ?"
    params: list[Any] = [scope.region + "%"]
    if scope.station:
        sql += f" AND {alias}.station_id = ?"
        params.append(scope.station)
    return sql, params


def checkin_filter(scope: Scope) -> tuple[str, list[Any]]:
    sql = f"{CHECKIN_REGION} LIKE ?"
    params: list[Any] = [scope.region + "%"]
    if scope.station:
        sql += " AND c.station_id = ?"
        params.append(scope.station)
    return sql, params


def position(store: Backend) -> int:
    return store.position(REPORTING)[0]


def latest_day(store: Backend) -> int:
    """The latest local day with a check-in, posting or wage (0 when the store is empty)."""
    rows = store.query(
        "SELECT max(d) FROM (SELECT max(day) AS d FROM f_checkin UNION ALL "
        "SELECT max(day) FROM f_posting UNION ALL SELECT max(day) FROM f_wage) t"
    )
    return int(rows[0][0] or 0)


def station_names(store: Backend) -> dict[str, tuple[str, str, str]]:
    """station_id -> (name, kind, region) of every known station."""
    rows = store.query("SELECT station_id, name, kind, region FROM d_station")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}
