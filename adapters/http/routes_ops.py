"""Operations: liveness, readiness and Prometheus metrics (no personal data).

Owns the routes
    GET /healthz    liveness: {"status": "ok", "seq", "commands", "batches"}; 200 while the
                    process serves HTTP, whatever the engine's state (no login)
    GET /readyz     readiness: 200 {"ready": true} when commands can be accepted; 503
                    problem `not_ready` naming why (the log cannot be written, the runtime
                    or the writer stopped, a transport such as the NATS micro service is
                    disconnected) (no login)
    GET /metrics    Prometheus text format, prefix `lingong_`: needs an auditor or admin
                    bearer token (401/403 otherwise)
Invariants: none of them touches the writer thread (they read counters, the log's
position and flags), so they answer while the engine is busy.
Limits: none.
"""

from __future__ import annotations

import msgspec
from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.http.common import BEARER, Req, api_of
from adapters.http.context import Api
from adapters.http.problems import PROBLEM_RESPONSES, PUBLIC_PROBLEMS, ApiError


class Health(msgspec.Struct, kw_only=True):
    status: str
    seq: int
    commands: int
    batches: int


class Ready(msgspec.Struct, kw_only=True):
    ready: bool
    seq: int


def not_ready(api: Api) -> list[str]:
    """Why the engine cannot accept commands now (empty: it can)."""
    svc = api.service
    why = []
    if not svc.runtime.ready:
        why.append("log: the runtime stopped (the log cannot be written); restart to recover")
    elif not svc.ready:
        why.append("writer: the engine service stopped")
    for name, check in api.ready_checks.items():
        try:
            ok = check()
        except Exception:  # noqa: BLE001 - a failing check means not ready
            ok = False
        if not ok:
            why.append(f"{name}: not connected")
    return why


@get("/healthz", tags=["ops"], summary="Liveness and the log position", responses=PUBLIC_PROBLEMS)
async def healthz(request: Req) -> Health:
    svc = api_of(request).service
    return Health(
        status="ok", seq=svc.runtime.log.last_seq, commands=svc.commands, batches=svc.batches
    )


@get(
    "/readyz",
    tags=["ops"],
    summary="Readiness: can the engine accept commands now",
    responses=PUBLIC_PROBLEMS,
)
async def readyz(request: Req) -> Ready:
    api = api_of(request)
    why = not_ready(api)
    if why:
        raise ApiError(503, "not_ready", "; ".join(why), "")
    return Ready(ready=True, seq=api.service.runtime.log.last_seq)


@get(
    "/metrics",
    tags=["ops"],
    summary="Prometheus metrics (prefix lingong_); auditor or admin token",
    media_type="text/plain",
    responses=PROBLEM_RESPONSES,
    security=BEARER,
)
async def metrics(request: Req) -> Response[bytes]:
    api = api_of(request)
    api.reader(request, "metrics")
    return Response(api.metrics.render(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [healthz, readyz, metrics]
