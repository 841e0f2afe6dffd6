"""File log format v2: one block per append, one pair of CRCs per block (group commit).

Owns: encoding a block (`encode_block`), checking the blocks of a segment (`scan`), telling
a torn write from corruption in them (`torn_reason`), and reading them back as frames
(`iter_frames`) or as whole blocks (`iter_blocks`, for decoding many records in one call).

Block layout (integers little-endian unless said), blocks back to back after the 64-byte
segment header of a version 2 segment:

    0   u32  header crc: crc32 of bytes 4..55
    4   u32  body crc: crc32 of the body (bytes 56 .. end of block)
    8   u64  first_seq: seq of the block's first frame
    16  u32  count: frames in the block (>= 1)
    20  u32  body_bytes
    24  32s  chain: the hash chain after the block's last frame
    56  body:
          count x u32   payload lengths
          u8 0xdd, u32 big-endian count      (a msgpack array32 header)
          payloads, back to back

One `append` is one block, written with one write and made durable with one fsync. The
payloads after the array header form a msgpack array when each payload is one msgpack
value (the engine's records are): a reader decodes a whole group commit in one call. The
hash chain is the log's (`adapters.log.ports.chain_hash`, per frame); only its value
after the block is stored, so a reader that checks the chain recomputes it frame by frame
and compares at the end of each block.

Invariants:
- A complete block has a valid header crc, a valid body crc, `first_seq` = the previous
  block's last seq + 1, a body that adds up (lengths, array header), and (when checked)
  the chain it stores. Anything else in a complete block is corruption.
- Torn write (last segment only): the file ends inside a block (its header, or a body
  whose length a valid header crc vouches for), or holds zeros from the block on, or from
  a sector boundary inside it to the end. A complete block whose crc fails is never torn.

Limits: `MAX_APPEND_BYTES` (256 MiB) per block body; payload and frame-count limits are
the log's.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from hashlib import blake2b
from typing import NamedTuple

from adapters.log.logformat import (
    BAD_CRC,
    BAD_HEADER,
    INCOMPLETE,
    INCOMPLETE_HEADER,
    LOGICAL,
    SECTOR_BYTES,
    Stop,
    zero_tail_start,
)
from adapters.log.ports import LogCorrupt

_HEADER = struct.Struct("<IIQII32s")
BLOCK_HEADER_BYTES = _HEADER.size  # 56
ARRAY_HEADER_BYTES = 5
MAX_APPEND_BYTES = 256 * 1024 * 1024
_HCRC = struct.Struct("<QII32s")  # what the header crc covers, after the body crc


class Block(NamedTuple):
    """One block's frames: payload i is `data[offsets[i]:offsets[i + 1]]`; the msgpack
    array of all of them is `data[array_start:offsets[-1]]`."""

    first_seq: int
    count: int
    data: memoryview
    offsets: list[int]
    array_start: int

    def payload(self, i: int) -> bytes:
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]])

    def frames(self) -> list[tuple[int, bytes]]:
        data, off, seq = self.data, self.offsets, self.first_seq
        return [(seq + i, bytes(data[off[i] : off[i + 1]])) for i in range(self.count)]


def encode_block(payloads: Sequence[bytes], first_seq: int, prev: bytes) -> tuple[bytes, bytes]:
    """The block of `payloads` (bytes, checked by the caller) and the chain after it."""
    n = len(payloads)
    chain = prev
    for p in payloads:
        chain = blake2b(chain + p, digest_size=32).digest()
    body = b"".join(
        (struct.pack(f"<{n}I", *map(len, payloads)), b"\xdd", n.to_bytes(4, "big"), *payloads)
    )
    if len(body) > MAX_APPEND_BYTES:
        raise ValueError(
            f"append of {len(body)} bytes exceeds the block limit of {MAX_APPEND_BYTES} bytes"
        )
    bcrc = zlib.crc32(body)
    covered = struct.pack("<I", bcrc) + _HCRC.pack(first_seq, n, len(body), chain)
    return struct.pack("<I", zlib.crc32(covered)) + covered + body, chain


def _layout(buf: bytes | memoryview, pos: int, count: int, body_bytes: int) -> list[int] | None:
    """Absolute payload offsets (count + 1) of the block at `pos`, or None if the body does
    not add up."""
    table = BLOCK_HEADER_BYTES + 4 * count
    if count < 1 or table + ARRAY_HEADER_BYTES > BLOCK_HEADER_BYTES + body_bytes:
        return None
    a = pos + table
    if buf[a] != 0xDD or int.from_bytes(buf[a + 1 : a + 5], "big") != count:
        return None
    offsets = [a + ARRAY_HEADER_BYTES]
    at = offsets[0]
    for n in struct.unpack_from(f"<{count}I", buf, pos + BLOCK_HEADER_BYTES):
        at += n
        offsets.append(at)
    return offsets if at == pos + BLOCK_HEADER_BYTES + body_bytes else None


def _chain(mv: memoryview, offsets: list[int], prev: bytes) -> bytes:
    for i in range(len(offsets) - 1):
        h = blake2b(prev, digest_size=32)
        h.update(mv[offsets[i] : offsets[i + 1]])
        prev = h.digest()
    return prev


def scan(buf: bytes, pos: int, seq: int, prev: bytes, verify_chain: bool) -> Stop:
    """Check blocks from `pos` to the end of `buf`, stopping at the first bad one."""
    end = len(buf)
    unpack = _HEADER.unpack_from
    crc32 = zlib.crc32
    with memoryview(buf) as mv:
        while pos < end:
            if end - pos < BLOCK_HEADER_BYTES:
                why = f"incomplete block header: {end - pos} bytes"
                return Stop(pos, seq, prev, pos, seq, prev, why, INCOMPLETE_HEADER)
            hcrc, bcrc, first, count, body_bytes, chain = unpack(buf, pos)
            if crc32(mv[pos + 4 : pos + BLOCK_HEADER_BYTES]) != hcrc:
                why = "block header crc32 mismatch"
                return Stop(pos, seq, prev, pos, seq, prev, why, BAD_HEADER)
            bend = pos + BLOCK_HEADER_BYTES + body_bytes
            if bend > end:
                why = f"incomplete block: body of {body_bytes} bytes, {end - pos - 56} present"
                return Stop(pos, seq, prev, pos, seq, prev, why, INCOMPLETE)
            if crc32(mv[pos + BLOCK_HEADER_BYTES : bend]) != bcrc:
                return Stop(pos, seq, prev, pos, seq, prev, "block crc32 mismatch", BAD_CRC)
            why = _logical(buf, mv, pos, seq, prev, first, count, body_bytes, chain, verify_chain)
            if why is not None:
                return Stop(pos, seq, prev, pos, seq, prev, why, LOGICAL)
            pos, seq, prev = bend, seq + count, chain
    return Stop(pos, seq, prev, pos, seq, prev, None, None)


def _logical(buf, mv, pos, seq, prev, first, count, body_bytes, chain, verify_chain) -> str | None:
    if first != seq:
        return f"block has seq {first} where seq {seq} was expected"
    offsets = _layout(buf, pos, count, body_bytes)
    if offsets is None:
        return "block body does not add up (lengths, array header)"
    if verify_chain and _chain(mv, offsets, prev) != chain:
        return "hash chain mismatch (payload or chain altered)"
    return None


def torn_reason(buf: bytes, pos: int, kind: str, reason: str, seq: int) -> str | None:
    """Why the bad block at `pos` (first bad one of the last segment) is a torn write, or
    None (corruption). See the module docstring."""
    end = len(buf)
    zero_from = zero_tail_start(buf, pos)
    if zero_from == pos:
        return f"zero-filled tail of {end - pos} bytes"
    if kind in (INCOMPLETE_HEADER, INCOMPLETE):
        return reason  # the header crc vouches for the length: the file ends inside it
    sector = -(-zero_from // SECTOR_BYTES) * SECTOR_BYTES
    if kind == BAD_HEADER and sector < pos + BLOCK_HEADER_BYTES:
        return f"{reason}: zero-filled from offset {sector} on (an unfinished write)"
    if kind == BAD_CRC:
        body_bytes = _HEADER.unpack_from(buf, pos)[4]
        if sector < pos + BLOCK_HEADER_BYTES + body_bytes:
            return f"{reason}: zero-filled from offset {sector} on (an unfinished write)"
    return None


def iter_blocks(
    buf: bytes, name: str, pos: int, seq: int, prev: bytes, stop_seq: int, verify_chain: bool
) -> Iterator[Block]:
    """The blocks from `pos` (whose first seq is `seq`) holding frames below `stop_seq`,
    each checked (crcs, seq, layout; the chain from `prev` when `verify_chain`). Returns
    (as the generator's value) the end position and the chain after the last block."""
    unpack = _HEADER.unpack_from
    crc32 = zlib.crc32
    end = len(buf)
    mv = memoryview(buf)
    while seq < stop_seq:
        if end - pos < BLOCK_HEADER_BYTES:
            raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged block")
        hcrc, bcrc, first, count, body_bytes, chain = unpack(buf, pos)
        bend = pos + BLOCK_HEADER_BYTES + body_bytes
        if crc32(mv[pos + 4 : pos + BLOCK_HEADER_BYTES]) != hcrc:
            raise LogCorrupt(name, pos, seq, "block header crc32 mismatch")
        if bend > end or crc32(mv[pos + BLOCK_HEADER_BYTES : bend]) != bcrc:
            raise LogCorrupt(name, pos, seq, "block crc32 mismatch or incomplete block")
        if first != seq:
            raise LogCorrupt(name, pos, seq, f"block has seq {first} where seq {seq} was expected")
        offsets = _layout(buf, pos, count, body_bytes)
        if offsets is None:
            raise LogCorrupt(name, pos, seq, "block body does not add up (lengths, array header)")
        if verify_chain:
            if _chain(mv, offsets, prev) != chain:
                raise LogCorrupt(name, pos, seq, "hash chain mismatch (payload or chain altered)")
        prev = chain
        yield Block(seq, count, mv, offsets, offsets[0] - ARRAY_HEADER_BYTES)
        pos, seq = bend, seq + count
    return pos, prev


def skip_blocks(buf: bytes, name: str, pos: int, seq: int, to_seq: int) -> tuple[int, int, bytes]:
    """Jump over the blocks that end before `to_seq` (headers checked, bodies not read).

    Returns (pos, seq, chain) of the block holding `to_seq`: where it starts, its first
    seq, and the chain before it (None-like b"" when no block was skipped)."""
    unpack = _HEADER.unpack_from
    end = len(buf)
    prev = b""
    while True:
        if end - pos < BLOCK_HEADER_BYTES:
            raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged block")
        hcrc, _, first, count, body_bytes, chain = unpack(buf, pos)
        if zlib.crc32(buf[pos + 4 : pos + BLOCK_HEADER_BYTES]) != hcrc:
            raise LogCorrupt(name, pos, seq, "block header crc32 mismatch")
        if first != seq:
            raise LogCorrupt(name, pos, seq, f"block has seq {first} where seq {seq} was expected")
        if seq + count > to_seq:
            return pos, seq, prev
        pos, seq, prev = pos + BLOCK_HEADER_BYTES + body_bytes, seq + count, chain
