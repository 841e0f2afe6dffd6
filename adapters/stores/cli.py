"""`lingong report ...` and `lingong project ...`: the stores' command-line subcommands.

Owns: the argparse definitions and handlers of the two subcommands, registered into the
main CLI by `lingong.cli` (which imports this module), and a
standalone `main()` (`python -m adapters.stores ...`) with the same subcommands.

    lingong project --data DIR [--rebuild | --verify] [--pg-dsn DSN] [--only registry|reporting]
    lingong report NAME --data DIR [--month YYYY-MM | --from DATE --to DATE]
                   [--region PREFIX] [--station ID] [--level province|city|county]
                   --format csv|xlsx|html|json|geojson --out FILE [--pg-dsn DSN]
                   [--rules FILE] [--manual FILE] [--no-catch-up]

Invariants: exit 0 on success, 2 on bad usage or bad input (message on stderr), 1 when
the store does not match the log (rebuild needed; `--verify`: a row differs from what the
log gives). `--json` prints one JSON document
and nothing else on stdout. Readers never create the data folder: one without `log/`
(or, with `--log URL`, a missing folder for the stores) is refused (exit 2) before any
store is opened.
Limits: none beyond the reports'.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.stores.report_model import LEVELS
from adapters.stores.reports import REPORTS


def _has_log(args: argparse.Namespace) -> bool:
    """A log to read: `--log URL` (then DATA holds only the stores and must exist), else
    DATA/log."""
    if args.log:
        return Path(args.data).is_dir()
    return (Path(args.data) / "log").is_dir()


def _no_log(command: str, data: str) -> int:
    """Readers never create a data folder: a missing one is bad usage (exit 2)."""
    what = "no data folder" if not Path(data).is_dir() else "no log (log/) in the data folder"
    print(
        f"lingong {command}: {what} at {data}; give the folder a demo or a server wrote "
        "(e.g. lingong demo --data DIR, lingong serve --data DIR)",
        file=sys.stderr,
    )
    return 2


def _project(args: argparse.Namespace) -> int:
    from adapters.stores import project_data_dir
    from adapters.stores.projector import StoreMismatch

    if not _has_log(args):
        return _no_log("project", args.data)

    def progress(name: str, seq: int, rows: int) -> None:  # stdout is for --json alone
        print(f"{name} seq={seq} rows={rows}", flush=True, file=sys.stderr if args.json else None)

    which = (args.only,) if args.only else ("registry", "reporting")
    if args.verify:
        return _verify(args, which)
    try:
        out = project_data_dir(
            args.data,
            pg_dsn=args.pg_dsn,
            rebuild=args.rebuild,
            which=which,
            batch_frames=args.batch_frames,
            on_batch=progress if args.progress else None,
            log=args.log,
        )
    except StoreMismatch as exc:
        print(f"lingong project: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"lingong project: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for name, st in out.items():
            if not st["records"]:
                print(f"{name:9s} {st['backend']:8s} up to date at seq {st['to_seq']}")
                continue
            print(
                f"{name:9s} {st['backend']:8s} seq {st['from_seq']}..{st['to_seq']}: "
                f"{st['records']} records, {st['rows']} rows in {st['elapsed_s']:.2f} s "
                f"({st['rows_per_s']:,.0f} rows/s)"
            )
    return 0


def _verify(args: argparse.Namespace, which: tuple[str, ...]) -> int:
    from adapters.stores.projector import StoreMismatch
    from adapters.stores.verify import format_verify, verify_data_dir

    if args.rebuild:
        print("lingong project: --verify reads the stores; drop --rebuild", file=sys.stderr)
        return 2
    try:
        out = verify_data_dir(args.data, pg_dsn=args.pg_dsn, which=which, log=args.log)
    except StoreMismatch as exc:
        print(f"lingong project: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"lingong project: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, ensure_ascii=False) if args.json else format_verify(out, args.data))
    return 0 if out["ok"] else 1


def _report(args: argparse.Namespace) -> int:
    from adapters.stores.projector import StoreMismatch
    from adapters.stores.render import write_report
    from adapters.stores.reports import build_report

    fmt = args.format
    if not (args.no_catch_up and args.pg_dsn) and not _has_log(args):
        return _no_log("report", args.data)
    try:
        report = build_report(
            args.name,
            args.data,
            pg_dsn=args.pg_dsn,
            catch_up=not args.no_catch_up,
            month=args.month,
            date_from=args.date_from,
            date_to=args.date_to,
            region=args.region,
            station=args.station,
            level=args.level,
            rules=args.rules,
            manual=args.manual,
            log=args.log,
        )
        path = write_report(report, fmt, args.out)
    except StoreMismatch as exc:
        print(f"lingong report: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"lingong report: {exc}", file=sys.stderr)
        return 2
    rows = {s.key: len(s.rows) for s in report.sections}
    if args.json:
        out = {"report": report.name, "out": str(path), "format": fmt, "rows": rows,
               "period": report.scope.period.label, "position": report.position}  # fmt: skip
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"{report.title} ({report.scope.describe()}) -> {path} {rows}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    pj = sub.add_parser("project", help="bring the registry and reporting stores up to date")
    pj.add_argument("--data", required=True, help="data folder (holds log/)")
    pj.add_argument(
        "--log", help="log URL (default DATA/log): a folder or nats://host:port/STREAM/P"
    )
    pj.add_argument("--rebuild", action="store_true", help="drop the stores and project from seq 1")
    pj.add_argument(
        "--verify",
        action="store_true",
        help="project the log again into a throwaway store up to the stores' position and "
        "compare every row (exit 1 when a row differs; the stores are only read)",
    )
    pj.add_argument("--pg-dsn", help="PostgreSQL DSN (instead of SQLite/DuckDB files)")
    pj.add_argument("--only", choices=("registry", "reporting"))
    pj.add_argument("--batch-frames", type=int, default=None, help="records per transaction")
    pj.add_argument("--progress", action="store_true", help="print a line per committed batch")
    pj.add_argument("--json", action="store_true")
    pj.set_defaults(func=_project)

    rp = sub.add_parser("report", help="build a bureau report from the reporting store")
    rp.add_argument("name", choices=tuple(REPORTS))
    rp.add_argument("--data", required=True, help="data folder (holds log/)")
    rp.add_argument(
        "--log", help="log URL (default DATA/log): a folder or nats://host:port/STREAM/P"
    )
    rp.add_argument("--month", help="YYYY-MM (default: the month of the latest data)")
    rp.add_argument("--from", dest="date_from", help="first day YYYY-MM-DD (with --to)")
    rp.add_argument("--to", dest="date_to", help="last day YYYY-MM-DD, inclusive")
    rp.add_argument("--region", default="", help="GB/T 2260 region prefix (2, 4 or 6 digits)")
    rp.add_argument("--station", default="", help="one station id")
    rp.add_argument("--level", default="city", choices=tuple(LEVELS), help="group regions by")
    rp.add_argument("--format", required=True, choices=("csv", "xlsx", "html", "json", "geojson"))
    rp.add_argument("--out", required=True, help="output file")
    rp.add_argument("--pg-dsn", help="reporting store in PostgreSQL")
    rp.add_argument("--rules", help="stars: assessment rules JSON (default: Quanzhou)")
    rp.add_argument("--manual", help="stars: manual items, JSON or CSV (station_id,item,points)")
    rp.add_argument("--no-catch-up", action="store_true", help="do not read the log first")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=_report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lingong", description="lingong stores and reports")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
