"""An engine node with NATS only: JetStream log, event publisher, micro service.

Owns: `run_engine_node`, the process `lingong nats-engine` runs: wait (standby) for the
partition's lease (printing `... standing by` once, then `... serving` when it owns it), recover the engine from the partition's log, serve the micro service
and publish events until told to stop, or until the runtime stops (log failure, lease
lost) — then exit with `EXIT_LOST` so a supervisor restarts it as a standby.

Personal-data keys: with `kek` (the operator's key-encryption key, `--kek-file` or
$LINGONG_KEK) in the replicated KV bucket, so the next owner unseals what this one sealed.

Invariants: the same as `lingong serve --nats` minus HTTP (`adapters.nats.bridge`): one
owner per partition, commands acknowledged after the stream acknowledged their records.
Limits: see `EngineService`, `JetStreamLog`, `EventPublisher`, `CommandService`.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from adapters.nats.bridge import NatsBridge, open_jetstream_log, open_key_store
from adapters.shell.runtime import Runtime
from adapters.shell.service import EngineService

EXIT_OK = 0
EXIT_LOST = 3
log = logging.getLogger("lingong.nats.engine")


def run_engine_node(
    url: str,
    partition: str,
    data_dir: str | Path,
    *,
    tick_ms: int = 1000,
    lease_ttl_s: float | None = None,
    publish: bool = True,
    stop: threading.Event | None = None,
    snapshot_every: int = 0,
    kek: bytes | None = None,
) -> int:
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    jlog = open_jetstream_log(
        url,
        data_dir=data_dir,
        partition=partition,
        lease_ttl_s=lease_ttl_s,
        on_standby=lambda holder: print(
            f"lingong engine: partition {partition} standing by (held by {holder or '?'})",
            flush=True,
        ),
    )
    try:  # keys follow the log when the operator gave a key-encryption key
        keys = open_key_store(url, kek)
        runtime = Runtime(data_dir, log=jlog, snapshot_every=snapshot_every, keys=keys)
    except BaseException:
        jlog.close()
        raise
    log.info("partition %s recovered at seq %d", partition, runtime.engine.state.last_seq)
    service = EngineService(runtime, tick_ms=tick_ms).start()
    bridge = NatsBridge(service, url, data_dir=data_dir, partition=partition, publish=publish)
    code = EXIT_OK
    try:
        bridge.start()
        print(f"lingong engine: partition {partition} serving", flush=True)
        while not stop.wait(0.25):
            if not bridge.serving or runtime.stopped is not None:
                log.error("partition %s: engine stopped (%s)", partition, runtime.stopped)
                code = EXIT_LOST
                break
    finally:
        bridge.close()
        service.stop()
        if runtime.stopped is None:
            runtime.close()
        else:
            jlog.close()
            runtime.keys.close()
    return code
