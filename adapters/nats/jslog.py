"""The JetStream event log: the `EventLog` contract on a replicated NATS stream.

Owns: the stream `LINGONG_LOG` (subjects `lingong.log.<partition>`, one partition per
prefecture-level city, R3 in a cluster), `JetStreamLog` (append, read, verify) and the
message layout of one frame.

One frame = one message on `lingong.log.<partition>`:
    payload                       the opaque record bytes (never decoded here)
    Lingong-Seq: <n>              the frame's seq within its partition (1, 2, ...)
    Lingong-Chain: <64 hex>       chain_n = BLAKE2b(chain_{n-1} || payload) (adapters.ports)
    Nats-Msg-Id: log-<partition>-<n>

Invariants:
- One writer per partition: the writer holds the partition's lease (`adapters.nats.lease`)
  and EVERY append is guarded by `Nats-Expected-Last-Subject-Sequence` = the stream seq of
  the partition's last frame. The frames of one append go out as JetStream atomic batches
  (<= 1,000 messages each, all-or-nothing, the guard on the first message and checked at
  commit under the stream lock), so a second writer (a zombie owner) can never interleave
  or fork the chain: its append fails with `LogFailed`.
- `append` returns only after the stream acknowledged every batch (R3: a quorum stored
  it). Batches of one append are sequential (the next guard needs the last stream seq).
- An ambiguous failure (timeout, disconnect) is resolved by reading the partition's last
  frame from the stream leader: our frames are there (success), or the tail is where we
  left it (retry), or someone else wrote (LogFailed, and every later append fails).
- Readers verify the `Lingong-Seq` run (contiguous from 1) and, with `verify_chain`, every
  chain link; any mismatch raises `LogCorrupt(stream/subject, stream seq, seq, reason)`.
  Reads use batched Direct Get (any replica may answer); a lagging replica only delays a
  read, which retries until the frames acknowledged before the call are all seen.
- The stream denies deletes and purges: the log is append-only.

Limits: payloads up to the server's max_payload minus `HEADER_ALLOWANCE`; `max_frames_per_
append` (65,536 by default); an append waits at most `append_timeout_s` for the stream.
Durability is JetStream's: acknowledged = stored by a quorum of replicas; disks are
fsynced on the server's `sync_interval` (set `sync_interval: always` where a whole-cluster
power loss must not lose acknowledged frames).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence

import nats.errors
import nats.js.errors
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.lease import BUCKET as LEASE_BUCKET
from adapters.nats.lease import LeaseLost, PartitionLease
from adapters.ports import GENESIS_HASH, LogCorrupt, LogError, LogFailed, chain_hash

STREAM = "LINGONG_LOG"
SUBJECT_PREFIX = "lingong.log"
HDR_SEQ = "Lingong-Seq"
HDR_CHAIN = "Lingong-Chain"
ATOMIC_MAX_MSGS = 1000  # server limit of one atomic batch
ATOMIC_MAX_BYTES = 8 * 1024 * 1024
HEADER_ALLOWANCE = 1024
DEFAULT_MAX_FRAMES = 65_536
DIRECT_BATCH = 1000
ERR_WRONG_LAST_SEQ = 10071
ERR_DUPLICATE_MSG_ID = 10201
_PARTITION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TRANSIENT = (nats.errors.Error, asyncio.TimeoutError, OSError)


def check_partition(partition: str) -> str:
    if not _PARTITION_RE.match(partition or ""):
        raise ValueError(f"partition {partition!r} must be 1-64 chars of [A-Za-z0-9_-]")
    return partition


def log_subject(partition: str) -> str:
    return f"{SUBJECT_PREFIX}.{check_partition(partition)}"


class _Rejected(Exception):
    def __init__(self, err_code: int, description: str) -> None:
        super().__init__(f"stream refused the append: {description} (err_code {err_code})")
        self.err_code = err_code


def auto_replicas(nc: nats.aio.client.Client) -> int:
    """3 when connected to a cluster, else 1."""
    info = getattr(nc, "_server_info", None) or {}
    return 3 if info.get("cluster") else 1


async def ensure_stream(js, name: str, subjects: list[str], replicas: int, **extra) -> None:
    """Create the stream, or turn on what lingong needs in an existing one."""
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        cfg = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            num_replicas=replicas,
            duplicate_window=120.0,
            allow_direct=True,
            **extra,
        )
        try:
            await js.add_stream(cfg)
        except nats.js.errors.BadRequestError:  # created concurrently with another config
            await js.stream_info(name)
        return
    cfg = info.config
    want = {"allow_direct": True, **{k: v for k, v in extra.items() if v is True}}
    missing = {k: v for k, v in want.items() if getattr(cfg, k) is not v}
    if missing:
        for key, value in missing.items():
            setattr(cfg, key, value)
        await js.update_stream(cfg)


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
    ) -> None:
        self.partition = check_partition(partition)
        self.subject = log_subject(partition)
        self.stream = stream
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
        self._max_payload = int(self._nc.max_payload) - HEADER_ALLOWANCE
        await ensure_stream(
            self._js,
            self.stream,
            [f"{SUBJECT_PREFIX}.>"],
            self.replicas,
            allow_atomic=True,
            deny_delete=True,
            deny_purge=True,
        )
        if not self.read_only:
            kw = {} if lease_ttl_s is None else {"ttl_s": lease_ttl_s}
            self.lease = PartitionLease(
                self._js,
                self.partition,
                owner=owner,
                replicas=self.replicas,
                bucket=self._lease_bucket,
                **kw,
            )
            await self.lease.acquire(wait_lease_s)
        await self._load_tail()

    async def _tail(self) -> tuple[int, bytes, int]:
        """(seq, chain, stream seq) of the partition's last frame, from the stream leader."""
        try:
            msg = await self._js.get_last_msg(self.stream, self.subject)
        except nats.js.errors.NotFoundError:
            return 0, GENESIS_HASH, 0
        seq, chain = _frame_headers(msg.headers, self.stream, int(msg.seq or 0))
        return seq, chain, int(msg.seq or 0)

    async def _load_tail(self) -> None:
        seq, chain, stream_seq = await self._tail()
        if seq:
            info = await self._js.stream_info(self.stream, subjects_filter=self.subject)
            count = int((info.state.subjects or {}).get(self.subject, 0))
            if count != seq:
                raise LogCorrupt(
                    f"{self.stream}/{self.subject}",
                    stream_seq,
                    seq,
                    f"last frame says seq {seq} but the partition holds {count} messages",
                )
        self._last_seq, self._head, self._last_stream_seq = seq, chain, stream_seq

    # ------------------------------------------------------------ properties --------

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
        frames = _check_payloads(payloads, self._max_payload, self._max_frames)
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
        seq, head = self._last_seq, self._head
        frames: list[tuple[int, bytes, bytes]] = []
        for payload in payloads:
            seq += 1
            head = chain_hash(head, payload)
            frames.append((seq, payload, head))
        try:
            for chunk in _chunks(frames):
                await self._append_chunk(chunk)
        except (LeaseLost, LogFailed, LogCorrupt, _Rejected, *_TRANSIENT) as exc:
            self._failure = f"append to {self.subject} failed, log stopped: {exc}"
            raise LogFailed(self._failure) from exc
        return self._last_seq

    async def _append_chunk(self, chunk: list[tuple[int, bytes, bytes]]) -> None:
        deadline = time.monotonic() + self.append_timeout_s
        before = (self._last_seq, self._last_stream_seq)
        while True:
            if self.lease is not None:
                await self.lease.ensure_valid()
            try:
                stream_seq = await self._publish(chunk, self._last_stream_seq)
            except _Rejected as exc:
                if exc.err_code not in (ERR_WRONG_LAST_SEQ, ERR_DUPLICATE_MSG_ID):
                    raise
                if await self._committed(chunk, before):  # our earlier attempt got in
                    return
                raise LogFailed(f"another writer appended to {self.subject}: {exc}") from None
            except _TRANSIENT:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.2)
                try:
                    if await self._committed(chunk, before):
                        return
                except _TRANSIENT:
                    pass
                continue
            self._advance(chunk, stream_seq)
            return

    async def _committed(self, chunk, before: tuple[int, int]) -> bool:
        """After an ambiguous attempt: did `chunk` make it (True), or nothing (False)?"""
        seq, chain, stream_seq = await self._tail()
        last_seq, last_chain = chunk[-1][0], chunk[-1][2]
        if seq == last_seq and chain == last_chain:
            self._advance(chunk, stream_seq)
            return True
        if (seq, stream_seq) == before:
            return False
        raise LogFailed(f"{self.subject} moved to seq {seq} under us (another writer)")

    def _advance(self, chunk, stream_seq: int) -> None:
        self._last_seq, self._head = chunk[-1][0], chunk[-1][2]
        self._last_stream_seq = stream_seq

    async def _publish(self, chunk, expected_stream_seq: int) -> int:
        nc, subject, n = self._nc, self.subject, len(chunk)
        batch_id = uuid.uuid4().hex
        for i, (seq, payload, chain) in enumerate(chunk, 1):
            hdr = {
                HDR_SEQ: str(seq),
                HDR_CHAIN: chain.hex(),
                "Nats-Msg-Id": f"log-{self.partition}-{seq}",
            }
            if i == 1:
                hdr["Nats-Expected-Last-Subject-Sequence"] = str(expected_stream_seq)
            if n > 1:
                hdr["Nats-Batch-Id"] = batch_id
                hdr["Nats-Batch-Sequence"] = str(i)
            if i < n:
                await nc.publish(subject, payload, headers=hdr)
                continue
            if n > 1:
                hdr["Nats-Batch-Commit"] = "1"
            resp = await nc.request(subject, payload, headers=hdr, timeout=5.0)
            ack = json.loads(resp.data or b"{}")
            if "error" in ack:
                err = ack["error"]
                raise _Rejected(int(err.get("err_code", 0)), str(err.get("description", err)))
            if n > 1 and int(ack.get("count", 0)) != n:
                raise LogFailed(f"atomic batch stored {ack.get('count')} of {n} frames")
            return int(ack["seq"])
        raise AssertionError("unreachable: empty chunk")

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
        start = from_seq - 1 if verify_chain and from_seq > 1 else from_seq
        prev = GENESIS_HASH
        expect = start
        position = self._lt.run(self._locate(start, end))
        out: list[tuple[int, bytes]] = []
        where = f"{self.stream}/{self.subject}"
        while expect <= end:
            frames = self._lt.run(
                self._fetch(position, expect, min(DIRECT_BATCH, end - expect + 1))
            )
            for stream_seq, seq, chain, payload in frames:
                if seq != expect:
                    raise LogCorrupt(where, stream_seq, expect, f"frame says seq {seq}")
                if verify_chain:
                    if seq < from_seq:  # the anchor frame before from_seq
                        prev = chain
                    else:
                        prev = chain_hash(prev, payload)
                        if prev != chain:
                            raise LogCorrupt(where, stream_seq, seq, "hash chain mismatch")
                if seq >= from_seq:
                    out.append((seq, payload))
                    if len(out) >= max_frames:
                        yield out
                        out = []
                expect, position = seq + 1, stream_seq + 1
                if expect > end:
                    break
        if out:
            yield out

    async def _locate(self, seq: int, end: int) -> int:
        """A stream seq at or before the frame `seq`, with no other frame in between."""
        if seq <= 1:
            return 1
        lo, hi = seq, self._last_stream_seq - (end - seq)  # the n-th frame sits at >= n
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                msg = await self._js.get_msg(self.stream, seq=mid, subject=self.subject, next=True)
            except nats.js.errors.NotFoundError:
                hi = mid
                continue
            found, _ = _frame_headers(msg.headers, self.stream, int(msg.seq or 0))
            if found == seq:
                return int(msg.seq)
            if found < seq:
                lo = int(msg.seq) + 1
            else:
                hi = mid
        return lo

    async def _fetch(self, position: int, expect: int, n: int, patience_s: float = 10.0):
        """Up to `n` frames from stream seq `position` (retrying while replicas lag)."""
        deadline = time.monotonic() + patience_s
        while True:
            frames = await self._direct_batch(position, n)
            if frames:
                return frames
            if time.monotonic() >= deadline:
                raise LogCorrupt(
                    f"{self.stream}/{self.subject}", position, expect, "acknowledged frame missing"
                )
            await asyncio.sleep(0.05)

    async def _direct_batch(self, position: int, n: int):
        nc = self._nc
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        out = []
        try:
            req = {"seq": position, "next_by_subj": self.subject, "batch": n}
            await nc.publish(f"$JS.API.DIRECT.GET.{self.stream}", json.dumps(req).encode(), inbox)
            while True:
                msg = await sub.next_msg(timeout=5.0)
                hdr = msg.headers or {}
                if "Status" in hdr:  # 204 end of batch, 404 nothing (yet)
                    break
                stream_seq = int(hdr.get("Nats-Sequence", 0))
                seq, chain = _frame_headers(hdr, self.stream, stream_seq)
                out.append((stream_seq, seq, chain, bytes(msg.data or b"")))
                if len(out) >= n:
                    break
        finally:
            await sub.unsubscribe()
        return out

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


