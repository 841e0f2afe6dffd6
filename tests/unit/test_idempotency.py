"""The command-id memory behaves like a FIFO dict bounded by count and by log time."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.idempotency import CommandMemory

ops = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 3), st.booleans()), min_size=1, max_size=300
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(ops=ops, max_entries=st.integers(1, 40), window_ms=st.integers(1, 50))
def test_memory_equals_a_bounded_fifo_dict(ops, max_entries: int, window_ms: int) -> None:
    mem = CommandMemory(max_entries=max_entries, window_ms=window_ms)
    model: OrderedDict[str, tuple[int, bytes, int]] = OrderedDict()
    ts = 0
    for seq, (key, step, with_digest) in enumerate(ops, start=1):
        ts += step
        cmd_id = f"c{key}"
        digest = seq.to_bytes(8, "little") if with_digest else b""
        if cmd_id not in model:
            while model and next(iter(model.values()))[2] < ts - window_ms:
                model.popitem(last=False)
            if len(model) >= max_entries:
                model.popitem(last=False)
            model[cmd_id] = (seq, digest, ts)
        mem.remember(cmd_id, seq, digest, ts)
        assert len(mem) == len(model)
        for k in range(61):
            want = model.get(f"c{k}")
            assert mem.get(f"c{k}") == (None if want is None else want[:2])
    again = CommandMemory.from_arrays(mem.to_arrays(), max_entries, window_ms)
    assert again == mem


def test_the_table_stops_growing_at_its_maximum() -> None:
    mem = CommandMemory(max_entries=5000, window_ms=10**12)
    for i in range(20_000):
        mem.remember(f"id-{i}", i, b"", i)
    size = mem.nbytes()
    for i in range(20_000, 40_000):
        mem.remember(f"id-{i}", i, b"", i)
    assert len(mem) == 5000 and mem.nbytes() == size
    assert mem.get("id-39999") == (39999, b"") and mem.get("id-34999") is None


def test_digests_and_hashes_keep_all_64_bits() -> None:
    """Digests with the high bit set come back as given; the snapshot columns keep the
    unsigned hash and digest types they had before the ring became one int64 array."""
    mem = CommandMemory(max_entries=8, window_ms=10**12)
    digests = [b"\xff" * 8, b"\x00" * 7 + b"\x80", bytes(range(8)), b""]
    for i, dig in enumerate(digests):
        mem.remember(f"k{i}", 2**40 + i, dig, i)
    for i, dig in enumerate(digests):
        assert mem.get(f"k{i}") == (2**40 + i, dig)
    cols = mem.to_arrays()
    assert {k: v.dtype.str for k, v in cols.items()} == {
        "k1": "<u8",
        "k2": "<u8",
        "seq": "<i8",
        "digest": "<u8",
        "has_digest": "|i1",
        "ts": "<i8",
    }
    assert cols["has_digest"].tolist() == [1, 1, 1, 0]
    assert int(cols["digest"][0]) == 2**64 - 1
    assert CommandMemory.from_arrays(cols, 8, 10**12).get("k0") == (2**40, b"\xff" * 8)
