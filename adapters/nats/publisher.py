"""The event publisher: every fact and decision of the log, out to NATS subscribers.

Owns: the stream `LINGONG_EVT` (subjects `lingong.evt.>`, dedup window by Nats-Msg-Id),
`EventPublisher` (a runtime subscriber with a bounded buffer, catch-up from the log, acked
publishing, persisted position) and its statistics.

How it runs: `on_record(seq, record)` is called by the runtime on the writer thread after
each durable record; it only appends to a bounded in-memory buffer (never blocks, never
does I/O). A task on the publisher's own asyncio loop takes the buffer, turns each event
into a CloudEvents message (`adapters.nats.cloudevents`), publishes chunks to JetStream
and waits for every ack, then stores the last fully acknowledged seq in the KV bucket
`LINGONG_PUB` (key `<partition>.<epoch>`).

Invariants:
- Publishing never blocks the engine: a full buffer drops the record and sets a gap; a
  record the publisher has not seen (dropped, or from before a restart, or while NATS was
  down) is read back from the `EventLog` itself, so there are no gaps.
- A chunk is retried until every message is acknowledged; a retried message keeps its id
  (`Nats-Msg-Id` = ce-id), so the stream drops the copies inside its dedup window and a
  subscriber can drop any later copy by `ce-id`. The position only moves past a record
  once all its events are acknowledged.
- Records are published in seq order, events in record order (while nothing fails; a
  retried chunk can land after part of itself, never after later chunks).
- OfferMade and PushSent also go to `lingong.push.<worker>` (core NATS, at most once).

Limits: `buffer_records` records buffered (10,000), `chunk_msgs` messages per acked chunk
(2,000), acks awaited `ack_timeout_s` (10 s) before the chunk is retried, catch-up reads
`CATCHUP_FRAMES` frames at a time.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
from collections.abc import Callable

import msgspec
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType

from adapters.log.ports import GENESIS_HASH, EventLog, chain_hash
from adapters.nats import cloudevents as ce
from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.streams import auto_replicas, ensure_stream
from engine import events as e

POSITION_BUCKET = "LINGONG_PUB"
CATCHUP_FRAMES = 2048
DEDUP_WINDOW_S = 600.0
log = logging.getLogger("lingong.nats.publisher")


class PublisherStats(msgspec.Struct, kw_only=True):
    position: int = 0  # last seq whose events are all acknowledged by the stream
    messages: int = 0  # stream messages acknowledged (incl. duplicates the stream dropped)
    duplicates: int = 0  # acks saying the stream already had the message
    records_buffered: int = 0  # records that came through the live buffer
    records_caught_up: int = 0  # records read back from the log
    dropped: int = 0  # records the full buffer refused (then caught up)
    retries: int = 0  # chunks published again after a failure
    pushes: int = 0  # messages on per-worker push subjects


class _Chunk:
    __slots__ = ("msgs", "pushes", "last_seq", "acked", "errors", "done")

    def __init__(self) -> None:
        self.msgs: list[tuple[str, bytes, dict[str, str]]] = []
        self.pushes: list[tuple[str, bytes, dict[str, str]]] = []
        self.last_seq = 0
        self.acked = 0
        self.errors: list[str] = []
        self.done = asyncio.Event()


class EventPublisher:
    def __init__(
        self,
        url: str,
        log_: EventLog,
        *,
        partition: str,
        default_region: str = "",
        replicas: int | None = None,
        buffer_records: int = 10_000,
        chunk_msgs: int = 2000,
        ack_timeout_s: float = 10.0,
        pushes: bool = True,
        stream: str = ce.EVT_STREAM,
    ) -> None:
        self.url = url
        self.log = log_
        self.partition = partition
        self.source = f"/lingong/{partition}"
        self.default_region = ce.pad_region(default_region)
        self.replicas = replicas
        self.buffer_records = buffer_records
        self.chunk_msgs = chunk_msgs
        self.ack_timeout_s = ack_timeout_s
        self.pushes = pushes
        self.stream = stream
        self.stats = PublisherStats()
        self.epoch = ""
        self.regions = ce.RegionMap(default_region)
        self._lt: LoopThread | None = None
        self._nc: Client | None = None
        self._lock = threading.Lock()
        self._buf: collections.deque[tuple[int, e.Record]] = collections.deque()
        self._signalled = False
        self._wake: asyncio.Event | None = None
        self._emitted = 0  # last seq turned into messages (acked or in the open chunk)
        self._chunk: _Chunk | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._ack_prefix = ""
        self._chunks: dict[str, _Chunk] = {}
        self._kv = None
        self._progress = threading.Condition()  # notified whenever the loop made a pass

    # ------------------------------------------------------------ lifecycle ---------

    def start(self, regions: ce.RegionMap | None = None) -> EventPublisher:
        """Connect, find the position, (re)build the region map, start publishing."""
        self._lt = LoopThread(f"lingong-pub-{self.partition}")
        self._lt.run(self._start(regions), None)
        return self

    async def _start(self, regions: ce.RegionMap | None) -> None:
        loop = asyncio.get_running_loop()
        self._nc = await connect(self.url, f"lingong-publisher-{self.partition}")
        js = self._nc.jetstream(timeout=10)
        replicas = self.replicas or auto_replicas(self._nc)
        await ensure_stream(js, self.stream, [f"{ce.EVT_PREFIX}.>"], replicas)
        info = await js.stream_info(self.stream)
        if info.config.duplicate_window and info.config.duplicate_window < DEDUP_WINDOW_S:
            info.config.duplicate_window = DEDUP_WINDOW_S
            await js.update_stream(info.config)
        try:
            self._kv = await js.key_value(POSITION_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            try:
                self._kv = await js.create_key_value(
                    KeyValueConfig(
                        bucket=POSITION_BUCKET,
                        history=1,
                        storage=StorageType.FILE,
                        replicas=replicas,
                    )
                )
            except nats.js.errors.BadRequestError:
                self._kv = await js.key_value(POSITION_BUCKET)
        self._ack_prefix = self._nc.new_inbox()
        await self._nc.subscribe(self._ack_prefix + ".*", cb=self._on_ack)
        self._wake = asyncio.Event()
        self.epoch = await loop.run_in_executor(None, self._log_epoch)
        if self.epoch:
            await self._load_position(regions)
        self._task = loop.create_task(self._run())

    def _log_epoch(self) -> str:
        for _, payload in self.log.read(1, verify_chain=False):
            return chain_hash(GENESIS_HASH, payload)[:4].hex()
        return ""

    async def _load_position(self, regions: ce.RegionMap | None) -> None:
        assert self._kv is not None
        try:
            entry = await self._kv.get(self._position_key())
            self.stats.position = int(entry.value or b"0")
        except nats.js.errors.KeyNotFoundError:
            self.stats.position = 0
        self._emitted = self.stats.position
        if regions is not None:
            self.regions = regions
        elif self._emitted:  # learn the ids of the records already published
            await self._read_log(1, self._emitted, publish=False)
        log.info("publisher %s resumes after seq %d", self.partition, self._emitted)

    def _position_key(self) -> str:
        return f"{ce.token(self.partition)}.{self.epoch}"

    def attach(self, subscribers: list[Callable[[int, e.Record], None]]) -> None:
        """Subscribe to a runtime (`runtime.subscribers`)."""
        subscribers.append(self.on_record)

    def close(self, drain_timeout_s: float = 10.0) -> PublisherStats:
        """Publish what is buffered (bounded wait), store the position, disconnect."""
        if self._lt is None:
            return self.stats
        try:
            self.wait_idle(drain_timeout_s)
        finally:
            self._stopping = True
            self._lt.run(self._stop(), 15)
            self._lt.stop()
            self._lt = None
        return self.stats

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await close_quietly(self._nc)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything durable in the log so far is published (True) or timeout.

        Event-driven: the publishing loop notifies after every pass (and it makes one at
        least every second), so this wakes when the position moves, never by polling."""
        self._kick()
        with self._progress:
            return self._progress.wait_for(self._idle, timeout_s)

    def _idle(self) -> bool:
        return self.stats.position >= self.log.last_seq and not self._buf

    def _notify_progress(self) -> None:
        with self._progress:
            self._progress.notify_all()

    # ------------------------------------------------------------ the runtime side ---

    def on_record(self, seq: int, record: e.Record) -> None:
        """Runtime subscriber (writer thread): buffer the record, never block."""
        with self._lock:
            if len(self._buf) >= self.buffer_records:
                self.stats.dropped += 1
                return
            self._buf.append((seq, record))
            if self._signalled:
                return
            self._signalled = True
        self._kick()

    def _kick(self) -> None:
        lt, wake = self._lt, self._wake
        if lt is not None and wake is not None:
            try:
                lt.call_soon(wake.set)
            except RuntimeError:  # loop closed while stopping
                pass

    # ------------------------------------------------------------ the loop side -----

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
            self._wake.clear()
            with self._lock:
                items = list(self._buf)
                self._buf.clear()
                self._signalled = False
            try:
                await self._publish_items(items)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep publishing; the log is the authority
                log.exception("publisher %s: unexpected error; will catch up", self.partition)
                await asyncio.sleep(0.5)  # sleep-ok: back-off before catching up from the log
                self._emitted = self.stats.position
                self._chunk = None
            self._notify_progress()

    async def _publish_items(self, items: list[tuple[int, e.Record]]) -> None:
        if not self.epoch:
            self.epoch = await asyncio.get_running_loop().run_in_executor(None, self._log_epoch)
            if not self.epoch:
                return
            await self._load_position(None)
        for seq, record in items:
            if seq <= self._emitted:
                continue
            if seq > self._emitted + 1:
                await self._read_log(self._emitted + 1, seq - 1, publish=True)
            self.stats.records_buffered += 1
            await self._emit(seq, record)
        last = self.log.last_seq  # idle, or records dropped at the end: catch up
        if last > self._emitted and not self._buf:
            await self._read_log(self._emitted + 1, last, publish=True)
        await self._flush()

    async def _read_log(self, first: int, last: int, *, publish: bool) -> None:
        loop = asyncio.get_running_loop()
        seq = first
        while seq <= last:
            n = min(CATCHUP_FRAMES, last - seq + 1)
            frames = await loop.run_in_executor(None, self._read_frames, seq, n)
            for fseq, payload in frames:
                record = e.decode_record(payload)
                if publish:
                    self.stats.records_caught_up += 1
                    await self._emit(fseq, record)
                else:
                    for ev in record.events:
                        self.regions.observe(ev)
            seq += len(frames)
            if not frames:
                break

    def _read_frames(self, first: int, n: int) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        for frame in self.log.read(first, verify_chain=False):
            out.append(frame)
            if len(out) >= n:
                break
        return out

    async def _emit(self, seq: int, record: e.Record) -> None:
        chunk = self._chunk or _Chunk()
        self._chunk = chunk
        for index, ev in enumerate(record.events):
            region = self.regions.observe(ev)
            name = type(ev).__name__
            ev_id = ce.event_id(self.partition, self.epoch, seq, index)
            hdr = ce.ce_headers(ev, ev_id=ev_id, source=self.source)
            body = ce.event_body(ev)
            chunk.msgs.append((ce.event_subject(region, name), body, hdr))
            if self.pushes and isinstance(ev, ce.PUSH_TYPES):
                chunk.pushes.append((ce.push_subject(ev.worker_id), body, hdr))
        chunk.last_seq = self._emitted = seq
        if len(chunk.msgs) >= self.chunk_msgs:
            await self._flush()

    async def _flush(self) -> None:
        chunk, self._chunk = self._chunk, None
        if chunk is None:
            return
        while True:
            if await self._publish_chunk(chunk):
                break
            self.stats.retries += 1
            if self._stopping:
                return
            await asyncio.sleep(0.5)  # sleep-ok: back-off before publishing the chunk again
        for subject, body, hdr in chunk.pushes:
            await self._nc.publish(subject, body, headers=hdr)
            self.stats.pushes += 1
        self.stats.position = chunk.last_seq
        self._notify_progress()
        try:
            await self._kv.put(self._position_key(), str(chunk.last_seq).encode())
        except Exception as exc:  # noqa: BLE001 - the stream's dedup covers a lost position
            log.warning("publisher %s: position not stored: %s", self.partition, exc)

    async def _publish_chunk(self, chunk: _Chunk) -> bool:
        nc = self._nc
        token = nc._nuid.next().decode()
        chunk.acked, chunk.errors = 0, []
        chunk.done = asyncio.Event()
        self._chunks[token] = chunk
        reply = f"{self._ack_prefix}.{token}"
        try:
            for subject, body, hdr in chunk.msgs:
                await nc.publish(subject, body, reply=reply, headers=hdr)
            await asyncio.wait_for(chunk.done.wait(), timeout=self.ack_timeout_s)
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            log.warning("publisher %s: chunk not acknowledged (%s); retrying", self.partition, exc)
            return False
        finally:
            self._chunks.pop(token, None)
        if chunk.errors:
            log.warning("publisher %s: stream refused: %s", self.partition, chunk.errors[0])
            return False
        return True

    async def _on_ack(self, msg) -> None:
        chunk = self._chunks.get(msg.subject.rsplit(".", 1)[-1])
        if chunk is None:
            return
        data = msg.data or b""
        if b'"error"' in data or not data:
            desc = json.loads(data).get("error", {}) if data else {"description": "no responders"}
            chunk.errors.append(str(desc))
        else:
            self.stats.messages += 1
            if b'"duplicate"' in data:
                self.stats.duplicates += 1
        chunk.acked += 1
        if chunk.acked >= len(chunk.msgs):
            chunk.done.set()
