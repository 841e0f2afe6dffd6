"""HTTP benchmark: check-ins and postings per second, and their p99, over loopback.

Owns: `run_http_bench`, which
1. seeds a fresh data folder in-process (stations around Xiangyang, employers, and one
   registered worker per check-in to send) and makes an admin token;
2. starts a real server in a subprocess (`python -m bench.http_bench serve`: the same
   `Runtime` + `EngineService` + `create_app` + uvicorn as `lingong serve`, with the log's
   group commit and fsync in the path, the ticker off so the record count is exact, and
   the per-token rate limit lifted);
3. after `WARMUP` untimed requests of each kind (numba compiles the matching kernels on
   first use), sends `checkins` check-ins, then `postings` postings (each posting ranks the
   checked-in workers and makes offers) over `concurrency` keep-alive connections (one
   request in flight on each), timing every request. The client is a small asyncio
   HTTP/1.1 client: on this 2-core machine httpx's async pool fell to ~80 requests/s at 32
   connections against a bare Litestar app that serves ~1,700/s to plain asyncio;
4. checks the answers: every response 201, and the log grew by exactly one record per
   request (`/healthz` seq); then stops the server.

Measures, per phase: `*_rps` (requests / wall time of the phase), `*_p50_ms`, `*_p99_ms`
(request latency seen by the client: HTTP + queueing + decide + group commit + fsync),
`*_server_cpu_us` (the server process's user + system CPU per request, from
/proc/<pid>/stat around the phase) and `*_client_cpu_us` (this process's). The headline
keys of `lingong bench http` are `checkins_per_s`, `postings_per_s` and `p99_ms` (the
check-ins' p99).
Limits: request counts and concurrency are bounded by the arguments (<= `MAX_REQUESTS`),
each request by 60 s and each phase by `PHASE_BUDGET_S`; the server listens on 127.0.0.1
only; the client and the server share the machine's cores, so the figures are a floor of
what a separate client would see.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

XY = (32.0090, 112.1220)  # Xiangyang
STATIONS = 6
EMPLOYERS = 20
MAX_REQUESTS = 200_000
STARTUP_TIMEOUT_S = 60.0
PHASE_BUDGET_S = 900.0  # a phase that takes longer is aborted
WARMUP = 8  # requests per phase before timing (numba kernels compile on first use)


def _near(rng: random.Random, spread_m: float) -> tuple[float, float]:
    dlat = rng.uniform(-spread_m, spread_m) / 111_195.0
    dlng = rng.uniform(-spread_m, spread_m) / (111_195.0 * math.cos(math.radians(XY[0])))
    return round(XY[0] + dlat, 6), round(XY[1] + dlng, 6)


def seed(data_dir: Path, workers: int, *, fsync: bool, seed_: int = 7) -> str:
    """Stations, employers and `workers` workers in a new log; returns an admin token."""
    from adapters.gate.tokens import TokenStore
    from adapters.shell.runtime import Runtime
    from engine import commands as c
    from sim.callers import OPERATOR
    from sim.morning import make_uscc

    rng = random.Random(seed_)
    with Runtime(data_dir, fsync=fsync) as rt:
        now = rt.clock.now_ms()
        cmds: list[c.Command] = []
        for i in range(STATIONS):
            lat, lng = _near(rng, 3000)
            sid = f"S{i}"
            cmds.append(c.RegisterStation(command_id=f"seed-s{i}", ts_ms=now, station_id=sid,
                                          name=f"襄阳零工站{i}", kind="hub", region="420602",
                                          location=c.Point(lat=lat, lng=lng)))  # fmt: skip
            cmds.append(c.ChangeStationStatus(command_id=f"seed-a{i}", ts_ms=now, station_id=sid,
                                              status="approved"))  # fmt: skip
        for i in range(EMPLOYERS):
            cmds.append(c.RegisterEmployer(command_id=f"seed-e{i}", ts_ms=now, employer_id=f"E{i}",
                                           kind="organisation", name=f"襄阳用工单位{i}",
                                           uscc=make_uscc(rng, "420602"), region="420602",
                                           contact=c.Personal(name="联系人", mobile="13900000000")))  # fmt: skip
        for i in range(-WARMUP, workers):
            lat, lng = _near(rng, 3000)
            cmds.append(c.RegisterWorker(command_id=f"seed-w{i}", ts_ms=now, worker_id=f"W{i}",
                                         region="420602", birth_year=1970 + i % 30,
                                         personal=c.Personal(mobile=f"138{i % 10**8:08d}"),

                                         skills=("moving",), min_pay_fen=10000,
                                         home=c.Point(lat=lat, lng=lng)))  # fmt: skip
        for start in range(0, len(cmds), 1000):
            for res in rt.submit_many(cmds[start : start + 1000], OPERATOR):
                assert res.ok, res.refusal
    token, _ = TokenStore(data_dir).create("admin", "", note="http bench", nationwide=True)
    return token


def serve(data_dir: str, port: int, fsync: bool) -> None:
    """The benchmark's server: `lingong serve`'s wiring, ticker off, no rate limit."""
    import uvicorn

    from adapters.http.app import create_app
    from adapters.http.auth import Limits
    from adapters.shell.runtime import Runtime
    from adapters.shell.service import EngineService

    runtime = Runtime(data_dir, fsync=fsync)
    service = EngineService(runtime, tick_ms=0).start()
    limits = Limits(rate_per_s=1e9, burst=10**9)
    with open(Path(data_dir) / "http.log", "w") as log:
        app = create_app(service, data_dir=data_dir, limits=limits, log_stream=log)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
        try:
            uvicorn.Server(config).run()
        finally:
            service.stop()
            runtime.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


class _Conn:
    """One keep-alive HTTP/1.1 connection (Content-Length framing, JSON bodies)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


