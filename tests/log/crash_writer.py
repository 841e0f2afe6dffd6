"""The writer process that `test_crash.py` kills with SIGKILL at random moments.

Usage: python crash_writer.py DIRECTORY SEED SEGMENT_BYTES

Opens the file log (recovering whatever the previous kill left), prints `open <last_seq>`,
then appends batches of deterministic payloads forever, printing each acknowledged seq
(`append` has returned, so the frames are fsynced) on its own line. Each line is one
`os.write` to the unbuffered pipe, so the parent sees exactly the acknowledged seqs.

Imports nothing but the log module and the standard library, so it starts fast.
"""

from __future__ import annotations

import os
import random
import sys
from hashlib import blake2b
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from adapters.log.filelog import FileLog  # noqa: E402


def payload(seq: int) -> bytes:
    """The content of frame `seq`: 1..256 bytes, a function of seq alone."""
    unit = blake2b(seq.to_bytes(8, "little"), digest_size=32).digest()
    size = 1 + (seq * 2654435761) % 256
    return (unit * (size // 32 + 1))[:size]


def batch_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.04:
        return rng.randint(500, 2500)  # long writes, larger than a segment
    if roll < 0.5:
        return 1
    return rng.randint(2, 40)


def main(argv: list[str]) -> None:
    directory, seed, segment_bytes = argv[1], int(argv[2]), int(argv[3])
    rng = random.Random(seed)
    log = FileLog(directory, segment_bytes=segment_bytes)
    os.write(1, f"open {log.last_seq}\n".encode())
    while True:
        start = log.next_seq
        last = log.append([payload(seq) for seq in range(start, start + batch_size(rng))])
        os.write(1, f"{last}\n".encode())


if __name__ == "__main__":
    main(sys.argv)
