"""Peak-morning load benchmark: a generated crowd morning through the engine.

Owns: `run_morning` (one morning of `sim.morning.Morning(crowd=Crowd())` executed in
process and again through the file log with group commit, same seed: throughput,
per-command decision latency, peak RSS, engine state bytes per registered worker),
`curve_point` / `run_curve` (the scaling curve: each point in its own process), and the
pieces `bench.peers` reuses (`Tally`, `run_commands`, `in_process`, `warm_up`,
`machine`).

Measures:
- decision latency = wall time of one `Engine.execute` (log run: `Runtime.execute`:
  decide, apply, react, seal personal data, queue the record), per command, after a
  warm-up morning in the same process (numba compile or cache load excluded); the
  thread's CPU time per command is kept too (`decision_cpu_*`, `cpu_s`): on a shared
  machine the difference is time the process waited for a core;
- `events_per_s` = events the engine emitted / engine time (the sum of those execute
  times, plus every group-commit flush with fsync in the log run). The generator that
  plays the people (commands, replies) runs outside the timed calls;
- `peak_rss_mb` = peak resident set of the process (VmHWM, as `ru_maxrss`);
  `state_bytes_per_worker` = memory
  `tracemalloc` sees retained after folding the morning's records into a fresh engine
  (every structure of the state), divided by the registered workers.

The scaling curve builds N registered workers through the bulk path (pre-decided
`WorkerRegistered` facts applied with `Engine.apply_record`, the replay path: the same
state as deciding `RegisterWorker` commands, checked by `bench/bench_morning.py`), then
the crowd that has checked in by 06:30 the same way (no job is open before the window,
so those check-ins decide nothing else), and then executes a window of `window`
commands from 06:30 on (new check-ins, Poisson postings, replies, ticks) through
`Engine.execute`. Postings before 06:30 are left out, so the 06:30 crowd is larger
than in a full replay (hires would have taken some away): a harder load.
The bulk records carry no command id, so they stay out of the engine's idempotency
memory (`State.commands`, the last 1,000,000 ids; it is not part of the digest): the
window starts with an empty memory. `rss_bytes_per_worker` = growth of the resident
set while registering, after `malloc_trim`, divided by N.

Invariants: the same seed gives the same commands and the same decisions; the log run's
final state digest must equal the in-process one (`digest_matches`).
Limits: every loop is bounded by its command count and by `budget_s` of engine time;
curve points run one after another, each under `POINT_TIMEOUT_S`.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import heapq
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.core import Engine, make_record
from engine.record import command_digest, recorded_command
from sim.callers import caller_for
from sim.morning import SCALES, Arrivals, Crowd, Morning, Sizes

WORKERS_PER_CITY = 20_000
POSTINGS_PER_WORKER = 0.2
DEFAULT_CURVE = (10_000, 100_000, 1_000_000)
WINDOW_COMMANDS = 20_000
WINDOW_START = (6, 30)
BUDGET_S = 1800.0
POINT_TIMEOUT_S = 3600
REPO = Path(__file__).resolve().parents[1]
_POINT_CODE = (
    "import json; from bench.morning_bench import curve_point; print(json.dumps(curve_point"
)

Execute = Callable[[c.Command], "list[e.Event] | None"]


def sizes_for(workers: int, postings: int | None = None) -> Sizes:
    p = int(workers * POSTINGS_PER_WORKER) if postings is None else postings
    return Sizes(workers=workers, postings=p, employers=max(10, p // 4))


def default_workers(scale: str) -> int:
    return WORKERS_PER_CITY * SCALES[scale]


def make_morning(scale: str, sizes: Sizes, seed: int, **kw: Any) -> Morning:
    return Morning(seed=seed, scale=scale, sizes=sizes, crowd=kw.pop("crowd", Crowd()), **kw)


# ------------------------------------------------------------------ tallies ----------


def percentiles_us(ns: list[int] | np.ndarray) -> dict[str, float]:
    if len(ns) == 0:
        return {"p50_us": 0.0, "p90_us": 0.0, "p99_us": 0.0, "p999_us": 0.0, "max_us": 0.0}
    a = np.asarray(ns, dtype=np.float64) / 1000.0
    p50, p90, p99, p999 = np.percentile(a, [50, 90, 99, 99.9])
    return {
        "p50_us": round(float(p50), 1),
        "p90_us": round(float(p90), 1),
        "p99_us": round(float(p99), 1),
        "p999_us": round(float(p999), 1),
        "max_us": round(float(a.max()), 1),
    }


class Tally:
    """Per-command latencies, event counts and a hash of every decision, in order."""

    def __init__(self) -> None:
        self.ns: dict[str, list[int]] = {}
        self.cpu_ns: list[int] = []
        self.flush_ns: list[int] = []
        self.events = 0
        self.commands = 0
        self.refusals = 0
        self.engine_ns = 0
        self.counts: dict[str, int] = {}
        self.hash = hashlib.blake2b(digest_size=16)

    def add(self, kind: str, dt_ns: int, cpu_ns: int, events: list[e.Event] | None) -> None:
        self.ns.setdefault(kind, []).append(dt_ns)
        self.cpu_ns.append(cpu_ns)
        self.commands += 1
        self.engine_ns += dt_ns
        if events is None:
            self.refusals += 1
            return
        self.events += len(events)
        for ev in events:
            name = type(ev).__name__
            self.counts[name] = self.counts.get(name, 0) + 1
        self.hash.update(msgspec.msgpack.encode(events))

    def summary(self) -> dict[str, Any]:
        everything = [x for v in self.ns.values() for x in v]
        engine_s = self.engine_ns / 1e9
        out: dict[str, Any] = {
            "commands": self.commands,
            "refusals": self.refusals,
            "events": self.events,
            "engine_s": round(engine_s, 3),
            "events_per_s": round(self.events / engine_s, 1) if engine_s else 0.0,
            "commands_per_s": round(self.commands / engine_s, 1) if engine_s else 0.0,
            **{"decision_" + k: v for k, v in percentiles_us(everything).items()},
            "cpu_s": round(sum(self.cpu_ns) / 1e9, 3),
            "events_per_cpu_s": round(self.events / (sum(self.cpu_ns) / 1e9), 1)
            if sum(self.cpu_ns)
            else 0.0,
            **{"decision_cpu_" + k: v for k, v in percentiles_us(self.cpu_ns).items()},
            "by_command": {
                k: {"n": len(v), **percentiles_us(v)} for k, v in sorted(self.ns.items())
            },
            "event_counts": dict(sorted(self.counts.items())),
        }
        if self.flush_ns:
            out["flushes"] = {"n": len(self.flush_ns), **percentiles_us(self.flush_ns)}
        return out


def run_commands(
    stream: Iterable[tuple[int, c.Command]],
    morning: Morning,
    execute: Execute,
    tally: Tally,
    *,
    flush: Callable[[], None] | None = None,
    batch: int = 0,
    limit: int = 0,
    budget_s: float = BUDGET_S,
    records: list[bytes] | None = None,
    drain: bool = True,
) -> bool:
    """Execute the stream in time order with the people's replies; False if cut short."""
    budget_ns = int(budget_s * 1e9)

    def one(cmd: c.Command) -> None:
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        events = execute(cmd)
        t1 = time.perf_counter_ns()
        tally.add(type(cmd).__name__, t1 - t0, time.thread_time_ns() - c0, events)
        if events:
            if records is not None:
                rec = make_record(
                    cmd.command_id,
                    events,
                    command=recorded_command(cmd),
                    digest=command_digest(cmd),
                )
                records.append(e.encode_record(rec))  # with its command, as the runtime
            morning.respond(events)
        if flush is not None and tally.commands % batch == 0:
            t1 = time.perf_counter_ns()
            flush()
            dt = time.perf_counter_ns() - t1
            tally.flush_ns.append(dt)
            tally.engine_ns += dt

    def done() -> bool:
        return (limit > 0 and tally.commands >= limit) or tally.engine_ns > budget_ns

    complete = True
    for ts, cmd in stream:
        for due in morning.pop_due(ts):
            one(due)
        one(cmd)
        if done():
            complete = False
            break
    if complete and drain:
        for due in morning.drain():
            one(due)
            if done():
                complete = False
                break
    if flush is not None:
        t1 = time.perf_counter_ns()
        flush()
        tally.flush_ns.append(time.perf_counter_ns() - t1)
        tally.engine_ns += tally.flush_ns[-1]
    return complete


