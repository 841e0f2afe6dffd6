"""The NATS micro service: the commands and queries of front ends, by request/reply.

Owns: the `nats.micro` service `lingong` of one partition (endpoints under
`lingong.api.<partition>`), request decoding, replies (msgspec JSON) and error replies.

Endpoints (request body -> reply body, JSON):
    cmd                 a tagged command {"type": "CheckIn", ...}         -> Result
    cmd.<Type>          the same without "type" (per-type statistics)     -> Result
    q.summary           {}                                                -> state summary
    q.digest            {}                                                -> {"seq", "digest"}
    q.job               {"job_id"}                                        -> job view
    q.offer             {"offer_id"}                                      -> offer view
    q.worker            {"worker_id"}                                     -> worker view
    q.hall              {"location": Point, "radius_m", "skill", "keyword",
                         "min_day_pay_fen", "sort", "limit"}              -> [{job, distance_m}]
    q.nav               {"job_id", "origin": Point | null, "mode"}       -> navigation links
A `Result` is `adapters.shell.runtime.Result` exactly as the in-process API returns it.

Errors: the reply carries `Nats-Service-Error: <field>: <message> [<rule>]` and
`Nats-Service-Error-Code`: 400 malformed or schema-invalid input, 422 a command refused
by a rule (body: the Result with its refusal), 404 unknown id in a query, 503 engine busy
or stopped, 500 a bug. The body of an error is JSON {"field", "rule", "message"} (or the
refused Result).

Invariants:
- A reply to a command is sent only after `EngineService` resolved it, i.e. after its
  record is durable in the log (or it was refused). Retried command ids get the first
  result's seq with `duplicate: true`, as in process.
- `ts_ms: 0` in a command means "now": the service stamps it from the runtime clock
  (never before the last event).
- Each request runs in its own task: one slow command never blocks the others; at most
  `max_inflight` run at once (503 beyond).

Limits: `max_inflight` (10,000) requests in flight; `q.hall` returns at most 200 jobs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service

from adapters.shell.runtime import Result, RuntimeStopped
from adapters.shell.service import EngineService, ServiceBusy
from engine import commands as c
from engine import events as e
from engine.authz import SYSTEM, Caller
from engine.geo import check_point
from engine.matcher import job_hall
from engine.matching.nav import nav_links
from engine.state import State

API_PREFIX = "lingong.api"
VERSION = "0.1.0"
MAX_HALL = 200
log = logging.getLogger("lingong.nats.micro")


class ResultWire(msgspec.Struct, kw_only=True):
    """`Result` as a client decodes it (events as the tagged union)."""

    ok: bool
    seq: int = 0
    duplicate: bool = False
    events: list[e.AnyEvent] = []
    refusal: dict[str, str] | None = None
    error_id: str = ""  # with refusal rule "internal_error"


class _JobQ(msgspec.Struct, kw_only=True):
    job_id: str


class _OfferQ(msgspec.Struct, kw_only=True):
    offer_id: str


class _WorkerQ(msgspec.Struct, kw_only=True):
    worker_id: str


class _HallQ(msgspec.Struct, kw_only=True):
    location: c.Point
    radius_m: int = 1500
    skill: str = ""
    keyword: str = ""
    min_day_pay_fen: int = 0
    sort: str = "distance"
    limit: int = 50


class _NavQ(msgspec.Struct, kw_only=True):
    job_id: str
    origin: c.Point | None = None
    mode: str = "walk"


class _Empty(msgspec.Struct):
    pass


_enc = msgspec.json.Encoder()


def api_subject(partition: str, endpoint: str) -> str:
    return f"{API_PREFIX}.{partition}.{endpoint}"


def _admit(target: Any, data: bytes, now_ms: int) -> c.Command:
    """A command from JSON through the engine's strict decoder; a missing or 0 `ts_ms`
    is stamped with the server's clock (interim: the gate will always stamp it)."""
    try:
        raw = msgspec.json.decode(data or b"{}")
    except msgspec.DecodeError as exc:
        raise c.Refusal("body", "json", c.clip(f"malformed JSON: {exc}", 200)) from None
    except RecursionError:
        raise c.Refusal("body", "depth", "nested too deeply") from None
    if isinstance(raw, dict) and raw.get("ts_ms", 0) == 0:
        raw["ts_ms"] = now_ms
    return c.admit(target, raw)