def _frame_headers(hdr: dict | None, stream: str, stream_seq: int) -> tuple[int, bytes]:
    try:
        seq = int((hdr or {})[HDR_SEQ])
        chain = bytes.fromhex((hdr or {})[HDR_CHAIN])
    except (KeyError, ValueError):
        raise LogCorrupt(stream, stream_seq, 0, "message without valid Lingong-Seq/Chain") from None
    if len(chain) != 32:
        raise LogCorrupt(stream, stream_seq, seq, "Lingong-Chain is not 32 bytes")
    return seq, chain


def _check_payloads(payloads: Sequence[bytes], max_payload: int, max_frames: int) -> list[bytes]:
    if len(payloads) > max_frames:
        raise ValueError(
            f"{len(payloads)} frames in one append exceed max_frames_per_append={max_frames}"
        )
    out: list[bytes] = []
    for i, p in enumerate(payloads):
        if not isinstance(p, bytes | bytearray | memoryview):
            raise TypeError(f"payload {i} must be bytes, not {type(p).__name__}")
        b = bytes(p)
        if len(b) > max_payload:
            raise ValueError(f"payload {i} has {len(b)} bytes > max_payload_bytes={max_payload}")
        out.append(b)
    return out


def _chunks(frames: list[tuple[int, bytes, bytes]]) -> Iterator[list[tuple[int, bytes, bytes]]]:
    chunk: list[tuple[int, bytes, bytes]] = []
    size = 0
    for frame in frames:
        if chunk and (len(chunk) >= ATOMIC_MAX_MSGS or size + len(frame[1]) > ATOMIC_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(frame)
        size += len(frame[1])
    if chunk:
        yield chunk
