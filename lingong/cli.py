"""The `lingong` command line: the root of every subcommand.

Owns: argument parsing and dispatch for every subcommand; each subcommand's work lives
in its own module (demo, log, replay, report, bench, serve ...), imported lazily so a
small command starts fast. This is the top layer: it may import every package below it
(`bench`, `sim`, `replay`, `adapters`, `engine`); nothing imports it.

Invariants: exit 0 on success, 1 on a failed check (verify divergence, corrupt log),
2 on bad usage; machine output (`--json`) goes to stdout as one JSON document.
Limits: none beyond the subcommands'.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from collections.abc import Callable, Sequence

import msgspec

Handler = Callable[[argparse.Namespace], int]
_EXTRA: list[Callable[[argparse._SubParsersAction], None]] = []
# modules that add subcommands through `add_parsers(sub)` (imported when the parser is built)
SUBCOMMAND_MODULES = (
    "adapters.shell.serve",
    "replay.train",
    "adapters.stores.cli",
    "adapters.http.cli",
    "adapters.nats.cli",
    "replay.cli",
    "bench.cli",
    "lingong.operators",  # after replay.train: it adds `policy set|show` to that group
)


def register(add: Callable[[argparse._SubParsersAction], None]) -> None:
    """Let a module add its subcommands (used by later adapters)."""
    _EXTRA.append(add)


def _print_json(obj: object) -> None:
    sys.stdout.write(msgspec.json.encode(obj).decode() + "\n")


# ------------------------------------------------------------------ demo -------------


def _demo(args: argparse.Namespace) -> int:
    from sim.demo import format_summary, run_demo
    from sim.morning import Sizes

    data = args.data or tempfile.mkdtemp(prefix="lingong-demo-")
    sizes = Sizes(
        workers=args.workers,
        postings=args.postings,
        employers=max(10, args.postings // 4),
        stations_per_city=args.stations,
    )
    if args.nats:  # the JetStream log, every event published (the stores need DATA/log)
        from sim.demo_nats import format_nats_summary, run_demo_nats

        nsum = run_demo_nats(
            args.nats, data, date=args.date, seed=args.seed, scale=args.scale, sizes=sizes
        )
        _print_json(nsum) if args.json else print(format_nats_summary(nsum))
        return 0
    summary = run_demo(data, date=args.date, seed=args.seed, scale=args.scale, sizes=sizes)
    stores = {} if args.no_stores else _project_stores(data)
    if args.json:
        _print_json({**msgspec.structs.asdict(summary), "stores": stores})
    else:
        print(format_summary(summary))
        for name, st in stores.items():
            print(
                f"  {name + ' store':<18} {st.get('backend')} in {data}: up to record "
                f"{st.get('to_seq')} ({st.get('rows')} rows written now)"
            )
        print(f"\nThe log and stores are in {data}; try: lingong log inspect {data}/log")
    return 0


def _project_stores(data: str) -> dict:
    """Bring the registry (SQLite) and reporting (DuckDB) projections up to date."""
    from adapters.stores import project_data_dir

    out = project_data_dir(data)
    return {
        k: (msgspec.structs.asdict(v) if isinstance(v, msgspec.Struct) else v)
        for k, v in out.items()
    }


# ------------------------------------------------------------------ log --------------


def _log_inspect(args: argparse.Namespace) -> int:
    from adapters.log.filelog import inspect_log

    info = inspect_log(args.path)
    print(json.dumps(info, default=_plain, ensure_ascii=False, indent=None if args.json else 2))
    return 0 if info.get("ok") else 1


def _plain(obj: object) -> object:
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, msgspec.Struct):
        return msgspec.structs.asdict(obj)
    if hasattr(obj, "__dict__"):
        return vars(obj)
    return str(obj)


# ------------------------------------------------------------------ bench ------------


def _bench_log(args: argparse.Namespace) -> int:
    from bench.log_bench import run_log_bench

    with tempfile.TemporaryDirectory(prefix="lingong-logbench-") as tmp:
        out = run_log_bench(tmp, events=args.events, batch=args.batch, payload_bytes=args.payload)
    _print_json(out) if args.json else print(json.dumps(out, indent=2))
    return 0


def _bench_bell(args: argparse.Namespace) -> int:
    from bench.bell_bench import run_bell_bench

    out = run_bell_bench(workers=args.workers, jobs=args.jobs, seed=args.seed)
    _print_json(out) if args.json else print(json.dumps(out, indent=2))
    return 0


def _bench_posting(args: argparse.Namespace) -> int:
    from bench.posting_bench import run_posting_bench

    outs = []
    for n in (int(x) for x in args.workers.split(",")):
        out = run_posting_bench(workers=n, postings=args.postings, seed=args.seed)
        outs.append(out)
        if not args.json:
            print(json.dumps(out))
    if args.json:
        _print_json(outs)
    return 0


def _bench_fold(args: argparse.Namespace) -> int:
    from bench.fold_bench import run_fold_bench

    out = run_fold_bench(workers=args.workers, postings=args.postings, seed=args.seed)
    _print_json(out) if args.json else print(json.dumps(out, indent=2))
    return 0


# ------------------------------------------------------------------ parser -----------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lingong", description="lingong 零工 instant-hire engine")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run a synthetic morning through the embedded log")
    d.add_argument("--data", help="data folder (default: a new temporary folder)")
    d.add_argument("--date", default="2026-11-23", help="the morning's date (YYYY-MM-DD)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--scale", default="city", choices=("city", "province", "nation"))
    d.add_argument("--workers", type=int, default=2000)
    d.add_argument("--postings", type=int, default=400)
    d.add_argument("--stations", type=int, default=6, help="stations per city")
    d.add_argument("--json", action="store_true", help="machine-readable summary")
    d.add_argument("--no-stores", action="store_true", help="skip the registry/reporting stores")
    d.add_argument("--nats", help="run through NATS JetStream at this URL (publishes every event)")
    d.set_defaults(func=_demo)

    lg = sub.add_parser("log", help="the event log").add_subparsers(dest="log_cmd", required=True)
    li = lg.add_parser("inspect", help="segments, frames, head hash; verifies the chain")
    li.add_argument("path", help="the log folder (DATA/log)")
    li.add_argument("--json", action="store_true")
    li.set_defaults(func=_log_inspect)

    b = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_cmd", required=True)
    bl = b.add_parser("log", help="durable appends through group commit")
    bl.add_argument("--events", type=int, default=1_000_000)
    bl.add_argument("--batch", type=int, default=2000)
    bl.add_argument("--payload", type=int, default=120, help="payload bytes")
    bl.add_argument("--json", action="store_true")
    bl.set_defaults(func=_bench_log)
    bf = b.add_parser("fold", help="fold rate of the core (apply only)")
    bf.add_argument("--workers", type=int, default=20000)
    bf.add_argument("--postings", type=int, default=4000)
    bf.add_argument("--seed", type=int, default=7)
    bf.add_argument("--json", action="store_true")
    bf.set_defaults(func=_bench_fold)
    bb = b.add_parser("bell", help="opening bell: assignment time and gain over greedy")
    bb.add_argument("--workers", type=int, default=2000)
    bb.add_argument("--jobs", type=int, default=500)
    bb.add_argument("--seed", type=int, default=11)
    bb.add_argument("--json", action="store_true")
    bb.set_defaults(func=_bench_bell)
    bp = b.add_parser("posting", help="posting decision latency with N checked-in workers")
    bp.add_argument("--workers", default="10000,100000,1000000", help="comma-separated sizes")
    bp.add_argument("--postings", type=int, default=2000)
    bp.add_argument("--seed", type=int, default=5)
    bp.add_argument("--json", action="store_true")
    bp.set_defaults(func=_bench_posting)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a real missing dependency inside the module, not the module itself
            continue
        if module.add_parsers not in _EXTRA:
            _EXTRA.append(module.add_parsers)
    for add in _EXTRA:
        add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
