"""`lingong bench morning` and `lingong bench peers` (the peak-morning load benchmarks),
`lingong bench stores` (projection throughput into the stores) and `lingong bench http`
(check-ins and postings over loopback HTTP).

Owns: their argument parsing (added to the `bench` group that `lingong.cli` builds, or
a new one), the text report (or with `--json` the JSON document instead, on stdout), the
`--json-out FILE` document and the `--png FILE` chart (matplotlib, Agg backend). The work
lives in `bench.morning_bench`, `bench.peers`, `bench.stores_bench` and `bench.http_bench`.

Invariants: imports are lazy (the parser is built on every `lingong` start); figures are
printed as measured, never adjusted. Exit 0 on success, 1 when a check fails (a digest
mismatch, a peer not making lingong's offers, a required peer's server missing).
Limits: every peer is required: PostGIS comes from the machine's PostgreSQL with Debian's
package (see `bench.peers.pg_geo`), and a peer that cannot start fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any


def _bench_group(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    parser = sub.choices.get("bench")
    if parser is None:
        parser = sub.add_parser("bench", help="benchmarks")
        return parser.add_subparsers(dest="bench_cmd", required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="bench_cmd", required=True)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from bench.replay_bench import add_parser as add_replay

    group = _bench_group(sub)
    add_replay(group)
    m = group.add_parser("morning", help="a peak morning through the engine, and a scaling curve")
    m.add_argument("--scale", default="city", choices=("city", "province", "nation"))
    m.add_argument("--workers", type=int, help="registered workers (default 20,000 per city)")
    m.add_argument("--postings", type=int, help="expected postings (default workers / 5)")
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--batch", type=int, default=512, help="commands per group commit")
    m.add_argument("--no-fsync", action="store_true", help="log run without fsync")
    m.add_argument("--no-log", action="store_true", help="skip the run through the file log")
    m.add_argument(
        "--curve",
        default="10000,100000,1000000",
        help="registered workers per scaling point, comma-separated ('none' to skip; "
        "the full curve is 10000,100000,1000000,10000000)",
    )
    m.add_argument("--curve-scale", default="nation", choices=("city", "province", "nation"))
    m.add_argument("--window", type=int, default=20_000, help="commands per curve point")
    m.add_argument("--budget-s", type=float, default=1800.0, help="engine time cap per run")
    m.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    m.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    m.add_argument("--png", metavar="FILE", help="write a chart (PNG)")
    m.set_defaults(func=_morning)
    p = group.add_parser("peers", help="lingong against Redis, PostgreSQL, BallTree, numpy")
    p.add_argument("--scale", default="city", choices=("city", "province", "nation"))
    p.add_argument("--workers", type=int, help="registered workers (default 20,000 per city)")
    p.add_argument("--postings", type=int, help="expected postings (default workers / 5)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--peers", default="redis,postgres,postgis,balltree,numpy", help="comma-separated"
    )
    p.add_argument("--budget-s", type=float, default=1800.0, help="engine time cap per system")
    p.add_argument("--json", action="store_true", help="the rows as a JSON list on stdout")
    p.add_argument("--json-out", metavar="FILE", help="also write the rows as a JSON list")
    p.add_argument("--png", metavar="FILE", help="write a chart (PNG)")
    p.set_defaults(func=_peers)
    d = group.add_parser("days", help="consecutive mornings of one city in one process")
    d.add_argument("--days", type=int, default=30)
    d.add_argument("--workers", type=int, help="registered workers (default 20,000)")
    d.add_argument("--postings", type=int, help="expected postings a day (default workers / 5)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    d.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    d.set_defaults(func=_days)
    s = group.add_parser("stores", help="projection into SQLite, DuckDB and PostgreSQL")
    s.add_argument("--workers", type=int, default=20_000, help="registered workers")
    s.add_argument("--postings", type=int, default=4_000, help="expected postings")
    s.add_argument("--employers", type=int, default=400)
    s.add_argument("--stations", type=int, default=8, help="stations per city")
    s.add_argument("--scale", default="province", choices=("city", "province", "nation"))
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--log", metavar="DIR", help="project this log instead of generating one")
    s.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    s.add_argument("--pg-dsn", help="PostgreSQL server (default: LINGONG_PG_DSN or embedded)")
    s.add_argument("--no-reports", action="store_true", help="skip building the reports")
    s.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    s.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    s.set_defaults(func=_stores)
    h = group.add_parser("http", help="check-ins and postings over loopback HTTP, fsync on")
    h.add_argument("--checkins", type=int, default=20_000)
    h.add_argument("--postings", type=int, default=2_000)
    h.add_argument("--concurrency", type=int, default=32)
    h.add_argument("--no-fsync", action="store_true", help="do not fsync the log")
    h.add_argument("--seed", type=int, default=7)
    h.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    h.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    h.set_defaults(func=_http)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import numba
    import numpy as np
    import sklearn

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "scikit_learn": sklearn.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": _commit(),
    }


def _commit() -> str:
    """`git describe --always --dirty` of the work tree the figures came from."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _write_json(path: str, obj: Any) -> None:
    Path(path).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _fmt(x: float | None, nd: int = 0) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


