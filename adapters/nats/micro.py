"""The NATS micro service: the commands and queries of front ends, by request/reply.

Owns: the `nats.micro` service `lingong` of one partition (endpoints under
`lingong.api.<partition>`), caller authentication, request decoding, replies (msgspec
JSON) and error replies.

Endpoints (request body -> reply body, JSON):
    cmd.<Type>          one per route of `adapters.gate.routes` (the same table as HTTP):
                        the route's body WITH its path fields, e.g. cmd.CheckIn
                        {"worker_id", "station_id", "location", ...}    -> Result
    q.summary, q.digest {}                                               -> state summary,
                                                                            {"seq", "digest"}
    q.job {"job_id"}, q.offer {"offer_id"}, q.worker {"worker_id"}       -> views
    q.hall              {"location": Point, "radius_m", "skill", "keyword",
                         "min_day_pay_fen", "sort", "limit"}              -> [{job, distance_m}]
    q.nav               {"job_id", "origin": Point | null, "mode"}       -> navigation links
    q.caller            {}                                  -> the caller as authenticated
                                                               here (role, effective region)
A `Result` is `adapters.shell.runtime.Result`; a retried command answers the original
result (`duplicate: true`, the original record's events read back from the log).

Callers: headers `Authorization: Bearer <token>` (the same scoped tokens as HTTP,
`lingong token create`) and `Idempotency-Key` (optional; the command id is
`<token id>:<key>`, so ids of different callers never collide and an HTTP key and a NATS
key can never pre-empt each other). Anonymous or unknown: 401. A caller's effective
region is the intersection of its token's region and the partition's city code (a
partition of digits); a token of another city is refused (403 `region`), so a partition
refuses other regions' records. Every command goes through `Gate.admit` (the bounds,
strict decoding, server time: a client never sends `ts_ms` or `command_id`, and
`Advance` has no endpoint) and `authorize` on the writer thread, exactly as over HTTP.

Errors: the reply carries `Nats-Service-Error: <field>: <message> [<rule>]` (one line,
at most `MAX_ERROR_CHARS`, never a large value) and `Nats-Service-Error-Code`: the
status HTTP would answer (400 malformed JSON or too deep, 401, 403, 404, 409, 413, 422
schema or engine rule, 503 busy or stopped, 500 a bug). The body is JSON {"field",
"rule", "message"} or, for an engine refusal, the refused Result.

Invariants:
- A reply to a command is sent only after `EngineService` resolved it, i.e. after its
  record is durable in the log (or it was refused).
- Each request runs in its own task; at most `max_inflight` run at once (503 beyond).
- Subscriptions are re-made by the client after a reconnect (`adapters.nats.conn`);
  `connected` says whether the service can be reached now (`/readyz`).

Limits: `max_inflight` (10,000) requests in flight; bodies as `adapters.gate.gate`
(64 KiB, depth 32); `q.hall` returns at most 200 jobs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service

from adapters.gate.gate import Gate, GateError, nesting_depth, recorded_events, status_of
from adapters.gate.routes import NATS_PREFIX, ROUTES, Route
from adapters.gate.tokens import TokenStore, caller_of
from adapters.shell.runtime import Result, RuntimeStopped
from adapters.shell.service import EngineService, ServiceBusy
from engine import commands as c
from engine import events as e
from engine.authz import Caller
from engine.geo import check_point
from engine.matcher import job_hall
from engine.matching.nav import nav_links
from engine.state import State

API_PREFIX = NATS_PREFIX
VERSION = "0.2.0"
MAX_HALL = 200
MAX_ERROR_CHARS = 240
log = logging.getLogger("lingong.nats.micro")
READERS = frozenset({"front_end", "station_staff", "auditor", "admin"})
QUERY_ROLES = {
    "q.summary": frozenset({"auditor", "admin"}),
    "q.digest": frozenset({"auditor", "admin"}),
    "q.job": READERS | {"sms_gateway"},
    "q.offer": READERS | {"sms_gateway"},
    "q.worker": READERS | {"sms_gateway"},
    "q.hall": READERS,
    "q.nav": READERS,
    "q.caller": READERS | {"sms_gateway"},
}


class ResultWire(msgspec.Struct, kw_only=True):
    """`Result` as a client decodes it (events as the tagged union)."""

    ok: bool
    seq: int = 0
    duplicate: bool = False
    events: list[e.AnyEvent] = []
    refusal: dict[str, str] | None = None
    error_id: str = ""  # with refusal rule "internal_error": the id in the server's log


Id = Annotated[str, Meta(min_length=1, max_length=64)]


class _Q(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class _JobQ(_Q, kw_only=True):
    job_id: Id


class _OfferQ(_Q, kw_only=True):
    offer_id: Id


class _WorkerQ(_Q, kw_only=True):
    worker_id: Id


class _PointQ(_Q, kw_only=True):
    lat: Annotated[float, Meta(ge=-90.0, le=90.0)]
    lng: Annotated[float, Meta(ge=-180.0, le=180.0)]
    datum: c.Datum = "wgs84"


class _HallQ(_Q, kw_only=True):
    location: _PointQ
    radius_m: int = 1500
    skill: Annotated[str, Meta(max_length=32)] = ""
    keyword: Annotated[str, Meta(max_length=32)] = ""
    min_day_pay_fen: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    sort: str = "distance"
    limit: Annotated[int, Meta(ge=1, le=MAX_HALL)] = 50


class _NavQ(_Q, kw_only=True):
    job_id: Id
    origin: _PointQ | None = None
    mode: Annotated[str, Meta(max_length=16)] = "walk"


class _Empty(_Q):
    pass


_enc = msgspec.json.Encoder()


def api_subject(partition: str, endpoint: str) -> str:
    return f"{API_PREFIX}.{partition}.{endpoint}"


def narrow(caller: Caller, partition: str) -> Caller | None:
    """The caller's effective region on a partition: token region x partition city code."""
    if not partition.isdigit():
        return caller
    if caller.nationwide or partition.startswith(caller.region or "-"):
        region = partition
    elif caller.region.startswith(partition):
        region = caller.region
    else:
        return None
    return msgspec.structs.replace(caller, region=region, nationwide=False)


