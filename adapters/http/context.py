"""The API's shared context: one per app, handed to every handler by dependency injection.

Owns: `Api` (the engine service, the scope index, the gate, tokens, limits, metrics) and
the two ways a handler reaches the engine: `run` (a command: id from the
Idempotency-Key, time from the runtime clock, group commit, refusal -> problem) and
`read` (a query on the writer thread).

Idempotency: `Idempotency-Key` (1-55 chars of [A-Za-z0-9_.:/-]) becomes the command id
`<token id>:<key>`, so keys of different tokens never collide; a repeated key returns the
first result's seq with `duplicate: true` and status 200, appending nothing. Without the
header the server makes a random id (`<token id>:h-<uuid4 hex>`), so a retry without a
key is a new command; the id is returned in the body and in the `Idempotency-Key`
response header, and a client that may retry should send it back.

Invariants: `ts_ms` is always the runtime clock's (front ends never send time); a refused
command raises `ApiError` carrying the refusal's field and rule; nothing is appended for
it (the engine decides before it applies).

Limits: see `Limits` in `adapters.http.auth`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.connection import ASGIConnection

from adapters.http.auth import Gate, Limits, Principal, TokenBuckets, authenticate
from adapters.http.metrics import Metrics
from adapters.http.problems import ApiError
from adapters.http.scope import ScopeIndex
from adapters.http.tokens import TokenStore
from adapters.http.views import CommandAccepted, Subject, clean_events
from adapters.shell.service import EngineService
from engine import commands as c
from engine.authz import Caller
from engine.state import State

T = TypeVar("T")
_DENIED = object()
MAX_KEY_CHARS = 55
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


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
        self.index = ScopeIndex()
        self.gate = Gate(self.index)
        self.buckets = TokenBuckets(limits.rate_per_s, limits.burst)
        self.public_buckets = TokenBuckets(limits.public_rate_per_s, limits.public_burst)

    # ------------------------------------------------------------ callers -----------

    def principal(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
        try:
            who = authenticate(connection.headers.get("authorization"), self.tokens, self.buckets)
        except ApiError as err:
            if err.status == 429:
                self.metrics.rate_limited.inc()
            raise
        connection.scope.setdefault("state", {})["lingong_token"] = who.token_id
        return who

    def now_ms(self) -> int:
        return self.service.runtime.clock.now_ms()

    def command_id(self, who: Principal, key: str | None) -> str:
        if key is None or key == "":
            return f"{who.token_id}:h-{uuid.uuid4().hex}"
        if len(key) > MAX_KEY_CHARS or not _KEY.match(key):
            raise ApiError(
                400,
                "id_format",
                f"Idempotency-Key must be 1-{MAX_KEY_CHARS} chars of [A-Za-z0-9_.:/-]",
                "Idempotency-Key",
            )
        return f"{who.token_id}:{key}"

    # ------------------------------------------------------------ the engine --------

    async def run(
        self,
        request: Request[Any, Any, Any],
        make: Callable[[str, int], c.Command],
        who: Principal,
        key: str | None,
        subject: Subject | None = None,
        status_new: int = 201,
    ) -> Response[CommandAccepted]:
        """Build the command (id, time) with `make(command_id, ts_ms)` and execute it."""
        cmd_id = self.command_id(who, key)
        cmd = make(cmd_id, self.now_ms())
        kind = type(cmd).__name__
        request.scope.setdefault("state", {})["lingong_command"] = kind
        started = time.perf_counter()
        result = await self.service.aexecute(cmd, caller_of(who))
        self.metrics.command_seconds.labels(kind).observe(time.perf_counter() - started)
        if not result.ok:
            assert result.refusal is not None
            rule = result.refusal.get("rule", "refused")
            self.metrics.refusals.labels(kind, rule).inc()
            raise ApiError.from_refusal(result.refusal)
        events, counts = clean_events(result.events, subject or Subject())
        body = CommandAccepted(
            command_id=cmd_id,
            seq=result.seq,
            duplicate=result.duplicate,
            events=events,
            counts=counts,
        )
        return Response(
            body,
            status_code=200 if result.duplicate else status_new,
            headers={"Idempotency-Key": cmd_id.split(":", 1)[1]},
        )

    async def read(self, fn: Callable[[State], T]) -> T:
        return await self.service.aread(fn)

    async def read_in_region(
        self,
        who: Principal,
        field: str,
        region_of: Callable[[State], str | None],
        fn: Callable[[State], T],
    ) -> T:
        """`fn(state)`, after checking on the writer thread that the resource is in region."""

        def query(state: State) -> T | object:
            region = region_of(state)
            if region is not None and not who.covers(region):
                return _DENIED
            return fn(state)

        out = await self.service.aread(query)
        if out is _DENIED:
            raise ApiError(403, "region", f"outside this token's region ({field})", field)
        return out  # type: ignore[return-value]


def caller_of(who: Principal) -> Caller:
    """The engine's caller for a verified token (engine.authz checks it again, fail closed).

    Interim, until the gate (adapters/gate) builds callers: a token for region "" is
    nationwide, which the engine accepts for admin tokens only.
    """
    return Caller(
        actor_id=who.token_id,
        role=who.role,  # type: ignore[arg-type]
        region=who.region,
        station_id=who.station_id,
        nationwide=who.region == "",
    )
