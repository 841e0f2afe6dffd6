"""The HTTP application: `create_app(service, data_dir=...)` for `lingong serve`.

Owns: assembling the Litestar app from the route modules (the command endpoints are made
from the gate's route table by `commands`), the OpenAPI 3.1 document (`/schema`, JSON at
`/schema/openapi.json`, bearer security scheme, request bodies generated from the
structs the gate decodes), the problem+json exception handler, the request limits, the
lifespan (load the `ScopeIndex`, attach the board hub, drain telemetry) and
`LingongApp`, which times every request and queues its metrics and log line (written in
batches off the request path).

Ids in paths: engine ids may hold '/' (hire ids are `<job>/<worker>`); send it
percent-encoded (`%2F`) or as '~' (never valid in an id). `LingongApp` routes such paths
on their raw form and handlers read '~' as '/'.

Invariants:
- Every response to a bad request is RFC 9457 problem+json (see `problems`); a request
  refused for any reason (auth, limits, schema, engine rule) appends nothing to the log.
- The `ScopeIndex` listener is registered with the service before the index is loaded,
  and both run on the writer thread, so no durable record is missed.
- Metrics labels and log lines carry route templates, never paths (see `metrics`, `logs`).

Limits: request bodies `Limits.max_body_bytes` (64 KiB, 413 beyond), per-token rate
(`Limits.rate_per_s`, 429 beyond), page sizes per route, board streams per station.
Tokens come from `DATA/tokens.json` (`lingong token create`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag

from adapters.gate.tokens import TokenStore
from adapters.http import (
    assets,
    board,
    commands,
    counter,
    map_page,
    routes_complaints,
    routes_hires,
    routes_morning,
    routes_ops,
    routes_read,
    routes_registry,
    routes_skills,
    routes_station_life,
    routes_training,
    routes_wages,
)
from adapters.http.auth import Limits
from adapters.http.context import Api
from adapters.http.logs import AccessLog, make_logger, request_record
from adapters.http.metrics import DRAIN_S, UNMATCHED_ROUTE, Metrics
from adapters.http.problems import problem_handler
from adapters.shell.service import EngineService

API_VERSION = "1.0.0"
DESCRIPTION = """lingong 零工: instant-hire matching for public gig-labour markets.

Authenticate with `Authorization: Bearer <token>` (`lingong token create`). A token has a
role (front_end, station_staff, auditor, admin, sms_gateway) and a region prefix; it reads
and writes only its region (only an admin token created `--nationwide` has none).
Commands take an optional `Idempotency-Key` (an identical retry answers the first result;
the same key with another request is refused); the server sets the time. Bodies are JSON
(at most 64 KiB, nesting depth 32), strictly typed: no strings for numbers, no unknown
fields. Errors are RFC 9457 `application/problem+json` with `field` and `rule`.
Coordinates are WGS-84 unless a `datum` (gcj02, bd09) is given; money is integer fen.
"""


class LingongApp(Litestar):
    """Litestar plus per-request metrics and one JSON log line per request."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]
        raw = scope.get("raw_path")
        if raw and b"%2f" in raw.lower():
            scope = dict(scope, path=_slash_path(raw))

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await super().__call__(scope, receive, send_status)
        finally:
            self._record(scope, status[0], time.perf_counter() - started)

    def _record(self, scope: Any, status: int, duration_s: float) -> None:
        route = scope.get("path_template") or UNMATCHED_ROUTE
        method = scope.get("method", "")
        api: Api | None = self.state.get("api")
        if api is not None:
            api.metrics.request(route, method, status, duration_s)
        access: AccessLog | None = self.state.get("access_log")
        if access is not None:
            level = 40 if status >= 500 else 20
            access.add(level, request_record(scope, route, status, duration_s))

    def flush_telemetry(self) -> None:
        """Write waiting request lines and fold waiting metrics (the drain task's work)."""
        api: Api | None = self.state.get("api")
        if api is not None:
            api.metrics.drain()
        access: AccessLog | None = self.state.get("access_log")
        if access is not None:
            access.drain()


def _slash_path(raw: bytes) -> str:
    """The decoded path with each '/' that was inside a segment (%2F) written as '~'."""
    segments = raw.split(b"?", 1)[0].split(b"/")
    return "/".join(unquote(seg.decode("ascii", "replace")).replace("/", "~") for seg in segments)


