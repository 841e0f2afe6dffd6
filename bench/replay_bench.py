"""Replay benchmark: how fast `rebuild` and `verify` go over a synthetic morning, and why.

Owns: `run_replay_bench(data_dir)` and `lingong bench replay` (its parser, added to the
`bench` group by `bench.cli`). Generating the morning with `sim.demo` first when
`data_dir` has no log (sized for about `events` events; kept for the next run), it
times, on the same log:

- reading (`read_blocks`: crcs, seqs; then with the hash chain too) and decoding records
  (`adapters.log.records`, one msgspec call per block);
- `replay.rebuild.rebuild` end to end (read + decode + the bulk fold of
  `replay.fastfold`), and the plain fold (`Engine.apply_record` per record) on the same
  decoded records;
- `replay.verify.verify` end to end (one pass: crcs, chain, fact re-admission,
  re-execution);

and checks the answers: verify passes, and rebuild, the plain fold, verify and the writer
(when it was generated here) reach the same state digest. Rates are per wall-clock second
and per CPU second of the process (on a shared machine the second is the fair figure);
the cyclic garbage collector is paused around each timed step, as replay does. With
`profile=True` it adds the top functions of a cProfile run of the rebuild and of verify.

Run: `lingong bench replay --events 1000000 [--json] [--json-out FILE] [--data DIR]`
(`--json`: the JSON document on stdout instead of the text, the command line's rule).

Limits: the decoded records of the whole log are held in memory for the plain fold; the
figures are single-threaded, on whatever else the machine is doing. Imports are lazy (the
parser is built on every `lingong` start).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EVENTS_PER_WORKER = 8.7  # a generated morning: about this many events per registered worker


class _Clock:
    """Wall and CPU seconds of one call (the machine may be shared: CPU time is the fair one)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name: str, fn):
        from replay.source import bulk

        wall, cpu = time.perf_counter(), time.process_time()
        with bulk():
            out = fn()
        self.wall[name] = time.perf_counter() - wall
        self.cpu[name] = time.process_time() - cpu
        return out

    def rates(self, name: str, n: int, unit: str = "events") -> dict[str, float]:
        return {
            f"{name}_{unit}_per_s": _rate(n, self.wall[name]),
            f"{name}_{unit}_per_cpu_s": _rate(n, self.cpu[name]),
        }


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def _top(profile: cProfile.Profile, n: int = 15) -> list[str]:
    buf = io.StringIO()
    pstats.Stats(profile, stream=buf).sort_stats("tottime").print_stats(n)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return [ln for ln in lines[start : start + n + 1] if ln]