def covers(caller: Caller, region: str) -> bool:
    return caller.nationwide or (bool(caller.region) and region.startswith(caller.region))


class _NotFound(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(f"no such {field}")
        self.refusal = GateError(404, field, "exists", f"no such {field.removesuffix('_id')}")


def _scoped(caller: Caller, field: str, region: str | None) -> None:
    if region is None:
        raise _NotFound(field)
    if not covers(caller, region):
        raise GateError(403, field, "region", f"outside this caller's region ({field})")


# ------------------------------------------------------------------ views -----------


def job_view(state: State, job_id: str, caller: Caller) -> dict:
    job = state.jobs.get(job_id)
    _scoped(caller, "job_id", None if job is None else job.region)
    out = msgspec.structs.asdict(job)
    for internal in ("row", "offered_rows"):
        out.pop(internal, None)
    out["open_slots"] = job.open_slots  # type: ignore[union-attr]
    return out


def offer_view(state: State, offer_id: str, caller: Caller) -> dict:
    offer = state.offers.get(offer_id)
    region = None if offer is None else state.worker_region[offer.worker_row]
    _scoped(caller, "offer_id", region)
    assert offer is not None
    return {
        "offer_id": offer.offer_id,
        "job_id": offer.job_id,
        "worker_id": state.worker_ids[offer.worker_row],
        "expires_ms": offer.expires_ms,
        "status": offer.status,
    }


def worker_view(state: State, worker_id: str, caller: Caller) -> dict:
    row = state.worker_rows.get(worker_id)
    _scoped(caller, "worker_id", None if row is None else state.worker_region[row])
    assert row is not None
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
        # registered at this station's counter without a mobile: no SMS (issue 14)
        "contact_station": state.contact_station.get(row, ""),
    }


