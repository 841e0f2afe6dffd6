"""The rebuild's bulk fold is a twin of the plain fold: same digest, same state, same errors."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import numpy as np
import pytest

from adapters.log.reader import open_log_reader
from engine import events as e
from replay.fastfold import apply_pushes, py_apply_pushes
from replay.rebuild import fold
from replay.source import ReplayError, Until
from replay.verify import verify
from tests.replay.util import write_log

V1_LOG = Path(__file__).parents[1] / "log" / "data" / "v1" / "log"


@pytest.mark.parametrize("seed", range(5))
def test_push_kernel_and_its_twin_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    k = int(rng.integers(0, 2000))
    rows = rng.integers(0, n, size=k).astype(np.int64)
    days = np.sort(rng.integers(20000, 20004, size=k)).astype(np.int32)
    day0 = rng.integers(19999, 20003, size=n).astype(np.int32)
    count0 = rng.integers(0, 5, size=n).astype(np.int32)
    a_day, a_count = day0.copy(), count0.copy()
    b_day, b_count = day0.copy(), count0.copy()
    apply_pushes(rows, days, a_day, a_count)
    py_apply_pushes(rows, days, b_day, b_count)
    assert np.array_equal(a_day, b_day) and np.array_equal(a_count, b_count)
    if k:  # and it did what record_push does: today's count per row
        last = rows[-1]
        assert a_day[last] == days[-1]
        assert a_count[last] >= (rows[days == days[-1]] == last).sum()


def _both(log: Path | str, until: Until | None = None) -> tuple[str, str]:
    fast = fold(log, until)
    plain = fold(log, until, plain=True)
    assert (fast.seq, fast.records, fast.events, fast.ts_ms) == (
        plain.seq,
        plain.records,
        plain.events,
        plain.ts_ms,
    )
    fs, ps = fast.engine.state, plain.engine.state
    assert (fs.counts, fs.events_applied, fs.last_ts_ms) == (
        ps.counts,
        ps.events_applied,
        ps.last_ts_ms,
    )
    assert fs.commands == ps.commands
    return fast.engine.digest(), plain.engine.digest()


def test_same_digest_as_the_plain_fold_on_a_morning(demo) -> None:
    log, info = demo
    fast, plain = _both(log)
    assert fast == plain == info["digest"]


def test_same_state_at_any_cut(demo) -> None:
    log, info = demo
    rng = random.Random(11)
    last = info["records"]
    for seq in (1, 2, rng.randrange(3, last), rng.randrange(3, last), last):
        fast, plain = _both(log, Until(seq=seq))
        assert fast == plain
    mid_ts = fold(log, Until(seq=last // 2)).ts_ms
    fast, plain = _both(log, Until(ts_ms=mid_ts))
    assert fast == plain


def test_same_digest_whatever_the_group_commits(demo_payloads, tmp_path: Path) -> None:
    rng = random.Random(3)
    for i in range(3):
        log = tmp_path / f"log{i}"
        size = rng.choice([1, 7, 64, 513])
        write_log(log, demo_payloads, segment_bytes=rng.choice([1 << 16, 1 << 20]), batch=size)
        fast, plain = _both(log)
        assert fast == plain


def test_v1_segments_and_v1_records_in_v2_blocks(tmp_path: Path) -> None:
    fast, plain = _both(V1_LOG)
    assert fast == plain == verify(V1_LOG).digest
    old = [p for b in open_log_reader(V1_LOG).read_batches() for _, p in b]
    mixed = old[:100] + [e.encode_record(e.decode_record(p)) for p in old[100:]]
    log = write_log(tmp_path / "log", mixed, batch=50)  # blocks of v1, v2 and mixed records
    fast, plain = _both(log)
    assert fast == plain


def test_the_folded_state_decides_like_the_plain_one(demo) -> None:
    """Everything the matcher reads after a bulk fold is right: the rest of the log
    re-executes without a divergence."""
    log, info = demo
    half = info["records"] // 2
    folded = fold(log, Until(seq=half)).engine
    reader = open_log_reader(log)
    from adapters.log.records import read_records

    for batch in read_records(reader, half + 1):
        for seq, rec in batch.pairs():
            assert folded.reexecute_record(seq, rec) is None, seq
    assert folded.digest() == info["digest"]


def test_a_record_that_does_not_fit_is_named_by_both(demo_payloads, tmp_path: Path) -> None:
    data = list(demo_payloads)
    k = next(i for i, p in enumerate(data) if isinstance(e.decode_record(p).events[0], e.Tick))
    tick = e.decode_record(data[k])
    ghost = e.PushSent(
        ts_ms=tick.events[0].ts_ms, worker_id="W9999999", job_id="J0000001", distance_m=1
    )  # a push to a worker who never registered
    fact = msgspec.structs.replace(tick.events[0], cmd_id="forged")
    cmd = tick.command and msgspec.structs.replace(tick.command, command_id="forged")
    forged = msgspec.structs.replace(tick, cmd_id="forged", events=[fact, ghost], command=cmd)
    data = data[: k + 1]
    data.insert(k + 1, e.encode_record(forged))
    log = write_log(tmp_path / "log", data, batch=64)
    for plain in (False, True):
        with pytest.raises(ReplayError) as info:
            fold(log, plain=plain)
        assert info.value.seq == k + 2
