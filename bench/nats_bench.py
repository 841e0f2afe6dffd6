"""NATS benchmarks: the micro service, R3 appends with batched acks, fan-out to subscribers.

Owns: `run_append_bench`, `run_micro_bench`, `run_fanout_bench` and a command line
(`python -m bench.nats_bench append|micro|fanout [--cluster] ...`) that starts its own
loopback nats-server(s) (`tests.nats.servers`) unless `--nats URL` is given.

Measures (each run also checks its answer and says so in `verified`):
- append: a synthetic morning's real records (payload mix of the engine) appended to the
  JetStream log in `batch`-frame appends (atomic batches, one ack per <= 1,000 frames);
  `frames_per_s`, `events_per_s` (frames/s x events per record of that mix) and the
  latency of one append call (p50/p99). Verified: read back, every frame equal, chain.
- micro: the morning's commands through the micro service (`lingong.api.<p>.cmd.<Type>`,
  bearer tokens, server time following the morning; ticks are not sent) with
  `concurrency` requests in flight, sent by a front end in a child process, against an
  engine on the JetStream log; `commands_per_s` and request latency p50/p99/max as the
  front end sees it (acknowledged = durable in the stream). The registrations (setup) go
  in process first and are not timed. Verified: every command answered, the engine's
  digest equals a replay of the log.
- fanout: the publisher publishes a morning's events to LINGONG_EVT while `subscribers`
  ordered consumers read them all; `publish_events_per_s` (acknowledged by the stream) and
  `deliveries_per_s` (all subscribers together). Verified: each subscriber saw every
  event id exactly once.

Limits: bounded sizes (the arguments); the machine is shared, so figures vary run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
from nats.js.api import DeliverPolicy

from adapters.log.ports import chain_of
from adapters.nats import cloudevents as ce
from adapters.nats.bridge import NatsBridge
from adapters.nats.jslog import JetStreamLog
from adapters.nats.micro import ResultWire, api_subject
from adapters.nats.publisher import EventPublisher
from adapters.nats.streams import auto_replicas, ensure_stream
from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService
from engine import commands as c
from engine import events as e
from engine.core import Engine
from sim.callers import caller_for
from sim.morning import Morning, Sizes

BENCH_SIZES = Sizes(stations_per_city=6, workers=2000, employers=120, postings=400)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def morning_payloads(sizes: Sizes = BENCH_SIZES, seed: int = 7) -> tuple[list[bytes], int]:
    """The records of a synthetic morning (encoded) and how many events they hold."""
    from sim.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="lingong-natsbench-") as tmp:
        run_demo(tmp, sizes=sizes, seed=seed, fsync=False)
        from adapters.log.filelog import FileLog

        with FileLog(Path(tmp) / "log", fsync=False) as log:
            payloads = [p for _, p in log.read()]
    events = sum(len(e.decode_record(p).events) for p in payloads)
    return payloads, events


# ------------------------------------------------------------------ append ----------


def run_append_bench(
    url: str, *, frames: int = 100_000, batch: int = 1000, partition: str | None = None
) -> dict[str, Any]:
    payloads, events = morning_payloads()
    per_record = events / len(payloads)
    written = [payloads[i % len(payloads)] for i in range(frames)]
    partition = partition or f"bench-append-{time.time_ns() % 10**9}"
    log = JetStreamLog(url, partition)
    latencies: list[float] = []
    try:
        started = time.perf_counter()
        for i in range(0, frames, batch):
            t = time.perf_counter()
            log.append(written[i : i + batch])
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - started
        t = time.perf_counter()
        back = [p for _, p in log.read()]
        read_s = time.perf_counter() - t
        verified = back == written and log.head_hash == chain_of(written)
    finally:
        log.close()
    return {
        "frames": frames,
        "batch": batch,
        "replicas": log.replicas,
        "payload_bytes_avg": round(sum(map(len, written)) / frames, 1),
        "events_per_record": round(per_record, 3),
        "frames_per_s": round(frames / elapsed),
        "events_per_s": round(frames * per_record / elapsed),
        "append_p50_ms": round(_pct(latencies, 0.5) * 1000, 2),
        "append_p99_ms": round(_pct(latencies, 0.99) * 1000, 2),
        "read_verify_frames_per_s": round(frames / read_s),
        "verified": verified,
    }


# ------------------------------------------------------------------ micro -----------


async def _drive(
    url: str,
    partition: str,
    cmds: list[tuple[int, c.Command]],
    morning: Morning,
    concurrency: int,
    tokens: dict[str, str],
) -> tuple[list[float], int, dict[str, int]]:
    """Send the timeline with `concurrency` requests in flight; people answer offers as
    the results come back (so replies are paced like the real morning's). Each command
    goes to its route's endpoint (`cmd.<Type>`) with the token of its role (`tokens`:
    "admin", "front_end", "staff:<station>"); the server stamps the time, so `Advance`
    (time passing) is not sent."""
    from adapters.gate.bodies import request_of
    from adapters.gate.routes import route_of
    from adapters.nats.conn import close_quietly, connect

    nc = await connect(url, "lingong-bench-driver")
    decoder = msgspec.json.Decoder(ResultWire)
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    refusals: dict[str, int] = {}
    answered = 0

    def token_of(cmd: c.Command) -> str:
        name = type(cmd).__name__
        if name in ("SetPolicy", "RegisterStation", "ChangeStationStatus"):
            return tokens["admin"]
        if name in ("PublishTraining", "SignUpTraining", "CompleteTraining", "PublishPolicyAnswer"):
            return tokens["admin"]  # the station's work, any sign-up channel
        if name in ("ReviewJob", "RingBell"):
            return tokens[f"staff:{cmd.station_id}"]  # type: ignore[attr-defined]
        return tokens["front_end"]

    async def one(cmd: c.Command) -> None:
        nonlocal answered
        route = route_of(type(cmd).__name__)
        subject = api_subject(partition, f"cmd.{route.name}")
        headers = {"Authorization": f"Bearer {token_of(cmd)}", "Idempotency-Key": cmd.command_id}
        try:
            t = time.perf_counter()
            msg = await nc.request(subject, request_of(cmd, route), timeout=30, headers=headers)
            latencies.append(time.perf_counter() - t)
        finally:
            slots.release()
        answered += 1
        res = decoder.decode(msg.data) if msg.data[:1] == b"{" else None
        if (msg.headers or {}).get("Nats-Service-Error-Code"):
            rule = (res.refusal or {}).get("rule", "?") if res is not None else "?"
            key = f"{type(cmd).__name__}:{rule}"
            refusals[key] = refusals.get(key, 0) + 1
            return
        if res is not None:
            morning.respond(res.events)

    async def send(cmd: c.Command) -> None:
        if _CLOCK and cmd.ts_ms > _CLOCK[0].value:
            _CLOCK[0].value = cmd.ts_ms  # the morning's time moves on
        if isinstance(cmd, c.Advance):
            return
        await slots.acquire()
        tasks.append(asyncio.create_task(one(cmd)))

    tasks: list[asyncio.Task] = []
    try:
        for ts, cmd in cmds:
            for due in morning.pop_due(ts):
                await send(due)
            await send(cmd)
        await asyncio.gather(*tasks)
        for cmd in morning.drain():
            await send(cmd)
        await asyncio.gather(*tasks)
    finally:
        await close_quietly(nc)
    return latencies, answered, refusals


def _front_end(
    url: str, partition: str, sizes: Sizes, concurrency: int, tokens: dict[str, str]
) -> tuple[list[float], int, dict[str, int], float]:
    """The driver, in a child process: the same morning, set up without executing."""
    morning = Morning(seed=7, sizes=sizes)
    for _ in morning.setup():  # builds its people; the engine already has them
        pass
    timeline = morning.timeline()
    started = time.perf_counter()
    latencies, answered, refusals = asyncio.run(
        _drive(url, partition, timeline, morning, concurrency, tokens)
    )
    return latencies, answered, refusals, time.perf_counter() - started


class _MorningClock:
    """The server's clock follows the morning: the front end moves it (commands carry no
    time; the server stamps them, so the engine must live at the morning's hour)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def now_ms(self) -> int:
        return int(self.value.value)


