"""`run_peers`: one generated morning through lingong, then through each peer's index.

Owns: opening the peers (`open_peer`: servers found or started, or `PeerUnavailable`
with what is missing), running the morning once per system in this process with the
same seed, and the comparison rows.

Each system gets a warm-up morning with its own index first (numba, connections,
prepared statements), then the measured morning. Row figures:
- `events_per_s`, `decision_p50_us`, `decision_p99_us`: as `bench.morning_bench` (engine
  time only; the people's generator is outside the timed calls);
- `search_*`: the index's candidate search per posting or wave, `update_*`: one
  add / move / remove; `candidates_per_query`: rows handed to the kernel;
- `lingong_speedup` = lingong's events/s / the system's events/s;
- `same_offers`: the system's decisions (every event of every command, hashed in
  order: offers, hires, withdrawals ...) and its final state digest equal lingong's.
lingong runs first and again last (`lingong-again`) so drift on a shared machine shows.

Invariants: a peer that cannot start is reported (`error`), never skipped silently.
Limits: `budget_s` of engine time per system; a peer cut short cannot be compared
(`same_offers` False, `complete` False).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bench.morning_bench import (
    BUDGET_S,
    default_workers,
    in_process,
    make_morning,
    percentiles_us,
    sizes_for,
    warm_up,
)
from bench.peers.base import PeerIndex, PeerUnavailable, TimedIndex
from engine.matching.index import CellIndex

PEERS = ("redis", "postgres", "postgis", "balltree", "numpy")
LINGONG = "lingong-h3-numba"


class Opened:
    def __init__(self, make: Callable[[], PeerIndex], how: str, stop: Callable[[], None]) -> None:
        self.make = make
        self.how = how
        self.stop = stop


def open_peer(name: str) -> Opened:
    """Start or find what the peer needs; `PeerUnavailable` says what is missing."""
    if name == "redis":
        from bench.peers.redis_geo import RedisGeoIndex, redis_server

        server = redis_server()
        return Opened(lambda: RedisGeoIndex(server), server.how, server.stop)
    if name in ("postgres", "postgis"):
        from bench.peers.pg_geo import PostgresIndex, pg_server, postgis_server

        if name == "postgis":
            gis = postgis_server()
            return Opened(lambda: PostgresIndex(gis, postgis=True), gis.how, gis.stop)
        pg = pg_server()
        return Opened(lambda: PostgresIndex(pg, postgis=False), pg.how, lambda: None)
    if name == "balltree":
        from bench.peers.local import BallTreeIndex

        return Opened(BallTreeIndex, "in process", lambda: None)
    if name == "numpy":
        from bench.peers.local import NumpyScanIndex

        return Opened(NumpyScanIndex, "in process", lambda: None)
    raise ValueError(f"unknown peer {name!r}; known: {', '.join(PEERS)}")


def _measure(
    name: str, make: Callable[[Any], Any], morning_args: dict[str, Any], budget_s: float
) -> dict[str, Any]:
    """Warm up, then run the morning with `make(cell_index)` as the checked-in index."""
    timed: list[TimedIndex] = []

    def wrap(inner: Any) -> TimedIndex:
        timed.append(TimedIndex(make(inner)))
        return timed[-1]

    warm_up(wrap)
    res, _ = in_process(make_morning(**morning_args), wrap=wrap, budget_s=budget_s)
    index = timed[-1]
    close = getattr(index.inner, "close", None)
    if close is not None and not isinstance(index.inner, CellIndex):
        close()
    m = res["morning"]
    search = percentiles_us(index.query_ns)
    update = percentiles_us(index.update_ns)
    queries = len(index.query_ns)
    return {
        "name": name,
        "description": getattr(index.inner, "description", ""),
        "events_per_s": m["events_per_s"],
        "decision_p50_us": m["decision_p50_us"],
        "decision_p99_us": m["decision_p99_us"],
        "decision_cpu_p99_us": m["decision_cpu_p99_us"],
        "engine_s": m["engine_s"],
        "cpu_s": m["cpu_s"],
        "events": m["events"],
        "queries": queries,
        "search_p50_us": search["p50_us"],
        "search_p99_us": search["p99_us"],
        "search_s": round(sum(index.query_ns) / 1e9, 3),
        "candidates_per_query": round(index.candidates / queries, 1) if queries else 0.0,
        "updates": len(index.update_ns),
        "update_p50_us": update["p50_us"],
        "update_p99_us": update["p99_us"],
        "update_s": round(sum(index.update_ns) / 1e9, 3),
        "complete": res["complete"],
        "digest": res["digest"],
        "events_hash": res["events_hash"],
    }


def run_peers(
    *,
    scale: str = "city",
    workers: int | None = None,
    postings: int | None = None,
    seed: int = 7,
    peers: Iterable[str] = PEERS,
    budget_s: float = BUDGET_S,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Rows for lingong, each peer (or its `error`) and lingong again, in run order."""
    workers = default_workers(scale) if workers is None else workers
    args = {"scale": scale, "sizes": sizes_for(workers, postings), "seed": seed}
    workload = f"{scale}, {workers:,} registered workers, seed {seed}"
    say = progress or (lambda _msg: None)
    say(f"{LINGONG} ...")
    ref = _measure(LINGONG, lambda inner: inner, args, budget_s)
    ref.update(
        server="in process",
        description="waiting index (exact threshold top-k) + H3 cell index + numba kernels",
    )
    rows = [ref]
    for name in peers:
        say(f"{name} ...")
        try:
            opened = open_peer(name)
        except PeerUnavailable as exc:
            rows.append({"name": name, "error": str(exc), "same_offers": False})
            continue
        try:
            row = _measure(name, lambda _inner, o=opened: o.make(), args, budget_s)
        finally:
            opened.stop()
        row["server"] = opened.how
        rows.append(row)
    say(f"{LINGONG} again ...")
    again = _measure(LINGONG + "-again", lambda inner: inner, args, budget_s)
    again.update(server="in process", description="lingong once more, after the peers")
    rows.append(again)
    for row in rows:
        row["workload"] = workload
        if "error" in row:
            row.update(events_per_s=None, decision_p99_us=None, lingong_speedup=None)
            continue
        row["same_offers"] = bool(
            row["complete"]
            and ref["complete"]
            and row["events_hash"] == ref["events_hash"]
            and row["digest"] == ref["digest"]
        )
        eps = row["events_per_s"]
        row["lingong_speedup"] = round(ref["events_per_s"] / eps, 2) if eps else None
    return rows