def hall_view(state: State, q: _HallQ, caller: Caller) -> list[dict]:
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
            limit=MAX_HALL,
        )
    except ValueError as exc:  # e.g. a keyword longer than the index accepts
        raise c.Refusal("keyword", "length", str(exc)[:100]) from None
    hits = [(job, d) for job, d in hits if covers(caller, job.region)][: q.limit]
    return [{"job": job_view(state, job.job_id, caller), "distance_m": d} for job, d in hits]


def nav_view(state: State, q: _NavQ, caller: Caller) -> dict:
    job = state.jobs.get(q.job_id)
    _scoped(caller, "job_id", None if job is None else job.region)
    assert job is not None
    origin = None
    if q.origin is not None:
        origin = check_point(q.origin.lat, q.origin.lng, q.origin.datum, field="origin")
    try:
        return nav_links(job.lat, job.lng, job.title, *(origin or (None, None)), mode=q.mode)
    except ValueError as exc:
        raise c.Refusal("mode", "travel_mode", str(exc)[:100]) from None


QUERIES: dict[str, tuple[type, Any]] = {
    "q.summary": (_Empty, lambda st, q, who: st.summary()),
    "q.digest": (_Empty, lambda st, q, who: {"seq": st.last_seq, "digest": st.digest()}),
    "q.job": (_JobQ, lambda st, q, who: job_view(st, q.job_id, who)),
    "q.offer": (_OfferQ, lambda st, q, who: offer_view(st, q.offer_id, who)),
    "q.worker": (_WorkerQ, lambda st, q, who: worker_view(st, q.worker_id, who)),
    "q.hall": (_HallQ, hall_view),
    "q.nav": (_NavQ, nav_view),
    "q.caller": (_Empty, lambda st, q, who: msgspec.to_builtins(who)),
}


# ------------------------------------------------------------------ the service -----


