"""Reading the event log for projections, through the one read port.

Owns: `read_records(log, from_seq, max_frames)`, batches of decoded `(seq, Record,
payload)` read through a `LogReader` (`adapters.log.reader.open_log_reader`: a log folder
or a nats:// URL; the file reader never takes the writer lock, never modifies the
directory, and stops before an unfinished tail), and `payload_hash`, the fingerprint a
projection keeps of the last record it applied.

Invariants: records come in seq order without gaps, each decoded (and upcast) by
`adapters.log.records`, without the recorded command (projections fold the events only:
`Record.command` is None here). A live writer may append while we read; we see a
prefix. A missing log folder is a FileNotFoundError (readers never create folders).
Limits: those of the reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from hashlib import blake2b

from adapters.log.ports import LogReader
from adapters.log.reader import open_log_reader
from adapters.log.records import read_records as _read_record_batches
from engine.events import Record


def payload_hash(payload: bytes) -> str:
    return blake2b(payload, digest_size=16).hexdigest()


def read_records(
    log: str | os.PathLike[str] | LogReader, from_seq: int = 1, max_frames: int = 4096
) -> Iterator[list[tuple[int, Record, bytes]]]:
    """Batches of (seq, record, payload) from `from_seq` on (a URL, folder or reader)."""
    reader = open_log_reader(log)
    try:
        batches = _read_record_batches(reader, from_seq, max_frames=max_frames, commands=False)
        for batch in batches:
            frames, records = batch.frames, batch.records
            yield [(frames[i][0], records[i], frames[i][1]) for i in range(len(frames))]
    finally:
        if reader is not log:
            reader.close()
