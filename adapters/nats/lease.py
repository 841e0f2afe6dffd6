"""Partition ownership: one engine process per partition, through a JetStream KV lease.

Owns: `PartitionLease`, a key `<partition>` in the key-value bucket `LINGONG_LEASE` whose
TTL (the bucket's max age) expires the lease of an owner that stopped renewing it; the
renewal task; standby acquisition (poll until the key is gone, then create it).

Invariants:
- Acquire is `create` (succeeds only when no live key exists); renew is `update` with the
  revision we last wrote, so it fails once anyone else has created the key. Either
  failure means the lease is LOST for good: the owner must stop appending.
- The owner treats its lease as valid only until `sent + ttl - margin` (monotonic clock,
  measured from when the last successful renewal was SENT), so it stops before the
  server can expire the key and hand it to a standby. `ensure_valid()` tries one
  synchronous renewal when that time has passed: success proves no one took over.
- The lease is liveness, not the last line of safety: the JetStream log also guards
  every append with `Nats-Expected-Last-Subject-Sequence` (see `adapters.nats.jslog`).

Limits: TTL `DEFAULT_TTL_S` (15 s: longer than a JetStream leader election, 4-9 s, so
losing a NATS node does not cost the partition its owner) unless the bucket already exists with another TTL (the
bucket's own TTL wins); renew every TTL/4; standbys poll every `poll_s` (0.25 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

import nats.errors
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from adapters.log.ports import LogLocked

BUCKET = "LINGONG_LEASE"
DEFAULT_TTL_S = 15.0
MARGIN_FRACTION = 0.2  # of the TTL: the owner stops this long before the key can expire
log = logging.getLogger("lingong.nats.lease")


class LeaseLost(Exception):
    """The partition's lease was lost (expired and possibly taken by a standby)."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PartitionLease:
    def __init__(
        self,
        js: JetStreamContext,
        partition: str,
        *,
        owner: str | None = None,
        ttl_s: float = DEFAULT_TTL_S,
        replicas: int = 1,
        poll_s: float = 0.25,
        bucket: str = BUCKET,
        on_standby: Callable[[str], None] | None = None,
    ) -> None:
        self.js = js
        self.bucket = bucket
        self.partition = partition
        self.owner = owner or default_owner()
        self.ttl_s = ttl_s
        self.replicas = replicas
        self.poll_s = poll_s
        self.revision = 0
        self.valid_until = 0.0  # time.monotonic() after which we may not append
        self.lost: str | None = None
        self.holder = ""  # who held the key when we last found it taken
        self.on_standby = on_standby  # called once with the holder when we start waiting
        self._kv: KeyValue | None = None
        self._renewer: asyncio.Task | None = None

    # ------------------------------------------------------------ set-up ------------

    async def _bucket(self) -> KeyValue:
        if self._kv is not None:
            return self._kv
        try:
            self._kv = await self.js.key_value(self.bucket)
        except nats.js.errors.BucketNotFoundError:
            try:
                self._kv = await self.js.create_key_value(
                    KeyValueConfig(
                        bucket=self.bucket,
                        history=1,
                        ttl=self.ttl_s,
                        storage=StorageType.FILE,
                        replicas=self.replicas,
                        description="lingong partition ownership leases",
                    )
                )
            except nats.js.errors.BadRequestError:  # created concurrently by another process
                self._kv = await self.js.key_value(self.bucket)
        status = await self._kv.status()
        if status.ttl and abs(status.ttl - self.ttl_s) > 1e-3:
            log.info(
                "lease bucket TTL is %.1fs (asked %.1fs): using the bucket's",
                status.ttl,
                self.ttl_s,
            )
            self.ttl_s = float(status.ttl)
        return self._kv

    @property
    def margin_s(self) -> float:
        return self.ttl_s * MARGIN_FRACTION

    def _value(self) -> bytes:
        return json.dumps({"owner": self.owner, "ttl_s": self.ttl_s}).encode()

    # ------------------------------------------------------------ acquire -----------

    async def acquire(self, wait_s: float | None = None) -> None:
        """Take the lease; as a standby, wait (at most `wait_s`, None = forever) for it."""
        deadline = None if wait_s is None else time.monotonic() + wait_s
        announced = False
        warned = 0.0
        while True:
            sent = time.monotonic()
            try:
                kv = await self._bucket()
                self.revision = await kv.create(self.partition, self._value())
            except nats.js.errors.KeyWrongLastSequenceError:
                await self._note_holder(kv)
                if not announced:
                    log.info("partition %s owned by %s: standing by", self.partition, self.holder)
                    announced = True
                    if self.on_standby is not None:
                        self.on_standby(self.holder)
            except (TimeoutError, nats.errors.Error) as exc:  # no leader now, reconnecting...
                if time.monotonic() - warned >= 5.0:
                    log.warning(
                        "partition %s: lease unreachable (%s); retrying", self.partition, exc
                    )
                    warned = time.monotonic()
            else:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise LogLocked(
                    f"partition {self.partition} is owned by {self.holder or 'another engine'}"
                )
            await asyncio.sleep(self.poll_s)
        self.valid_until = sent + self.ttl_s - self.margin_s
        self.lost = None
        self._renewer = asyncio.get_running_loop().create_task(self._renew_loop())
        log.info("partition %s: lease taken by %s", self.partition, self.owner)

    async def _note_holder(self, kv: KeyValue) -> None:
        with contextlib.suppress(Exception):
            entry = await kv.get(self.partition)
            self.holder = json.loads(entry.value or b"{}").get("owner", "")

    # ------------------------------------------------------------ renew -------------

    async def renew(self) -> bool:
        """One renewal; False (and `lost` set) when someone else has the key now."""
        if self.lost is not None:
            return False
        kv = await self._bucket()
        sent = time.monotonic()
        try:
            self.revision = await kv.update(self.partition, self._value(), last=self.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            self.lost = f"lease of partition {self.partition} expired or was taken over"
            log.error("%s", self.lost)
            return False
        self.valid_until = sent + self.ttl_s - self.margin_s
        return True

    async def _renew_loop(self) -> None:
        every_s = self.ttl_s / 4
        while self.lost is None:
            await asyncio.sleep(every_s)
            try:
                if not await self.renew():
                    return
            except (TimeoutError, nats.errors.Error, nats.js.errors.Error) as exc:
                log.warning("partition %s: lease renewal failed: %s", self.partition, exc)

    def valid(self) -> bool:
        return self.lost is None and time.monotonic() < self.valid_until

    async def ensure_valid(self, deadline: float | None = None) -> None:
        """Return once the lease is valid; raise `LeaseLost` when it is lost, or still
        lapsed at `deadline` (monotonic). A lapsed lease (renewals failed, e.g. during a
        JetStream leader election) is renewed again: success proves no one took over."""
        while not self.valid():
            if self.lost is not None:
                raise LeaseLost(self.lost)
            try:
                await asyncio.wait_for(self.renew(), timeout=max(0.5, self.margin_s))
            except (TimeoutError, nats.errors.Error):
                pass
            if self.valid():
                return
            if self.lost is not None or deadline is None or time.monotonic() >= deadline:
                raise LeaseLost(self.lost or f"lease of partition {self.partition} lapsed")
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------ release -----------

    async def release(self) -> None:
        """Stop renewing and delete the key (if still ours) so a standby starts at once."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
            self._renewer = None
        if self.lost is None and self.revision and self._kv is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._kv.delete(self.partition, last=self.revision), timeout=2
                )
        self.lost = self.lost or "released"
