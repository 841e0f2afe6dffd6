"""The JetStream event log: the `EventLog` contract on a replicated NATS stream.

Owns: the stream `LINGONG_LOG` (subjects `lingong.log.<partition>`, one partition per
prefecture-level city, R3 in a cluster), `JetStreamLog` (append, read, verify; with
`read_only=True` a `LogReader` that never creates the stream), `open_jetstream_reader`
(what `adapters.log.reader.open_log_reader` gives for a nats:// URL) and the message
layout of one frame.

Frames travel packed: one append becomes one message when its frames fit in
`MESSAGE_BODY_BYTES` (the usual group commit), else several (see `adapters.nats.frames`
for the layout: first seq, count and the chain after the last frame in headers). No
`Nats-Msg-Id`: the expected-sequence guard already makes a retried append all-or-nothing,
and idempotency by command id lives in the records (deviation from DESIGN.md section 5,
which had one message per record with the command id as message id: packing is what
lets one partition append tens of thousands of records per second from Python).

Invariants:
- One writer per partition: the writer holds the partition's lease (`adapters.nats.lease`)
  and EVERY append is guarded by `Nats-Expected-Last-Subject-Sequence` = the stream seq of
  the partition's last message. An append of several messages goes out as JetStream
  atomic batches (<= 1,000 messages each, all-or-nothing, the guard on the first message,
  checked at commit under the stream lock), so a second writer (a zombie owner) can never
  interleave or fork the chain: its append fails with `LogFailed`.
- `append` returns only after the stream acknowledged every batch (R3: a quorum stored
  it). Batches of one append are sequential (the next guard needs the last stream seq).
- An ambiguous failure (timeout, disconnect) is resolved by reading the partition's last
  frame from the stream leader: our frames are there (success), or the tail is where we
  left it (retry), or someone else wrote (LogFailed, and every later append fails).
- Readers verify that messages are contiguous (each starts where the previous ended, from
  1) and, with `verify_chain`, recompute the chain over every frame and compare it with
  each message's header; a mismatch raises `LogCorrupt(stream/subject, stream seq, seq,
  reason)`.
  Reads use an ephemeral pull consumer (no acks, in memory, deleted afterwards, expired
  by the server after `READER_IDLE_S` if abandoned); a lagging replica only delays a read,
  which retries until the frames acknowledged before the call are all seen.
- The stream denies deletes and purges: the log is append-only.

Limits: opening retries transient errors (no stream leader, a reconnect) for at most
`OPEN_RETRY_S`; payloads up to the server's max_payload minus `HEADER_ALLOWANCE`; `max_frames_per_
append` (65,536 by default); an append waits at most `append_timeout_s` for the stream.
Durability is JetStream's: acknowledged = stored by a quorum of replicas; disks are
fsynced on the server's `sync_interval` (set `sync_interval: always` where a whole-cluster
power loss must not lose acknowledged frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

import nats.errors
import nats.js.errors

from adapters.log.ports import GENESIS_HASH, LogCorrupt, LogError, LogFailed, chain_hash
from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.frames import (
    LEN_BYTES,
    MESSAGE_BODY_BYTES,
    Message,
    batches,
    check_partition,
    check_payloads,
    headers_of,
    log_subject,
    pack,
    read_headers,
    unpack,
)
from adapters.nats.frames import SUBJECT_PREFIX as SUBJECT_PREFIX
from adapters.nats.lease import BUCKET as LEASE_BUCKET
from adapters.nats.lease import LeaseLost, PartitionLease
from adapters.nats.streams import PullReader, auto_replicas, ensure_stream, locate

STREAM = "LINGONG_LOG"
HEADER_ALLOWANCE = 1024
DEFAULT_MAX_FRAMES = 65_536
FETCH_MESSAGES = 16  # messages per pull (each up to ~1 MiB)
ERR_WRONG_LAST_SEQ = 10071
_TRANSIENT = (nats.errors.Error, asyncio.TimeoutError, OSError)
OPEN_RETRY_S = 120.0  # opening retries transient errors this long (elections take 4-9 s)
T = TypeVar("T")
log = logging.getLogger("lingong.nats.jslog")


class _Rejected(Exception):
    def __init__(self, err_code: int, description: str) -> None:
        super().__init__(f"stream refused the append: {description} (err_code {err_code})")
        self.err_code = err_code


class JetStreamLog:
    """`EventLog` over one partition of `LINGONG_LOG`. `read_only=True`: a reader."""

    def __init__(
        self,
        url: str,
        partition: str,
        *,
        stream: str = STREAM,
        replicas: int | None = None,
        read_only: bool = False,
        owner: str | None = None,
        lease_ttl_s: float | None = None,
        lease_bucket: str = LEASE_BUCKET,
        wait_lease_s: float | None = None,
        append_timeout_s: float = 20.0,
        max_frames_per_append: int = DEFAULT_MAX_FRAMES,
        on_standby: Callable[[str], None] | None = None,
    ) -> None:
        self.partition = check_partition(partition)
        self.subject = log_subject(partition)
        self.stream = stream
        self.url = url
        self.read_only = read_only
        self.append_timeout_s = append_timeout_s
        self._max_frames = max_frames_per_append
        self._lt = LoopThread(f"lingong-jslog-{partition}")
        self._closed = False
        self._failure: str | None = None
        self._last_seq = 0
        self._head = GENESIS_HASH
        self._last_stream_seq = 0
        self._nc = None
        self.lease: PartitionLease | None = None
        self._lease_bucket = lease_bucket
        self._on_standby = on_standby
        try:
            self._lt.run(self._open(url, replicas, owner, lease_ttl_s, wait_lease_s), None)
        except BaseException:
            self._lt.run(self._shutdown(), 10)
            self._lt.stop()
            raise

    # ------------------------------------------------------------ opening -----------

    async def _open(self, url, replicas, owner, lease_ttl_s, wait_lease_s) -> None:
        self._nc = await connect(url, f"lingong-log-{self.partition}")
        self._js = self._nc.jetstream(timeout=10)
        self.replicas = replicas or auto_replicas(self._nc)
        self._body_limit = min(MESSAGE_BODY_BYTES, int(self._nc.max_payload) - HEADER_ALLOWANCE)
        self._max_payload = int(self._nc.max_payload) - HEADER_ALLOWANCE - LEN_BYTES
        if self.read_only:  # a reader never creates anything
            try:
                await self._opening(lambda: self._js.stream_info(self.stream), "stream info")
            except nats.js.errors.NotFoundError:
                raise FileNotFoundError(f"no JetStream stream {self.stream} at {url}") from None
        else:
            await self._opening(
                lambda: ensure_stream(
                    self._js,
                    self.stream,
                    [f"{SUBJECT_PREFIX}.>"],
                    self.replicas,
                    allow_atomic=True,
                    deny_delete=True,
                    deny_purge=True,
                ),
                "creating the stream",
            )
        if not self.read_only:
            kw = {} if lease_ttl_s is None else {"ttl_s": lease_ttl_s}
            self.lease = PartitionLease(
                self._js,
                self.partition,
                owner=owner,
                replicas=self.replicas,
                bucket=self._lease_bucket,
                on_standby=self._on_standby,
                **kw,
            )
            await self.lease.acquire(wait_lease_s)
        await self._opening(self._load_tail, "reading the partition's tail")

    async def _opening(self, make: Callable[[], Awaitable[T]], what: str) -> T:
        """`await make()` while opening, retried on transient errors (a JetStream leader
        election after a node died, a reconnect, a loaded server answering late) for at
        most `OPEN_RETRY_S`; a stream that does not exist is not transient."""
        deadline = time.monotonic() + OPEN_RETRY_S
        while True:
            try:
                return await make()
            except nats.js.errors.NotFoundError:
                raise
            except _TRANSIENT as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("partition %s: %s failed (%s); retrying", self.partition, what, exc)
            await asyncio.sleep(0.25)

    async def _tail(self) -> tuple[int, bytes, int]:
        """(seq, chain, stream seq) of the partition's last frame, from the stream leader."""
        try:
            msg = await self._js.get_last_msg(self.stream, self.subject)
        except nats.js.errors.NotFoundError:
            return 0, GENESIS_HASH, 0
        stream_seq = int(msg.seq or 0)
        first, count, chain = read_headers(msg.headers, self._where, stream_seq)
        return first + count - 1, chain, stream_seq

    async def _load_tail(self) -> None:
        self._last_seq, self._head, self._last_stream_seq = await self._tail()

    @property
    def _where(self) -> str:
        return f"{self.stream}/{self.subject}"

    # ------------------------------------------------------------ properties --------

    @property
    def location(self) -> str:
        return f"{self.url}/{self.stream}/{self.partition}"

    @property
    def next_seq(self) -> int:
        return self._last_seq + 1

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def head_hash(self) -> bytes:
        return self._head

    @property
    def max_payload_bytes(self) -> int:
        return self._max_payload

    @property
    def max_frames_per_append(self) -> int:
        return self._max_frames

    @property
    def failed(self) -> bool:
        return self._failure is not None

    # ------------------------------------------------------------ append ------------

    def append(self, payloads: Sequence[bytes]) -> int:
        frames = check_payloads(payloads, self._max_payload, self._max_frames)
        if self._closed:
            raise ValueError(f"event log {self.subject} is closed")
        if self.read_only:
            raise LogError(f"{self.subject} was opened read-only")
        if self._failure is not None:
            raise LogFailed(self._failure)
        if not frames:
            return self._last_seq
        return self._lt.run(self._append(frames), self.append_timeout_s + 30)

    async def _append(self, payloads: list[bytes]) -> int:
        messages = pack(payloads, self._last_seq + 1, self._head, self._body_limit)
        try:
            for batch in batches(messages):
                await self._append_batch(batch)
        except (LeaseLost, LogFailed, LogCorrupt, _Rejected, *_TRANSIENT) as exc:
            self._failure = f"append to {self.subject} failed, log stopped: {exc}"
            raise LogFailed(self._failure) from exc
        return self._last_seq

    async def _append_batch(self, batch: list[Message]) -> None:
        deadline = time.monotonic() + self.append_timeout_s
        before = (self._last_seq, self._last_stream_seq)
        while True:
            if self.lease is not None:
                await self.lease.ensure_valid(deadline)
            try:
                stream_seq = await self._publish(batch, self._last_stream_seq)
            except _Rejected as exc:
                if exc.err_code != ERR_WRONG_LAST_SEQ:
                    raise
                if await self._committed(batch, before):  # our earlier attempt got in
                    return
                raise LogFailed(f"another writer appended to {self.subject}: {exc}") from None
            except _TRANSIENT:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.2)
                try:
                    if await self._committed(batch, before):
                        return
                except _TRANSIENT:
                    pass
                continue
            self._advance(batch, stream_seq)
            return

    async def _committed(self, batch: list[Message], before: tuple[int, int]) -> bool:
        """After an ambiguous attempt: did `batch` make it (True), or nothing (False)?"""
        seq, chain, stream_seq = await self._tail()
        if seq == batch[-1].last and chain == batch[-1].chain:
            self._advance(batch, stream_seq)
            return True
        if (seq, stream_seq) == before:
            return False
        raise LogFailed(f"{self.subject} moved to seq {seq} under us (another writer)")

    def _advance(self, batch: list[Message], stream_seq: int) -> None:
        self._last_seq, self._head = batch[-1].last, batch[-1].chain
        self._last_stream_seq = stream_seq

    async def _publish(self, batch: list[Message], expected_stream_seq: int) -> int:
        """One guarded message, or an atomic batch guarded on its first message."""
        nc, subject, n = self._nc, self.subject, len(batch)
        batch_id = uuid.uuid4().hex
        for i, m in enumerate(batch, 1):
            hdr = headers_of(m)
            if i == 1:
                hdr["Nats-Expected-Last-Subject-Sequence"] = str(expected_stream_seq)
            if n > 1:
                hdr["Nats-Batch-Id"] = batch_id
                hdr["Nats-Batch-Sequence"] = str(i)
            if i < n:
                await nc.publish(subject, m.body, headers=hdr)
                continue
            if n > 1:
                hdr["Nats-Batch-Commit"] = "1"
            resp = await nc.request(subject, m.body, headers=hdr, timeout=5.0)
            ack = json.loads(resp.data or b"{}")
            if "error" in ack:
                err = ack["error"]
                raise _Rejected(int(err.get("err_code", 0)), str(err.get("description", err)))
            if n > 1 and int(ack.get("count", 0)) != n:
                raise LogFailed(f"atomic batch stored {ack.get('count')} of {n} messages")
            return int(ack["seq"])
        raise AssertionError("unreachable: empty batch")

    # ------------------------------------------------------------ reading -----------

    def read(self, from_seq: int = 1, *, verify_chain: bool = True) -> Iterator[tuple[int, bytes]]:
        batches = self.read_batches(from_seq, verify_chain=verify_chain)
        return (frame for batch in batches for frame in batch)

    def read_batches(
        self, from_seq: int = 1, max_frames: int = 4096, *, verify_chain: bool = True
    ) -> Iterator[list[tuple[int, bytes]]]:
        if from_seq < 1:
            raise ValueError(f"from_seq must be >= 1, got {from_seq}")
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        if self._closed:
            raise ValueError(f"event log {self.subject} is closed")
        if self.read_only:  # someone else appends: read up to the tail as it is now
            self._lt.run(self._load_tail())
        end = self._last_seq  # frames acknowledged before this call, no more
        return self._iter(from_seq, end, max_frames, verify_chain)

    def _iter(
        self, from_seq: int, end: int, max_frames: int, verify_chain: bool
    ) -> Iterator[list[tuple[int, bytes]]]:
        if from_seq > end:
            return
        where = self._where
        position, first, _, _ = self._lt.run(self._locate(from_seq))
        prev = GENESIS_HASH
        if verify_chain and first > 1:  # anchor: the chain stored before that message
            prev = self._lt.run(self._locate(first - 1))[3]
        expect = first
        reader = self._lt.run(self._open_reader(position))
        out: list[tuple[int, bytes]] = []
        try:
            while expect <= end:
                for stream_seq, (mfirst, count, chain), body in self._lt.run(
                    self._pull(reader, expect)
                ):
                    if mfirst != expect:
                        raise LogCorrupt(where, stream_seq, expect, f"message starts at {mfirst}")
                    try:
                        frames = unpack(body, count)
                    except ValueError as exc:
                        raise LogCorrupt(where, stream_seq, mfirst, str(exc)) from None
                    if verify_chain:
                        for payload in frames:
                            prev = chain_hash(prev, payload)
                        if prev != chain:
                            raise LogCorrupt(
                                where,
                                stream_seq,
                                mfirst,
                                f"hash chain mismatch in frames {mfirst}..{mfirst + count - 1}",
                            )
                    for i, payload in enumerate(frames):
                        seq = mfirst + i
                        if from_seq <= seq <= end:
                            out.append((seq, payload))
                            if len(out) >= max_frames:
                                yield out
                                out = []
                    expect = mfirst + count
                    if expect > end:
                        break
            if out:
                yield out
        finally:
            if not self._closed:
                with contextlib.suppress(Exception):
                    self._lt.run(self._close_reader(reader), 5)

    async def _locate(self, seq: int) -> tuple[int, int, int, bytes]:
        """(stream seq, first, count, chain) of the message holding frame `seq`."""
        return await locate(self._js, self.stream, self.subject, seq, self._last_stream_seq)

    async def _open_reader(self, position: int) -> PullReader:
        reader = PullReader(self._nc, self._js, self.stream)
        await reader.open(self.subject, position)
        return reader

    async def _close_reader(self, reader: PullReader) -> None:
        await reader.close()

    async def _pull(self, reader: PullReader, expect: int, patience_s: float = 10.0):
        """The next messages (retrying while a replica lags behind what was acknowledged)."""
        deadline = time.monotonic() + patience_s
        while True:
            msgs = await reader.fetch(FETCH_MESSAGES, timeout_s=2.0)
            if msgs:
                out = []
                for msg in msgs:
                    stream_seq = int(msg.reply.split(".")[5])  # $JS.ACK.<s>.<c>.<n>.<sseq>...
                    hdr = read_headers(msg.headers, self._where, stream_seq)
                    out.append((stream_seq, hdr, bytes(msg.data or b"")))
                return out
            if time.monotonic() >= deadline:
                raise LogCorrupt(self._where, 0, expect, "acknowledged frame missing")
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------ closing -----------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._lt.run(self._shutdown(), 10)
        finally:
            self._lt.stop()

    async def _shutdown(self) -> None:
        if self.lease is not None:
            await self.lease.release()
        await close_quietly(self._nc)

    def __enter__(self) -> JetStreamLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JetStreamLog({self.subject!r}, last_seq={self._last_seq})"


