"""The `lingong` command line: the root of every subcommand.

Owns: argument parsing and dispatch for every subcommand; each subcommand's work lives
in its own module (demo, log, replay, report, bench, serve ...), imported lazily so a
small command starts fast. This is the top layer: it may import every package below it
(`bench`, `sim`, `replay`, `adapters`, `engine`); nothing below it imports it.

Invariants: exit 0 on success, 1 on a failed check (verify divergence, corrupt log),
2 on bad usage; machine output (`--json`, always a flag) goes to stdout as one JSON
document and nothing else does: without it, output is text for people. Readers never
create a folder (a missing one is exit 2). Before a subcommand that runs the engine,
`lingong.firstrun` says on stderr when numba has to compile, and compiles. `lingong demo`
refuses a folder that is not empty unless `--continue`; its date defaults to today in
Asia/Shanghai (this layer may read the clock; the engine never does).
Limits: none beyond the subcommands'.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

Handler = Callable[[argparse.Namespace], int]
_EXTRA: list[Callable[[argparse._SubParsersAction], None]] = []
# modules that add subcommands through `add_parsers(sub)` (imported when the parser is built)
SUBCOMMAND_MODULES = (
    "lingong.serve",
    "replay.train",
    "adapters.stores.cli",
    "adapters.http.cli",
    "adapters.nats.cli",
    "replay.cli",
    "bench.cli",
    "sim.cli",
    "lingong.operators",  # after replay.train: it adds `policy set|show` to that group
)


def register(add: Callable[[argparse._SubParsersAction], None]) -> None:
    """Let a module add its subcommands (used by later adapters)."""
    _EXTRA.append(add)


def _print_json(obj: object) -> None:
    sys.stdout.write(msgspec.json.encode(obj).decode() + "\n")


# ------------------------------------------------------------------ demo -------------


def today(now_ms: int | None = None) -> str:
    """Today's date in Asia/Shanghai (the CLI may read the clock; the engine never does)."""
    from engine.geo import local_day

    return local_day(time.time_ns() // 1_000_000 if now_ms is None else now_ms)


def _refuse(command: str, message: str) -> int:
    print(f"lingong {command}: {message}", file=sys.stderr)
    return 2


def _log_records(log: Path) -> int:
    from adapters.log.filelog import inspect_log

    try:
        return int(inspect_log(log).get("last_seq") or 0)
    except (OSError, ValueError):
        return 0


def _demo(args: argparse.Namespace) -> int:
    from sim.demo import format_summary, run_demo
    from sim.morning import Sizes

    data = args.data or tempfile.mkdtemp(prefix="lingong-demo-")
    folder = Path(data)
    if folder.is_dir() and any(folder.iterdir()):
        records = _log_records(folder / "log") if (folder / "log").is_dir() else 0
        if not args.resume:
            held = f"a log of {records} records" if records else "files but no lingong log"
            return _refuse(
                "demo",
                f"{data} is not empty (it holds {held}). A demo starts a new log in an empty "
                f"folder: remove it (rm -rf {data}), give another --data, or add --continue "
                "to run another morning into this log.",
            )
        if not records and not args.nats:
            return _refuse("demo", f"--continue: {data} holds no lingong log to continue")
        print(
            f"lingong demo: continuing the log in {data} ({records} records): another "
            "morning, after the last one in the log; stations, employers and workers "
            "already registered are not registered again.",
            file=sys.stderr,
        )
    sizes = Sizes(
        workers=args.workers,
        postings=args.postings,
        employers=max(10, args.postings // 4),
        stations_per_city=args.stations,
    )
    date = args.date or today()
    kwargs = {"date": date, "seed": args.seed, "scale": args.scale, "sizes": sizes}
    kwargs["after_log"] = args.resume and not args.date
    try:
        if args.nats:  # the JetStream log, every event published (the stores need DATA/log)
            from sim.demo_nats import format_nats_summary, run_demo_nats

            nsum = run_demo_nats(args.nats, data, **kwargs)  # type: ignore[arg-type]
            _print_json(nsum) if args.json else print(format_nats_summary(nsum))
            return 0
        summary = run_demo(data, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        return _refuse("demo", str(exc))
    stores = {} if args.no_stores else _project_stores(data)
    if args.json:
        _print_json({**msgspec.structs.asdict(summary), "stores": stores})
        return 0
    print(format_summary(summary))
    for name, st in stores.items():
        print(
            f"  {name + ' store':<18} {st.get('backend')} in {data}: up to record "
            f"{st.get('to_seq')} ({st.get('rows')} rows written now)"
        )
    held = "The log is" if args.no_stores else "The log and stores are"
    print(
        f"\n{held} in {data}. Next:\n"
        f"  lingong log inspect {data}/log\n"
        f"  lingong replay verify {data}\n"
        f"  lingong serve --demo        (a morning of today on the station boards, live)"
    )
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

    path = Path(args.path)
    if not path.is_dir():
        return _refuse("log inspect", f"no log folder at {path} (give DATA/log)")
    if not any(path.glob("*.seg")) and (path / "log").is_dir():
        path = path / "log"  # a data folder: its log
    if not any(path.glob("*.seg")):
        return _refuse("log inspect", f"no log at {path}: no segment files (*.seg)")
    info = inspect_log(path)
    if args.json:
        print(json.dumps(info, default=_plain, ensure_ascii=False))
    else:
        print(format_inspect(info))
    return 0 if info.get("ok") else 1


MAX_SEGMENT_LINES = 20


def format_inspect(info: dict) -> str:
    """`lingong log inspect` for people: verdict, size, head hash, segments, damage."""
    frames = info.get("frames") or 0
    segments = info.get("segments") or []
    verdict = "OK" if info.get("ok") else "DAMAGED"
    lines = [
        f"log {info.get('directory')}: {verdict}: {frames} frames"
        + (f" (seq {info.get('first_seq')}..{info.get('last_seq')})" if frames else "")
        + f" in {len(segments)} segment{'s' if len(segments) != 1 else ''}, "
        f"{int(info.get('bytes') or 0):,} bytes",
        f"  head hash  {info.get('head_hash')}",
        "             (BLAKE2b chain over every frame; checksums and chain "
        + ("verified)" if info.get("ok") else "checked: see the problem below)"),
    ]
    for seg in segments[:MAX_SEGMENT_LINES]:
        lines.append(
            f"  segment    {seg.get('name')}  seq {seg.get('first_seq')}..{seg.get('last_seq')}"
            f"  {seg.get('frames')} frames  {int(seg.get('bytes') or 0):,} bytes"
        )
    if len(segments) > MAX_SEGMENT_LINES:
        lines.append(f"  ... and {len(segments) - MAX_SEGMENT_LINES} more segments (--json)")
    if info.get("torn_tail"):
        lines.append(
            f"  torn tail  {info['torn_tail']} (an unfinished last append; the writer cuts "
            "it when it opens the log)"
        )
    if info.get("problem"):
        lines.append(f"  problem    {info['problem']}")
    return "\n".join(lines)


def _plain(obj: object) -> object:
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, msgspec.Struct):
        return msgspec.structs.asdict(obj)
    if hasattr(obj, "__dict__"):
        return vars(obj)
    return str(obj)


def _human(obj: object, indent: int = 0) -> str:
    """A result dict as indented `name  value` lines (what a benchmark prints without --json)."""
    pad = "  " * indent
    if isinstance(obj, dict):
        width = max((len(str(k)) for k in obj), default=0)
        lines = []
        for k, v in obj.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}")
                lines.append(_human(v, indent + 1))
            else:
                lines.append(f"{pad}{str(k):<{width}}  {_value(v)}")
        return "\n".join(lines)
    if isinstance(obj, list):
        return "\n".join(
            _human(v, indent) if isinstance(v, dict | list) else f"{pad}{_value(v)}" for v in obj
        )
    return f"{pad}{_value(obj)}"


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


# ------------------------------------------------------------------ bench ------------


def _bench_log(args: argparse.Namespace) -> int:
    from bench.log_bench import run_log_bench

    with tempfile.TemporaryDirectory(prefix="lingong-logbench-") as tmp:
        out = run_log_bench(tmp, events=args.events, batch=args.batch, payload_bytes=args.payload)
    _print_json(out) if args.json else print(_human(out))
    return 0


def _bench_bell(args: argparse.Namespace) -> int:
    from bench.bell_bench import run_bell_bench

    out = run_bell_bench(workers=args.workers, jobs=args.jobs, seed=args.seed)
    _print_json(out) if args.json else print(_human(out))
    return 0


def _bench_posting(args: argparse.Namespace) -> int:
    from bench.posting_bench import run_posting_bench

    outs = []
    for n in (int(x) for x in args.workers.split(",")):
        out = run_posting_bench(workers=n, postings=args.postings, seed=args.seed)
        outs.append(out)
        if not args.json:
            print(_human(out), flush=True)
    if args.json:
        _print_json(outs)
    return 0


def _bench_fold(args: argparse.Namespace) -> int:
    from bench.fold_bench import run_fold_bench

    out = run_fold_bench(workers=args.workers, postings=args.postings, seed=args.seed)
    _print_json(out) if args.json else print(_human(out))
    return 0


# ------------------------------------------------------------------ parser -----------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lingong", description="lingong 零工 instant-hire engine")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run a synthetic morning through the embedded log")
    d.add_argument("--data", help="data folder, new or empty (default: a new temporary one)")
    d.add_argument(
        "--date", help="the morning's date, YYYY-MM-DD (default: today in Asia/Shanghai)"
    )
    d.add_argument(
        "--continue",
        dest="resume",
        action="store_true",
        help="run another morning into the log in --data (default date: the day after its "
        "last one, or today)",
    )
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


# subcommands that run the engine (numba kernels); `bench log` does not
KERNEL_COMMANDS = frozenset({"demo", "sim", "serve", "replay", "policy", "station", "nats-engine"})


def uses_kernels(args: argparse.Namespace) -> bool:
    if args.command == "bench":
        return getattr(args, "bench_cmd", "") != "log"
    return args.command in KERNEL_COMMANDS


# Commands that live for days: Python's small-object allocator keeps an arena as long as
# one object in it lives, so a server whose records come and go over weeks holds more
# and more part-empty arenas (measured: `bench days`, 19,805 workers: RSS +76 MB from day
# 8 to day 30 with the live set flat; with the C allocator and `malloc_trim`, flat).
LONG_RUNNING = (("serve",), ("bench", "days"))


def _long_running_allocator(argv: Sequence[str]) -> None:
    """Re-run a long-running command under the C allocator (`PYTHONMALLOC=malloc`), unless
    the environment chose one; only from the command line (`argv` is `sys.argv`)."""
    words = [a for a in argv if not a.startswith("-")]
    if "PYTHONMALLOC" in os.environ or not any(
        tuple(words[: len(cmd)]) == cmd for cmd in LONG_RUNNING
    ):
        return
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "lingong", *argv], env)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        _long_running_allocator(sys.argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if uses_kernels(args):
            from lingong.firstrun import prepare_kernels

            prepare_kernels()  # one line on stderr and a compile when the cache is cold
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lingong ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
