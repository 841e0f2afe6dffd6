"""`lingong serve [--demo]`: the command line of the server.

Owns: the `serve` subcommand's arguments and what it tells a person: where the data is,
which URLs to open first (board, map, API docs, metrics), and, on a folder with no data,
how to start on a synthetic morning instead (`--demo`). With `--demo` it generates a
morning of today's date (Asia/Shanghai) into a new folder, plays it up to `--demo-from`
(05:55, just before the hubs' opening bell closes) at full speed, then serves with a demo clock that starts there and lets the rest
of the morning happen live (`sim.live`), so the station boards move. The wiring itself
is `adapters.shell.serve.run_server`.

Invariants: `--demo` never writes into a folder that holds data (exit 2, saying so);
the URLs are printed to stdout once the socket listens; notes go to stderr. This module
reads the wall clock (today's date) and the environment (`LINGONG_MAP_TILES`,
`LINGONG_MAP_TILES_DATUM`: the tile server of /map); the engine never does.
Limits: `--demo-speed` at most 1000 (the demo clock's pace against the wall clock).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

DEFAULT_DATA = ".data/serve"


def _has_data(data: Path) -> bool:
    return data.is_dir() and any(data.iterdir())


def _hhmm(text: str) -> tuple[int, int]:
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
        raise ValueError(f"--demo-from must be HH:MM, not {text!r}")
    return int(hh), int(mm)


def _print_urls(data: Path, station: str, region: str, clock_note: str = ""):
    from adapters.shell.serve import server_urls

    def started(host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        base = f"http://{shown}:{port}"
        lines = [f"lingong serve: listening on {base} (data in {data}; Ctrl-C stops)"]
        if clock_note:
            lines.append(f"  {clock_note}")
        for what, url, note in server_urls(base, station):
            lines.append(f"  {what:<9} {url}   ({note})")
        lines.append(
            f"  a token   lingong token create --role auditor --region {region or '42'} "
            f"--data {data}"
        )
        print("\n".join(lines), flush=True)

    return started


def _kek(args: argparse.Namespace) -> bytes | None:
    """The operator's key-encryption key (`--kek-file`, else $LINGONG_KEK), or None."""
    from adapters.shell.pii import KEK_ENV, load_kek

    return load_kek(args.kek_file, os.environ.get(KEK_ENV))


