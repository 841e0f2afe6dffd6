"""`lingong serve`: the engine with its transports.

Owns: wiring one `Runtime` (embedded file log by default, the NATS JetStream log with
`--nats`) to one `EngineService`, then the HTTP API and station board (Litestar under
uvicorn) and, with `--nats`, the NATS publisher and micro service (`run_server`); and
`server_urls`, the addresses a person opens first (board, map, API docs, metrics). The
command line (`lingong serve`, with `--demo`) lives in `lingong.serve`.

Invariants: exactly one writer per data folder / partition; the service stops (and the
log is closed) on exit, after in-flight commands are flushed; `on_started` runs once the
socket listens (so a printed URL answers), with the port really bound (`--port 0`).
Limits: see `EngineService` (queue, batch) and the transports.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.shell.runtime import Clock, Runtime
from adapters.shell.service import EngineService
from engine.state import State


def open_runtime(
    data_dir: Path,
    nats_url: str | None,
    partition: str | None,
    clock: Clock | None = None,
    kek: bytes | None = None,
) -> Runtime:
    """The runtime on the data folder's log, or on the JetStream partition (`nats_url`);
    with `kek` (the operator's key-encryption key) the personal-data keys live in the
    replicated KV bucket, so they follow the log to a standby on another machine."""
    if nats_url:
        from adapters.nats.bridge import open_jetstream_log, open_key_store

        log = open_jetstream_log(nats_url, data_dir=data_dir, partition=partition)
        try:
            keys = open_key_store(nats_url, kek)
            return Runtime(data_dir, log=log, clock=clock, keys=keys)
        except BaseException:
            log.close()
            raise
    if kek is not None:
        raise ValueError("a key-encryption key is used with --nats only (keys follow the log)")
    return Runtime(data_dir, clock=clock)


def board_station(state: State) -> str:
    """The station whose board to show first: an approved hub, else any approved one."""
    approved = [sid for sid, st in state.stations.items() if st.status == "approved"]
    hubs = [sid for sid in approved if state.stations[sid].kind == "hub"]
    return (hubs or approved or [""])[0]


def server_urls(base: str, station_id: str) -> list[tuple[str, str, str]]:
    """(what, url, note) for the first things to open."""
    board = f"{base}/board/{station_id}" if station_id else f"{base}/board/STATION_ID"
    return [
        ("board", board, "the hall screen of a station, live; no login"),
        ("map", f"{base}/map", "stations and open jobs on the e-map; no login"),
        ("API docs", f"{base}/schema", "OpenAPI 3.1, Swagger UI served locally (no CDN)"),
        ("metrics", f"{base}/metrics", "Prometheus; needs an auditor or admin bearer token"),
    ]


def _bound_port(server: Any, default: int) -> int:
    for srv in getattr(server, "servers", []) or []:
        for sock in srv.sockets or []:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    return default


def run_server(
    runtime: Runtime,
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    tick_ms: int = 1000,
    nats: str | None = None,
    partition: str | None = None,
    on_service: Callable[[EngineService], Callable[[], None] | None] | None = None,
    on_started: Callable[[str, int], None] | None = None,
    map_tiles: Any | None = None,
) -> int:
    """Serve `runtime` until SIGTERM or Ctrl-C; closes it on the way out.

    `on_service(service)` runs once the service has started (it may return a closer,
    called before the service stops); `on_started(host, port)` once the socket listens;
    `map_tiles` (`adapters.http.map_page.MapTiles`) is the tile server of /map.
    """
    import uvicorn

    from adapters.http.app import create_app

    service = EngineService(runtime, tick_ms=tick_ms).start()
    closers: list[Callable[[], None]] = []
    ready_checks: dict[str, Callable[[], bool]] = {}
    try:
        if nats:
            from adapters.nats.bridge import NatsBridge

            bridge = NatsBridge(service, nats, data_dir=data_dir, partition=partition)
            bridge.start()
            closers.append(bridge.close)
            ready_checks["nats"] = lambda: bridge.ready  # /readyz: the micro service is reachable
        app = create_app(service, data_dir=data_dir, ready_checks=ready_checks, map_tiles=map_tiles)
        if on_service is not None:
            closer = on_service(service)
            if closer is not None:
                closers.append(closer)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=sockets)
                if self.started and on_started is not None:
                    on_started(host, _bound_port(self, port))

        server = Server(config)
        signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
        server.run()
    finally:
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
        service.stop()
        runtime.close()
    return 0
