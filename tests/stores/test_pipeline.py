"""The projector's read-ahead worker: the same rows with and without it, and an error on
either side (folding in the worker, writing in the caller) stops both, is raised in the
caller, and leaves the store at the last committed batch with no worker thread behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adapters.stores.backend import SQLiteBackend
from adapters.stores.projector import REGISTRY, REPORTING, Projection, project
from tests.stores.test_contract import dump


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lingong-project-read"]


@pytest.mark.parametrize("proj", [REGISTRY, REPORTING], ids=["registry", "reporting"])
def test_read_ahead_gives_the_same_rows(proj: Projection, demo_dir: Path, tmp_path: Path):
    with SQLiteBackend(tmp_path / "a.sqlite") as a, SQLiteBackend(tmp_path / "b.sqlite") as b:
        sa = project(a, proj, demo_dir / "log", batch_frames=300, pipeline=True)
        sb = project(b, proj, demo_dir / "log", batch_frames=300, pipeline=False)
        assert sa.batches > 3 and (sa.to_seq, sa.rows) == (sb.to_seq, sb.rows)
        assert dump(a, proj) == dump(b, proj)
    assert workers() == []


class Boom(RuntimeError):
    pass


def test_a_fold_error_in_the_worker_is_raised_and_stops_it(demo_dir: Path, tmp_path: Path):
    calls = []

    def apply_batch(ch, batch):  # noqa: ANN001
        calls.append(batch[0][0])
        if len(calls) == 3:
            raise Boom("fold failed")
        REGISTRY.apply_batch(ch, batch)

    failing = Projection(REGISTRY.name, REGISTRY.tables, apply_batch)
    with SQLiteBackend(tmp_path / "r.sqlite") as store:
        with pytest.raises(Boom, match="fold failed"):
            project(store, failing, demo_dir / "log", batch_frames=200, pipeline=True)
        assert store.position(REGISTRY.name)[0] == 400  # the two batches before it
        assert len(calls) == 3  # the worker stopped at the failure
    assert workers() == []


class FailingStore(SQLiteBackend):
    def __init__(self, path: Path, fail_at: int) -> None:
        super().__init__(path)
        self.fail_at, self.writes = fail_at, 0

    def write(self, changes, projection, **kw) -> None:  # noqa: ANN001, ANN003
        self.writes += 1
        if self.writes == self.fail_at:
            raise Boom("write failed")
        super().write(changes, projection, **kw)


def test_a_write_error_is_raised_and_stops_the_worker(demo_dir: Path, tmp_path: Path):
    with FailingStore(tmp_path / "r.sqlite", fail_at=2) as store:
        with pytest.raises(Boom, match="write failed"):
            project(store, REPORTING, demo_dir / "log", batch_frames=100, pipeline=True)
        assert store.position(REPORTING.name)[0] == 100
    assert workers() == []
    with SQLiteBackend(tmp_path / "r.sqlite") as store:  # and it resumes from there
        stats = project(store, REPORTING, demo_dir / "log", batch_frames=100, pipeline=True)
        assert stats.from_seq == 101 and stats.records > 100