def open_jetstream_reader(servers: str, stream: str = STREAM, partition: str = "") -> JetStreamLog:
    """A read-only `JetStreamLog` (a `LogReader`) of one partition of `stream`.

    Without a partition, the stream's only partition is used; a stream holding several
    is a ValueError naming them. A missing stream is a FileNotFoundError.
    """
    try:
        if not partition:
            partition = _only_partition(servers, stream)
        return JetStreamLog(servers, partition, stream=stream, read_only=True)
    except (TimeoutError, nats.errors.NoServersError) as exc:
        raise ConnectionError(f"cannot reach NATS at {servers}: {exc}") from None


def _only_partition(servers: str, stream: str) -> str:
    async def subjects() -> list[str]:
        nc = await connect(servers, "lingong-log-probe")
        try:
            js = nc.jetstream(timeout=10)
            try:
                info = await js.stream_info(stream, subjects_filter=f"{SUBJECT_PREFIX}.>")
            except nats.js.errors.NotFoundError:
                raise FileNotFoundError(f"no JetStream stream {stream} at {servers}") from None
            return sorted((info.state.subjects or {}).keys())
        finally:
            await close_quietly(nc)

    lt = LoopThread("lingong-log-probe")
    try:
        found = lt.run(subjects(), 30)
    finally:
        lt.stop()
    parts = [s[len(SUBJECT_PREFIX) + 1 :] for s in found]
    if len(parts) != 1:
        listed = ", ".join(parts[:20]) + (" …" if len(parts) > 20 else "") or "none"
        raise ValueError(
            f"stream {stream} at {servers} holds {len(parts)} partitions ({listed}): "
            f"name one, e.g. {servers}/{stream}/{parts[0] if parts else 'PARTITION'}"
        )
    return parts[0]
