"""What `lingong serve --nats URL --partition CITY4` wires: the JetStream log, the event
publisher and the micro service around one `EngineService`.

Owns: `open_jetstream_log` (the partition's log; blocks as a standby until this process
owns the partition) and `NatsBridge` (start/close of the publisher and micro service, and
a watchdog that withdraws the micro service once the engine cannot append any more;
`ready` says whether the micro service can be reached now, for `/readyz`).

Invariants:
- The publisher is subscribed before any new record can be acknowledged after start; it
  catches up from the log for anything before (its position is in the KV bucket).
- Once the runtime has stopped (log failure, lost lease) the micro service is withdrawn,
  so front ends' requests reach the partition's new owner instead of failing here.
- Close order: micro service (no new commands), publisher (drains what is durable, within
  its timeout), connection.
- The micro service authenticates callers with the data folder's tokens
  (`DATA/tokens.json`); without a folder or a `TokenStore` it answers every request 401.

- `open_key_store`: with the operator's key-encryption key, the personal-data keys live
  in the replicated KV bucket (`adapters.nats.keys`) and follow the log to a standby;
  without one they stay in `DATA/keys` on this machine (a warning says a standby on
  another machine will not unseal them).

Limits: `data_dir` is not used by the JetStream log (the stream is the storage); the
runtime keeps snapshots (and keys, without a KEK) there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from adapters.gate.tokens import TokenStore
from adapters.nats.cloudevents import RegionMap, pad_region
from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.jslog import JetStreamLog
from adapters.nats.keys import KvKeyStore
from adapters.nats.micro import CommandService
from adapters.nats.publisher import EventPublisher
from adapters.shell.service import EngineService

LOCAL_PARTITION = "local"
log = logging.getLogger("lingong.nats.bridge")


def open_jetstream_log(
    url: str,
    *,
    data_dir: str | Path | None = None,
    partition: str | None,
    wait_lease_s: float | None = None,
    lease_ttl_s: float | None = None,
    on_standby: Callable[[str], None] | None = None,
) -> JetStreamLog:
    """The partition's JetStream log; waits (standby) until this process owns it
    (`on_standby(holder)` is called once if it has to wait)."""
    if not partition:
        raise ValueError("--partition (the city region code this engine owns) is required")
    log.info("opening partition %s on %s (data %s)", partition, url, data_dir)
    return JetStreamLog(
        url, partition, wait_lease_s=wait_lease_s, lease_ttl_s=lease_ttl_s, on_standby=on_standby
    )


def open_key_store(url: str, kek: bytes | None) -> KvKeyStore | None:
    """The replicated key store under `kek`; None (keys on this machine) without one."""
    if kek is None:
        log.warning(
            "no key-encryption key (--kek-file or $LINGONG_KEK): personal-data keys stay in "
            "this machine's DATA/keys, so a standby elsewhere cannot unseal them"
        )
        return None
    return KvKeyStore(url, kek)


def partition_of(service: EngineService, partition: str | None) -> str:
    if partition:
        return partition
    jlog = service.runtime.log
    return jlog.partition if isinstance(jlog, JetStreamLog) else LOCAL_PARTITION


class NatsBridge:
    def __init__(
        self,
        service: EngineService,
        url: str,
        *,
        data_dir: str | Path | None = None,
        partition: str | None = None,
        publish: bool = True,
        micro: bool = True,
        tokens: TokenStore | None = None,
    ) -> None:
        self.service = service
        self.url = url
        self.data_dir = data_dir
        if tokens is None and data_dir is not None:
            tokens = TokenStore(data_dir)
        self.tokens = tokens
        self.partition = partition_of(service, partition)
        self.publisher: EventPublisher | None = None
        self.micro: CommandService | None = None
        self._publish = publish
        self._micro = micro
        self._lt: LoopThread | None = None
        self._nc = None
        self._watchdog: asyncio.Task | None = None
        self.connection_changed = threading.Condition()  # notified on (re)connect/disconnect
        self.disconnects = 0

    def start(self) -> NatsBridge:
        runtime = self.service.runtime
        region = pad_region(self.partition) if self.partition.isdigit() else ""
        if self._publish:
            self.publisher = EventPublisher(
                self.url, runtime.log, partition=self.partition, default_region=region
            )
            regions = self.service.read(lambda st: RegionMap.from_state(st, region))
            self.publisher.attach(runtime.subscribers)
            self.publisher.start(regions)
        if self._micro:
            self._lt = LoopThread(f"lingong-bridge-{self.partition}")
            self._lt.run(self._start_micro(), None)
        return self

    def _on_state(self, connected: bool) -> None:
        with self.connection_changed:
            if not connected:
                self.disconnects += 1
            self.connection_changed.notify_all()

    def wait_ready(self, ready: bool, timeout_s: float) -> bool:
        """Wait until `self.ready == ready` (connection events wake it); False on timeout."""
        with self.connection_changed:
            return self.connection_changed.wait_for(lambda: self.ready == ready, timeout_s)

    async def _start_micro(self) -> None:
        self._nc = await connect(self.url, f"lingong-api-{self.partition}", on_state=self._on_state)
        self.micro = await CommandService(self.service, self.partition, tokens=self.tokens).start(
            self._nc
        )
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        log.info("micro service up on lingong.api.%s", self.partition)

    async def _watch(self) -> None:
        runtime = self.service.runtime
        while True:
            await asyncio.sleep(0.5)
            lease = getattr(runtime.log, "lease", None)
            lost = runtime.stopped is not None or (lease is not None and lease.lost is not None)
            if lost and self.micro is not None:
                log.error(
                    "engine of partition %s stopped: withdrawing the micro service", self.partition
                )
                await self.micro.stop()
                self.micro = None
                return

    @property
    def serving(self) -> bool:
        return self.micro is not None

    @property
    def ready(self) -> bool:
        """The micro service is up and its connection is connected (not reconnecting)."""
        micro = self.micro
        return micro is not None and micro.connected

    def close(self) -> None:
        if self._lt is not None:
            with contextlib.suppress(Exception):
                self._lt.run(self._stop_micro(), 15)
            self._lt.stop()
            self._lt = None
        if self.publisher is not None:
            with contextlib.suppress(ValueError):
                self.service.runtime.subscribers.remove(self.publisher.on_record)
            self.publisher.close()

    async def _stop_micro(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.micro is not None:
            await self.micro.stop()
            self.micro = None
        await close_quietly(self._nc)