def _map_tiles(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The /map tile server from the options, else the environment, else the default."""
    from adapters.http.map_page import map_tiles_from

    spec = args.map_tiles if args.map_tiles is not None else os.environ.get("LINGONG_MAP_TILES")
    datum = args.map_tiles_datum or os.environ.get("LINGONG_MAP_TILES_DATUM") or None
    return map_tiles_from(spec, datum)


def _serve(args: argparse.Namespace) -> int:
    from adapters.shell.runtime import ManualClock, ReplayFailed
    from adapters.shell.serve import board_station, open_runtime, run_server

    try:
        args.tiles = _map_tiles(args)
    except ValueError as exc:
        print(f"lingong serve: {exc}", file=sys.stderr)
        return 2
    if args.demo:
        return _serve_demo(args)
    data = Path(args.data or DEFAULT_DATA)
    clock = ManualClock(args.clock_ms) if args.clock_ms is not None else None
    try:
        runtime = open_runtime(data, args.nats, args.partition, clock, kek=_kek(args))
    except ValueError as exc:  # a malformed key-encryption key, or one without --nats
        print(f"lingong serve: {exc}", file=sys.stderr)
        return 2
    except ReplayFailed as exc:  # the log holds a record this engine cannot replay
        print(f"lingong serve: {exc}", file=sys.stderr)
        return 2
    state = runtime.engine.state
    if not state.stations:
        print(
            f"lingong serve: {data} holds no stations yet: the engine starts empty. Register "
            "stations through the API (POST /stations, admin token), or stop and run "
            "`lingong serve --demo` to start on a freshly generated morning of today.",
            file=sys.stderr,
            flush=True,
        )
    station = board_station(state)
    region = state.stations[station].region[:4] if station else ""
    now_ms = max(runtime.clock.now_ms(), state.last_ts_ms)
    if station and not any(
        j.status == "open" and j.open_slots > 0 and j.expires_ms > now_ms
        for j in state.jobs.values()
    ):
        print(
            f"lingong serve: no open jobs in {data} at this time (a demo's morning is over "
            "once it has run); `lingong serve --demo` plays a morning of today live.",
            file=sys.stderr,
            flush=True,
        )
    return run_server(
        runtime,
        data_dir=data,
        host=args.host,
        port=args.port,
        tick_ms=args.tick_ms,
        nats=args.nats,
        partition=args.partition,
        map_tiles=args.tiles,
        on_started=_print_urls(data, station, region),
    )


def _serve_demo(args: argparse.Namespace) -> int:
    from adapters.shell.runtime import Runtime
    from adapters.shell.serve import board_station, run_server
    from lingong.cli import today
    from sim.demo import DemoRun
    from sim.live import DemoClock, LiveMorning
    from sim.morning import HOUR_MS, MIN_MS, Morning, Sizes, local_midnight_ms

    if args.nats:
        print("lingong serve: --demo runs on the embedded file log; drop --nats", file=sys.stderr)
        return 2
    try:
        hh, mm = _hhmm(args.demo_from)
        if not 0 < args.demo_speed <= 1000:
            raise ValueError("--demo-speed must be above 0 and at most 1000")
    except ValueError as exc:
        print(f"lingong serve: {exc}", file=sys.stderr)
        return 2
    if args.data and _has_data(Path(args.data)):
        print(
            f"lingong serve: --demo starts on a fresh morning, but {args.data} already holds "
            f"data. Serve it without --demo, or give --demo an empty or new folder "
            f"(or none: a temporary one).",
            file=sys.stderr,
        )
        return 2
    data = Path(args.data or tempfile.mkdtemp(prefix="lingong-serve-demo-"))
    date = args.date or today()
    start_ms = local_midnight_ms(date) + hh * HOUR_MS + mm * MIN_MS
    sizes = Sizes(
        workers=args.demo_workers,
        postings=args.demo_postings,
        employers=max(10, args.demo_postings // 4),
    )
    print(
        f"lingong serve --demo: a synthetic morning of {date}, played up to {args.demo_from} "
        f"into {data} ...",
        file=sys.stderr,
        flush=True,
    )
    runtime = Runtime(data)
    try:
        morning = Morning(seed=args.seed, date=date, sizes=sizes)
        demo = DemoRun(runtime, morning)
        demo.setup()
        demo.play(until_ms=start_ms)
    except BaseException:
        runtime.close()
        raise
    clock = DemoClock(start_ms, args.demo_speed)
    runtime.clock = clock
    state = runtime.engine.state
    station = board_station(state)
    note = (
        f"demo clock: {date} {args.demo_from} (Asia/Shanghai) running at {args.demo_speed:g}x; "
        f"{state.last_seq} records so far, the rest of the morning happens live"
        + ("; the hubs' opening bell closes at 06:00" if (hh, mm) < (6, 0) else "")
    )

    def live(service):  # type: ignore[no-untyped-def]
        return LiveMorning(morning, demo.rest(), service, clock).start()

    return run_server(
        runtime,
        data_dir=data,
        host=args.host,
        port=args.port,
        tick_ms=args.tick_ms,
        on_service=live,
        map_tiles=args.tiles,
        on_started=_print_urls(data, station, morning.cities[0][1][:4], note),
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the engine with the HTTP API and the station board")
    p.add_argument("--data", help=f"data folder: log, keys, stores (default {DEFAULT_DATA}; "
                   "with --demo a new temporary folder)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0: any free port (printed)")
    p.add_argument("--tick-ms", type=int, default=1000, help="time between Tick events")
    p.add_argument("--nats", help="NATS URL: JetStream log, publisher and micro service")
    p.add_argument("--partition", help="city region code (4 digits) this engine owns")
    p.add_argument(
        "--kek-file",
        help="with --nats: key-encryption key (64 hex digits; or $LINGONG_KEK), so per-person "
        "keys live in the replicated JetStream KV bucket and follow the log to a standby",
    )
    # tests: a fixed clock, so a browser test of a real server does not depend on today
    p.add_argument("--clock-ms", type=_epoch_ms, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--map-tiles",
        default=None,
        help="tile URL template of /map ({z} {x} {y}, optional {s}); 'none' for no tiles "
        "(points on a plain grid); default $LINGONG_MAP_TILES, else Amap (GCJ-02)",
    )
    p.add_argument(
        "--map-tiles-datum",
        choices=("wgs84", "gcj02", "bd09"),
        default=None,
        help="datum of those tiles (default $LINGONG_MAP_TILES_DATUM, else gcj02)",
    )
    d = p.add_argument_group("demo", "start on a freshly generated synthetic morning")
    d.add_argument("--demo", action="store_true", help="a synthetic morning, then live")
    d.add_argument("--date", help="the demo morning's date (default: today in Asia/Shanghai)")
    d.add_argument(
        "--demo-from",
        default="05:55",
        help="demo clock start, HH:MM local (the hubs' opening bell closes at 06:00)",
    )
    d.add_argument("--demo-speed", type=float, default=1.0, help="demo clock pace (1 = real)")
    d.add_argument("--demo-workers", type=int, default=2000)
    d.add_argument("--demo-postings", type=int, default=400)
    d.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_serve)


MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01 UTC


def _epoch_ms(text: str) -> int:
    value = int(text)
    if not 0 <= value < MAX_EPOCH_MS:
        raise argparse.ArgumentTypeError("clock-ms: epoch milliseconds before the year 2100")
    return value