_CLOCK: list[Any] = []


def _share_clock(value: Any) -> None:
    _CLOCK.append(value)


def _tokens(data_dir: str | Path, service: EngineService, morning: Morning) -> dict[str, str]:
    """Bearer tokens of the driver: an admin, a front end, the staff of every station."""
    from adapters.gate.tokens import TokenStore

    store = TokenStore(data_dir)
    stations = service.read(lambda s: {sid: st.region for sid, st in s.stations.items()})
    out = {
        "admin": store.create("admin", "", nationwide=True, note="bench")[0],
        "front_end": store.create("front_end", "42", note="bench")[0],
    }
    for sid, region in stations.items():
        if region:
            out[f"staff:{sid}"] = store.create(
                "station_staff", region[:4], sid, stations=stations, name="站员" + sid
            )[0]
    return out


def run_micro_bench(
    url: str,
    data_dir: str | Path,
    *,
    concurrency: int = 64,
    sizes: Sizes = BENCH_SIZES,
    publish: bool = True,
) -> dict[str, Any]:
    partition = f"bench-micro-{time.time_ns() % 10**9}"
    morning = Morning(seed=7, sizes=sizes)
    ctx = multiprocessing.get_context("spawn")  # the front end: its own process and GIL
    morning_ms = ctx.Value("q", morning.at(4))  # the morning's time, set by the front end
    runtime = Runtime(data_dir, log=JetStreamLog(url, partition), clock=_MorningClock(morning_ms))
    service = EngineService(runtime, tick_ms=0).start()
    bridge = NatsBridge(service, url, partition=partition, publish=publish, data_dir=data_dir)
    try:
        for cmd in morning.setup():  # registrations: in process, not timed, as the operator
            morning.respond(service.execute(cmd, caller_for(runtime.engine.state, cmd)).events)
        tokens = _tokens(data_dir, service, morning)
        bridge.start()
        with ctx.Pool(1, initializer=_share_clock, initargs=(morning_ms,)) as pool:
            latencies, answered, refusals, elapsed = pool.apply(
                _front_end, (url, partition, sizes, concurrency, tokens)
            )
        digest = service.read(lambda st: (st.last_seq, st.digest()))
        replay = Engine()
        for seq, payload in runtime.log.read():
            replay.apply_record(seq, e.decode_record(payload))
        verified = answered == len(latencies) and digest == (replay.state.last_seq, replay.digest())
    finally:
        bridge.close()
        service.stop()
        runtime.close()
    return {
        "commands": answered,
        "refused": sum(refusals.values()),
        "refusal_rules": dict(sorted(refusals.items(), key=lambda kv: -kv[1])[:6]),
        "concurrency": concurrency,
        "replicas": runtime.log.replicas,  # type: ignore[attr-defined]
        "publisher_on": publish,
        "commands_per_s": round(answered / elapsed),
        "latency_p50_ms": round(_pct(latencies, 0.5) * 1000, 2),
        "latency_p99_ms": round(_pct(latencies, 0.99) * 1000, 2),
        "latency_max_ms": round(max(latencies, default=0) * 1000, 2),
        "group_commits": service.batches,
        "verified": verified,
    }


