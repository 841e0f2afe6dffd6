"""The API's shared context: one per app, in `app.state["api"]`, read by every handler.

Owns: `Api` (the engine service, the inbound `Gate`, the scope index and read scopes,
tokens, limits, telemetry) and the ways a handler reaches the engine: `caller` (the
authenticated caller, resolved once per request without dependency injection),
`command` (a route of the table: the gate builds the command, the writer authorises and
executes it), `read` and `read_in_region` (queries on the writer thread).

Idempotency: `Idempotency-Key` (1-55 chars of [A-Za-z0-9_.:/-]) becomes the command id
`<token id>:<key>`, so keys of different tokens never collide. The engine binds the id to
the command's digest: an identical retry answers the original response (same status,
`duplicate: true`, the original record's events read back from the log, header
`Idempotent-Replayed: true`) and appends nothing; the same key with another request is
422 `idempotency_key_reused`. Without the header the server makes a random id, returned
in the body and in the `Idempotency-Key` response header.

Staff accounts: events naming an account (`staff_id`, `reviewed_by`) are answered with
the person's name masked beside it (`staff_name`, `reviewer_name`), from the token store;
the log keeps only the account id.

Invariants: `ts_ms` is always the server's (runtime clock, never before the last event);
a refused command raises `ApiError` with the refusal's field, rule and status; nothing is
appended for it.

Limits: see `Limits` in `adapters.http.auth`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from anyio import to_thread
from litestar import Request, Response
from litestar.connection import ASGIConnection

from adapters.gate.gate import Gate, GateError, recorded_events, status_of
from adapters.gate.routes import Route
from adapters.gate.tokens import TokenStore
from adapters.http.auth import Limits, ReadScope, TokenBuckets, authenticate, covers
from adapters.http.metrics import Metrics
from adapters.http.problems import ApiError
from adapters.http.scope import ScopeIndex
from adapters.http.views import CommandAccepted, Subject, clean_events
from adapters.shell.service import EngineService
from engine.authz import Caller
from engine.state import State

T = TypeVar("T")
# event fields naming a staff account -> the field that shows the person's masked name
_ACCOUNT_FIELDS = (("staff_id", "staff_name"), ("reviewed_by", "reviewer_name"))
_DENIED = object()
Req = Request[Any, Any, Any]


class Api:
    def __init__(
        self,
        service: EngineService,
        tokens: TokenStore,
        limits: Limits,
        metrics: Metrics,
        data_dir: Path | None = None,
    ) -> None:
        self.service = service
        self.data_dir = data_dir
        self.tokens = tokens
        self.limits = limits
        self.metrics = metrics
        self.index = ScopeIndex(lambda: service.runtime.engine.state)
        self.scope = ReadScope(self.index)
        self.gate = Gate(self.now_ms, max_body_bytes=limits.max_body_bytes)
        self.buckets = TokenBuckets(limits.rate_per_s, limits.burst)
        self.public_buckets = TokenBuckets(limits.public_rate_per_s, limits.public_burst)
        self.ready_checks: dict[str, Callable[[], bool]] = {}

    # ------------------------------------------------------------ callers -----------

    def caller(self, request: Req | ASGIConnection[Any, Any, Any, Any]) -> Caller:
        """The authenticated caller (401/429 otherwise); once per request."""
        state = request.scope.setdefault("state", {})
        who = state.get("lingong_caller")
        if who is None:
            try:
                who = authenticate(request.headers.get("authorization"), self.tokens, self.buckets)
            except ApiError as err:
                if err.status == 429:
                    self.metrics.rate_limited.inc()
                raise
            state["lingong_caller"] = who
            state["lingong_token"] = who.actor_id
        return who

    def reader(self, request: Req, action: str = "read", **resources: str | None) -> Caller:
        """The caller, checked for a read of `resources` (role, region, station)."""
        who = self.caller(request)
        self.scope.allow(who, action, **resources)
        return who

    def now_ms(self) -> int:
        """The server's time: the runtime clock, never before the last event."""
        rt = self.service.runtime
        return max(rt.clock.now_ms(), rt.engine.state.last_ts_ms)

    # ------------------------------------------------------------ the engine --------

    async def command(self, request: Req, route: Route) -> Response[CommandAccepted]:
        """One command of the route table: gate, authorise + execute, answer."""
        who = self.caller(request)
        state = request.scope["state"]
        state["lingong_command"] = route.name
        headers = request.headers
        path = {k: _slashes(v) for k, v in (request.scope.get("path_params") or {}).items()}
        body = await request.body()
        try:
            cmd = self.gate.admit(
                who,
                route,
                body,
                path,
                headers.get("idempotency-key"),
                content_type=headers.get("content-type"),
            )
        except GateError as err:
            self.metrics.refused(route.name, err.rule)
            raise ApiError(err.status, err.rule, err.message, err.field) from None
        started = time.perf_counter()
        result = await self.service.aexecute(cmd, who)
        self.metrics.command_done(route.name, time.perf_counter() - started)
        if not result.ok:
            refusal = result.refusal or {}
            rule = refusal.get("rule", "refused")
            self.metrics.refused(route.name, rule)
            message = refusal.get("message", "refused")
            if result.error_id:  # the core raised: the id names the traceback in the log
                message = f"internal error {result.error_id} (logged); nothing was recorded"
            raise ApiError(status_of(rule), rule, message, refusal.get("field", ""))
        events = result.events
        if result.duplicate:
            log = self.service.runtime.log
            events = await to_thread.run_sync(recorded_events, log.read, result.seq)
        shown, counts = clean_events(events, _subject(cmd))
        self._name_accounts(shown)
        body_out = CommandAccepted(
            command_id=cmd.command_id,
            seq=result.seq,
            duplicate=result.duplicate,
            events=shown,
            counts=counts,
        )
        out_headers = {"Idempotency-Key": cmd.command_id.split(":", 1)[1]}
        if result.duplicate:
            out_headers["Idempotent-Replayed"] = "true"
        return Response(body_out, status_code=route.status, headers=out_headers)

    def _name_accounts(self, shown: list[dict[str, Any]]) -> None:
        """Add the masked name of the person behind each staff account an event names."""
        accounts = {ev[k] for ev in shown for k, _ in _ACCOUNT_FIELDS if ev.get(k)}
        if not accounts:
            return
        names = self.tokens.masked_names(accounts)
        for ev in shown:
            for key, out in _ACCOUNT_FIELDS:
                if ev.get(key) in names:
                    ev[out] = names[ev[key]]

    async def read(self, fn: Callable[[State], T]) -> T:
        return await self.service.aread(fn)

    async def read_in_region(
        self,
        who: Caller,
        field: str,
        region_of: Callable[[State], str | None],
        fn: Callable[[State], T],
    ) -> T:
        """`fn(state)`, after checking on the writer thread that the resource is in region."""

        def query(state: State) -> T | object:
            region = region_of(state)
            if region is not None and not covers(who, region):
                return _DENIED
            return fn(state)

        out = await self.service.aread(query)
        if out is _DENIED:
            raise ApiError(403, "region", f"outside this token's region ({field})", field)
        return out  # type: ignore[return-value]


def _slashes(value: Any) -> Any:
    """'~' in a path id stands for '/' (never valid in an id)."""
    return value.replace("~", "/") if isinstance(value, str) else value


def _subject(cmd: Any) -> Subject:
    """Whose events the caller of `cmd` may see: its worker, job and offer."""
    worker = getattr(cmd, "worker_id", "") or None
    job = getattr(cmd, "job_id", "")
    offer = getattr(cmd, "offer_id", "")
    return Subject(worker=worker, jobs={job} if job else set(), offers={offer} if offer else set())
