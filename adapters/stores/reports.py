"""The report catalogue and the one entry point that builds a report from a data folder.

Owns: `REPORTS` (name -> builder), `make_scope` (CLI-style period/region/station options
-> `Scope`, defaulting to the month of the latest data), and `build_report`, which
brings the reporting store up to date with the log (unless told not to) and builds.

Invariants: a report reads only the reporting store; the store is caught up from the log
first, so a report reflects every record durable when it started.
Limits: see each builder's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_directory import directory
from adapters.stores.report_model import LEVELS, Period, Report, Scope, code_list_note, day_date
from adapters.stores.report_roster import progress, roster
from adapters.stores.report_sql import latest_day
from adapters.stores.report_stars import stars
from adapters.stores.report_supply import supply_demand, wages
from adapters.stores.report_training import training
from adapters.stores.worker_names import names_from

REPORTS = {
    "supply-demand": supply_demand,
    "wages": wages,
    "roster": roster,
    "progress": progress,
    "stars": stars,
    "directory": directory,
    "training": training,
}


def make_scope(
    store: Backend,
    *,
    month: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    region: str = "",
    station: str = "",
    level: str | int = "city",
) -> Scope:
    if month and (date_from or date_to):
        raise ValueError("give either --month or --from/--to, not both")
    if bool(date_from) != bool(date_to):
        raise ValueError("--from and --to go together")
    if month:
        period = Period.month(month)
    elif date_from and date_to:
        period = Period.range(date_from, date_to)
    else:
        day = latest_day(store)
        if not day:
            raise ValueError("the reporting store is empty; give --month or --from/--to")
        period = Period.month(day_date(day).strftime("%Y-%m"))
    digits = LEVELS[level] if isinstance(level, str) else int(level)
    return Scope(period=period, region=region, station=station, level=digits)


def build(name: str, store: Backend, scope: Scope, **options: Any) -> Report:
    if name not in REPORTS:
        raise ValueError(f"unknown report {name!r}; known: {', '.join(REPORTS)}")
    if name == "stars":
        report = stars(
            store, scope, rules_path=options.get("rules"), manual_path=options.get("manual")
        )
    elif name == "roster":
        report = roster(store, scope, names=options.get("names"))
    else:
        report = REPORTS[name](store, scope)
    report.notes.append(code_list_note())
    return report


def build_report(
    name: str,
    data_dir: str | Path,
    *,
    pg_dsn: str | None = None,
    catch_up: bool = True,
    log: str | None = None,
    **scope_and_options: Any,
) -> Report:
    """Catch the reporting store of `data_dir` up with its log (`data_dir/log`, or the log
    URL `log`), then build report `name`."""
    from adapters.stores import reporting_store
    from adapters.stores.projector import REPORTING, project

    options = {
        k: scope_and_options.pop(k) for k in ("rules", "manual", "names") if k in scope_and_options
    }
    if name == "roster" and "names" not in options:  # masked 姓名 under the folder's keys
        options["names"] = names_from(data_dir, log)
    with reporting_store(data_dir, pg_dsn=pg_dsn) as store:
        if catch_up:
            project(store, REPORTING, log or (Path(data_dir) / "log"))
        else:
            store.open(REPORTING.tables)
        scope = make_scope(store, **scope_and_options)
        return build(name, store, scope, **options)
