"""Thirty mornings in one process: does the core keep its speed and memory with history?

Owns: `run_days`, which registers one city's crowd once and then plays `days`
consecutive crowd mornings (`sim.morning.Morning(crowd=Crowd())`, one date after
another, new job ids each day) through one in-memory `Engine`, the way a long-running
`lingong serve` lives through them. Per day: events, thread CPU time of the engine's
calls and `events_per_cpu_s` (the morning's commands; the registration before it is not
timed, so every day measures the same kind of work); `live_bytes` (the size of the state's snapshot, which
holds every live table and the command-id memory), the live counts and the resident
set after a collection (`rss_mb`, glibc `malloc_trim` first; from the command line the
run uses the C allocator, as `lingong serve` does: `allocator` in the output).

Checks its answers: the last day is also folded from a snapshot taken before it (the
records the engine wrote, `Engine.apply_record`): the digest must equal the live one.
Command ids get a per-day namespace (`d07/...`), as two front ends' keys would differ.

Limits: `days` <= 366; the people's replies are simulated by `Morning.respond`.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import os
import statistics
import tempfile
import time
from typing import IO, Any

import msgspec

from bench.fold_bench import play_timeline
from bench.morning_bench import default_workers, make_morning, sizes_for, warm_up
from engine import commands as c
from engine import events as e
from engine.commands import Refusal
from engine.core import Engine
from engine.record import decode_record, encode_record
from engine.snapshot import restore_state, snapshot_state
from sim.callers import caller_for
from sim.cases import Bureau

MAX_DAYS = 366


def _rss_mb() -> float:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _parts(body: bytes) -> dict[str, int]:
    """Bytes of each top-level part of a snapshot (what grows, when something does)."""
    raw = msgspec.msgpack.decode(body)
    return {k: len(msgspec.msgpack.encode(v)) for k, v in raw.items() if k != "version"}


class _Day:
    """Executes one morning's commands under a day namespace; tallies CPU and events."""

    def __init__(self, engine: Engine, day: int, records: IO[bytes] | None) -> None:
        self.engine = engine
        self.prefix = f"d{day:03d}/"
        self.cpu_ns = 0
        self.events = 0
        self.commands = 0
        self.refusals = 0
        self.records = records

    def run(self, cmd: c.Command, timed: bool = True) -> list[e.Event] | None:
        cmd = msgspec.structs.replace(cmd, command_id=self.prefix + cmd.command_id)
        caller = caller_for(self.engine.state, cmd)
        t0 = time.thread_time_ns()
        try:
            out = self.engine.execute(cmd, caller)
        except Refusal:
            out = None
        dt_ns = time.thread_time_ns() - t0
        if timed:
            self.cpu_ns += dt_ns
            self.commands += 1
        if out is None:
            self.refusals += timed
            return None
        if timed:
            self.events += len(out.events)
        if self.records is not None and not out.duplicate:
            body = encode_record(out.record())  # on disk: the check holds no RSS
            self.records.write(len(body).to_bytes(4, "little") + body)
        return out.events


def _play(day: _Day, morning: Any, bureau: Bureau) -> None:  # noqa: ANN401
    """The morning's commands, the people's replies and the bureau's steps, in time order."""

    def answer(events: list[e.Event] | None) -> None:
        if events:
            morning.respond(events)
            bureau.respond(events)

    def run(cmd: c.Command) -> None:
        for step in bureau.pop_due(cmd.ts_ms, day.engine.state):  # the bureau's day
            answer(day.run(step))
        answer(day.run(cmd))

    play_timeline(morning, run)


