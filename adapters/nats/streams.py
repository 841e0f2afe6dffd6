"""JetStream plumbing shared by the log, the publisher and the SMS pusher.

Owns: stream creation/upgrade (`ensure_stream`), the replica count for the connected
deployment (`auto_replicas`), `PullReader` (a batch reader over an ephemeral pull
consumer) and `locate` (which log message holds a frame: a binary search).

Invariants:
- `ensure_stream` never weakens an existing stream: it only turns on flags lingong needs
  (direct get, atomic batches, deny delete/purge) and never changes subjects or limits.
- `PullReader` delivers the stream's messages in order, each at most once per reader; its
  consumer has no acks, lives in memory and is deleted on `close` (the server removes an
  abandoned one after `READER_IDLE_S`).

Limits: one outstanding pull request per `PullReader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import nats.js.errors
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from adapters.log.ports import LogCorrupt
from adapters.nats.frames import read_headers

READER_IDLE_S = 30.0


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


class PullReader:
    """An ephemeral pull consumer (no acks, in memory) read in batches through a callback
    subscription: much cheaper per message than awaiting `next_msg` for each one."""

    def __init__(self, nc, js, stream: str) -> None:
        self.nc, self.js, self.stream = nc, js, stream
        self.name = ""
        self.sub = None
        self.buf: list = []
        self.want = 0
        self.done = asyncio.Event()

    async def open(self, subject: str, position: int) -> None:
        info = await self.js.add_consumer(
            self.stream,
            ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=position,
                filter_subject=subject,
                inactive_threshold=READER_IDLE_S,
                mem_storage=True,
                num_replicas=1,
            ),
        )
        self.name = info.name
        self.inbox = self.nc.new_inbox()
        self.sub = await self.nc.subscribe(self.inbox, cb=self._on_msg)

    async def _on_msg(self, msg) -> None:
        if msg.headers and "Status" in msg.headers:  # 404 / 408: no more for this request
            self.done.set()
            return
        self.buf.append(msg)
        if len(self.buf) >= self.want:
            self.done.set()

    async def fetch(self, n: int, timeout_s: float) -> list:
        self.buf, self.want = [], n
        self.done.clear()
        req = json.dumps({"batch": n, "no_wait": True}).encode()
        api = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.name}"
        await self.nc.publish(api, req, reply=self.inbox)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout=timeout_s)
        out, self.buf = self.buf, []
        return out

    async def close(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_consumer(self.stream, self.name)


async def locate(js, stream: str, subject: str, seq: int, last_stream_seq: int):
    """(stream seq, first, count, chain) of the message on `subject` holding frame `seq`:
    a binary search over stream seqs 1..last_stream_seq with leader gets."""
    where = f"{stream}/{subject}"
    lo, hi = 1, last_stream_seq
    while lo <= hi:
        mid = (lo + hi) // 2
        try:
            msg = await js.get_msg(stream, seq=mid, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            hi = mid - 1
            continue
        stream_seq = int(msg.seq or 0)
        first, count, chain = read_headers(msg.headers, where, stream_seq)
        if first <= seq < first + count:
            return stream_seq, first, count, chain
        if first + count <= seq:
            lo = stream_seq + 1
        else:
            hi = mid - 1
    raise LogCorrupt(where, lo, seq, "no message holds this frame")
