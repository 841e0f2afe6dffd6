"""Peers benchmark at tiny size (seconds under `--benchmark-disable`), checked.

Every peer's index must return a superset of the true radius answer (with tags, moves
and removals), and on a tiny generated morning every peer must make exactly lingong's
decisions. Redis and PostgreSQL are found or started as `lingong bench peers` does; a
missing server fails the test with the message saying which (never a skip). PostGIS is
optional: where the server lacks it, the row must say so.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.peers.base import ALL_TAGS, haversine_np
from bench.peers.run import LINGONG, open_peer, run_peers
from engine.matching.index import CellIndex

pytestmark = pytest.mark.benchmark(group="peers")

REQUIRED = ("redis", "postgres", "postgis", "balltree", "numpy")


def test_peer_indexes_return_supersets() -> None:
    g = np.random.default_rng(3)
    n = 600
    lat = 30.59 + g.normal(0.0, 0.04, n)
    lng = 114.30 + g.normal(0.0, 0.04, n)
    tags = [ALL_TAGS if i % 9 == 0 else (1 << int(g.integers(0, 10))) for i in range(n)]
    opened = [open_peer(name) for name in REQUIRED]
    indexes = [CellIndex(8)] + [o.make() for o in opened]
    try:
        for idx in indexes:
            for r in range(n):
                idx.add(r, float(lat[r]), float(lng[r]), tags[r])
            for r in range(0, n, 4):
                idx.remove(r)
            for r in range(1, n, 6):
                idx.move(r, float(lat[r]) + 0.002, float(lng[r]))
            for r in range(2, n, 10):
                if r % 4:
                    idx.set_tag(r, 1 << 3)
        moved = (np.arange(n) % 6 == 1) & (np.arange(n) % 4 != 0)
        live = np.arange(n) % 4 != 0
        now_lat = np.where(moved, lat + 0.002, lat)
        now_tag = [1 << 3 if (i % 10 == 2 and i % 4) else tags[i] for i in range(n)]
        for q in range(8):
            qlat, qlng = 30.59 + g.normal(0.0, 0.03), 114.30 + g.normal(0.0, 0.03)
            radius, mask = [500.0, 1500.0, 4000.0, 10000.0][q % 4], [0, 1 << 3][q // 4]
            near = live & (haversine_np(qlat, qlng, now_lat, lng) <= radius)
            truth = {i for i in np.flatnonzero(near) if not mask or now_tag[i] & mask}
            for idx in indexes:
                got = set(idx.query(qlat, qlng, radius, mask).tolist())
                assert truth <= got, (type(idx).__name__, q, sorted(truth - got)[:5])
    finally:
        for idx in indexes[1:]:
            idx.close()
        for o in opened:
            o.stop()


def test_bench_peers_tiny(benchmark) -> None:
    rows = benchmark.pedantic(
        run_peers, kwargs={"workers": 300, "postings": 60, "seed": 5}, rounds=1, iterations=1
    )
    by = {r["name"]: r for r in rows}
    for name in REQUIRED:
        assert "error" not in by[name], by[name].get("error")
        assert by[name]["same_offers"] is True, name
        # a peer answers every wave's candidate search and the push audience; lingong's
        # waves rank from its waiting index, so its checked-in index answers fewer
        assert by[name]["queries"] > 0
        assert by[name]["events_per_s"] > 0 and by[name]["lingong_speedup"] > 0
    assert all(by[n]["queries"] == by[REQUIRED[0]]["queries"] for n in REQUIRED)
    assert by[LINGONG]["lingong_speedup"] == 1.0 and by[LINGONG]["same_offers"]
    assert by[LINGONG + "-again"]["same_offers"]