class CommandService:
    """The micro service of one partition, on the caller's NATS connection and loop."""

    def __init__(
        self,
        service: EngineService,
        partition: str,
        *,
        tokens: TokenStore | None = None,
        max_inflight: int = 10_000,
    ) -> None:
        self.service = service
        self.partition = partition
        self.tokens = tokens
        self.max_inflight = max_inflight
        self.gate = Gate(self._now_ms)
        self._nc: Client | None = None
        self._svc: Service | None = None
        self._tasks: set[asyncio.Task] = set()
        self._query_decoders = {k: msgspec.json.Decoder(t) for k, (t, _) in QUERIES.items()}

    def _now_ms(self) -> int:
        rt = self.service.runtime
        return max(rt.clock.now_ms(), rt.engine.state.last_ts_ms)

    @property
    def connected(self) -> bool:
        return self._svc is not None and self._nc is not None and self._nc.is_connected

    async def start(self, nc: Client) -> CommandService:
        self._nc = nc
        self._svc = await add_service(
            nc,
            name="lingong",
            version=VERSION,
            description="lingong engine: commands and queries of front ends",
            metadata={"partition": self.partition},
        )
        group = self._svc.add_group(name=f"{API_PREFIX}.{self.partition}")
        for route in ROUTES:
            await group.add_endpoint(
                name=f"cmd-{route.name}",
                subject=f"cmd.{route.name}",
                handler=self._spawn(self._command, route),
            )
        for endpoint in QUERIES:
            await group.add_endpoint(
                name=endpoint.replace(".", "-"),
                subject=endpoint,
                handler=self._spawn(self._query, endpoint),
            )
        return self

    async def stop(self) -> None:
        if self._svc is not None:
            await self._svc.stop()
            self._svc = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, fn: Any, what: Any) -> Any:
        async def handler(req: Request) -> None:
            if len(self._tasks) >= self.max_inflight:
                await _error(req, GateError(503, "service", "busy", "too many requests"))
                return
            task = asyncio.get_running_loop().create_task(fn(req, what))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return handler

    def _caller(self, req: Request) -> Caller:
        header = (req.headers or {}).get("Authorization", "")
        scheme, _, value = header.partition(" ")
        rec = None
        if self.tokens is not None and scheme.lower() == "bearer" and value.strip():
            rec = self.tokens.verify(value.strip())
        who = None if rec is None else caller_of(rec)
        if who is None:
            raise GateError(401, "Authorization", "token", "send Authorization: Bearer <token>")
        narrowed = narrow(who, self.partition)
        if narrowed is None:
            raise GateError(
                403, "Authorization", "region", "this token's region is not this partition's"
            )
        return narrowed

    async def _command(self, req: Request, route: Route) -> None:
        try:
            who = self._caller(req)
            key = (req.headers or {}).get("Idempotency-Key")
            cmd = self.gate.admit(who, route, req.data or b"", None, key)
            result: Result = await self.service.aexecute(cmd, who)
            if result.duplicate:
                log_read = self.service.runtime.log.read
                events = await asyncio.to_thread(recorded_events, log_read, result.seq)
                result = msgspec.structs.replace(result, events=events)
        except GateError as err:
            await _error(req, err)
            return
        except Exception as exc:  # noqa: BLE001
            await _failure(req, exc)
            return
        body = _enc.encode(result)
        if result.ok:
            await req.respond(body)
            return
        ref = result.refusal or {}
        rule = ref.get("rule", "refused")
        err = GateError(status_of(rule), ref.get("field", ""), rule, ref.get("message", ""))
        await _error(req, err, body)

    async def _query(self, req: Request, endpoint: str) -> None:
        _, fn = QUERIES[endpoint]
        try:
            who = self._caller(req)
            if who.role not in QUERY_ROLES[endpoint]:
                raise GateError(403, "Authorization", "role", f"role {who.role} may not {endpoint}")
            q = self._decode_query(endpoint, req.data or b"{}")
            value = await self.service.aread(lambda st: fn(st, q, who))
        except _NotFound as nf:
            await _error(req, nf.refusal)
            return
        except GateError as err:
            await _error(req, err)
            return
        except c.Refusal as ref:
            await _error(req, GateError(400, ref.field, ref.rule, ref.message))
            return
        except Exception as exc:  # noqa: BLE001
            await _failure(req, exc)
            return
        await req.respond(_enc.encode(value))

    def _decode_query(self, endpoint: str, data: bytes) -> Any:
        if len(data) > self.gate.max_body_bytes:
            raise GateError(413, "body", "max_body_bytes", "the body is too large")
        if nesting_depth(data, self.gate.max_depth) > self.gate.max_depth:
            raise GateError(400, "body", "depth", "the body nests too deep")
        try:
            return self._query_decoders[endpoint].decode(data)
        except msgspec.ValidationError as exc:
            from adapters.gate.bodies import refusal_of

            ref = refusal_of(exc)
            raise GateError(400, ref.field, ref.rule, ref.message) from None
        except msgspec.DecodeError:
            raise GateError(400, "body", "json", "the body is not valid JSON") from None


def _one_line(text: str, limit: int) -> str:
    clean = "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in text[: limit * 2])
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


async def _error(req: Request, err: c.Refusal, body: bytes | None = None) -> None:
    status = getattr(err, "status", 422)
    field, message = _one_line(err.field, 80), _one_line(err.message, 300)
    data = (
        body
        if body is not None
        else _enc.encode({"field": field, "rule": err.rule, "message": message})
    )
    text = _one_line(f"{field}: {message} [{err.rule}]", MAX_ERROR_CHARS)
    await req.respond_error(str(status), text, data=data)


async def _failure(req: Request, exc: Exception) -> None:
    if isinstance(exc, ServiceBusy):
        await _error(req, GateError(503, "service", "busy", "the engine is busy; retry shortly"))
        return
    if isinstance(exc, RuntimeStopped):
        await _error(req, GateError(503, "service", "stopped", "the engine stopped"))
        return
    log.exception("micro service request on %s failed", req.subject[:200])
    await _error(
        req, GateError(500, "service", "internal", f"internal error ({type(exc).__name__})")
    )