# ------------------------------------------------------------------ fan-out ---------


async def _subscribe_all(
    url: str, source: str, want: int, ready: threading.Event, timeout_s: float
) -> tuple[list[str], float]:
    """One subscriber (an ordered consumer from now on): the ids of `source`'s events."""
    from adapters.nats.conn import close_quietly, connect

    nc = await connect(url, "lingong-bench-sub")
    ids: list[str] = []
    done = asyncio.Event()
    first = last = 0.0

    async def on_msg(msg) -> None:
        nonlocal first, last
        if msg.headers.get("ce-source") != source:
            return
        if not ids:
            first = time.perf_counter()
        ids.append(msg.headers["ce-id"])
        last = time.perf_counter()
        if len(ids) >= want:
            done.set()

    try:
        js = nc.jetstream()
        await ensure_stream(js, ce.EVT_STREAM, [f"{ce.EVT_PREFIX}.>"], auto_replicas(nc))
        await js.subscribe(
            f"{ce.EVT_PREFIX}.>",
            ordered_consumer=True,
            cb=on_msg,
            deliver_policy=DeliverPolicy.NEW,
        )
        await nc.flush()
        ready.set()
        await asyncio.wait_for(done.wait(), timeout=timeout_s)
    except TimeoutError:
        pass
    finally:
        await close_quietly(nc)
    return ids, last - first


