"""Peak-morning benchmark at tiny sizes (seconds under `--benchmark-disable`), checked.

Covers the crowd generator (reproducible, peaking 05:30-07:30, Poisson postings, older
workers), the bulk path of the scaling curve (same state digest as deciding the
commands), `lingong bench morning` end to end through its own parser (in process, file
log, one curve point in a subprocess, JSON and PNG), and one curve point in process.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import msgspec
import numpy as np
import pytest

from bench import cli
from bench.morning_bench import checkin_fact, curve_point, engine_executor
from engine import commands as c
from engine.core import Engine, make_record
from engine.geo import in_china
from sim.morning import CITIES, Crowd, Morning, Sizes, mainland_mask

pytestmark = pytest.mark.benchmark(group="morning")


def _crowd(seed: int, workers: int = 1500, postings: int = 300) -> Morning:
    sizes = Sizes(workers=workers, postings=postings, employers=40)
    return Morning(seed=seed, sizes=sizes, crowd=Crowd())


def test_crowd_morning_is_reproducible_peaks_and_is_older() -> None:
    runs = []
    for _ in range(2):
        m = _crowd(11)
        runs.append([msgspec.msgpack.encode(cmd) for cmd in m.setup()])
        runs[-1] += [msgspec.msgpack.encode(cmd) for _, cmd in m.timeline()]
    assert runs[0] == runs[1]
    m = _crowd(11)
    regs = [cmd for cmd in m.setup() if isinstance(cmd, c.RegisterWorker)]
    line = m.timeline()
    times = [t for t, _ in line]
    assert times == sorted(times)
    checkins = np.array([t for t, cmd in line if isinstance(cmd, c.CheckIn)])
    peak = (checkins >= m.at(5, 30)) & (checkins < m.at(7, 30))
    assert peak.mean() > 0.7
    assert 0.80 * len(regs) < len(checkins) < 0.90 * len(regs)  # turnout 0.85
    postings = sum(isinstance(cmd, c.SubmitJob) for _, cmd in line)
    assert abs(postings - 300) < 5 * math.sqrt(300)  # Poisson with mean 300
    born = np.array([int(cmd.personal.id_number[6:10]) for cmd in regs])
    assert (born <= 1978).mean() > 0.6  # 大龄: most are 48 or older in 2026


def _points(cmd: c.Command) -> list[tuple[float, float]]:
    return [
        (v.lat, v.lng) for f in cmd.__struct_fields__ if isinstance(v := getattr(cmd, f), c.Point)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_generated_point_is_in_mainland_china(seed: int) -> None:
    """Coastal cities (Qingdao, Quanzhou) once drew homes and stations in the sea."""
    assert all(in_china(lat, lng) for _, _, lat, lng, _ in CITIES)
    m = Morning(seed=seed, scale="nation", sizes=Sizes(workers=3000), crowd=Crowd())
    cmds = list(m.setup()) + [cmd for _, cmd in m.timeline()]
    pts = [p for cmd in cmds for p in _points(cmd)]
    assert len(pts) > 3000
    assert all(in_china(lat, lng) for lat, lng in pts)
    for _ in m.bulk_workers(20_000, chunk=4096):
        pass
    _, lat, lng = m.bulk_home
    arr = m.crowd_arrivals(*m.bulk_home)
    assert mainland_mask(lat, lng).all() and mainland_mask(arr.lat, arr.lng).all()


def test_mainland_mask_is_in_china() -> None:
    g = np.random.default_rng(5)
    lat = np.concatenate([g.uniform(17.0, 54.0, 3000), 36.0 + g.normal(0.0, 0.1, 3000)])
    lng = np.concatenate([g.uniform(73.0, 136.0, 3000), 120.4 + g.normal(0.0, 0.1, 3000)])
    mask = mainland_mask(lat, lng)
    assert mask.tolist() == [
        in_china(a, b) for a, b in zip(lat.tolist(), lng.tolist(), strict=True)
    ]
    assert 0 < mask.sum() < len(mask)


def test_bulk_path_gives_the_state_of_decided_commands() -> None:
    """WorkerRegistered/WorkerCheckedIn folded in bulk == the commands executed."""
    sizes = Sizes(workers=0, postings=50, employers=10)
    engines = []
    for bulk in (True, False):
        m = Morning(seed=3, sizes=sizes, with_mistakes=False, crowd=Crowd(bell=False))
        eng = Engine()
        ex = engine_executor(eng)
        for cmd in m.setup():
            assert ex(cmd) is not None
        events = [ev for batch in m.bulk_workers(400, chunk=128) for ev in batch]
        arr = m.crowd_arrivals(*m.bulk_home)
        early = int(np.searchsorted(arr.ts_ms, m.at(6, 30)))
        assert 0 < early < len(arr.ts_ms)
        for ev in events:
            if bulk:
                eng.apply_record(eng.state.last_seq + 1, make_record("", [ev]))
                continue
            cmd = c.RegisterWorker(
                command_id=ev.cmd_id,
                ts_ms=ev.ts_ms,
                worker_id=ev.worker_id,
                region=ev.region,
                personal=c.Personal(name="王伟", mobile="13800138000"),
                skills=ev.skills,
                min_pay_fen=ev.min_pay_fen,
                birth_year=ev.birth_year,
                priority_group=ev.priority_group,
                home=c.Point(lat=ev.home_lat, lng=ev.home_lng),
                travel_mode=ev.travel_mode,
                push_opt_in=ev.push_opt_in,
            )
            assert ex(cmd) is not None
        for i in range(early):
            if bulk:
                ev = checkin_fact(m, eng, arr, i)
                eng.apply_record(eng.state.last_seq + 1, make_record("", [ev]))
            else:
                cmd = m.checkin_command(arr, i, f"B{int(arr.worker[i]):08d}")
                assert len(ex(cmd) or []) == 1  # the fact alone: no job is open yet
        engines.append(eng)
    assert engines[0].digest() == engines[1].digest()
    assert len(engines[0].state.worker_ids) == 400


def test_bench_morning_cli_tiny(benchmark, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="lingong")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parsers(sub)
    out_json, out_png = tmp_path / "morning.json", tmp_path / "morning.png"
    argv = ["bench", "morning", "--workers", "200", "--curve", "1500", "--window", "200"]
    args = parser.parse_args(argv + ["--json-out", str(out_json), "--png", str(out_png)])
    code = benchmark.pedantic(args.func, args=(args,), rounds=1, iterations=1)
    assert code == 0
    out = json.loads(out_json.read_text())
    for key in ("events_per_s", "decision_p50_us", "decision_p99_us", "peak_rss_mb"):
        assert out[key] > 0, key
    assert out["registered_workers"] > 0
    assert 0 < out["decision_p50_us"] <= out["decision_p99_us"]
    assert out["replay_digest_matches"] and out["file_log"]["digest_matches"]
    assert out["in_process"]["morning"]["event_counts"]["OfferMade"] > 0
    assert out["file_log"]["morning"]["flushes"]["n"] > 0
    (point,) = out["curve"]
    assert point["ran"] and point["registered_workers"] == 1500
    assert out_png.stat().st_size > 10_000


def test_curve_point_tiny() -> None:
    p = curve_point(2000, window=400, scale="province", seed=5)
    assert p["ran"] and p["window_commands"] >= 400 and p["waiting_at_0630"] > 0
    assert p["by_command"]["SubmitJob"]["n"] > 0 and p["events_per_s"] > 0
    assert p["worker_capacity"] >= 2000  # (RSS growth means something only in a fresh process)
