"""Log benchmark: acknowledged append throughput and latency of the file log, with fsync.

Owns: `run_log_bench`, which appends `events` payloads of `payload_bytes` in batches of
`batch` to a fresh `FileLog` (one fsync per batch), timing each `append` call, then reads
the log back and checks the answer: every frame present, in order, with exactly the
bytes written, and the hash chain verified.

Measures:
- `events_per_s`: events / wall time of the whole append loop (payload building included);
  `cpu_s` and `events_per_cpu_s`: the same loop's CPU time (this process), the fair figure
  on a shared machine (fsync waits are wall time, not CPU time).
- `ack_p50_us`, `ack_p99_us`, `ack_max_us`: duration of one `append` call (encode, write,
  fsync). Acknowledgement happens when `append` returns, i.e. after the fsync; these are
  the latencies a command waits for once its batch is cut (queueing not included).
- `open_verify_s`: reopening the log, which checks every frame's crc, seq and chain link.
- `read_events_per_s`: bulk read with crc and chain checks (`read_batches`).

Limits: the log is written to a fresh temporary directory under `directory` and removed
afterwards unless `keep=True`. Payload content is deterministic (seq + fixed filler).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from hashlib import blake2b
from pathlib import Path
from typing import Any

from adapters.log.filelog import DEFAULT_SEGMENT_BYTES, FileLog


def bench_payload(seq: int, filler: bytes) -> bytes:
    """The payload of `seq`: its 8-byte little-endian number, then filler, cut to size."""
    return (seq.to_bytes(8, "little") + filler)[: len(filler)]


def make_filler(payload_bytes: int) -> bytes:
    raw = blake2b(b"lingong log bench", digest_size=64).digest()
    return (raw * (payload_bytes // len(raw) + 1))[:payload_bytes]


def _percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def run_log_bench(
    directory: str | os.PathLike[str],
    events: int,
    batch: int,
    payload_bytes: int,
    *,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    fsync: bool = True,
    keep: bool = False,
) -> dict[str, Any]:
    """Append `events` payloads in batches of `batch`, fsynced; read back and check them."""
    if events < 1 or batch < 1 or payload_bytes < 0:
        raise ValueError("events and batch must be >= 1, payload_bytes >= 0")
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="log-bench-", dir=base))
    log_dir = workdir / "log"
    filler = make_filler(payload_bytes)
    try:
        ack_ns: list[int] = []
        log = FileLog(log_dir, segment_bytes=segment_bytes, fsync=fsync)
        try:
            clock = time.perf_counter_ns
            cpu_started = time.process_time()
            started_ns = clock()
            seq = 1
            while seq <= events:
                count = min(batch, events - seq + 1)
                payloads = [bench_payload(s, filler) for s in range(seq, seq + count)]
                t0 = clock()
                last = log.append(payloads)
                ack_ns.append(clock() - t0)
                seq = last + 1
            append_ns = clock() - started_ns
            append_cpu_s = time.process_time() - cpu_started
            segments = len(log.segments)
        finally:
            log.close()

        # Reopen (a full crc + chain check of every frame), time a bulk read, then check the
        # answer: every frame back, in order, byte for byte.
        started_ns = time.perf_counter_ns()
        with FileLog(log_dir, segment_bytes=segment_bytes, fsync=fsync) as reopened:
            open_ns = time.perf_counter_ns() - started_ns
            started_ns = time.perf_counter_ns()
            read = sum(len(frames) for frames in reopened.read_batches(verify_chain=True))
            read_ns = time.perf_counter_ns() - started_ns
            expected_seq = 1
            for frames in reopened.read_batches(verify_chain=False):
                for got_seq, payload in frames:
                    if got_seq != expected_seq or payload != bench_payload(got_seq, filler):
                        break
                    expected_seq += 1
            verified = read == events == reopened.last_seq == expected_seq - 1
            head_hash = reopened.head_hash
        bytes_on_disk = sum(p.stat().st_size for p in log_dir.glob("*.seg"))
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    ack_ns.sort()
    append_s = append_ns / 1e9
    return {
        "events": events,
        "batch": batch,
        "payload_bytes": payload_bytes,
        "fsync": fsync,
        "appends": len(ack_ns),
        "segments": segments,
        "seconds": round(append_s, 3),
        "events_per_s": round(events / append_s),
        "cpu_s": round(append_cpu_s, 3),
        "events_per_cpu_s": round(events / append_cpu_s) if append_cpu_s > 0 else 0,
        "mb_per_s": round(bytes_on_disk / append_s / 1e6, 1),
        "ack_p50_us": round(_percentile(ack_ns, 0.50) / 1e3, 1),
        "ack_p99_us": round(_percentile(ack_ns, 0.99) / 1e3, 1),
        "ack_max_us": round(ack_ns[-1] / 1e3, 1),
        "bytes_on_disk": bytes_on_disk,
        "open_verify_s": round(open_ns / 1e9, 3),
        "read_events_per_s": round(read / (read_ns / 1e9)) if read_ns else 0,
        "head_hash": head_hash.hex(),
        "verified": verified,
        "directory": str(log_dir) if keep else None,
    }


if __name__ == "__main__":
    import json
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir()
    print(json.dumps(run_log_bench(target, 1_000_000, 2_000, 120), indent=2))
