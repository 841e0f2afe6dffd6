"""How log frames travel as JetStream messages, and the log's naming rules.

Owns: the message layout, partition names and subjects, packing an append's frames into
messages and messages into atomic batches, unpacking and reading headers back.

One message on `lingong.log.<partition>` carries the frames of (part of) one append:
    body                  frames back to back, each: u32 little-endian length, payload
    Lingong-Seq: <n>      seq of the message's first frame
    Lingong-Count: <k>    frames in the message (>= 1)
    Lingong-Chain: <hex>  chain value after the message's last frame (adapters.log.ports)
A reader recomputes the chain over every frame and compares it at each message's end, and
checks that each message starts where the previous one ended.

Invariants: a partition name is 1-64 of [A-Za-z0-9_-] (a subject token); packing never
splits a frame; a message body stays within the given limit unless one frame alone is
larger (then it travels alone); an atomic batch has at most `ATOMIC_MAX_MSGS` messages and
about `ATOMIC_MAX_BYTES` of body (at least one message).
Limits: see the constants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from adapters.log.ports import LogCorrupt, chain_hash

SUBJECT_PREFIX = "lingong.log"
HDR_SEQ = "Lingong-Seq"
HDR_COUNT = "Lingong-Count"
HDR_CHAIN = "Lingong-Chain"
LEN_BYTES = 4
MESSAGE_BODY_BYTES = 1024 * 1024  # frames per message: up to this much body (and max_payload)
ATOMIC_MAX_MSGS = 1000  # server limit of one atomic batch
ATOMIC_MAX_BYTES = 8 * 1024 * 1024
_PARTITION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Message(NamedTuple):
    first: int  # seq of the first frame
    count: int
    chain: bytes  # after the last frame
    body: bytes

    @property
    def last(self) -> int:
        return self.first + self.count - 1


def check_partition(partition: str) -> str:
    if not _PARTITION_RE.match(partition or ""):
        raise ValueError(f"partition {partition!r} must be 1-64 chars of [A-Za-z0-9_-]")
    return partition


def log_subject(partition: str) -> str:
    return f"{SUBJECT_PREFIX}.{check_partition(partition)}"


def check_payloads(payloads: Sequence[bytes], max_payload: int, max_frames: int) -> list[bytes]:
    """The payloads as bytes, or TypeError/ValueError naming the limit (nothing written)."""
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


def pack(
    payloads: list[bytes], first_seq: int, prev_chain: bytes, body_limit: int
) -> list[Message]:
    """Frames `first_seq...` (chained on from `prev_chain`) as messages of <= body_limit."""
    out: list[Message] = []
    parts: list[bytes] = []
    size = count = 0
    start, head = first_seq, prev_chain
    for payload in payloads:
        need = LEN_BYTES + len(payload)
        if count and size + need > body_limit:
            out.append(Message(start, count, head, b"".join(parts)))
            start, parts, size, count = start + count, [], 0, 0
        head = chain_hash(head, payload)
        parts.append(len(payload).to_bytes(LEN_BYTES, "little"))
        parts.append(payload)
        size += need
        count += 1
    if count:
        out.append(Message(start, count, head, b"".join(parts)))
    return out


def unpack(body: bytes, count: int) -> list[bytes]:
    """The `count` frames of a message body; ValueError if the body does not hold them."""
    out: list[bytes] = []
    pos, end = 0, len(body)
    view = memoryview(body)
    for _ in range(count):
        if pos + LEN_BYTES > end:
            raise ValueError("message body ends inside a frame length")
        n = int.from_bytes(view[pos : pos + LEN_BYTES], "little")
        pos += LEN_BYTES
        if pos + n > end:
            raise ValueError("message body ends inside a frame")
        out.append(bytes(view[pos : pos + n]))
        pos += n
    if pos != end:
        raise ValueError(f"{end - pos} bytes after the last frame")
    return out


def batches(messages: list[Message]) -> Iterator[list[Message]]:
    """Messages grouped into atomic batches (<= ATOMIC_MAX_MSGS, ~ATOMIC_MAX_BYTES)."""
    batch: list[Message] = []
    size = 0
    for m in messages:
        if batch and (len(batch) >= ATOMIC_MAX_MSGS or size + len(m.body) > ATOMIC_MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(m)
        size += len(m.body)
    if batch:
        yield batch


def headers_of(m: Message) -> dict[str, str]:
    return {HDR_SEQ: str(m.first), HDR_COUNT: str(m.count), HDR_CHAIN: m.chain.hex()}


def read_headers(hdr: dict | None, where: str, stream_seq: int) -> tuple[int, int, bytes]:
    """(first seq, count, chain) of a stored message, or LogCorrupt."""
    try:
        h = hdr or {}
        first, count, chain = int(h[HDR_SEQ]), int(h[HDR_COUNT]), bytes.fromhex(h[HDR_CHAIN])
    except (KeyError, ValueError):
        raise LogCorrupt(where, stream_seq, 0, "message without valid Lingong headers") from None
    if first < 1 or count < 1 or len(chain) != 32:
        raise LogCorrupt(where, stream_seq, first, "impossible Lingong headers")
    return first, count, chain
