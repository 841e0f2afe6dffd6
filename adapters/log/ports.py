"""The `EventLog` port: what the runtime needs from an append-only event log.

Owns: the `EventLog` Protocol that every log backend implements (the embedded file log in
`adapters.log.filelog`, the NATS JetStream log in `adapters.nats.jslog`), the `LogReader`
Protocol (the one read port, also implemented by `adapters.log.reader.FileLogReader`),
the errors they raise, and the definition of the hash chain, so that a chain computed by
one backend or process verifies in another.

Invariants every implementation keeps:
- Payloads are opaque bytes; the log never decodes them.
- Sequence numbers start at 1 and are contiguous: the n-th frame ever appended has seq n.
- `append(payloads)` returns the seq of its last frame only after every frame of the call
  is durable (file log: after fsync). Nothing is acknowledged before that return. A frame
  that was never acknowledged may or may not survive a crash; an acknowledged one always
  does, with its exact content.
- Hash chain: `chain_n = BLAKE2b(chain_{n-1} || payload_n, digest_size=32)` with
  `chain_0 = GENESIS_HASH` (32 zero bytes). `head_hash` is the chain value of the last
  frame. It depends only on the payload sequence, never on the backend or the process.
- After an I/O failure that makes durability unknowable (an fsync error), the log raises
  `LogFailed` on that append and on every later one; it never silently continues.
- Corruption that cannot be explained as a torn, unacknowledged tail raises `LogCorrupt`
  naming where it is.

Limits: each implementation exposes `max_payload_bytes` and `max_frames_per_append` and
refuses larger input with `ValueError` naming the limit, before writing anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)


def chain_hash(prev: bytes, payload: bytes) -> bytes:
    """The next hash-chain value: BLAKE2b(prev || payload), 32-byte digest."""
    return hashlib.blake2b(prev + payload, digest_size=HASH_BYTES).digest()


def chain_of(payloads: Sequence[bytes], prev: bytes = GENESIS_HASH) -> bytes:
    """The chain value after `payloads`, starting from `prev` (genesis by default)."""
    for payload in payloads:
        prev = chain_hash(prev, payload)
    return prev


class LogError(Exception):
    """Base class of every event-log error."""


class LogFailed(LogError):
    """The log hit an I/O error that makes durability unknowable; it accepts no more appends.

    Raised by the append that met the error and by every later append. The process should
    stop; on restart the log is reopened and recovers to its last durable frame.
    """


class LogLocked(LogError):
    """Another writer holds the log."""


class LogCorrupt(LogError):
    """The log's stored frames fail a check that a torn, unacknowledged tail cannot explain.

    Attributes: `segment` (segment file name, or the stream name for a remote log),
    `offset` (byte offset of the bad frame or header inside it), `seq` (the seq expected
    at that place), `reason` (what check failed) and `advice` (what the operator can do;
    may be empty).
    """

    def __init__(self, segment: str, offset: int, seq: int, reason: str, advice: str = "") -> None:
        self.segment = segment
        self.offset = offset
        self.seq = seq
        self.reason = reason
        self.advice = advice
        super().__init__(
            f"event log corrupt: segment {segment} at byte offset {offset} (seq {seq}): {reason}"
            + (f". {advice}" if advice else "")
        )

    def __reduce__(self):  # keep the attributes when pickled (e.g. across processes)
        return (type(self), (self.segment, self.offset, self.seq, self.reason, self.advice))


@runtime_checkable
class LogReader(Protocol):
    """The one read port: what stores, replay, recovery and the scope index read a log by.

    Implemented by the file log (`FileLog` inside the writer's process,
    `adapters.log.reader.FileLogReader` from any other) and the JetStream log; opened by
    URL with `adapters.log.reader.open_log_reader`. A reader never creates anything.
    """

    @property
    def location(self) -> str:
        """Where the log is: a folder path, or nats://host:port/STREAM/PARTITION."""
        ...

    @property
    def last_seq(self) -> int:
        """The seq of the last acknowledged frame; 0 when the log is empty."""
        ...

    @property
    def head_hash(self) -> bytes:
        """The chain value after the last acknowledged frame (GENESIS_HASH when empty)."""
        ...

    def read_batches(
        self, from_seq: int = 1, max_frames: int = 4096, *, verify_chain: bool = True
    ) -> Iterator[list[tuple[int, bytes]]]:
        """Acknowledged frames with seq >= from_seq as (seq, payload), in lists of at most
        `max_frames`, up to the tail as it is when called. Every frame's integrity is
        checked; with `verify_chain` also every chain link. Damage raises LogCorrupt."""
        ...

    def close(self) -> None:
        """Release the reader. Idempotent."""
        ...


@runtime_checkable
class EventLog(LogReader, Protocol):
    """An append-only, hash-chained, durable sequence of opaque payloads."""

    @property
    def next_seq(self) -> int:
        """The seq the next appended frame will get (`last_seq + 1`)."""
        ...

    @property
    def max_payload_bytes(self) -> int:
        """Largest payload `append` accepts."""
        ...

    @property
    def max_frames_per_append(self) -> int:
        """Largest number of payloads one `append` accepts."""
        ...

    def append(self, payloads: Sequence[bytes]) -> int:
        """Durably append `payloads` in order; return the seq of the last one.

        An empty sequence appends nothing and returns `last_seq`.
        """
        ...

    def read(self, from_seq: int = 1, *, verify_chain: bool = True) -> Iterator[tuple[int, bytes]]:
        """Acknowledged frames with seq >= from_seq, in order, as (seq, payload)."""
        ...
