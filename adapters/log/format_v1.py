"""File log format v1 (read only): one 48-byte header and one CRC per frame.

Owns: checking the frames of a version 1 segment (`scan`), telling a torn write from
corruption in them (`torn_reason`), reading them (`iter_frames`), and `encode_frames`,
the v1 writer's encoding, kept so tests can build v1 logs (the writer writes v2).

Frame layout, frames back to back after the 64-byte segment header:

    0  u32  crc32 of bytes 4 .. end of payload (flags/length, seq, chain, payload)
    4  u32  bit 31: END_OF_APPEND (set on the last frame of each append);
            bits 0..30: payload length in bytes
    8  u64  seq
    16 32s  chain = BLAKE2b(previous chain || payload, digest_size=32)
    48 ...  payload

Invariants: an append is all-or-nothing across a crash: frames after the last
END_OF_APPEND of the last segment are a torn write. A torn write is otherwise an
incomplete frame or a zero-filled tail; a complete frame whose crc fails is corruption,
and so is a length field the crc shows damaged.
Limits: `MAX_PAYLOAD_BYTES` per frame.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from hashlib import blake2b

from adapters.log.logformat import (
    BAD_CRC,
    BAD_LENGTH,
    INCOMPLETE,
    INCOMPLETE_HEADER,
    LOGICAL,
    MAX_PAYLOAD_BYTES,
    SECTOR_BYTES,
    Stop,
    zero_tail_start,
)
from adapters.log.ports import HASH_BYTES, LogCorrupt

_FRAME = struct.Struct("<IIQ")  # crc32, flags|length, seq; the 32-byte chain follows
FRAME_HEADER_BYTES = _FRAME.size + HASH_BYTES  # 48
_FLAGS_LEN = struct.Struct("<IQ")
END_OF_APPEND = 0x8000_0000
_LEN_MASK = 0x7FFF_FFFF


def encode_frames(payloads: Sequence[bytes], seq: int, prev: bytes) -> tuple[bytes, bytes]:
    """The v1 frames of one append and the chain after them (for building v1 test logs)."""
    out = bytearray()
    last = len(payloads) - 1
    for i, payload in enumerate(payloads):
        n = len(payload)
        chain = blake2b(prev + payload, digest_size=32).digest()
        body = _FLAGS_LEN.pack(n | END_OF_APPEND if i == last else n, seq) + chain
        out += zlib.crc32(payload, zlib.crc32(body)).to_bytes(4, "little") + body + payload
        prev = chain
        seq += 1
    return bytes(out), prev


def scan(buf: bytes, pos: int, seq: int, prev: bytes, verify_chain: bool) -> Stop:
    """Check frames from `pos` to the end of `buf`, stopping at the first bad one; the
    commit point is the end of the last END_OF_APPEND frame."""
    end = len(buf)
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    commit = (pos, seq, prev)
    reason: str | None = None
    kind: str | None = None
    with memoryview(buf) as mv:
        while pos < end:
            if end - pos < FRAME_HEADER_BYTES:
                reason, kind = f"incomplete frame header: {end - pos} bytes", INCOMPLETE_HEADER
                break
            crc, flags_len, fseq = unpack(buf, pos)
            n = flags_len & _LEN_MASK
            fend = pos + FRAME_HEADER_BYTES + n
            if n > MAX_PAYLOAD_BYTES:
                reason = f"frame length {n} exceeds the {MAX_PAYLOAD_BYTES} byte limit"
                kind = BAD_LENGTH
                break
            if fend > end:
                present = end - pos - FRAME_HEADER_BYTES
                reason = f"incomplete frame: payload of {n} bytes, {present} present"
                kind = INCOMPLETE
                break
            if crc32(mv[pos + 4 : fend]) != crc:
                reason, kind = "frame crc32 mismatch", BAD_CRC
                break
            if fseq != seq:
                reason, kind = f"frame has seq {fseq} where seq {seq} was expected", LOGICAL
                break
            chain = buf[pos + 16 : pos + 48]
            if (
                verify_chain
                and blake2b(prev + mv[pos + 48 : fend], digest_size=32).digest() != chain
            ):
                reason, kind = "hash chain mismatch (payload or chain altered)", LOGICAL
                break
            prev = chain
            seq += 1
            pos = fend
            if flags_len & END_OF_APPEND:
                commit = (pos, seq, prev)
    return Stop(pos, seq, prev, *commit, reason, kind)


def _valid_frame_after(buf: bytes, start: int, min_seq: int) -> bool:
    """Whether a crc-valid frame with a plausible seq starts anywhere after `start`."""
    end = len(buf)
    max_seq = min_seq + (end - start) // FRAME_HEADER_BYTES
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    with memoryview(buf) as mv:
        for off in range(start + 1, end - FRAME_HEADER_BYTES + 1):
            crc, flags_len, fseq = unpack(buf, off)
            if fseq < min_seq or fseq > max_seq:
                continue
            n = flags_len & _LEN_MASK
            fend = off + FRAME_HEADER_BYTES + n
            if n > MAX_PAYLOAD_BYTES or fend > end:
                continue
            if crc32(mv[off + 4 : fend]) == crc:
                return True
    return False


def _length_was_damaged(buf: bytes, pos: int) -> bool:
    """Whether the frame at `pos` is complete up to the end of `buf` but for its length
    field: the crc matches when the length is put back to what is present."""
    crc, flags_len, fseq = _FRAME.unpack_from(buf, pos)
    present = len(buf) - pos - FRAME_HEADER_BYTES
    if present > MAX_PAYLOAD_BYTES:
        return False
    for flags in (flags_len & END_OF_APPEND, (flags_len & END_OF_APPEND) ^ END_OF_APPEND):
        head = _FLAGS_LEN.pack(present | flags, fseq)
        with memoryview(buf) as mv:
            if zlib.crc32(mv[pos + 16 :], zlib.crc32(head)) == crc:
                return True
    return False


def torn_reason(buf: bytes, pos: int, kind: str, reason: str, seq: int) -> str | None:
    """Why the bad frame at `pos` (the last segment's first bad one) is a torn write, or
    None (corruption): an incomplete frame, or a zero-filled tail (from the frame on, or
    from a sector boundary inside it)."""
    end = len(buf)
    zero_from = zero_tail_start(buf, pos)
    if zero_from == pos:
        return f"zero-filled tail of {end - pos} bytes"
    if kind == INCOMPLETE_HEADER:
        return reason
    if kind == INCOMPLETE:
        if _length_was_damaged(buf, pos) or _valid_frame_after(buf, pos, seq):
            return None
        return reason
    if kind == BAD_CRC:
        _, flags_len, _ = _FRAME.unpack_from(buf, pos)
        fend = pos + FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
        sector = -(-zero_from // SECTOR_BYTES) * SECTOR_BYTES
        if sector < fend:  # written up to a sector boundary inside the frame, zeros after
            return f"{reason}: zero-filled from offset {sector} on (an unfinished write)"
    return None


def corrupt_reason(buf: bytes, pos: int, kind: str, reason: str, seq: int) -> str:
    """The reason to report for a bad frame that is not a torn write."""
    if kind == INCOMPLETE and _valid_frame_after(buf, pos, seq):
        return reason + " (and valid frames follow it)"
    if kind == INCOMPLETE:
        return "frame length field damaged (the frame is complete up to the end of the file)"
    return reason


def iter_frames(
    buf: bytes,
    name: str,
    pos: int,
    seq: int,
    prev: bytes,
    from_seq: int,
    stop_seq: int,
    max_frames: int,
    verify_chain: bool,
) -> Iterator[list[tuple[int, bytes]]]:
    """Lists of <= max_frames frames (seq, payload) from_seq <= seq < stop_seq, starting at
    `pos` (frame `seq`, chain before it `prev`). Every frame's crc and seq are checked, its
    chain link with `verify_chain`. Returns (as the generator's value) (pos, chain)."""
    unpack = _FRAME.unpack_from
    crc32 = zlib.crc32
    end = len(buf)
    while seq < from_seq:  # skip, checking only the seq
        if end - pos < FRAME_HEADER_BYTES:
            raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged frame")
        _, flags_len, fseq = unpack(buf, pos)
        if fseq != seq:
            raise LogCorrupt(name, pos, seq, f"frame has seq {fseq} where seq {seq} was expected")
        prev = buf[pos + 16 : pos + 48]
        pos += FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
        seq += 1
    with memoryview(buf) as mv:
        while seq < stop_seq:
            out: list[tuple[int, bytes]] = []
            stop = min(stop_seq, seq + max_frames)
            while seq < stop:
                if end - pos < FRAME_HEADER_BYTES:
                    raise LogCorrupt(name, pos, seq, "segment ends before an acknowledged frame")
                crc, flags_len, fseq = unpack(buf, pos)
                fend = pos + FRAME_HEADER_BYTES + (flags_len & _LEN_MASK)
                if fend > end or crc32(mv[pos + 4 : fend]) != crc:
                    raise LogCorrupt(name, pos, seq, "frame crc32 mismatch or incomplete frame")
                if fseq != seq:
                    raise LogCorrupt(
                        name, pos, seq, f"frame has seq {fseq} where seq {seq} was expected"
                    )
                payload = buf[pos + 48 : fend]
                if verify_chain:
                    chain = buf[pos + 16 : pos + 48]
                    if blake2b(prev + payload, digest_size=32).digest() != chain:
                        raise LogCorrupt(
                            name, pos, seq, "hash chain mismatch (payload or chain altered)"
                        )
                    prev = chain
                out.append((seq, payload))
                seq += 1
                pos = fend
            yield out
    return pos, prev
