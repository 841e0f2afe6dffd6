"""Replay benchmark: how fast `verify` and `rebuild` go over a synthetic morning, and why.

Owns: `run_replay_bench(data_dir)`, which (generating the morning with `adapters.demo`
first when `data_dir` has no log) times, on the same log:

- reading frames (crc + seq; then with the hash chain too), decoding records one by one
  and in batches (`replay.source.decode_batch`);
- folding the decoded records (`Engine.apply_record`), and `replay.rebuild.rebuild`
  end to end (read + batched decode + fold, no chain);
- `replay.verify.verify` end to end (scan + chain + fact re-admission + re-execution), and
  re-execution alone on decoded records;

and checks the answers: verify passes, and rebuild, verify and the writer (when it was
generated here) reach the same state digest. With `profile=True` it adds the top
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

from adapters.filelog import read_log_batches
from engine import events as e
from engine.core import Engine
from replay.rebuild import rebuild
from replay.source import decode_batch, log_dir
from replay.verify import verify


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def _top(profile: cProfile.Profile, n: int = 15) -> list[str]:
    buf = io.StringIO()
    pstats.Stats(profile, stream=buf).sort_stats("tottime").print_stats(n)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return [ln for ln in lines[start : start + n + 1] if ln]


def generate(data_dir: Path, *, workers: int, postings: int, scale: str, seed: int = 7) -> dict:
    from adapters.demo import run_demo
    from bench.morning import Sizes

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
    log = log_dir(data)
    out: dict[str, Any] = {"log": str(log), "generated": written}

    frames, t = _timed(lambda: [f for b in read_log_batches(log, verify_chain=False) for f in b])
    out["read_frames_per_s"] = _rate(len(frames), t)
    _, t = _timed(lambda: sum(len(b) for b in read_log_batches(log, verify_chain=True)))
    out["read_chain_frames_per_s"] = _rate(len(frames), t)
    records, t_one = _timed(lambda: [e.decode_record(p) for _, p in frames])
    n_events = sum(len(r.events) for r in records)
    batched, t_batch = _timed(
        lambda: [r for i in range(0, len(frames), 4096) for r in decode_batch(frames[i : i + 4096])]
    )
    assert batched == records
    out.update(records=len(records), events=n_events, log_bytes=sum(len(p) + 48 for _, p in frames))
    out["decode_one_by_one_events_per_s"] = _rate(n_events, t_one)
    out["decode_batched_events_per_s"] = _rate(n_events, t_batch)

    def fold() -> Engine:
        engine = Engine()
        for seq, rec in enumerate(records, start=1):
            engine.apply_record(seq, rec)
        return engine

    folded, t = _timed(fold)
    out["fold_only_events_per_s"] = _rate(n_events, t)
    rb = rebuild(log)
    out["rebuild_events_per_s"] = rb.events_per_s
    out["rebuild_s"] = rb.elapsed_s

    def reexecute() -> Engine:
        engine = Engine()
        for seq, rec in enumerate(records, start=1):
            if engine.reexecute_record(seq, rec) is not None:
                raise AssertionError(f"divergence at seq {seq}")
        return engine

    _, t = _timed(reexecute)
    out["reexecute_only_events_per_s"] = _rate(n_events, t)
    vr = verify(log)
    out["verify_ok"] = vr.ok
    out["verify_events_per_s"] = vr.events_per_s
    out["verify_s"] = vr.elapsed_s
    digests = {rb.digest, vr.digest, folded.digest()} | ({written["digest"]} if written else set())
    out["digests_agree"] = len(digests) == 1
    if not (vr.ok and out["digests_agree"]):
        raise AssertionError(f"replay answers disagree: verify {vr.failure}, digests {digests}")
    if profile:
        p = cProfile.Profile()
        p.runcall(reexecute)
        out["profile_reexecute"] = _top(p)
        p = cProfile.Profile()
        p.runcall(fold)
        out["profile_fold"] = _top(p)
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