# ------------------------------------------------------------------ stores -----------


def _stores(args: argparse.Namespace) -> int:
    from bench.stores_bench import format_text, run

    info = machine()
    try:
        out = run(
            workers=args.workers, postings=args.postings, employers=args.employers,
            stations_per_city=args.stations, scale=args.scale, seed=args.seed,
            with_pg=not args.no_pg, pg_dsn=args.pg_dsn, log_dir=args.log,
            formats=() if args.no_reports else ("xlsx", "html"), progress=_say,
        )  # fmt: skip
    except AssertionError as exc:  # a store's rows differ from the log's
        _say(f"bench stores: {exc}")
        return 1
    out["machine"] = info
    doc = {**out["headline"], **{k: v for k, v in out.items() if k != "headline"}}
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    else:
        print(format_text(out))
    if args.json_out:
        _write_json(args.json_out, doc)
    return 0


# ------------------------------------------------------------------ http -------------


def _http(args: argparse.Namespace) -> int:
    from bench.http_bench import run_http_bench

    info = machine()
    out = run_http_bench(
        args.checkins, args.postings, args.concurrency, fsync=not args.no_fsync,
        seed_=args.seed,
    )  # fmt: skip
    out["machine"] = info
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(
            f"lingong bench http — {out['checkins']:,} check-ins, {out['postings']:,} postings, "
            f"concurrency {out['concurrency']}, fsync {'on' if out['fsync'] else 'off'}\n"
            f"  check-ins: {out['checkins_per_s']:,.0f}/s, p50 {out['checkin_p50_ms']} ms, "
            f"p99 {out['checkin_p99_ms']} ms, server CPU {out['checkin_server_cpu_us']} µs "
            f"each (client {out['checkin_client_cpu_us']} µs)\n"
            f"  postings:  {out['postings_per_s']:,.0f}/s, p50 {out['posting_p50_ms']} ms, "
            f"p99 {out['posting_p99_ms']} ms, server CPU {out['posting_server_cpu_us']} µs "
            f"each (client {out['posting_client_cpu_us']} µs)\n"
            f"  answers checked: {out['verified']} (every status 201, one record per request)"
        )
    if args.json_out:
        _write_json(args.json_out, out)
    return 0 if out["verified"] else 1


# ------------------------------------------------------------------ days -------------


def _days(args: argparse.Namespace) -> int:
    from bench.days_bench import run_days

    info = machine()
    out = run_days(
        days=args.days, workers=args.workers, postings=args.postings, seed=args.seed,
        progress=_say,
    )  # fmt: skip
    out["machine"] = info
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"lingong bench days — {out['workers']:,} registered workers, seed {out['seed']}")
        print(
            f"  {'day':>4}{'events':>10}{'CPU s':>8}{'events/CPU-s':>14}{'live MiB':>10}{'RSS MB':>8}"
        )
        for r in out["days"]:
            print(
                f"  {r['day']:>4}{r['events']:>10,}{r['cpu_s']:>8.2f}{r['events_per_cpu_s']:>14,.0f}"
                f"{r['live_bytes'] / 2**20:>10.2f}{r['rss_mb']:>8.0f}"
            )
        print(
            f"  last/first: speed {out['speed_ratio']:.3f}, live bytes "
            f"{out['live_bytes_ratio']:.3f}, RSS {out['rss_ratio']:.3f}; replay digest "
            + ("matches" if out["replay_digest_matches"] else "DIFFERS")
            + f"; allocator {out['allocator']}"
        )
        print(
            f"  median of the last 5 days / first 5: speed {out['speed_ratio_median5']:.3f};"
            f" last / day {out['window_full_day']} (settlement window full): live bytes "
            f"{out['live_bytes_ratio_after_window']:.3f}, RSS {out['rss_ratio_after_window']:.3f}"
        )
    if args.json_out:
        _write_json(args.json_out, out)
    return 0 if out["replay_digest_matches"] else 1


# ------------------------------------------------------------------ morning ----------


