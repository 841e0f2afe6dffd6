"""Shared helpers of the NATS tests: a small morning, engines, raw NATS clients."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import nats

from adapters.shell.runtime import Clock, ManualClock, Result, Runtime
from adapters.shell.service import EngineService
from engine import commands as c
from engine import events as e
from engine.authz import Caller
from sim.callers import caller_for
from sim.morning import Morning, Sizes

T_DEFAULT = 1_795_000_000_000  # a fixed instant (2026-11-18 UTC): tests never read the wall clock

# A hang guard for waits that are otherwise event-driven: it only turns a hang into a
# failure, it is never what decides pass/fail on a healthy machine, however slow or loaded.
HANG_S = 120.0

SMALL = Sizes(stations_per_city=4, workers=60, employers=10, postings=24, tick_ms=60_000)


def unique(tmp_path: Path, prefix: str = "p") -> str:
    return prefix + hashlib.blake2b(str(tmp_path).encode(), digest_size=6).hexdigest()


def morning_commands(
    execute: Callable[[c.Command], Result],
    *,
    sizes: Sizes = SMALL,
    seed: int = 11,
    limit: int | None = None,
) -> list[c.Command]:
    """Drive a synthetic morning through `execute`, answering offers like people do.

    Returns the commands in the order they were executed (at most `limit`)."""
    morning = Morning(seed=seed, sizes=sizes)
    sent: list[c.Command] = []

    def run(cmd: c.Command) -> bool:
        sent.append(cmd)
        res = execute(cmd)
        if res.ok:
            morning.respond(res.events)
        return limit is not None and len(sent) >= limit

    def stream() -> Iterator[c.Command]:
        yield from morning.setup()
        for ts, cmd in morning.timeline():
            yield from morning.pop_due(ts)
            yield cmd
        yield from morning.drain()

    for cmd in stream():
        if run(cmd):
            break
    return sent


class SimService(EngineService):
    """An engine service whose in-process callers (the tests, the simulated morning) act as
    the market's natural callers (`sim.callers`); transports pass their own caller."""

    def submit(self, cmd: c.Command, caller: Caller | None = None):  # noqa: ANN201
        if caller is None:
            caller = caller_for(self.runtime.engine.state, cmd)
        return super().submit(cmd, caller)

    def execute(self, cmd: c.Command, caller: Caller | None = None, timeout_s: float = 30.0):  # noqa: ANN201
        return self.submit(cmd, caller).result(timeout=timeout_s)


def engine_service(data_dir: Path, log=None, clock: Clock | None = None) -> EngineService:
    """An engine service whose time is `clock` (a fixed test time; never the wall clock)."""
    runtime = Runtime(data_dir, log=log, fsync=False, clock=clock or ManualClock(T_DEFAULT))
    return SimService(runtime, tick_ms=0).start()


class Tally:
    """Things noted from any thread (callbacks, subscriptions); `wait_until` sleeps on a
    condition variable that every `note` wakes: no polling, no timing."""

    def __init__(self) -> None:
        self.items: list = []
        self._cond = threading.Condition()

    def note(self, item: object) -> None:
        with self._cond:
            self.items.append(item)
            self._cond.notify_all()

    def wait_until(self, pred: Callable[[list], bool], hang_s: float = HANG_S) -> list:
        """A copy of the items once `pred(items)` holds (raises after `hang_s`)."""
        with self._cond:
            if not self._cond.wait_for(lambda: pred(self.items), hang_s):
                raise AssertionError(f"not reached in {hang_s} s (hang guard): {self.items!r}")
            return list(self.items)

    def wait_count(self, n: int, hang_s: float = HANG_S) -> list:
        return self.wait_until(lambda items: len(items) >= n, hang_s)


def strip_sealed(obj: object) -> object:
    """A Result/ResultWire as plain data without the (randomly encrypted) sealed blobs."""
    data = msgspec.to_builtins(obj)
    for ev in data.get("events", []):
        ev.pop("sealed", None)
    if not data.get("error_id", "x"):  # "" unless the core raised
        data.pop("error_id")
    return data


def run(coro):
    return asyncio.run(coro)


async def connect(url: str) -> nats.aio.client.Client:
    return await nats.connect(url.split(","), connect_timeout=HANG_S)


def replay_digest(payloads: list[bytes]) -> str:
    from engine.core import Engine

    engine = Engine()
    for seq, payload in enumerate(payloads, 1):
        engine.apply_record(seq, e.decode_record(payload))
    return engine.digest()


XY = (32.0090, 112.1220)  # Xiangyang centre