def _interim_caller(state: State, cmd: c.Command) -> Caller:
    """INTERIM, until NATS callers are authenticated by the gate (issue 11, WP-A2): the
    micro service has no authentication, so it acts as before: as an administrator, as
    the named staff for a review, and as the system for ticks. Never copy this."""
    if isinstance(cmd, c.Advance):
        return SYSTEM
    if isinstance(cmd, c.ReviewJob):
        station = state.stations.get(cmd.station_id)
        region = station.region if station is not None else "11"
        return Caller(
            actor_id=cmd.staff_id, role="station_staff", region=region, station_id=cmd.station_id
        )
    return _UNAUTHENTICATED


_UNAUTHENTICATED = Caller(actor_id="nats-unauthenticated", role="admin", nationwide=True)


def _decode(decoder: msgspec.json.Decoder, data: bytes):
    try:
        return decoder.decode(data or b"{}")
    except msgspec.ValidationError as exc:
        raise c.Refusal.from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise c.Refusal("body", "json", f"malformed JSON: {exc}") from None


class _NotFound(Exception):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"no {field} {value!r}")
        self.refusal = c.Refusal(field, "not_found", f"no {field} {value!r}")


# ------------------------------------------------------------------ views -----------


def job_view(state: State, job_id: str) -> dict:
    job = state.jobs.get(job_id)
    if job is None:
        raise _NotFound("job_id", job_id)
    out = msgspec.structs.asdict(job)
    for internal in ("row", "offered_rows"):
        out.pop(internal, None)
    out["open_slots"] = job.open_slots
    return out


def offer_view(state: State, offer_id: str) -> dict:
    offer = state.offers.get(offer_id)
    if offer is None:
        raise _NotFound("offer_id", offer_id)
    return {
        "offer_id": offer.offer_id,
        "job_id": offer.job_id,
        "worker_id": state.worker_ids[offer.worker_row],
        "expires_ms": offer.expires_ms,
        "status": offer.status,
    }


def worker_view(state: State, worker_id: str) -> dict:
    row = state.worker_rows.get(worker_id)
    if row is None:
        raise _NotFound("worker_id", worker_id)
    w = state.workers
    return {
        "worker_id": worker_id,
        "region": state.worker_region[row],
        "active": bool(w.active[row]),
        "checked_in": bool(w.checked_in[row]),
        "station_id": state.worker_station[row],
        "push_opt_in": bool(w.push_opt_in[row]),
        "quiet_start_min": int(w.quiet_start_min[row]),
        "quiet_end_min": int(w.quiet_end_min[row]),
        "live_offers": list(state.live_offers_of(row)),
        "hires": list(state.hires_by_worker.get(row, [])),
    }


def hall_view(state: State, q: _HallQ) -> list[dict]:
    lat, lng = check_point(q.location.lat, q.location.lng, q.location.datum)
    if not 0 < q.radius_m <= 50_000:
        raise c.Refusal("radius_m", "range", "radius_m must be within 1..50000")
    if q.sort not in ("distance", "pay"):
        raise c.Refusal("sort", "enum", "sort must be 'distance' or 'pay'")
    try:
        hits = job_hall(
            state,
            lat,
            lng,
            float(q.radius_m),
            skill=q.skill,
            min_day_pay_fen=q.min_day_pay_fen,
            keyword=q.keyword,
            sort=q.sort,
            limit=max(1, min(q.limit, MAX_HALL)),
        )
    except ValueError as exc:  # e.g. a keyword longer than the index accepts
        raise c.Refusal("keyword", "length", str(exc)) from None
    return [{"job": job_view(state, job.job_id), "distance_m": d} for job, d in hits]


def nav_view(state: State, q: _NavQ) -> dict:
    job = state.jobs.get(q.job_id)
    if job is None:
        raise _NotFound("job_id", q.job_id)
    origin = None
    if q.origin is not None:
        origin = check_point(q.origin.lat, q.origin.lng, q.origin.datum, field="origin")
    try:
        return nav_links(job.lat, job.lng, job.title, *(origin or (None, None)), mode=q.mode)
    except ValueError as exc:
        raise c.Refusal("mode", "travel_mode", str(exc)) from None


# ------------------------------------------------------------------ the service -----