def generate(data_dir: Path, *, workers: int, postings: int, scale: str, seed: int = 7) -> dict:
    from sim.demo import run_demo
    from sim.morning import Sizes

    sizes = Sizes(workers=workers, postings=postings, employers=max(10, postings // 4))
    s = run_demo(data_dir, sizes=sizes, scale=scale, seed=seed, fsync=False)
    return {
        "events": s.events,
        "records": s.records,
        "digest": s.state_digest,
        "elapsed_s": s.elapsed_s,
    }


def run_replay_bench(
    data_dir: str | Path,
    *,
    events: int | None = None,
    workers: int = 20_000,
    postings: int | None = None,
    scale: str = "city",
    profile: bool = False,
) -> dict[str, Any]:
    from adapters.log.reader import open_log_reader
    from adapters.log.records import read_records
    from engine.core import Engine
    from replay.rebuild import rebuild
    from replay.source import bulk
    from replay.verify import verify

    data = Path(data_dir)
    written = None
    if events is not None:
        workers = max(100, round(events / EVENTS_PER_WORKER))
    postings = postings or max(20, workers // 5)
    if not (data / "log").is_dir() and not any(data.glob("*.seg")):
        written = generate(data, workers=workers, postings=postings, scale=scale)
    reader = open_log_reader(data)
    out: dict[str, Any] = {"log": reader.location, "generated": written}
    clock = _Clock()

    def read(verify_chain: bool) -> int:
        return sum(b.count for b in reader.read_blocks(verify_chain=verify_chain))

    n_frames = clock.run("read", lambda: read(False))
    clock.run("read_chain", lambda: read(True))
    records = clock.run("decode", lambda: [p for b in read_records(reader) for p in b.pairs()])
    n_events = sum(len(r.events) for _, r in records)
    out.update(records=len(records), events=n_events, log_bytes=reader.log_bytes)
    out.update(clock.rates("read", n_frames, "records"))
    out.update(clock.rates("read_chain", n_frames, "records"))
    out.update(clock.rates("decode", n_events))

    def plain_fold() -> Engine:
        engine = Engine()
        for seq, rec in records:
            engine.apply_record(seq, rec)
        return engine

    plain = clock.run("plain_fold", plain_fold)
    out.update(clock.rates("plain_fold", n_events))
    rb = clock.run("rebuild", lambda: rebuild(reader))
    out.update(clock.rates("rebuild", n_events))
    vr = clock.run("verify", lambda: verify(reader))
    out.update(clock.rates("verify", n_events))
    out["rebuild_cpu_s"] = round(clock.cpu["rebuild"], 2)
    out["verify_cpu_s"] = round(clock.cpu["verify"], 2)
    out["verify_ok"] = vr.ok
    out["seconds_wall"] = {k: round(v, 2) for k, v in clock.wall.items()}
    out["seconds_cpu"] = {k: round(v, 2) for k, v in clock.cpu.items()}
    digests = {rb.digest, vr.digest, plain.digest()} | ({written["digest"]} if written else set())
    out["digests_agree"] = len(digests) == 1
    if not (vr.ok and out["digests_agree"]):
        raise AssertionError(f"replay answers disagree: verify {vr.failure}, digests {digests}")
    if profile:
        for name, fn in (("rebuild", lambda: rebuild(reader)), ("verify", lambda: verify(reader))):
            p = cProfile.Profile()
            with bulk():
                p.runcall(fn)
            out[f"profile_{name}"] = _top(p, 25)
    return out


def format_replay(out: dict[str, Any]) -> str:
    lines = [
        f"lingong bench replay — {out['log']}: {out['records']:,} records, "
        f"{out['events']:,} events, {out['log_bytes'] / 2**20:,.1f} MiB",
    ]
    for step, unit in (
        ("read", "records"),
        ("read_chain", "records"),
        ("decode", "events"),
        ("plain_fold", "events"),
        ("rebuild", "events"),
        ("verify", "events"),
    ):
        lines.append(
            f"  {step:<11} {out[f'{step}_{unit}_per_s']:>12,.0f} {unit}/s"
            f"  {out[f'{step}_{unit}_per_cpu_s']:>12,.0f} {unit}/cpu-s"
            f"  {out['seconds_cpu'][step]:>7.2f} cpu-s"
        )
    lines.append(f"  verify ok: {out['verify_ok']}; digests agree: {out['digests_agree']}")
    for key, value in out.items():
        if key.startswith("profile_"):
            lines += [f"{key}:", *("  " + ln for ln in value)]
    return "\n".join(lines)


def _bench_replay(args: argparse.Namespace) -> int:
    def run(data: str) -> dict[str, Any]:
        return run_replay_bench(data, events=args.events, scale=args.scale, profile=args.profile)

    if args.data:
        out = run(args.data)
    else:
        with tempfile.TemporaryDirectory(prefix="lingong-replaybench-") as tmp:
            out = run(tmp)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out) if args.json else format_replay(out))
    return 0 if out["verify_ok"] and out["digests_agree"] else 1


def add_parser(group: argparse._SubParsersAction) -> None:
    r = group.add_parser("replay", help="rebuild and verify rates over a generated morning")
    r.add_argument("--events", type=int, default=1_000_000, help="about this many events")
    r.add_argument("--data", help="data folder: reused when it holds a log, else generated")
    r.add_argument("--scale", default="city", choices=("city", "province", "nation"))
    r.add_argument("--profile", action="store_true", help="add cProfile top functions")
    r.add_argument("--json", action="store_true", help="the results as JSON on stdout")
    r.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    r.set_defaults(func=_bench_replay)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.replay_bench", description=__doc__)
    add_parser(ap.add_subparsers(dest="cmd", required=True))
    args = ap.parse_args(["replay", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
