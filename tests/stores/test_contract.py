"""Store contract, written once: registry on SQLite and PostgreSQL, reporting on DuckDB and
PostgreSQL. Contents are checked against what the log says (`logfacts`), never against
the projection's own idea of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.log.filelog import FileLog, read_log_batches
from adapters.stores import registry
from adapters.stores.backend import Backend, StalePosition
from adapters.stores.changes import Changes
from adapters.stores.projector import REGISTRY, REPORTING, Projection, StoreMismatch, project
from adapters.stores.source import read_records
from engine.idnumbers import find_unmasked_pii
from tests.stores import logfacts as lf
from tests.stores.conftest import Factory


@pytest.fixture(scope="module")
def world(demo_dir: Path) -> lf.World:
    return lf.world(lf.read_all(demo_dir / "log"))


def dump(store: Backend, proj: Projection) -> dict[str, list[tuple]]:
    out = {}
    for t in proj.tables:
        order = ", ".join(t.key) if t.key else "seq, idx"
        out[t.name] = store.query(f"SELECT * FROM {store.qual(t.name)} ORDER BY {order}")
    return out


def counts(store: Backend, proj: Projection) -> dict[str, int]:
    return {t.name: store.count(t.name) for t in proj.tables}


def last_seq(demo_dir: Path) -> int:
    return max(seq for b in read_log_batches(demo_dir / "log") for seq, _ in b)


# ---------------------------------------------------------------- registry -------------


def test_registry_matches_the_log(registry_factory: Factory, demo_dir: Path, world: lf.World):
    store = registry_factory("a")
    stats = project(store, REGISTRY, demo_dir / "log", batch_frames=500)
    assert stats.to_seq == last_seq(demo_dir) and stats.batches > 1
    assert store.position("registry")[0] == stats.to_seq
    expected = lf.registry_counts(world)
    assert {k: v for k, v in counts(store, REGISTRY).items() if k in expected} == expected
    q = store.query
    assert dict(q("SELECT station_id, status FROM stations")) == world.station_status
    assert dict(q("SELECT job_id, status FROM jobs")) == world.job_status
    assert dict(q("SELECT offer_id, status FROM offers")) == world.offers
    assert dict(q("SELECT hire_id, status FROM hires")) == world.hire_status
    assert dict(q("SELECT complaint_id, status FROM complaints")) == world.complaints
    assert dict(q("SELECT worker_id, checked_in FROM workers")) == world.checked_in
    paid = {k: v for k, v in q("SELECT hire_id, wage_paid_fen FROM hires") if v}
    assert paid == dict(world.paid_fen)
    hired = {j: n for j, n in q("SELECT job_id, hired FROM jobs") if n}
    per_job: dict[str, int] = {}
    for h in world.hires.values():
        per_job[h.job_id] = per_job.get(h.job_id, 0) + 1
    assert hired == per_job
    masked = {w: (p, i) for w, p, i in q("SELECT worker_id, phone_masked, id_masked FROM workers")}
    assert masked == {w: (r.phone_masked, r.id_masked) for w, r in world.workers.items()}
    open_now = sorted(j for j, st in world.job_status.items() if st == "open")
    assert sorted(r[0] for r in registry.open_jobs(store)) == open_now
    city = next(iter(world.stations.values())).region[:4]
    in_city = sorted(j for j in open_now if world.jobs[j].region.startswith(city))
    assert sorted(r[0] for r in registry.open_jobs(store, city)) == in_city
    wid, reg = next(iter(world.workers.items()))
    row = registry.worker(store, wid)
    assert row is not None and (row["id_masked"], row["region"]) == (reg.id_masked, reg.region)
    assert registry.worker(store, "nobody") is None


def test_registry_holds_no_unmasked_personal_data(registry_factory: Factory, demo_dir: Path):
    store = registry_factory("a")
    project(store, REGISTRY, demo_dir / "log")
    text = repr(dump(store, REGISTRY))
    assert "****" in text  # masked forms are there ...
    assert find_unmasked_pii(text) == []  # ... and nothing else


# ---------------------------------------------------------------- reporting ------------


def test_reporting_matches_the_log(reporting_factory: Factory, demo_dir: Path, world: lf.World):
    store = reporting_factory("a")
    project(store, REPORTING, demo_dir / "log", batch_frames=700)
    assert counts(store, REPORTING) == lf.fact_counts(world)
    for t in REPORTING.tables:
        if not t.key:  # every fact row once: (seq, idx) unique
            dupes = store.query(
                f"SELECT seq, idx FROM {store.qual(t.name)} GROUP BY seq, idx HAVING count(*) > 1"
            )
            assert dupes == [], t.name
    days = store.query("SELECT DISTINCT day FROM f_checkin")
    assert days == [(20261123,)]  # Asia/Shanghai day of the morning


# ---------------------------------------------------------------- both -----------------


def test_catch_up_in_pieces_equals_one_pass(store_case, demo_dir: Path):
    factory, proj = store_case
    one = factory("one")
    project(one, proj, demo_dir / "log")
    pieces = factory("pieces")
    end = last_seq(demo_dir)
    first = project(pieces, proj, demo_dir / "log", to_seq=end // 3, batch_frames=97)
    assert first.to_seq == end // 3
    pieces.close()
    reopened = factory("pieces")  # a restart: position comes from the store
    second = project(reopened, proj, demo_dir / "log", batch_frames=1000)
    assert (second.from_seq, second.to_seq) == (end // 3 + 1, end)
    assert dump(reopened, proj) == dump(one, proj)
    again = project(reopened, proj, demo_dir / "log")
    assert (again.records, again.rows) == (0, 0)


def test_rebuild_from_zero(store_case, demo_dir: Path):
    factory, proj = store_case
    store = factory("a")
    project(store, proj, demo_dir / "log")
    before = dump(store, proj)
    stats = project(store, proj, demo_dir / "log", rebuild=True)
    assert stats.from_seq == 1 and stats.rebuilt
    assert dump(store, proj) == before


def test_failed_write_leaves_no_trace(store_case, demo_dir: Path, monkeypatch):
    factory, proj = store_case
    store = factory("a")
    project(store, proj, demo_dir / "log", to_seq=1000, batch_frames=500)
    before = dump(store, proj)
    real = type(store)._set_position

    def boom(self, *args, **kwargs):  # fails after every row of the batch went in
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(store), "_set_position", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        project(store, proj, demo_dir / "log", batch_frames=500)
    monkeypatch.setattr(type(store), "_set_position", real)
    assert store.position(proj.name)[0] == 1000
    assert dump(store, proj) == before  # the whole batch rolled back
    project(store, proj, demo_dir / "log")
    fresh = factory("b")
    project(fresh, proj, demo_dir / "log")
    assert dump(store, proj) == dump(fresh, proj)


def test_a_second_projector_cannot_write_the_same_batch(store_case, demo_dir: Path):
    factory, proj = store_case
    store = factory("a")
    project(store, proj, demo_dir / "log", to_seq=300)
    before = dump(store, proj)
    with pytest.raises(StalePosition):  # the position check alone
        store.write(
            Changes(proj.tables), proj.name, from_position=200, position=300, payload_hash="x",
            now_ms=0,
        )  # fmt: skip
    ch = Changes(proj.tables)  # what a projector that read position 200 would write
    proj.apply_batch(ch, next(read_records(demo_dir / "log", 201, 100)))
    for stale in (200, 0):  # keys or the position check stop it; nothing is written
        with pytest.raises(Exception):  # noqa: B017
            store.write(
                ch, proj.name, from_position=stale, position=300, payload_hash="x", now_ms=0
            )
    assert dump(store, proj) == before and store.position(proj.name)[0] == 300


def _log_of(path: Path, payloads: list[bytes]) -> Path:
    with FileLog(path, fsync=False) as log:
        log.append(payloads)
    return path


def test_store_refuses_a_different_log(store_case, demo_dir: Path, tmp_path: Path):
    factory, proj = store_case
    payloads = [p for b in read_log_batches(demo_dir / "log", 1, 60) for _, p in b][:60]
    store = factory("a")
    project(store, proj, demo_dir / "log", to_seq=50)
    with pytest.raises(StoreMismatch, match="ends before"):
        project(store, proj, _log_of(tmp_path / "short", payloads[:20]))
    other = payloads[:49] + [payloads[50]]  # seq 50 holds another record
    with pytest.raises(StoreMismatch, match="different record"):
        project(store, proj, _log_of(tmp_path / "other", other))
    assert project(store, proj, demo_dir / "log", to_seq=60).from_seq == 51


def test_same_rows_in_every_backend(demo_dir: Path, tmp_path: Path, pg_dsn: str):
    from adapters.stores.backend import DuckDBBackend, SQLiteBackend
    from adapters.stores.pg import PostgresBackend

    pairs = [
        (REGISTRY, SQLiteBackend(tmp_path / "r.sqlite"), PostgresBackend(pg_dsn, "reg")),
        (REPORTING, DuckDBBackend(tmp_path / "r.duckdb"), PostgresBackend(pg_dsn, "rep")),
    ]
    for proj, a, b in pairs:
        project(a, proj, demo_dir / "log", batch_frames=333)
        project(b, proj, demo_dir / "log", batch_frames=2000)
        assert dump(a, proj) == dump(b, proj), proj.name
        a.close()
        b.close()