def _morning(args: argparse.Namespace) -> int:
    from bench.morning_bench import run_curve, run_morning

    info = machine()
    _say(f"morning: {args.scale} ...")
    out = run_morning(
        scale=args.scale,
        workers=args.workers,
        postings=args.postings,
        seed=args.seed,
        batch=args.batch,
        fsync=not args.no_fsync,
        with_log=not args.no_log,
        budget_s=args.budget_s,
    )
    points = [] if args.curve in ("", "none") else [int(x) for x in args.curve.split(",")]
    out["curve"] = run_curve(
        points, seed=args.seed, window=args.window, scale=args.curve_scale,
        budget_s=args.budget_s, progress=_say,
    )  # fmt: skip
    out["machine"] = info
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(format_morning(out))
    if args.json_out:
        _write_json(args.json_out, out)
    if args.png:
        morning_chart(out, args.png)
    ok = out["replay_digest_matches"] and out.get("file_log", {}).get("digest_matches", True)
    return 0 if ok and all(p.get("ran") for p in out["curve"]) else 1


def _row(label: str, s: dict[str, Any]) -> str:
    return (
        f"  {label:<18}{s['commands']:>9,}{s['events']:>9,}{s['engine_s']:>9.2f}"
        f"{s['events_per_s']:>11,.0f}{s['decision_p50_us']:>9,.0f}{s['decision_p99_us']:>9,.0f}"
        f"{s['decision_p999_us']:>10,.0f}{s['decision_max_us']:>9,.0f}{s['cpu_s']:>8.2f}"
    )


def format_morning(out: dict[str, Any]) -> str:
    mc = out["machine"]
    lines = [
        f"lingong bench morning — {out['scale']}, {out['registered_workers']:,} registered "
        f"workers, seed {out['seed']}",
        f"machine: {mc['nproc']} x {mc['cpu']}, {mc['mem_gib']} GiB, Python {mc['python']}, "
        f"numba {mc['numba']}, load average {mc['loadavg_at_start']}",
        f"  {'run':<18}{'commands':>9}{'events':>9}{'engine s':>9}{'events/s':>11}"
        f"{'p50 µs':>9}{'p99 µs':>9}{'p99.9 µs':>10}{'max µs':>9}{'cpu s':>8}",
        _row("in process setup", out["in_process"]["setup"]),
        _row("in process morning", out["in_process"]["morning"]),
    ]
    log = out.get("file_log")
    if log:
        lines += [_row("file log setup", log["setup"]), _row("file log morning", log["morning"])]
        fl = log["morning"].get("flushes", {})
        lines.append(
            f"  group commit: {log['batch']} commands per batch, fsync {log['fsync']}; "
            f"flush p50 {_fmt(fl.get('p50_us'))} µs, p99 {_fmt(fl.get('p99_us'))} µs; "
            f"log {log['log_bytes'] / 2**20:,.1f} MiB; same digest as in process: "
            f"{log['digest_matches']}"
        )
    lines.append(
        f"memory: peak RSS {out['peak_rss_mb']:,.0f} MB; engine state after the morning "
        f"{out['state_bytes'] / 2**20:,.1f} MiB = {out['state_bytes_per_worker']:,.0f} B per "
        f"registered worker (worker columns {out['worker_arrays_bytes_per_worker']:,.0f} B); "
        f"replay digest matches: {out['replay_digest_matches']}"
    )
    if out["curve"]:
        lines += [
            "scaling curve (bulk-built population, crowd waiting at 06:30, then a window "
            "of commands through Engine.execute):",
            f"  {'registered':>11}{'waiting':>10}{'window':>8}{'sim s':>8}{'events/s':>10}"
            f"{'p50 µs':>9}{'p99 µs':>10}{'posting p99':>12}{'RSS B/w':>9}{'peak MB':>9}"
            f"{'build s':>9}",
        ]
        for p in out["curve"]:
            if not p.get("ran"):
                lines.append(f"  {p['registered_workers']:>11,}  did not run: {p['error']}")
                continue
            post = p["by_command"].get("SubmitJob", {}).get("p99_us")
            lines.append(
                f"  {p['registered_workers']:>11,}{p['waiting_at_0630']:>10,}"
                f"{p['window_commands']:>8,}{p['window_sim_s']:>8,.0f}{p['events_per_s']:>10,.0f}"
                f"{p['decision_p50_us']:>9,.0f}{p['decision_p99_us']:>10,.0f}{_fmt(post):>12}"
                f"{p['rss_bytes_per_worker']:>9,.0f}{p['peak_rss_mb']:>9,.0f}{p['build_s']:>9,.0f}"
            )
    return "\n".join(lines)


