"""Scan event-log segments for unmasked phone and ID numbers (issue 11).

Owns: `scan_payload` (one frame: decoded, every string inspected), `scan_log_dir` (one log
folder: every frame decoded, every string inspected; and the raw bytes of every segment, so
a frame that cannot be decoded is still covered) and `scan_tree` (every log folder under a
root, e.g. the pytest base temp folder). Used by the test suite (every log the tests
write, `tests/conftest.py`) and by the simulator (`sim.vopr`, every record it appends).

A leak is reported as "<segment or frame>: <the masked finding>": the number itself is
never printed in full.

Invariants: reads only; strings are inspected, bytes (sealed blobs) are not.
Limits: a folder's raw scan reads one segment at a time into memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.logformat import read_log_batches
from adapters.log.ports import LogCorrupt
from engine.idnumbers import find_unmasked_pii, mask_pii_in_text

SEGMENT_GLOB = "*.seg"  # adapters.log.logformat.segment_name: <20-digit first seq>.seg


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def scan_payload(payload: bytes) -> list[str]:
    """The masked findings in one frame's strings (bytes, e.g. sealed blobs, are skipped)."""
    try:
        record = msgspec.msgpack.decode(payload)
    except msgspec.DecodeError:
        return []  # not a record (log-format tests): the raw segment scan covers it
    return [mask_pii_in_text(hit) for text in _strings(record) for hit in find_unmasked_pii(text)]


def scan_log_dir(directory: Path) -> list[str]:
    """Leaks in one log folder: decoded frames, then the raw bytes of each segment."""
    leaks: list[str] = []
    try:
        for batch in read_log_batches(directory, verify_chain=False):
            for seq, payload in batch:
                for hit in scan_payload(payload):
                    leaks.append(f"{directory} frame {seq}: {hit}")
    except (LogCorrupt, OSError, ValueError):
        pass  # a deliberately damaged log: the raw scan below still reads every byte
    for segment in sorted(directory.glob(SEGMENT_GLOB)):
        text = segment.read_bytes().decode("utf-8", errors="replace")
        for hit in find_unmasked_pii(text):
            leaks.append(f"{segment}: {mask_pii_in_text(hit)}")
    return leaks


def scan_tree(root: Path) -> tuple[int, list[str]]:
    """(log folders scanned, leaks) for every folder holding segments under `root`."""
    folders = sorted({p.parent for p in root.rglob(SEGMENT_GLOB)})
    leaks = [leak for folder in folders for leak in scan_log_dir(folder)]
    return len(folders), leaks