def run_days(
    *,
    days: int = 30,
    workers: int | None = None,
    postings: int | None = None,
    seed: int = 7,
    start: str = "2026-11-23",
    progress=None,  # noqa: ANN001
) -> dict[str, Any]:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be in [1, {MAX_DAYS}]")
    workers = default_workers("city") if workers is None else workers
    sizes = sizes_for(workers, postings)
    warm_up()
    engine = Engine()
    bureau = Bureau()
    out_days: list[dict[str, Any]] = []
    snapshot = tempfile.TemporaryFile()
    last_records = tempfile.TemporaryFile()
    started = time.perf_counter()
    for d in range(1, days + 1):
        date = (dt.date.fromisoformat(start) + dt.timedelta(days=d - 1)).isoformat()
        morning = make_morning("city", sizes, seed, date=date, job_prefix=f"J{d:03d}-")
        if d == days:  # the check's snapshot waits on disk: the day's RSS is the engine's
            snapshot.write(snapshot_state(engine.state))
        day = _Day(engine, d, last_records if d == days else None)
        for cmd in morning.setup():  # day 1 registers, later days are refused: not timed
            events = day.run(cmd, timed=False)
            if events:
                morning.respond(events)

        _play(day, morning, bureau)
        s = engine.state
        cpu_s = day.cpu_ns / 1e9
        body = snapshot_state(s)
        live_bytes, live_parts = len(body), _parts(body)
        del body  # the resident set is measured without the bench's copy
        row = {
            "day": d,
            "date": date,
            "commands": day.commands,
            "events": day.events,
            "refusals": day.refusals,
            "cpu_s": round(cpu_s, 3),
            "events_per_cpu_s": round(day.events / cpu_s, 1) if cpu_s else 0.0,
            "live_bytes": live_bytes,
            "live_parts": live_parts,
            "rss_mb": _rss_mb(),
            "live": {
                "jobs": len(s.jobs),
                "offers": len(s.offers),
                "hires": len(s.hires),
                "complaints": len(s.complaints),
                "commands": len(s.commands),
                "due": len(s.due),
                "leaving": len(s.leaving),
                "job_rows": s.job_arrays.n,
                "arrears_open": sum(1 for a in s.arrears.values() if a.status == "open"),
                "complaints_live": s.live_complaints,
                "bureau_steps_pending": bureau.pending(),
            },
        }
        out_days.append(row)
        if progress is not None:
            progress(
                f"day {d}: {row['events']:,} events, {row['events_per_cpu_s']:,.0f} events/CPU-s,"
                f" live {row['live_bytes'] / 2**20:.1f} MiB, RSS {row['rss_mb']:.0f} MB"
            )
    with snapshot:
        snapshot.seek(0)
        replayed = Engine(restore_state(snapshot.read()))
    with last_records:
        last_records.seek(0)
        while head := last_records.read(4):
            rec = decode_record(last_records.read(int.from_bytes(head, "little")))
            replayed.apply_record(replayed.state.last_seq + 1, rec)
    first, last = out_days[0], out_days[-1]
    # the first day whose morning has a full settlement window of earlier hires behind it
    window_ms = engine.state.policy_for(engine.state.worker_region[0])[1].settlement_window_ms
    full = out_days[min(len(out_days), 1 + -(-window_ms // 86_400_000)) - 1]
    speeds = [r["events_per_cpu_s"] for r in out_days]
    head, tail = statistics.median(speeds[:5]), statistics.median(speeds[-5:])
    return {
        "days": out_days,
        "workers": len(engine.state.worker_ids),
        "seed": seed,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "speed_ratio": round(last["events_per_cpu_s"] / first["events_per_cpu_s"], 3)
        if first["events_per_cpu_s"]
        else 0.0,
        "speed_ratio_median5": round(tail / head, 3) if head else 0.0,
        "live_bytes_ratio": round(last["live_bytes"] / first["live_bytes"], 3),
        "rss_ratio": round(last["rss_mb"] / first["rss_mb"], 3),
        "window_full_day": full["day"],
        "live_bytes_ratio_after_window": round(last["live_bytes"] / full["live_bytes"], 3),
        "rss_ratio_after_window": round(last["rss_mb"] / full["rss_mb"], 3),
        "replay_digest_matches": replayed.digest() == engine.digest(),
        # `lingong bench days` runs as `lingong serve` does (`lingong.cli.LONG_RUNNING`)
        "allocator": os.environ.get("PYTHONMALLOC") or "pymalloc",
    }