def engine_executor(engine: Engine) -> Execute:
    def run(cmd: c.Command) -> list[e.Event] | None:
        try:
            return engine.execute(cmd, caller_for(engine.state, cmd)).events
        except Refusal:
            return None

    return run


# ------------------------------------------------------------------ the morning ------


def warm_up(wrap: Callable[[Any], Any] | None = None) -> None:
    """A tiny morning in memory: numba kernels compile (or load from cache) here."""
    m = make_morning("city", sizes_for(200), seed=1)
    eng = Engine()
    if wrap is not None:
        eng.state.checked_in = wrap(eng.state.checked_in)
    ex = engine_executor(eng)
    run_commands(((0, cmd) for cmd in m.setup()), m, ex, Tally(), drain=False)
    run_commands(m.timeline(), m, ex, Tally())
    close = getattr(eng.state.checked_in, "close", None)
    if wrap is not None and close is not None:
        close()


def in_process(
    morning: Morning,
    *,
    wrap: Callable[[Any], Any] | None = None,
    records: list[bytes] | None = None,
    budget_s: float = BUDGET_S,
) -> tuple[dict[str, Any], Engine]:
    """Run setup and timeline through one in-memory engine (its checked-in index wrapped)."""
    eng = Engine()
    if wrap is not None:
        eng.state.checked_in = wrap(eng.state.checked_in)
    ex = engine_executor(eng)
    setup, tally = Tally(), Tally()
    setup_cmds = ((0, cmd) for cmd in morning.setup())
    run_commands(setup_cmds, morning, ex, setup, records=records, drain=False, budget_s=budget_s)
    complete = run_commands(
        morning.timeline(), morning, ex, tally, records=records, budget_s=budget_s
    )
    out = {
        "setup": setup.summary(),
        "morning": tally.summary(),
        "complete": complete,
        "digest": eng.digest(),
        "events_hash": tally.hash.hexdigest(),
        "registered_workers": len(eng.state.worker_ids),
    }
    return out, eng


