"""Peers: what a team would build instead of lingong's matcher, on lingong's workload.

Modules:
- `base`       the index interface (`PeerIndex`, as `engine.matching.index.CellIndex`),
               `TimedIndex`, `DenseSet`, `PeerUnavailable`.
- `redis_geo`  Redis GEOSEARCH (the machine's service, or `redis-server` started here).
- `pg_geo`     PostgreSQL: bounding box + exact distance on a GiST `point` index, and
               PostGIS `ST_DWithin` where the extension exists.
- `local`      scikit-learn BallTree (haversine) and a numpy brute-force scan.
- `run`        `run_peers`: the same generated morning through lingong and through
               each peer; throughput, latency, ratios and the same-offers check.

How a peer plugs in: the engine's index of checked-in workers (`State.checked_in`) is
replaced by the peer's, so every check-in, move and check-out goes to the peer's store
and every posting's candidate search is the peer's query; lingong's filters, score and
top-k (the numba kernel) then run on the peer's candidates. The peers therefore differ
from lingong only in the spatial candidate search and its data access path, and each
must make exactly lingong's decisions (same offers, same hires, same state digest).
"""
