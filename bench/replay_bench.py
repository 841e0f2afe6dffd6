"""Replay benchmark: how fast `verify` and `rebuild` go over a synthetic morning, and why.

Owns: `run_replay_bench(data_dir)`, which (generating the morning with `sim.demo`
first when `data_dir` has no log) times, on the same log:

- reading frames (crc + seq; then with the hash chain too), decoding records
  (`replay.source.decode_batch`);
- folding the decoded records (`Engine.apply_record`), and `replay.rebuild.rebuild`
  end to end (read + batched decode + fold, no chain);
- `replay.verify.verify` end to end (scan + chain + fact re-admission + re-execution), and
  re-execution alone on decoded records;

and checks the answers: verify passes, and rebuild, verify and the writer (when it was
generated here) reach the same state digest. Rates are given per wall-clock second and
per CPU second of the process (on a shared machine the second is the fair figure); the
cyclic garbage collector is paused around each timed step, as replay does. With `profile=True` it adds the top
functions of a cProfile run of re-execution and of the fold, to show where the time goes.

Run: `python -m bench.replay_bench --data DIR [--workers N --postings M --scale province]`.

Limits: everything is held in memory (decoded records of the whole log); the figures are
single-threaded wall-clock on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from pathlib import Path
from typing import Any

from adapters.log.filelog import read_log_batches
from adapters.log.reader import log_folder
from engine import events as e
from engine.core import Engine
from replay.rebuild import rebuild
from replay.source import bulk, decode_batch
from replay.verify import verify


class _Clock:
    """Wall and CPU seconds of one call (the machine may be shared: CPU time is the fair one)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name: str, fn):
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
    workers: int = 20_000,
    postings: int = 4_000,
    scale: str = "city",
    profile: bool = False,
) -> dict[str, Any]:
    data = Path(data_dir)
    written = None
    if not (data / "log").is_dir() and not any(data.glob("*.seg")):
        written = generate(data, workers=workers, postings=postings, scale=scale)
    log = log_folder(data)
    out: dict[str, Any] = {"log": str(log), "generated": written}

    clock = _Clock()
    frames = clock.run(
        "read", lambda: [f for b in read_log_batches(log, verify_chain=False) for f in b]
    )
    clock.run("read_chain", lambda: sum(len(b) for b in read_log_batches(log, verify_chain=True)))
    records = clock.run(
        "decode",
        lambda: [
            r for i in range(0, len(frames), 4096) for r in decode_batch(frames[i : i + 4096])
        ],
    )
    n_events = sum(len(r.events) for r in records)
    step = max(1, len(frames) // 1000)
    assert all(e.decode_record(frames[i][1]) == records[i] for i in range(0, len(frames), step))
    out.update(records=len(records), events=n_events, log_bytes=sum(len(p) + 48 for _, p in frames))
    out.update(clock.rates("read", len(frames), "frames"))
    out.update(clock.rates("read_chain", len(frames), "frames"))
    out.update(clock.rates("decode", n_events))

    def fold() -> Engine:
        engine = Engine()
        for seq, rec in enumerate(records, start=1):
            engine.apply_record(seq, rec)
        return engine

    folded = clock.run("fold_only", fold)
    out.update(clock.rates("fold_only", n_events))
    rb = clock.run("rebuild", lambda: rebuild(log))
    out.update(clock.rates("rebuild", n_events))

    def reexecute() -> Engine:
        engine = Engine()
        for seq, rec in enumerate(records, start=1):
            if engine.reexecute_record(seq, rec) is not None:
                raise AssertionError(f"divergence at seq {seq}")
        return engine

    clock.run("reexecute_only", reexecute)
    out.update(clock.rates("reexecute_only", n_events))
    vr = clock.run("verify", lambda: verify(log))
    out.update(clock.rates("verify", n_events))
    out["verify_ok"] = vr.ok
    out["seconds_wall"] = {k: round(v, 2) for k, v in clock.wall.items()}
    out["seconds_cpu"] = {k: round(v, 2) for k, v in clock.cpu.items()}
    digests = {rb.digest, vr.digest, folded.digest()} | ({written["digest"]} if written else set())
    out["digests_agree"] = len(digests) == 1
    if not (vr.ok and out["digests_agree"]):
        raise AssertionError(f"replay answers disagree: verify {vr.failure}, digests {digests}")
    if profile:
        for name, fn in (("reexecute", reexecute), ("fold", fold)):
            p = cProfile.Profile()
            with bulk():
                p.runcall(fn)
            out[f"profile_{name}"] = _top(p, 20)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.replay_bench", description=__doc__)
    ap.add_argument("--data", required=True, help="data folder (generated when it has no log)")
    ap.add_argument("--workers", type=int, default=20_000)
    ap.add_argument("--postings", type=int, default=4_000)
    ap.add_argument("--scale", default="city", choices=("city", "province", "nation"))
    ap.add_argument("--profile", action="store_true", help="add cProfile top functions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run_replay_bench(
        args.data,
        workers=args.workers,
        postings=args.postings,
        scale=args.scale,
        profile=args.profile,
    )
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            if isinstance(value, list):
                print(f"{key}:")
                print("\n".join("  " + line for line in value))
            else:
                print(f"{key:<32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
