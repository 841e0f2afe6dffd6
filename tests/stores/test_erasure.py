"""Erasure reaches the stores: after `WorkerErased` the masked phone and ID are gone from
the registry and the reporting store, and the roster shows the placement as erased."""

from __future__ import annotations

from pathlib import Path

from adapters.log.filelog import FileLog
from adapters.stores import project_data_dir, registry_store, reporting_store
from adapters.stores.report_model import Period, Scope
from adapters.stores.reports import build
from engine import commands as c
from engine import events as e
from tests.support import World, cid


def test_erased_worker_leaves_no_masked_data_behind(tmp_path: Path):
    w = World()
    w.station()
    w.employer()
    w.worker("W1")
    w.worker("W2")
    w.check_in("W1")
    offer = next(ev for ev in w.post("J1").events if isinstance(ev, e.OfferMade))
    w.accept(offer.offer_id, "W1")
    w.run(c.EraseWorker(command_id=cid(), ts_ms=w.now, worker_id="W1", reason="本人申请"))
    with FileLog(tmp_path / "log", fsync=False) as log:
        log.append([e.encode_record(r) for r in w.records])

    out = project_data_dir(tmp_path)
    assert out["registry"]["to_seq"] == out["reporting"]["to_seq"] == len(w.records)
    with registry_store(tmp_path) as reg:
        rows = reg.query("SELECT worker_id, erased, phone_masked, id_masked, home_lat FROM workers")
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id["W1"] == (1, "", "", 0.0)
    assert by_id["W2"][0] == 0 and "****" in by_id["W2"][1]
    with reporting_store(tmp_path) as rep:
        assert rep.query(
            "SELECT erased, phone_masked, id_masked FROM d_worker WHERE worker_id = 'W1'"
        ) == [(1, "", "")]
        roster = build("roster", rep, Scope(period=Period.month("2026-11"))).sections[0].rows
    assert [(r["worker_id"], r["id_masked"], r["phone_masked"], r["status"]) for r in roster] == [
        ("W1", "", "", "已删除")
    ]
