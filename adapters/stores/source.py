"""Reading the event log for projections, without the writer's lock.

Owns: `read_records(log_dir, from_seq, max_frames)`, batches of decoded `(seq, Record,
payload hash)` read through `adapters.log.filelog.read_log_batches` (the read-only reader
that never takes the writer lock, never modifies the directory, and stops before an
unfinished tail), and `payload_hash`, the fingerprint a projection keeps of the last
record it applied.

Invariants: records come in seq order without gaps, each decoded (and upcast) by
`engine.events.decode_record`. A live writer may append while we read; we see a prefix.
Limits: the file log only (a JetStream log would need its own reader).
"""

from __future__ import annotations

from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path

from adapters.log.filelog import read_log_batches
from engine.events import Record, decode_record


def payload_hash(payload: bytes) -> str:
    return blake2b(payload, digest_size=16).hexdigest()


def read_records(
    log_dir: str | Path, from_seq: int = 1, max_frames: int = 4096
) -> Iterator[list[tuple[int, Record, bytes]]]:
    """Batches of (seq, record, payload) from `from_seq` on; an absent log yields nothing."""
    path = Path(log_dir)
    if not path.is_dir():
        return
    expect = from_seq
    for batch in read_log_batches(path, from_seq, max_frames):
        out: list[tuple[int, Record, bytes]] = []
        for seq, payload in batch:
            if seq != expect:
                raise RuntimeError(f"log reader skipped from seq {expect} to {seq}")
            expect += 1
            out.append((seq, decode_record(payload), payload))
        yield out
