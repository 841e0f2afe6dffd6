"""Bureau reports over HTTP, delegating to `adapters.stores.reports`.

Owns the route
    GET /reports/{name}     supply-demand | wages | roster | progress | stars | directory |
                            training
                            auditor, admin, and station staff for their own station;
                            JSON (UTF-8, no escapes) as `adapters.stores.render.to_json_obj`
Query: `month` (YYYY-MM) or `from`+`to` (YYYY-MM-DD), `region` (defaults to the token's
region and must lie inside it), `station` (a station staff token: defaults to its own
station, any other is 403), `level` (province | city | county).

The roster carries masked 姓名: unsealed under each worker's key from the data folder and
masked (`adapters.stores.worker_names`); erased workers show as erased.

Invariants: every string of a report passes `scrub` (job titles are free text and may
hold a phone number); a report reads only the reporting store, caught up with the log first (the
stores' own rule); rows carry masked personal data only (the stores' rule); the build runs
in a worker thread, one at a time (`_LOCK`, a thread lock), so reports never stall the event loop or the
writer and never run the reporting store from two connections at once.
Limits: one report at a time per process; the stars report uses the default rules (no
server-side file paths are taken from requests).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any, Literal

from anyio import to_thread
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from adapters.http.common import READ, Req, api_of
from adapters.http.problems import ApiError, scrub

ReportName = Literal[
    "supply-demand", "wages", "roster", "progress", "stars", "directory", "training"
]
_LOCK = threading.Lock()


def _build(
    data_dir: Path, name: str, options: dict[str, Any], sealer: Any = None
) -> dict[str, Any]:
    from adapters.stores.render import to_json_obj
    from adapters.stores.reports import build_report
    from adapters.stores.worker_names import names_from

    if name == "roster":  # names unsealed with the service's own keys (file or JetStream)
        options = {**options, "names": names_from(data_dir, sealer=sealer)}
    with _LOCK:
        return _scrubbed(to_json_obj(build_report(name, data_dir, **options)))


def _scrubbed(value: Any) -> Any:
    """Mask phone and ID numbers in every string (free text such as job titles)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    return value


@get(
    "/reports/{name:str}",
    tags=["reports"],
    summary="A bureau report (调度表, 供求, 工资价位, 花名册, 星级, 名录) as JSON",
    **READ,
)
async def report(
    request: Req,
    name: FromPath[ReportName],
    month: Annotated[str | None, QueryParameter(pattern=r"^\d{4}-\d{2}$")] = None,
    date_from: Annotated[
        str | None, QueryParameter(name="from", pattern=r"^\d{4}-\d{2}-\d{2}$")
    ] = None,
    date_to: Annotated[
        str | None, QueryParameter(name="to", pattern=r"^\d{4}-\d{2}-\d{2}$")
    ] = None,
    region: Annotated[str | None, QueryParameter(pattern=r"^(\d{2}|\d{4}|\d{6})?$")] = None,
    station: Annotated[str, QueryParameter(max_length=64)] = "",
    level: FromQuery[Literal["province", "city", "county"]] = "city",
) -> dict[str, Any]:
    ctx = api_of(request)
    who = ctx.caller(request)
    region = who.region if region is None else region
    if who.role == "station_staff":  # their own station's roster and figures, no other's
        station = station or who.station_id
    ctx.scope.allow(who, "report", region=region)
    if station:
        ctx.scope.allow(who, "report", station=station)
    if ctx.data_dir is None:
        raise ApiError(404, "no_store", "this server has no data folder for reports", "name")
    options: dict[str, Any] = {"region": region, "station": station, "level": level}
    if month:
        options["month"] = month
    if date_from or date_to:
        options.update(date_from=date_from, date_to=date_to)
    try:
        sealer = ctx.service.runtime.sealer
        return await to_thread.run_sync(_build, ctx.data_dir, name, options, sealer)
    except ValueError as exc:
        raise ApiError(422, "report_scope", str(exc), "month") from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "sqlite3", "psycopg"):
            raise ApiError(
                503, "report_store", "the reporting store is busy or unavailable; retry", ""
            ) from None
        raise


ROUTES = [report]
