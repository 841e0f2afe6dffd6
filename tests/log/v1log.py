"""Writing format v1 logs for tests (the writer writes v2; v1 logs must still be read).

`write_v1_log` lays frames out exactly as the v1 writer did: a 48-byte header and a crc
per frame, END_OF_APPEND on the last frame of each append, a new segment when the next
append would take the current one past `segment_bytes` (an append never straddles two).
"""

from __future__ import annotations

from pathlib import Path

from adapters.log.format_v1 import encode_frames
from adapters.log.logformat import SEGMENT_HEADER_BYTES, _encode_segment_header, segment_name
from adapters.log.ports import GENESIS_HASH


def write_v1_log(path: Path, appends: list[list[bytes]], segment_bytes: int = 1 << 26) -> None:
    path.mkdir(parents=True, exist_ok=True)
    seq, prev = 1, GENESIS_HASH
    name, data = segment_name(1), bytearray(_encode_segment_header(1, prev, version=1))
    for payloads in appends:
        frames, chain = encode_frames(payloads, seq, prev)
        if len(data) > SEGMENT_HEADER_BYTES and len(data) + len(frames) > segment_bytes:
            (path / name).write_bytes(bytes(data))
            name, data = segment_name(seq), bytearray(_encode_segment_header(seq, prev, 1))
        data += frames
        seq, prev = seq + len(payloads), chain
    (path / name).write_bytes(bytes(data))
