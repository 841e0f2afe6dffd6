"""`lingong serve`: the engine with its transports.

Owns: wiring one `Runtime` (embedded file log by default, the NATS JetStream log with
`--nats`) to one `EngineService`, then the HTTP API and station board (Litestar under
uvicorn) and, with `--nats`, the NATS publisher and micro service.

Invariants: exactly one writer per data folder / partition; the service stops (and the
log is closed) on exit, after in-flight commands are flushed.
Limits: see `EngineService` (queue, batch) and the transports.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from pathlib import Path

from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService


def open_runtime(data_dir: Path, nats_url: str | None, partition: str | None) -> Runtime:
    if nats_url:
        from adapters.nats.bridge import open_jetstream_log

        log = open_jetstream_log(nats_url, data_dir=data_dir, partition=partition)
        return Runtime(data_dir, log=log)
    return Runtime(data_dir)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters.http.app import create_app

    data_dir = Path(args.data)
    runtime = open_runtime(data_dir, args.nats, args.partition)
    service = EngineService(runtime, tick_ms=args.tick_ms).start()
    closers = []
    ready_checks = {}
    if args.nats:
        from adapters.nats.bridge import NatsBridge

        bridge = NatsBridge(service, args.nats, data_dir=data_dir, partition=args.partition)
        bridge.start()
        closers.append(bridge.close)
        ready_checks["nats"] = lambda: bridge.ready  # /readyz: the micro service is reachable
    app = create_app(service, data_dir=data_dir, ready_checks=ready_checks)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run()
    finally:
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
        service.stop()
        runtime.close()
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the engine with the HTTP API and the station board")
    p.add_argument("--data", default=".data/serve", help="data folder (log, keys, stores)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--tick-ms", type=int, default=1000, help="time between Tick events")
    p.add_argument("--nats", help="NATS URL: JetStream log, publisher and micro service")
    p.add_argument("--partition", help="city region code (4 digits) this engine owns")
    p.set_defaults(func=serve)
