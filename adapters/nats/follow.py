"""Projections as durable consumers: follow one partition's log from another process.

Owns: `LogFollower`, a JetStream durable pull consumer on `lingong.log.<partition>` that
hands a projection (registry or reporting store, a stand-alone publisher, an auditor's
mirror) the log's frames in order, verified, and remembers on the server how far the
projection got.

Invariants:
- Frames come in seq order, each message's frames verified against the hash chain (the
  anchor on (re)start is the chain stored with the message before the first one read).
- A message is acknowledged only when the projection asks for the next batch (or calls
  `commit`), i.e. after it processed the previous one: a projection that dies re-reads
  at most its last batch (after the consumer's ack wait, 60 s), so it must be idempotent
  by seq, as runtime subscribers are.
- The position is the consumer's, kept by JetStream (replicated like the stream), so a
  projection restarted on another machine resumes where it left off.

Limits: one follower per durable name at a time (a second would split the messages);
`fetch_messages` messages per pull; `idle_timeout_s` ends `batches()` when nothing new
arrives for that long (None: follow forever).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.log.ports import GENESIS_HASH, LogCorrupt, chain_hash
from adapters.nats.conn import LoopThread, close_quietly, connect
from adapters.nats.frames import log_subject, read_headers, unpack
from adapters.nats.jslog import STREAM
from adapters.nats.streams import locate


class LogFollower:
    def __init__(
        self,
        url: str,
        partition: str,
        durable: str,
        *,
        stream: str = STREAM,
        fetch_messages: int = 64,
    ) -> None:
        self.subject = log_subject(partition)
        self.stream = stream
        self.durable = durable
        self.fetch_messages = fetch_messages
        self.next_seq = 0  # seq the next frame must have (0: not known yet)
        self._prev = GENESIS_HASH
        self._pending: list = []  # messages handed out, acknowledged on the next request
        self._lt = LoopThread(f"lingong-follow-{durable}")
        try:
            self._lt.run(self._open(url))
        except BaseException:
            self._lt.stop()
            raise

    async def _open(self, url: str) -> None:
        self._nc = await connect(url, f"lingong-follow-{self.durable}")
        self._js = self._nc.jetstream(timeout=10)
        try:
            await self._js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            await self._js.add_consumer(
                self.stream,
                ConsumerConfig(
                    durable_name=self.durable,
                    filter_subject=self.subject,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=60,
                ),
            )
        self._sub = await self._js.pull_subscribe_bind(durable=self.durable, stream=self.stream)

    def batches(self, idle_timeout_s: float | None = 2.0) -> Iterator[list[tuple[int, bytes]]]:
        """Verified frames, one list per log message, until idle for `idle_timeout_s`."""
        while True:
            got = self._lt.run(self._next(idle_timeout_s))
            if got is None:
                return
            yield from got

    def commit(self) -> None:
        """Acknowledge everything handed out so far."""
        self._lt.run(self._ack())

    async def _ack(self) -> None:
        for msg in self._pending:
            await msg.ack()
        self._pending = []

    async def _next(self, idle_timeout_s: float | None) -> list[list[tuple[int, bytes]]] | None:
        await self._ack()
        while True:
            try:
                msgs = await self._sub.fetch(self.fetch_messages, timeout=idle_timeout_s or 5.0)
            except (TimeoutError, nats.errors.TimeoutError):
                if idle_timeout_s is None:
                    continue
                return None
            return [await self._verify(msg) for msg in msgs]

    async def _verify(self, msg) -> list[tuple[int, bytes]]:
        where = f"{self.stream}/{self.subject}"
        stream_seq = msg.metadata.sequence.stream
        first, count, chain = read_headers(msg.headers, where, stream_seq)
        if self.next_seq == 0:  # (re)start: anchor on the message before this one
            self.next_seq = first
            if first > 1:
                last = await self._js.get_last_msg(self.stream, self.subject)
                self._prev = (
                    await locate(self._js, self.stream, self.subject, first - 1, int(last.seq))
                )[3]
        if first != self.next_seq:
            raise LogCorrupt(where, stream_seq, self.next_seq, f"message starts at {first}")
        try:
            frames = unpack(bytes(msg.data or b""), count)
        except ValueError as exc:
            raise LogCorrupt(where, stream_seq, first, str(exc)) from None
        head = self._prev
        for payload in frames:
            head = chain_hash(head, payload)
        if head != chain:
            raise LogCorrupt(where, stream_seq, first, "hash chain mismatch")
        self._prev, self.next_seq = head, first + count
        self._pending.append(msg)
        return [(first + i, p) for i, p in enumerate(frames)]

    def close(self, *, commit: bool = False) -> None:
        """Disconnect; with `commit` acknowledge what was handed out, else hand it back
        (redelivered at once; after a crash JetStream redelivers after the ack wait, 60 s)."""
        with contextlib.suppress(Exception):
            self._lt.run(self._ack() if commit else self._nak())
        self._lt.run(close_quietly(self._nc), 10)
        self._lt.stop()

    async def _nak(self) -> None:
        for msg in self._pending:
            await msg.nak()
        self._pending = []