def run_fanout_bench(
    url: str, data_dir: str | Path, *, subscribers: int = 4, sizes: Sizes = BENCH_SIZES
) -> dict[str, Any]:
    from adapters.log.filelog import FileLog
    from adapters.nats.conn import LoopThread

    payloads, events = morning_payloads(sizes)
    log = FileLog(Path(data_dir) / "fanout-log", fsync=False)
    log.append(payloads)
    lt = LoopThread("lingong-bench-subs")
    partition = f"bench-fanout-{time.time_ns() % 10**9}"
    ready = [threading.Event() for _ in range(subscribers)]
    subs = [
        lt.submit(_subscribe_all(url, f"/lingong/{partition}", events, r, 120.0)) for r in ready
    ]
    for r in ready:
        r.wait(30)
    publisher = EventPublisher(url, log, partition=partition)
    started = time.perf_counter()
    publisher.start()
    published = publisher.wait_idle(120)
    publish_s = time.perf_counter() - started
    results = [f.result(timeout=150) for f in subs]
    stats = publisher.close()
    lt.stop()
    log.close()
    deliveries = sum(len(ids) for ids, _ in results)
    span = max((s for _, s in results), default=0.0) or publish_s
    verified = published and all(len(ids) == len(set(ids)) == events for ids, _ in results)
    return {
        "events": events,
        "records": len(payloads),
        "subscribers": subscribers,
        "publish_events_per_s": round(stats.messages / publish_s),
        "deliveries_per_s": round(deliveries / span),
        "per_subscriber_events_per_s": round(deliveries / max(1, subscribers) / span),
        "verified": verified,
    }


# ------------------------------------------------------------------ command line ----


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.nats_bench")
    p.add_argument("what", choices=("append", "micro", "fanout"))
    p.add_argument("--nats", help="use this NATS (else start loopback servers)")
    p.add_argument("--cluster", action="store_true", help="a 3-node cluster (R3)")
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--subscribers", type=int, default=4)
    p.add_argument("--no-publish", action="store_true", help="micro: without the publisher")
    args = p.parse_args(argv)
    servers = None
    url = args.nats
    if url is None:
        from tests.nats.servers import start_cluster, start_server

        servers = start_cluster() if args.cluster else start_server()
        url = servers.url
    try:
        with tempfile.TemporaryDirectory(prefix="lingong-natsbench-") as tmp:
            if args.what == "append":
                out = run_append_bench(url, frames=args.frames, batch=args.batch)
            elif args.what == "micro":
                out = run_micro_bench(
                    url, tmp, concurrency=args.concurrency, publish=not args.no_publish
                )
            else:
                out = run_fanout_bench(url, tmp, subscribers=args.subscribers)
    finally:
        if servers is not None:
            servers.stop() if hasattr(servers, "nodes") else servers.kill()
    print(json.dumps(out, indent=2))
    return 0 if out.get("verified") else 1


if __name__ == "__main__":
    raise SystemExit(main())