class CommandService:
    """The micro service of one partition, on the caller's NATS connection and loop."""

    def __init__(
        self, service: EngineService, partition: str, *, max_inflight: int = 10_000
    ) -> None:
        self.service = service
        self.partition = partition
        self.max_inflight = max_inflight
        self._svc: Service | None = None
        self._tasks: set[asyncio.Task] = set()
        self.queries = {
            "q.summary": (_Empty, lambda st, q: st.summary()),
            "q.digest": (_Empty, lambda st, q: {"seq": st.last_seq, "digest": st.digest()}),
            "q.job": (_JobQ, lambda st, q: job_view(st, q.job_id)),
            "q.offer": (_OfferQ, lambda st, q: offer_view(st, q.offer_id)),
            "q.worker": (_WorkerQ, lambda st, q: worker_view(st, q.worker_id)),
            "q.hall": (_HallQ, hall_view),
            "q.nav": (_NavQ, nav_view),
        }
        self._query_decoders = {k: msgspec.json.Decoder(t) for k, (t, _) in self.queries.items()}

    async def start(self, nc: Client) -> CommandService:
        self._svc = await add_service(
            nc,
            name="lingong",
            version=VERSION,
            description="lingong engine: commands and queries of front ends",
            metadata={"partition": self.partition},
        )
        group = self._svc.add_group(name=f"{API_PREFIX}.{self.partition}")
        await group.add_endpoint(name="cmd", subject="cmd", handler=self._spawn(self._command))
        for name in c.COMMAND_TYPES:
            await group.add_endpoint(
                name=f"cmd-{name}", subject=f"cmd.{name}", handler=self._spawn(self._command)
            )
        for endpoint in self.queries:
            await group.add_endpoint(
                name=endpoint.replace(".", "-"), subject=endpoint, handler=self._spawn(self._query)
            )
        return self

    async def stop(self) -> None:
        if self._svc is not None:
            await self._svc.stop()
            self._svc = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, fn):
        async def handler(req: Request) -> None:
            if len(self._tasks) >= self.max_inflight:
                await _error(req, "503", c.Refusal("service", "busy", "too many requests"))
                return
            task = asyncio.get_running_loop().create_task(fn(req))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return handler

    def _endpoint_of(self, req: Request) -> str:
        return req.subject[len(API_PREFIX) + len(self.partition) + 2 :]

    async def _command(self, req: Request) -> None:
        endpoint = self._endpoint_of(req)
        try:
            rt = self.service.runtime
            now = max(rt.clock.now_ms(), rt.engine.state.last_ts_ms)
            if endpoint == "cmd":
                cmd = _admit(c.AnyCommand, req.data, now)
            else:
                cmd = _admit(c.COMMAND_TYPES[endpoint[len("cmd.") :]], req.data, now)
            caller = _interim_caller(rt.engine.state, cmd)
            result: Result = await self.service.aexecute(cmd, caller)
        except c.Refusal as ref:
            await _error(req, "400", ref)
            return
        except Exception as exc:  # noqa: BLE001
            await _failure(req, exc)
            return
        body = _enc.encode(result)
        if result.ok:
            await req.respond(body)
            return
        ref = result.refusal or {}
        refusal = c.Refusal(ref.get("field", ""), ref.get("rule", ""), ref.get("message", ""))
        await _error(req, "422", refusal, body)

    async def _query(self, req: Request) -> None:
        endpoint = self._endpoint_of(req)
        _, fn = self.queries[endpoint]
        try:
            q = _decode(self._query_decoders[endpoint], req.data)
            value = await self.service.aread(lambda st: fn(st, q))
        except c.Refusal as ref:
            await _error(req, "400", ref)
            return
        except _NotFound as nf:
            await _error(req, "404", nf.refusal)
            return
        except Exception as exc:  # noqa: BLE001
            await _failure(req, exc)
            return
        await req.respond(_enc.encode(value))


async def _error(req: Request, code: str, ref: c.Refusal, body: bytes | None = None) -> None:
    data = body if body is not None else _enc.encode(ref.as_dict())
    await req.respond_error(code, str(ref), data=data)


async def _failure(req: Request, exc: Exception) -> None:
    if isinstance(exc, ServiceBusy | RuntimeStopped):
        await _error(req, "503", c.Refusal("service", "unavailable", str(exc) or "stopped"))
        return
    log.exception("micro service request on %s failed", req.subject)
    await _error(req, "500", c.Refusal("service", "internal", f"{type(exc).__name__}: {exc}"))