def near(dlat_m: float = 0.0, dlng_m: float = 0.0) -> c.Point:
    import math

    return c.Point(
        lat=XY[0] + dlat_m / 111_195.0,
        lng=XY[1] + dlng_m / (111_195.0 * math.cos(math.radians(XY[0]))),
    )


def hiring_scenario(t0: int, tag: str = "") -> list[c.Command]:
    """A station, an employer, six movers (three at the station, three opted in to pushes:
    the last quiet from t0 + 1 min), and one posting for two movers at t0."""
    import random

    from sim.morning import make_id_number, make_uscc

    n = iter(range(1, 1000))

    def cid() -> str:
        return f"{tag}c{next(n)}"

    region = "420602"
    cmds: list[c.Command] = [
        c.SetPolicy(command_id=cid(), ts_ms=t0 - 60_000, region="", policy=e.Policy()),
        c.RegisterStation(
            command_id=cid(),
            ts_ms=t0 - 60_000,
            station_id="S1",
            name="樊城零工驿站",
            kind="hub",
            region=region,
            location=near(),
        ),
        c.ChangeStationStatus(
            command_id=cid(), ts_ms=t0 - 60_000, station_id="S1", status="approved"
        ),
        c.RegisterEmployer(
            command_id=cid(),
            ts_ms=t0 - 60_000,
            employer_id="E1",
            kind="organisation",
            name="襄阳搬家公司",
            uscc=make_uscc(random.Random(1), region),
            region=region,
            contact=c.Personal(name="李四", mobile="13912345678"),
        ),
    ]
    quiet_start = ((t0 // 60_000) + 8 * 60 + 1) % 1440  # local minute of t0 + 1
    for i in range(1, 7):
        wid = f"W{i}"
        idn = make_id_number(random.Random(wid), region, 1975)
        quiet = (quiet_start, (quiet_start + 120) % 1440) if i == 6 else (22 * 60, 7 * 60)
        cmds.append(
            c.RegisterWorker(
                command_id=cid(),
                ts_ms=t0 - 30_000,
                worker_id=wid,
                region=region,
                personal=c.Personal(name="张三", mobile=f"1381234{i:04d}", id_number=idn),
                skills=("moving",),
                min_pay_fen=15000,
                home=near(50 * i, 0),
                push_opt_in=i >= 4,
                quiet_start_min=quiet[0],
                quiet_end_min=quiet[1],
            )
        )
    for i in range(1, 4):
        cmds.append(
            c.CheckIn(command_id=cid(), ts_ms=t0 - 10_000, worker_id=f"W{i}", station_id="S1")
        )
    cmds.append(
        c.SubmitJob(
            command_id=cid(),
            ts_ms=t0,
            job_id="J1",
            employer_id="E1",
            station_id="S1",
            title="搬家",
            skill="moving",
            headcount=2,
            pay_fen=30000,
            start_ms=t0 + 3_600_000,
            end_ms=t0 + 9 * 3_600_000,
            location=near(100, 100),
        )
    )
    return cmds


class Tokens:
    """Bearer tokens of an engine's data folder, made on first use (staff: once the
    station is registered, as `lingong token create` requires)."""

    def __init__(self, data_dir: Path, service: EngineService) -> None:
        from adapters.gate.tokens import TokenStore

        self.store = TokenStore(data_dir)
        self.service = service
        self._made: dict[tuple[str, str, str, bool], str] = {}

    def token(
        self, role: str, region: str = "", *, station: str = "", nationwide: bool = False
    ) -> str:
        key = (role, region, station, nationwide)
        if key not in self._made:
            stations = None
            if station:
                stations = self.service.read(
                    lambda s: {sid: st.region for sid, st in s.stations.items()}
                )
            self._made[key], _ = self.store.create(
                role,
                region,
                station,
                nationwide=nationwide,
                stations=stations,
                name="站员" + station if station else "",
            )
        return self._made[key]

    def caller(self, token: str):  # -> Caller
        from adapters.gate.tokens import caller_of

        rec = self.store.verify(token)
        assert rec is not None
        who = caller_of(rec)
        assert who is not None
        return who


def ask(
    url: str, subject: str, body: bytes, token: str | None = None, *, key: str | None = None
) -> tuple[bytes, dict]:
    """One request/reply with a bearer token (and an Idempotency-Key)."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key

    async def go():
        nc = await connect(url)
        try:
            msg = await nc.request(subject, body, timeout=10, headers=headers or None)
            return msg.data, dict(msg.headers or {})
        finally:
            await nc.close()

    return run(go())