def morning_chart(out: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [p for p in out["curve"] if p.get("ran")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    labels = ["in process"] + (["file log"] if out.get("file_log") else [])
    runs = [out["in_process"]["morning"]] + (
        [out["file_log"]["morning"]] if "file_log" in out else []
    )
    xs = range(len(runs))
    ax.bar([x - 0.2 for x in xs], [r["decision_p50_us"] for r in runs], 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], [r["decision_p99_us"] for r in runs], 0.4, label="p99")
    ax.set_xticks(list(xs), labels)
    ax.set_yscale("log")
    ax.set_ylabel("decision latency (µs)")
    ax.set_title(f"{out['scale']} morning, {out['registered_workers']:,} workers")
    ax.legend()
    if pts:
        n = [p["registered_workers"] for p in pts]
        ax = axes[1]
        ax.plot(n, [p["decision_p50_us"] for p in pts], "o-", label="p50 all commands")
        ax.plot(n, [p["decision_p99_us"] for p in pts], "o-", label="p99 all commands")
        sub = [p["by_command"].get("SubmitJob", {}).get("p99_us", float("nan")) for p in pts]
        ax.plot(n, sub, "s--", label="p99 postings")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("registered workers")
        ax.set_ylabel("decision latency (µs)")
        ax.set_title("peak window from 06:30")
        ax.legend()
        ax = axes[2]
        ax.plot(n, [p["events_per_s"] for p in pts], "o-", color="C2", label="events/s")
        ax.set_xscale("log")
        ax.set_xlabel("registered workers")
        ax.set_ylabel("events/s (window)", color="C2")
        ax2 = ax.twinx()
        ax2.plot(n, [p["rss_bytes_per_worker"] for p in pts], "s--", color="C3")
        ax2.set_ylabel("RSS bytes per registered worker", color="C3")
        ax.set_title("throughput and memory")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ peers ------------


def _peers(args: argparse.Namespace) -> int:
    from bench.peers.run import run_peers

    info = machine()
    rows = run_peers(
        scale=args.scale,
        workers=args.workers,
        postings=args.postings,
        seed=args.seed,
        peers=[p for p in args.peers.split(",") if p],
        budget_s=args.budget_s,
        progress=_say,
    )
    doc = [{k: v for k, v in r.items() if k != "events_hash"} for r in rows]
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    else:
        print(format_peers(rows, info))
    if args.json_out:
        _write_json(args.json_out, doc)
    if args.png:
        peers_chart(rows, args.png)
    bad = [r for r in rows if not r["same_offers"]]
    return 1 if bad else 0


def format_peers(rows: list[dict[str, Any]], mc: dict[str, Any]) -> str:
    lines = [
        f"lingong bench peers — {rows[0]['workload']}",
        f"machine: {mc['nproc']} x {mc['cpu']}, {mc['mem_gib']} GiB, Python {mc['python']}, "
        f"load average {mc['loadavg_at_start']}",
        f"  {'system':<24}{'events/s':>10}{'p50 µs':>8}{'p99 µs':>9}{'search p50':>11}"
        f"{'search p99':>11}{'update p50':>11}{'cand/q':>8}{'lingong x':>10}  same offers",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"  {r['name']:<24}not run: {r['error']}")
            continue
        lines.append(
            f"  {r['name']:<24}{r['events_per_s']:>10,.0f}{r['decision_p50_us']:>8,.0f}"
            f"{r['decision_p99_us']:>9,.0f}{r['search_p50_us']:>11,.0f}{r['search_p99_us']:>11,.0f}"
            f"{r['update_p50_us']:>11,.1f}{r['candidates_per_query']:>8,.0f}"
            f"{_fmt(r['lingong_speedup'], 2):>10}  {r['same_offers']}"
        )
    lines.append(
        "  servers: " + "; ".join(f"{r['name']}: {r['server']}" for r in rows if "server" in r)
    )
    return "\n".join(lines)


def peers_chart(rows: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "error" not in r]
    names = [r["name"] for r in ok]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    axes[0].barh(names, [r["events_per_s"] for r in ok], color="C0")
    axes[0].set_xlabel("events/s (whole engine, engine time)")
    axes[0].invert_yaxis()
    axes[1].barh(names, [r["search_p50_us"] for r in ok], color="C1", label="p50")
    axes[1].barh(names, [r["search_p99_us"] for r in ok], color="C1", alpha=0.35, label="p99")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("candidate search per posting (µs)")
    axes[1].invert_yaxis()
    axes[1].legend()
    fig.suptitle(f"same morning, same offers: {rows[0]['workload']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
