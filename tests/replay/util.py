"""Helpers for replay tests: a demo log written by another process, and log surgery."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from adapters.log.filelog import BLOCK_HEADER_BYTES, SEGMENT_HEADER_BYTES, FileLog, read_log_batches
from engine import events as e

ROOT = Path(__file__).resolve().parents[2]
DEMO_SIZES = {"workers": 500, "postings": 100, "employers": 25}
_WRITE_DEMO = (
    "import json, sys\n"
    "from sim.demo import run_demo\n"
    "from sim.morning import Sizes\n"
    "s = run_demo(sys.argv[1], sizes=Sizes(**json.loads(sys.argv[2])), fsync=False)\n"
    "print(json.dumps({'digest': s.state_digest, 'records': s.records, 'events': s.events}))\n"
)


def run_python(
    args: list[str], hash_seed: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def write_demo(data_dir: Path, hash_seed: str = "0") -> dict:
    """A synthetic morning written by a separate process; returns its summary figures."""
    done = run_python(["-c", _WRITE_DEMO, str(data_dir), json.dumps(DEMO_SIZES)], hash_seed)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def payloads(log: Path) -> list[bytes]:
    return [p for batch in read_log_batches(log) for _, p in batch]


def records(log: Path) -> list[e.Record]:
    return [e.decode_record(p) for p in payloads(log)]


def write_log(
    dst: Path, data: list[bytes], *, segment_bytes: int = 1 << 26, batch: int = 64
) -> Path:
    """A fresh, fully valid log (crc and chain computed by the writer) of `data`."""
    with FileLog(dst, fsync=False, segment_bytes=segment_bytes) as log:
        for i in range(0, len(data), batch):
            log.append(data[i : i + batch])
    return dst


class Frame(NamedTuple):
    """One block of a v2 segment (one append; `seq` is its first frame's)."""

    segment: Path
    offset: int
    seq: int
    length: int  # whole block, header included


def frames(log: Path) -> list[Frame]:
    """The blocks of every segment (with `write_log(batch=1)`, one frame each)."""
    out = []
    for seg in sorted(log.glob("*.seg")):
        buf = seg.read_bytes()
        pos = SEGMENT_HEADER_BYTES
        while pos + BLOCK_HEADER_BYTES <= len(buf):
            seq, _, body_bytes = struct.unpack_from("<QII", buf, pos + 8)
            n = BLOCK_HEADER_BYTES + body_bytes
            out.append(Frame(seg, pos, seq, n))
            pos += n
    return out


def copy_log(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("LOCK"))
    return dst