def through_log(
    morning: Morning, data_dir: Path, *, batch: int, fsync: bool, budget_s: float = BUDGET_S
) -> dict[str, Any]:
    """The same morning through `Runtime` (file log, group commit every `batch` commands)."""
    from adapters.shell.runtime import Runtime

    with Runtime(data_dir, fsync=fsync, max_batch=batch + 1) as rt:

        def ex(cmd: c.Command) -> list[e.Event] | None:
            res = rt.execute(cmd, caller_for(rt.engine.state, cmd))
            return res.events if res.ok else None

        setup, tally = Tally(), Tally()
        kw: dict[str, Any] = {"flush": rt.flush, "batch": batch, "budget_s": budget_s}
        run_commands(((0, cmd) for cmd in morning.setup()), morning, ex, setup, drain=False, **kw)
        complete = run_commands(morning.timeline(), morning, ex, tally, **kw)
        digest = rt.engine.digest()
    log_bytes = sum(p.stat().st_size for p in (data_dir / "log").rglob("*") if p.is_file())
    return {
        "setup": setup.summary(),
        "morning": tally.summary(),
        "complete": complete,
        "digest": digest,
        "batch": batch,
        "fsync": fsync,
        "log_bytes": log_bytes,
    }


def state_bytes(records: list[bytes]) -> tuple[int, Engine]:
    """Bytes `tracemalloc` sees retained by an engine that folded `records`."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    eng = Engine()
    for seq, payload in enumerate(records, start=1):
        eng.apply_record(seq, e.decode_record(payload))
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used, eng


def peak_rss_mb() -> float:
    """Peak resident set of this process image (VmHWM; Linux keeps `ru_maxrss` across
    exec, so a child started by `run_curve` would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_morning(
    *,
    scale: str = "city",
    workers: int | None = None,
    postings: int | None = None,
    seed: int = 7,
    batch: int = 512,
    fsync: bool = True,
    with_log: bool = True,
    budget_s: float = BUDGET_S,
) -> dict[str, Any]:
    """One crowd morning in process, then through the file log; figures and checks."""
    workers = default_workers(scale) if workers is None else workers
    sizes = sizes_for(workers, postings)
    warm_up()
    records: list[bytes] = []
    mem, _ = in_process(make_morning(scale, sizes, seed), records=records, budget_s=budget_s)
    used, replayed = state_bytes(records)
    registered = mem["registered_workers"]
    w = replayed.state
    out: dict[str, Any] = {
        "scale": scale,
        "seed": seed,
        "sizes": msgspec.structs.asdict(sizes),
        "crowd": msgspec.structs.asdict(Crowd()),
        "registered_workers": registered,
        "in_process": mem,
        "events_per_s": mem["morning"]["events_per_s"],
        "decision_p50_us": mem["morning"]["decision_p50_us"],
        "decision_p99_us": mem["morning"]["decision_p99_us"],
        "state_bytes": used,
        "state_bytes_per_worker": round(used / registered, 1) if registered else 0.0,
        "worker_arrays_bytes_per_worker": round(w.workers.nbytes() / registered, 1)
        if registered
        else 0.0,
        "replay_digest_matches": replayed.digest() == mem["digest"],
    }
    del replayed, records
    gc.collect()
    if with_log:
        with tempfile.TemporaryDirectory(prefix="lingong-morning-") as tmp:
            log = through_log(make_morning(scale, sizes, seed), Path(tmp), batch=batch, fsync=fsync)
        log["digest_matches"] = log["digest"] == mem["digest"]
        out["file_log"] = log
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# ------------------------------------------------------------------ scaling curve ----


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass  # not glibc: the RSS figure then includes freed heap


def checkin_fact(m: Morning, eng: Engine, arr: Arrivals, i: int) -> e.WorkerCheckedIn:
    """Arrival `i` of a bulk population as the fact its `CheckIn` command would give."""
    k = int(arr.station[i])
    sid = m.stations[k][0] if k >= 0 else ""
    st = eng.state.stations.get(sid)
    lat, lng = (st.lat, st.lng) if st is not None else (float(arr.lat[i]), float(arr.lng[i]))
    wid = f"B{int(arr.worker[i]):08d}"
    return e.WorkerCheckedIn(
        ts_ms=int(arr.ts_ms[i]),
        cmd_id=f"bulk-ci-{wid}",
        worker_id=wid,
        station_id=sid,
        lat=round(lat, 7),
        lng=round(lng, 7),
        available_until_ms=int(arr.until_ms[i]),
    )


def _window(m: Morning, arr: Arrivals, start: int) -> Iterator[tuple[int, c.Command]]:
    """Check-ins, postings and ticks from `start`, merged by time (lazily)."""
    first = int(np.searchsorted(arr.ts_ms, start))
    checkins = (
        (int(arr.ts_ms[i]), m.checkin_command(arr, i, f"B{int(arr.worker[i]):08d}"))
        for i in range(first, len(arr.ts_ms))
    )
    postings = ((t, m.posting(j, t)) for j, t in enumerate(m.posting_times()) if t >= start)
    ticks = (
        (t, c.Advance(command_id=f"tk-{t}", ts_ms=t))
        for t in range(start, m.at(13), m.sizes.tick_ms)
    )
    return heapq.merge(checkins, postings, ticks, key=lambda item: item[0])


def twin_check(eng: Engine, now_ms: int, *, limit: int = 200, k: int = 5) -> dict[str, int]:
    """The threshold top-k against its full-scan twin on up to `limit` open jobs (every
    one when fewer): same candidates, scores and features. Raises on a difference."""
    from engine import matcher

    st = eng.state
    jobs = [j for j in st.jobs.values() if j.status == "open"]
    step = max(1, len(jobs) // limit)
    compared = 0
    for job in jobs[::step][:limit]:
        fast = matcher.rank_for_job(st, job, now_ms, k)
        full = matcher.full_scan_for_job(st, job, now_ms, k)
        if fast != full:
            raise AssertionError(f"threshold top-k differs from the full scan for {job.job_id}")
        compared += 1
    return {"twin_jobs_compared": compared, "twin_k": k}


def curve_point(
    workers: int,
    *,
    seed: int = 7,
    window: int = WINDOW_COMMANDS,
    scale: str = "nation",
    budget_s: float = BUDGET_S,
) -> dict[str, Any]:
    """One point of the scaling curve (run it in a fresh process: see `run_curve`)."""
    warm_up()
    sizes = sizes_for(0, int(workers * POSTINGS_PER_WORKER))
    m = make_morning(scale, sizes, seed, with_mistakes=False, crowd=Crowd(bell=False))
    eng = Engine()
    ex = engine_executor(eng)
    run_commands(((0, cmd) for cmd in m.setup()), m, ex, Tally(), drain=False)
    seq = eng.state.last_seq
    _trim()
    rss0 = current_rss_bytes()
    t0 = time.perf_counter()
    for batch in m.bulk_workers(workers, chunk=4096):
        for ev in batch:
            seq += 1
            eng.apply_record(seq, make_record("", [ev]))
    build_s = time.perf_counter() - t0
    _trim()
    home_bytes = sum(a.nbytes for a in m.bulk_home)
    rss_grew = current_rss_bytes() - rss0 - home_bytes
    arr = m.crowd_arrivals(*m.bulk_home)
    start = m.at(*WINDOW_START)
    st = eng.state
    t0 = time.perf_counter()
    waiting = 0
    for i in range(int(np.searchsorted(arr.ts_ms, start))):
        ev = checkin_fact(m, eng, arr, i)
        seq += 1
        eng.apply_record(seq, make_record("", [ev]))
        waiting += 1
    checkin_build_s = time.perf_counter() - t0
    tally = Tally()
    complete = run_commands(
        _window(m, arr, start), m, ex, tally, limit=window, budget_s=budget_s, drain=False
    )
    s = tally.summary()
    return {
        "registered_workers": workers,
        "ran": True,
        "scale": scale,
        "waiting_at_0630": waiting,
        "window_commands": s["commands"],
        "window_complete": complete or s["commands"] >= window,
        "window_sim_s": round((st.last_ts_ms - start) / 1000, 1),
        "events": s["events"],
        "engine_s": s["engine_s"],
        "events_per_s": s["events_per_s"],
        "cpu_s": s["cpu_s"],
        "events_per_cpu_s": s["events_per_cpu_s"],
        "event_counts": s["event_counts"],
        "decision_p50_us": s["decision_p50_us"],
        "decision_p99_us": s["decision_p99_us"],
        "decision_max_us": s["decision_max_us"],
        "by_command": s["by_command"],
        "build_s": round(build_s, 1),
        "checkin_build_s": round(checkin_build_s, 1),
        "rss_bytes_per_worker": round(rss_grew / workers, 1) if workers else 0.0,
        "worker_arrays_bytes_per_worker": round(st.workers.nbytes() / workers, 1),
        "worker_capacity": st.workers.capacity,
        "peak_rss_mb": peak_rss_mb(),
        **twin_check(eng, st.last_ts_ms),
    }


def run_curve(
    points: Iterable[int],
    *,
    seed: int = 7,
    window: int = WINDOW_COMMANDS,
    scale: str = "nation",
    budget_s: float = BUDGET_S,
    timeout_s: float = POINT_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Each point in a fresh Python process (peak RSS and memory growth are its own)."""
    out: list[dict[str, Any]] = []
    for n in points:
        if progress:
            progress(f"curve point: {n:,} registered workers ...")
        kw = {"seed": seed, "window": window, "scale": scale, "budget_s": budget_s}
        code = f"{_POINT_CODE}({n}, **{kw!r})))"
        cmd = [sys.executable, "-c", code]
        try:
            proc = subprocess.run(
                cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            out.append({"registered_workers": n, "ran": False, "error": f"timeout {timeout_s} s"})
            continue
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            err = (proc.stderr or "").strip().splitlines()[-3:]
            out.append(
                {"registered_workers": n, "ran": False, "error": f"exit {proc.returncode}: {err}"}
            )
            continue
        out.append(json.loads(lines[-1]))
    return out