async def _restore_slashes(request: Request[Any, Any, Any]) -> None:
    """before_request: '~' in a path parameter stands for '/' (never valid in an id)."""
    params = request.scope.get("path_params") or {}
    for key, value in list(params.items()):
        if isinstance(value, str) and "~" in value:
            params[key] = value.replace("~", "/")


def _route_modules() -> list[Any]:
    modules: list[Any] = [
        commands,
        routes_registry,
        routes_morning,
        routes_hires,
        routes_complaints,
        counter,
        routes_skills,
        routes_wages,
        routes_read,
        routes_training,
        routes_station_life,
        board,
        map_page,
        assets,
        routes_ops,
    ]
    try:
        import adapters.stores.reports  # noqa: F401  (reports only when the stores exist)
    except ModuleNotFoundError as exc:
        if exc.name is None or not "adapters.stores.reports".startswith(exc.name):
            raise  # a missing dependency inside the stores is a real error
        return modules
    from adapters.http import routes_reports

    return [*modules, routes_reports]


def create_app(
    service: EngineService,
    *,
    data_dir: str | Path | None = None,
    tokens: TokenStore | None = None,
    limits: Limits | None = None,
    log_stream: IO[str] | None = None,
    ready_checks: dict[str, Callable[[], bool]] | None = None,
    map_tiles: map_page.MapTiles | None = None,
) -> LingongApp:
    """The API over `service`; tokens from `data_dir/tokens.json` unless given.

    `ready_checks` (name -> callable) are asked by `/readyz` (e.g. the NATS micro
    service's connection when `lingong serve --nats` runs one). `map_tiles`: the tile
    server of `/map` (default Amap, GCJ-02; `map_page.NO_TILES` for none).
    """
    limits = limits or Limits()
    if tokens is None:
        if data_dir is None:
            raise ValueError("give data_dir (for tokens.json) or a TokenStore")
        tokens = TokenStore(data_dir)
    metrics = Metrics()
    api = Api(service, tokens, limits, metrics, None if data_dir is None else Path(data_dir))
    api.ready_checks.update(ready_checks or {})
    metrics.bind(service, lambda: not _not_ready(api))
    service.on_result(api.index.listener)
    hub = board.BoardHub(api)
    drainer: list[asyncio.Task[None]] = []

    async def drain_forever() -> None:
        while True:
            await asyncio.sleep(DRAIN_S)
            app.flush_telemetry()

    async def startup() -> None:
        hub.attach(asyncio.get_running_loop())
        drainer.append(asyncio.get_running_loop().create_task(drain_forever()))
        await service.aread(api.index.load)

    async def shutdown() -> None:
        api.index.on_change = None
        hub.loop = None
        for task in drainer:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        drainer.clear()
        app.flush_telemetry()

    route_handlers = [h for module in _route_modules() for h in module.ROUTES]
    openapi = OpenAPIConfig(
        title="lingong 零工 HTTP API",
        version=API_VERSION,
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[assets.SchemaPage()],  # Swagger UI from /assets: no CDN
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="lg1.<id>.<secret> from `lingong token create`",
                )
            }
        ),
        tags=[
            Tag(name="registry", description="workers, employers, policies"),
            Tag(name="morning", description="check-in, postings, review, the opening bell"),
            Tag(name="offers", description="offers to a worker"),
            Tag(name="hires", description="the hire lifecycle and the employer's contact"),
            Tag(name="complaints", description="complaints and their resolution"),
            Tag(name="hall", description="job hall, keyword search, navigation"),
            Tag(name="stations", description="stations and the e-map (GeoJSON)"),
            Tag(name="board", description="the station board (信息发布屏), public"),
            Tag(name="reports", description="bureau reports"),
            Tag(name="ops", description="liveness, readiness and metrics"),
        ],
    )
    app = LingongApp(
        route_handlers=route_handlers,
        exception_handlers={Exception: problem_handler},
        openapi_config=openapi,
        on_startup=[startup],
        on_shutdown=[shutdown],
        before_request=_restore_slashes,
        request_max_body_size=limits.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.state["api"] = api
    app.state["board"] = hub
    app.state["map_tiles"] = map_tiles or map_page.DEFAULT_TILES
    logger = make_logger(log_stream)
    app.state["logger"] = logger
    app.state["access_log"] = AccessLog(logger)
    commands.document(app.openapi_schema)  # built now, served as built (cached)
    return app


def _not_ready(api: Api) -> list[str]:
    from adapters.http.routes_ops import not_ready

    return not_ready(api)
