"""`lingong project --verify` on every backend: a store edited behind the projector is found.

Contract (`adapters.stores.verify.compare`, every projection on every backend): two
projections of the same log compare equal; after a row of a keyed table is changed, a
row of a keyed table deleted and a row of a fact table copied, the comparison names the
tables, counts the rows each way and names the keyed ones by key. The data-folder level
(`verify_data_dir`, the command) on the file stores and on PostgreSQL: the live stores
are only read, the throwaway store is gone afterwards, the exit code says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from adapters.stores import project_data_dir, registry_store
from adapters.stores.projector import project
from adapters.stores.verify import compare, verify_data_dir
from tests.stores.test_contract import dump

DEMO_TO_SEQ = 1500


def _tamper(store, proj) -> dict[str, tuple[int, int]]:  # noqa: ANN001
    """Change one row and delete another of the first keyed table, copy a row of the
    first fact table: {table: (missing, extra)} the comparison should report."""
    keyed = next(t for t in proj.tables if t.key and store.count(t.name) >= 2)
    number = next(n for n, code in keyed.columns if code == "I" and n not in keyed.key)
    cols = ", ".join(keyed.key)
    first, second = store.query(
        f"SELECT {cols} FROM {store.qual(keyed.name)} ORDER BY {cols} LIMIT 2"
    )
    where = " AND ".join(f"{k} = ?" for k in keyed.key)
    # (read before writing: a PostgreSQL read ends the open transaction)
    facts = [t for t in proj.tables if not t.key and store.count(t.name) >= 1]
    store._begin()
    store._exec(f"UPDATE {store.qual(keyed.name)} SET {number} = {number} + 1 WHERE {where}", first)
    store._exec(f"DELETE FROM {store.qual(keyed.name)} WHERE {where}", second)
    expected = {keyed.name: (2, 1)}
    if facts:
        fact = facts[0]
        names = ", ".join(fact.names)
        store._exec(
            f"INSERT INTO {store.qual(fact.name)} ({names}) "
            f"SELECT {names} FROM {store.qual(fact.name)} LIMIT 1"
        )
        expected[fact.name] = (0, 1)
    store._commit()
    return expected


def test_compare_finds_rows_edited_behind_the_projector(store_case, demo_dir: Path) -> None:
    factory, proj = store_case
    live, fresh = factory("live"), factory("fresh")
    project(live, proj, demo_dir / "log", to_seq=DEMO_TO_SEQ, batch_frames=300)
    project(fresh, proj, demo_dir / "log", to_seq=DEMO_TO_SEQ)
    same = compare(live, fresh, proj)
    assert same["ok"], same
    expected = _tamper(live, proj)
    before = dump(live, proj)
    found = compare(live, fresh, proj)
    assert not found["ok"]
    bad = {
        name: (e["missing"], e["extra"]) for name, e in found["tables"].items() if "missing" in e
    }
    assert bad == expected
    keyed = next(iter(expected))
    assert len(found["tables"][keyed]["missing_keys"]) == 2  # named by key only
    assert all(len(k) == len(next(t for t in proj.tables if t.name == keyed).key)
               for k in found["tables"][keyed]["missing_keys"])  # fmt: skip
    assert dump(live, proj) == before  # only read


def test_verify_a_data_folder_on_file_stores(data_dir: Path, capsys) -> None:  # noqa: ANN001
    from lingong.cli import main

    project_data_dir(data_dir)
    assert main(["project", "--data", str(data_dir), "--verify"]) == 0
    assert "registry store at seq" in capsys.readouterr().out
    with registry_store(data_dir) as store:
        from adapters.stores.projector import REGISTRY

        _tamper(store, REGISTRY)
    assert main(["project", "--data", str(data_dir), "--verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and not out["registry"]["ok"] and out["reporting"]["ok"]
    assert main(["project", "--data", str(data_dir), "--verify"]) == 1
    text = capsys.readouterr().out
    assert "DIFFERS from the log" in text and f"lingong project --rebuild --data {data_dir}" in text
    assert sorted(p.name for p in data_dir.iterdir()) == [
        "log",
        "registry.sqlite",
        "reporting.duckdb",
    ]
    assert main(["project", "--data", str(data_dir), "--rebuild"]) == 0
    assert main(["project", "--data", str(data_dir), "--verify"]) == 0


def test_verify_on_postgres_drops_its_throwaway_schema(data_dir: Path, pg_dsn: str) -> None:
    from adapters.stores.pg import REGISTRY_SCHEMA, PostgresBackend
    from adapters.stores.projector import REGISTRY

    project_data_dir(data_dir, pg_dsn=pg_dsn, which=("registry",))
    assert verify_data_dir(data_dir, pg_dsn=pg_dsn, which=("registry",))["ok"]
    with PostgresBackend(pg_dsn, REGISTRY_SCHEMA) as store:
        _tamper(store, REGISTRY)
    assert not verify_data_dir(data_dir, pg_dsn=pg_dsn, which=("registry",))["ok"]
    with psycopg.connect(pg_dsn) as conn:
        schemas = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()]
    assert [s for s in schemas if "verify" in s] == []


def test_a_folder_without_stores_is_refused(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from lingong.cli import main

    (tmp_path / "log").mkdir()
    assert main(["project", "--data", str(tmp_path), "--verify"]) == 2
    assert "lingong project" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log"]


def test_a_store_held_by_a_writer_is_refused_clearly(data_dir: Path, capsys) -> None:  # noqa: ANN001
    import duckdb

    from lingong.cli import main

    project_data_dir(data_dir, which=("reporting",))
    writer = duckdb.connect(str(data_dir / "reporting.duckdb"))  # as a projector holds it
    try:
        code = main(["project", "--data", str(data_dir), "--verify", "--only", "reporting"])
    finally:
        writer.close()
    assert code == 2
    assert "cannot open the reporting store to read it" in capsys.readouterr().err
