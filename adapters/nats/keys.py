"""Per-person keys that follow the JetStream log: a replicated, encrypted KV key store.

Owns: `KvKeyStore`, the `adapters.shell.pii.KeyStorePort` on the JetStream KV bucket
`LINGONG_KEYS` (R3 in a cluster, like the log), so a standby on another machine unseals
what the previous owner sealed and an erasure reaches every replica; the wrapping of
each per-person key under the operator's key-encryption key (KEK, `pii.load_kek`).

Invariants:
- The KEK never reaches NATS or the log: the bucket holds only wrapped keys. A value is
  `b"LGW1"` + the KEK's 8-byte fingerprint + a 12-byte nonce + AES-256-GCM(KEK, person
  key) with the KV key name as associated data, so a wrapped key moved to another
  subject, altered, or opened with another KEK fails (`KeyStoreError` naming the cause).
- The KV key name is the BLAKE2b-256 hex of the subject id (the bucket does not list ids).
- A new key is created with `create` (succeeds only if no live key exists), so two
  writers can never hold two keys for one subject. With `sync="deferred"` (the
  runtime's) new keys wait in memory until `sync()`, which the runtime calls before the
  log append whose records need them; `sync` returns once the bucket acknowledged every
  key (stored by a quorum of replicas).
- `erase` purges the subject's key: a purge marker that removes every earlier revision
  of that key on every replica (KV delete + purge of its history); from then on every
  blob sealed for the subject is unreadable here and on every standby.

Limits: one KV round trip per `key` lookup (no cache: erasure is immediate for every
reader); `sync` sends at most `SYNC_CONCURRENCY` creates at once; every operation is
retried on transient errors (a JetStream leader election, a reconnect) for at most
`timeout_s` (30 s), then fails with `KeyStoreError`; what a purge leaves on a server's disk until its file store
compacts the block is JetStream's (backups of the NATS servers' storage must expire, as
for the file key store's directory).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
import nats.js.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.streams import auto_replicas
from adapters.shell.pii import KEY_BYTES, NONCE_BYTES, KeyStoreError, kek_fingerprint, subject_name

BUCKET = "LINGONG_KEYS"
WRAP_MAGIC = b"LGW1"
FINGERPRINT_BYTES = 8
SYNC_CONCURRENCY = 256
RETRY_S = 0.2  # back-off between attempts while the bucket has no leader
T = TypeVar("T")
log = logging.getLogger("lingong.nats.keys")
_WRAPPED_BYTES = len(WRAP_MAGIC) + FINGERPRINT_BYTES + NONCE_BYTES + KEY_BYTES + 16
_ERRORS = (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError, OSError)


class KvKeyStore:
    """Per-subject AES-256 keys in a replicated JetStream KV bucket, wrapped by a KEK."""

    def __init__(
        self,
        url: str,
        kek: bytes,
        *,
        bucket: str = BUCKET,
        replicas: int | None = None,
        sync: str = "deferred",
        timeout_s: float = 30.0,
    ) -> None:
        if len(kek) != KEY_BYTES:
            raise ValueError(f"the key-encryption key must be {KEY_BYTES} bytes")
        if sync not in ("immediate", "deferred", "none"):
            raise ValueError(f"sync must be immediate, deferred or none, not {sync!r}")
        self.sync_mode = sync
        self.bucket = bucket
        self.url = url
        self.timeout_s = timeout_s
        self._kek = AESGCM(kek)
        self._fingerprint = kek_fingerprint(kek)
        self._pending: dict[str, bytes] = {}  # KV key name -> new key, not yet stored
        self._lock = threading.Lock()
        self._lt = LoopThread("lingong-keys")
        self._nc = None
        try:
            self._kv: KeyValue = self._lt.run(self._open(url, replicas), timeout_s + 10)
        except BaseException:
            self.close()
            raise

    async def _retrying(self, make: Callable[[], Awaitable[T]], what: str) -> T:
        """`await make()`, retried on transient errors (no stream leader during an
        election, a reconnect) until `timeout_s` has passed; then the last error."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return await asyncio.wait_for(make(), timeout=max(1.0, self.timeout_s / 4))
            except _ERRORS as exc:
                if isinstance(exc, (nats.js.errors.NotFoundError, nats.js.errors.BadRequestError)):
                    raise
                if time.monotonic() >= deadline:
                    raise
                log.warning("key store %s: %s failed (%s); retrying", self.bucket, what, exc)
            await asyncio.sleep(RETRY_S)

    async def _open(self, url: str, replicas: int | None) -> KeyValue:
        self._nc = await connect(url, "lingong-keys")
        return await self._retrying(lambda: self._bucket(replicas), "opening the bucket")

    async def _bucket(self, replicas: int | None) -> KeyValue:
        js = self._nc.jetstream(timeout=self.timeout_s)
        try:
            return await js.key_value(self.bucket)
        except nats.js.errors.BucketNotFoundError:
            pass
        try:
            return await js.create_key_value(
                KeyValueConfig(
                    bucket=self.bucket,
                    history=1,
                    storage=StorageType.FILE,
                    replicas=replicas or auto_replicas(self._nc),
                    description="lingong per-person keys, wrapped by the operator's KEK",
                )
            )
        except nats.js.errors.BadRequestError:  # created concurrently by another process
            return await js.key_value(self.bucket)

    # ------------------------------------------------------------ wrapping ----------

    def _wrap(self, name: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        head = WRAP_MAGIC + self._fingerprint
        return head + nonce + self._kek.encrypt(nonce, key, WRAP_MAGIC + name.encode())

    def _unwrap(self, name: str, value: bytes) -> bytes:
        if len(value) != _WRAPPED_BYTES or not value.startswith(WRAP_MAGIC):
            raise KeyStoreError(f"key {name[:16]}… in {self.bucket} is corrupt")
        at = len(WRAP_MAGIC)
        if value[at : at + FINGERPRINT_BYTES] != self._fingerprint:
            raise KeyStoreError(
                f"key {name[:16]}… in {self.bucket} was wrapped by another key-encryption "
                "key: give this engine the KEK the previous owner used"
            )
        at += FINGERPRINT_BYTES
        nonce = value[at : at + NONCE_BYTES]
        try:
            return self._kek.decrypt(nonce, value[at + NONCE_BYTES :], WRAP_MAGIC + name.encode())
        except InvalidTag:
            raise KeyStoreError(
                f"key {name[:16]}… in {self.bucket} failed authentication"
            ) from None

    # ------------------------------------------------------------ the port ----------

    async def _get(self, name: str) -> bytes | None:
        async def get() -> bytes | None:
            try:
                entry = await self._kv.get(name)
            except nats.js.errors.KeyNotFoundError:  # never created, deleted or purged
                return None
            return entry.value or None

        return await self._retrying(get, "reading a key")

    def _stored(self, name: str) -> bytes | None:
        try:
            value = self._lt.run(self._get(name), self.timeout_s + 10)
        except _ERRORS as exc:
            raise KeyStoreError(f"key store {self.bucket} unreachable: {exc}") from exc
        return None if value is None else self._unwrap(name, value)

    def key(self, subject_id: str, create: bool = False) -> bytes | None:
        """The subject's 32-byte key; with `create`, make one first if there is none."""
        name = subject_name(subject_id)
        with self._lock:
            pending = self._pending.get(name)
        if pending is not None:
            return pending
        existing = self._stored(name)
        if existing is not None or not create:
            return existing
        new_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        with self._lock:
            new_key = self._pending.setdefault(name, new_key)
        if self.sync_mode == "immediate":
            self.sync()
        return new_key

    async def _create_all(self, items: list[tuple[str, bytes]]) -> list[str]:
        """Store every new key; the names that another writer had created first."""
        taken: list[str] = []

        async def one(name: str, key: bytes) -> None:
            wrapped = self._wrap(name, key)
            try:
                await self._retrying(lambda: self._kv.create(name, wrapped), "storing a key")
            except nats.js.errors.KeyWrongLastSequenceError:  # exists (or our retry landed)
                stored = await self._get(name)
                if stored is None or self._unwrap(name, stored) != key:
                    taken.append(name)

        for at in range(0, len(items), SYNC_CONCURRENCY):
            await asyncio.gather(*(one(n, k) for n, k in items[at : at + SYNC_CONCURRENCY]))
        return taken

    def sync(self) -> int:
        """Store every key created since the last call; returns how many.

        Raises `KeyStoreError` when the bucket cannot be reached (the keys stay pending,
        so nothing sealed with them may be appended) or another writer holds a different
        key for one of the subjects."""
        with self._lock:
            items = list(self._pending.items())
        if not items:
            return 0
        try:
            taken = self._lt.run(self._create_all(items), None)  # each create is bounded
        except _ERRORS as exc:
            raise KeyStoreError(f"key store {self.bucket} unreachable: {exc}") from exc
        if taken:
            raise KeyStoreError(
                f"{len(taken)} key(s) in {self.bucket} were created by another writer "
                "(two engines own this partition?)"
            )
        with self._lock:
            for name, _ in items:
                self._pending.pop(name, None)
        return len(items)

    def erase(self, subject_id: str) -> bool:
        """Purge the subject's key on every replica; True if there was one."""
        name = subject_name(subject_id)
        with self._lock:
            had_pending = self._pending.pop(name, None) is not None

        async def purge() -> bool:
            existed = await self._get(name) is not None
            await self._retrying(lambda: self._kv.purge(name), "purging a key")
            return existed

        try:
            existed = self._lt.run(purge(), 2 * self.timeout_s + 10)
        except _ERRORS as exc:
            raise KeyStoreError(f"key store {self.bucket} unreachable: {exc}") from exc
        return existed or had_pending

    def __contains__(self, subject_id: str) -> bool:
        return self.key(subject_id) is not None

    def close(self) -> None:
        try:
            self._lt.run(close_quietly(self._nc), 5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        self._lt.stop()
