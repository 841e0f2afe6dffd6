"""Crash safety: SIGKILL a real writer process hundreds of times; nothing acknowledged is lost.

Each round starts `crash_writer.py` on the same log directory, lets it recover and append,
kills it with SIGKILL at a random moment (seeded: after a random number of acknowledged
appends, so it lands inside the next one, or at a random instant of start-up), and then
checks from the outside:
- the log verifies (crc, seq continuity, hash chain) with no corruption reported;
- every seq the writer acknowledged is present, and every frame present has exactly the
  content derived from its seq (so no frame was lost, reordered or damaged);
- the next writer opens at exactly the recovered end and carries on from there.
The parent sometimes opens the log itself (cutting any torn tail) and sometimes leaves
the recovery to the next writer, so kills also land inside recovery. Small segments
make kills land around segment roll-over too.

The loop is bounded in count (`KILLS`) and time (`TIME_CAP_S`), but the time cap only
stops it after `MIN_KILLS` rounds: what is asserted never depends on the machine's speed.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.log.filelog import FileLog, read_log_batches, verify_log
from tests.log.crash_writer import payload

WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = 200  # rounds at most...
MIN_KILLS = 60  # ...and at least, however slow the machine
TIME_CAP_S = 60.0  # stops the loop early (after MIN_KILLS): a cap, not an assertion
MAX_ACKS_BEFORE_KILL = 6
KILLS_PER_DIRECTORY = 10  # start a fresh log now and then so checks stay cheap
SEGMENT_BYTES = 16 * 1024
SEED = 0x1E5  # change to explore other kill schedules
HANG_S = 120.0  # a hang guard on one writer's output, never reached by a healthy writer


def read_lines(stream_fd: int, n: int, hang_s: float = HANG_S) -> bytes:
    """Bytes from the pipe until at least `n` full lines arrived (or EOF)."""
    data = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stream_fd, selectors.EVENT_READ)
        while data.count(b"\n") < n:
            if not sel.select(hang_s):
                raise TimeoutError(f"writer printed {data!r}, not {n} lines, in {hang_s} s")
            chunk = os.read(stream_fd, 65536)
            if not chunk:
                break
            data += chunk
    return data


def read_to_eof(stream_fd: int) -> bytes:
    chunks = []
    while chunk := os.read(stream_fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def check_log(directory: Path, acked: int) -> tuple[int, bool]:
    """Verify the log from outside; return (frames present, whether a torn tail was seen)."""
    if not directory.exists():  # killed before it created the directory
        assert acked == 0
        return 0, False
    report = verify_log(directory)
    assert report.problem is None, f"corruption after a kill: {report.problem}"
    assert report.frames >= acked, f"acknowledged seq {acked} lost: log ends at {report.frames}"
    expected_seq = 1
    for batch in read_log_batches(directory, verify_chain=False):
        for seq, data in batch:
            assert seq == expected_seq
            assert data == payload(seq), f"frame {seq} has the wrong content"
            expected_seq += 1
    assert expected_seq - 1 == report.frames
    return report.frames, report.torn_tail is not None


@pytest.mark.timeout(1200)  # a hang guard: MIN_KILLS rounds take ~20 s on a loaded machine
def test_sigkill_never_loses_an_acknowledged_frame(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    stats = {
        "kills": 0,
        "early_kills": 0,
        "acks_before_kills": 0,
        "torn_tails": 0,
        "unacked_frames_kept": 0,
        "acks": 0,
    }
    directory = tmp_path / "log0"
    frames = 0  # frames present after the previous round
    max_segments = 0
    for round_no in range(KILLS):
        if round_no and round_no % KILLS_PER_DIRECTORY == 0:
            directory = tmp_path / f"log{round_no}"
            frames = 0
        if round_no >= MIN_KILLS and time.monotonic() - started > TIME_CAP_S:
            break
        err_path = tmp_path / "writer.err"
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(WRITER),
                    str(directory),
                    str(SEED + round_no),
                    str(SEGMENT_BYTES),
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                bufsize=0,
            )
        try:
            fd = proc.stdout.fileno()  # type: ignore[union-attr]
            if rng.random() < 0.1:
                # Kill at a random moment of start-up: import, lock, scan, truncation.
                time.sleep(rng.uniform(0.0, 0.08))  # sleep-ok: a random kill instant (fault)
                head = b""
                stats["early_kills"] += 1
            else:
                # "open", then k acknowledged appends: the kill lands in append k + 1
                acks_before_kill = rng.randint(0, MAX_ACKS_BEFORE_KILL)
                head = read_lines(fd, 1 + acks_before_kill)
                stats["acks_before_kills"] += acks_before_kill
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            output = head + read_to_eof(fd)
            proc.wait(HANG_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        assert alive, f"writer exited by itself:\n{err_path.read_text()}"
        assert proc.returncode == -signal.SIGKILL
        stats["kills"] += 1

        lines = output.split(b"\n")[:-1]  # the last piece is incomplete (or empty)
        acked = frames
        if lines:
            assert lines[0] == f"open {frames}".encode(), (lines[0], frames)
            seqs = [int(line) for line in lines[1:]]
            assert seqs == sorted(set(seqs)) and all(s > frames for s in seqs)
            if seqs:
                acked = seqs[-1]
            stats["acks"] += len(seqs)

        present, torn = check_log(directory, acked)
        stats["torn_tails"] += torn
        stats["unacked_frames_kept"] += present - acked
        if rng.random() < 0.3:
            # Recover here now and then; otherwise the next writer recovers (and may die doing it).
            with FileLog(directory, segment_bytes=SEGMENT_BYTES) as log:
                assert log.last_seq == present
                max_segments = max(max_segments, len(log.segments))
            report = verify_log(directory)
            assert report.ok and report.torn_tail is None and report.frames == present
        frames = present

    assert stats["acks"] >= stats["acks_before_kills"] > stats["kills"]  # real work between kills
    assert max_segments > 3  # and rolled over segments while doing it
    print(f"crash test: {stats}, {time.monotonic() - started:.1f} s")
