"""Operations: health and Prometheus metrics (no login, no personal data).

Owns the routes
    GET /healthz    {"status": "ok", "seq": N} (503 `stopped` after a log failure)
    GET /metrics    Prometheus text format, prefix `lingong_`
Invariants: neither touches the writer thread (both read counters and the log's
position), so they answer while the engine is busy.
Limits: none.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.http.context import Api
from adapters.http.problems import PUBLIC_PROBLEMS, ApiError


class Health(msgspec.Struct, kw_only=True):
    status: str
    seq: int
    commands: int
    batches: int


@get("/healthz", tags=["ops"], summary="Liveness and the log position", responses=PUBLIC_PROBLEMS)
async def healthz(request: Request[Any, Any, Any]) -> Health:
    api: Api = request.app.state["api"]
    svc = api.service
    if svc.runtime.stopped is not None:
        raise ApiError(503, "stopped", "the engine stopped after a log failure", "")
    return Health(
        status="ok", seq=svc.runtime.log.last_seq, commands=svc.commands, batches=svc.batches
    )


@get(
    "/metrics",
    tags=["ops"],
    summary="Prometheus metrics (prefix lingong_)",
    media_type="text/plain",
    responses=PUBLIC_PROBLEMS,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    api: Api = request.app.state["api"]
    return Response(api.metrics.render(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [healthz, metrics]