async def _phase(port: int, requests: list[tuple[str, dict]], concurrency: int, token: str):
    """Send `requests` over `concurrency` keep-alive connections; time each one."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))
    deadline = time.monotonic() + PHASE_BUDGET_S

    async def worker() -> None:
        conn = _Conn(*await asyncio.open_connection("127.0.0.1", port))
        try:
            while queue:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"phase exceeded {PHASE_BUDGET_S} s")
                path, body = queue.pop()
                payload = json.dumps(body, ensure_ascii=False).encode()
                t0 = time.perf_counter()
                status, _ = await asyncio.wait_for(conn.post(path, payload, token), 60.0)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    return time.perf_counter() - started, latencies, statuses


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed(pid: int, port: int, requests: list, concurrency: int, token: str):
    """A phase with the server's and this process's CPU seconds spent in it."""
    s0, c0 = _cpu_s(pid), time.process_time()
    wall, latencies, statuses = await _phase(port, requests, concurrency, token)
    return wall, latencies, statuses, _cpu_s(pid) - s0, time.process_time() - c0


def _seq(base: str) -> int:
    import httpx

    return int(httpx.get(base + "/healthz", timeout=10).json()["seq"])


async def _drive(
    pid: int, port: int, token: str, checkins: int, postings: int, concurrency: int, rng
):
    base = f"http://127.0.0.1:{port}"
    ins = [(f"/workers/W{i}/check-in", {"station_id": f"S{i % STATIONS}"})
           for i in range(-WARMUP, checkins)]  # fmt: skip
    now_ms = int(time.time() * 1000)
    jobs = []
    for i in range(-WARMUP, postings):
        lat, lng = _near(rng, 2500)
        jobs.append(("/jobs", {"job_id": f"J{i}", "employer_id": f"E{i % EMPLOYERS}",
                               "station_id": f"S{i % STATIONS}", "title": "搬家工",
                               "skill": "moving", "headcount": 1 + i % 3, "pay_fen": 30000,
                               "start_ms": now_ms + 3_600_000, "end_ms": now_ms + 7 * 3_600_000,
                               "location": {"lat": lat, "lng": lng}}))  # fmt: skip
    await _phase(port, ins[:WARMUP], concurrency, token)
    await _phase(port, jobs[:WARMUP], concurrency, token)
    seq0 = await asyncio.to_thread(_seq, base)
    timed_ins = await _timed(pid, port, ins[WARMUP:], concurrency, token)
    timed_jobs = await _timed(pid, port, jobs[WARMUP:], concurrency, token)
    seq1 = await asyncio.to_thread(_seq, base)
    return seq0, seq1, timed_ins, timed_jobs


def run_http_bench(
    checkins: int = 2000,
    postings: int = 500,
    concurrency: int = 32,
    *,
    fsync: bool = True,
    directory: str | Path | None = None,
    seed_: int = 7,
) -> dict[str, Any]:
    if not (1 <= checkins <= MAX_REQUESTS and 1 <= postings <= MAX_REQUESTS):
        raise ValueError(f"checkins and postings must be 1..{MAX_REQUESTS}")
    if not 1 <= concurrency <= 1024:
        raise ValueError("concurrency must be 1..1024")
    import httpx

    with tempfile.TemporaryDirectory(prefix="lingong-httpbench-", dir=directory) as tmp:
        data = Path(tmp) / "data"
        token = seed(data, checkins, fsync=fsync, seed_=seed_)
        port = _free_port()
        err_path = Path(tmp) / "server.err"
        with err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.http_bench", "serve", "--data", str(data),
                 "--port", str(port), "--fsync", "1" if fsync else "0"],
                cwd=Path(__file__).resolve().parents[1],
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"bench server exited: {proc.stderr.read().decode()[-2000:]}"
                    )  # type: ignore[union-attr]
                try:
                    if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("bench server did not start in time")
                time.sleep(0.1)
            seq0, seq1, ins, jobs = asyncio.run(
                _drive(
                    proc.pid, port, token, checkins, postings, concurrency, random.Random(seed_)
                )  # fmt: skip
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    t_in, lat_in, st_in, srv_in, cli_in = ins
    t_job, lat_job, st_job, srv_job, cli_job = jobs
    verified = st_in == {201: checkins} and st_job == {201: postings}
    verified = verified and seq1 - seq0 == checkins + postings
    return {
        "checkins": checkins,
        "postings": postings,
        "concurrency": concurrency,
        "fsync": fsync,
        "checkins_per_s": round(checkins / t_in, 1),
        "postings_per_s": round(postings / t_job, 1),
        "p99_ms": round(_pct(lat_in, 99) * 1000, 2),
        "checkin_rps": round(checkins / t_in, 1),
        "checkin_server_cpu_us": round(srv_in / checkins * 1e6, 1),
        "checkin_client_cpu_us": round(cli_in / checkins * 1e6, 1),
        "posting_server_cpu_us": round(srv_job / postings * 1e6, 1),
        "posting_client_cpu_us": round(cli_job / postings * 1e6, 1),
        "checkins_per_server_cpu_s": round(checkins / srv_in, 1) if srv_in > 0 else None,
        "checkin_p50_ms": round(_pct(lat_in, 50) * 1000, 2),
        "checkin_p99_ms": round(_pct(lat_in, 99) * 1000, 2),
        "posting_rps": round(postings / t_job, 1),
        "posting_p50_ms": round(_pct(lat_job, 50) * 1000, 2),
        "posting_p99_ms": round(_pct(lat_job, 99) * 1000, 2),
        "statuses": {"checkin": st_in, "posting": st_job},
        "records": seq1 - seq0,
        "verified": verified,
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_bench")
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve", help="(internal) the benchmark's server")
    s.add_argument("--data", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--fsync", type=int, default=1)
    p.add_argument("--checkins", type=int, default=2000)
    p.add_argument("--postings", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--no-fsync", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "serve":
        serve(args.data, args.port, bool(args.fsync))
        return 0
    out = run_http_bench(args.checkins, args.postings, args.concurrency, fsync=not args.no_fsync)
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
