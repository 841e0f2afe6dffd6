"""Small pieces of the stores: event coverage, change merging, DDL, periods, scoring."""

from __future__ import annotations

import pytest

from adapters.stores import registry, reporting
from adapters.stores.changes import Changes
from adapters.stores.render import text_cell
from adapters.stores.report_model import Column, Period, Scope
from adapters.stores.report_stars import score_item
from adapters.stores.reporting import day_of, work_days
from adapters.stores.schema import REGISTRY_TABLES, REPORTING_TABLES, ddl
from engine import events as e
from sim.morning import local_midnight_ms


@pytest.mark.parametrize("module", [registry, reporting], ids=["registry", "reporting"])
def test_every_event_type_has_an_explicit_handler(module):
    """A new event type must be decided on (projected or skipped), never ignored silently."""
    missing = [t.__name__ for t in e.ALL_TYPES if t not in module.ROUTES]
    assert missing == []


def test_changes_fold_updates_into_new_rows_and_merge_the_rest():
    ch = Changes(REGISTRY_TABLES)
    row = ["O1", "J1", "W1", 0.5, 1, 1, "wave", 10, 20, 100, 200, "live", "", 0]
    ch.insert("offers", row)
    ch.set("offers", ("O1",), status="accepted", closed_ts_ms=150)
    ch.set("offers", ("O0",), status="expired")
    ch.set("offers", ("O0",), status="withdrawn", reason="job_filled")
    ch.inc("hires", ("H1",), "wage_paid_fen", 100)
    ch.inc("hires", ("H1",), "wage_paid_fen", 50)
    ch.set("hires", ("H1",), wage_method="bank")
    ch.set("hires", ("H0",), status="arrived")
    assert ch.inserts["offers"][("O1",)][11] == "accepted"
    assert ch.update_groups("offers") == [
        (("status", "reason"), (), [("withdrawn", "job_filled", "O0")])
    ]
    assert ch.update_groups("hires", by_key=True) == [  # one statement per key, sets and incs
        (("wage_method",), ("wage_paid_fen",), [("bank", 150, "H1")]),
        (("status",), (), [("arrived", "H0")]),
    ]
    assert (ch.rows(), ch.ops) == (4, 8)
    with pytest.raises(ValueError, match="twice"):
        ch.insert("offers", list(row))


def test_changes_hold_facts_as_columns():
    ch = Changes(REPORTING_TABLES)
    ch.add_facts("f_wage", [(1, 2), (0, 0), (10, 20), (20261123, 20261123), ("H1", "H2"),
                            (100, 200), ("cash", "bank")])  # fmt: skip
    ch.fact("f_wage", (3, 1, 30, 20261124, "H3", 300, "cash"))
    assert ch.fact_rows("f_wage")[2] == (3, 1, 30, 20261124, "H3", 300, "cash")
    assert (ch.rows(), ch.ops, ch.empty()) == (3, 3, False)
    with pytest.raises(ValueError, match="columns"):
        ch.add_facts("f_wage", [(1,), (0,)])
    with pytest.raises(ValueError, match="unequal"):
        ch.add_facts("f_wage", [(1,), (0,), (1,), (1,), ("H",), (1,), ()])


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb", "postgres"])
def test_ddl_declares_every_column_not_null(dialect: str):
    for table in REGISTRY_TABLES + REPORTING_TABLES:
        create = ddl(table, dialect, "s" if dialect == "postgres" else "")[0]
        assert create.count("NOT NULL") == len(table.columns)
        assert ("PRIMARY KEY" in create) == bool(table.key)


def test_local_days_are_asia_shanghai():
    midnight = local_midnight_ms("2026-12-01")
    assert day_of(midnight) == 20261201
    assert day_of(midnight - 1) == 20261130  # 23:59:59.999 local on the 30th is UTC 15:59
    assert work_days(midnight - 3_600_000, midnight + 3_600_000) == 2
    assert work_days(midnight + 3_600_000, midnight + 9 * 3_600_000) == 1


def test_periods_and_scopes():
    feb = Period.month("2028-02")
    assert (feb.first_day, feb.last_day, feb.days) == (20280201, 20280229, 29)
    rng = Period.range("2026-11-20", "2026-12-03")
    assert (rng.first_day, rng.last_day, rng.days) == (20261120, 20261203, 14)
    with pytest.raises(ValueError):
        Period.month("2026-13")
    with pytest.raises(ValueError):
        Period.range("2026-12-03", "2026-11-20")
    with pytest.raises(ValueError):
        Scope(period=feb, region="451")
    assert "45" in Scope(period=feb, region="45").describe()


def test_scoring_items():
    linear = {
        "kind": "linear",
        "points": 25,
        "full_at": {"market": 1200, "post": 300},
        "prorate": True,
    }
    assert score_item(linear, 1200, True, "market", 365) == 25
    assert score_item(linear, 50, True, "market", 30) == pytest.approx(25 * 50 / (1200 * 30 / 365))
    ratio = {"kind": "ratio", "points": 10, "full_at": 0.8, "if_none": 1.0}
    assert score_item(ratio, 0.4, True, "post", 30) == pytest.approx(5.0)
    assert score_item(ratio, 0.0, False, "post", 30) == 10
    penalty = {"kind": "penalty", "points": 5, "per_case": 2.5}
    assert [score_item(penalty, n, True, "post", 30) for n in (0, 1, 3)] == [5, 2.5, 0]


def test_yuan_and_percent_display():
    assert text_cell(Column("x", "x", "fen"), 12345) == "123.45"
    assert text_cell(Column("x", "x", "ratio"), 0.8291) == "82.9%"
    assert text_cell(Column("x", "x"), None) == ""


def test_subcommands_register_into_the_main_cli():
    import lingong.cli

    args = lingong.cli.build_parser().parse_args(
        ["report", "wages", "--data", "d", "--format", "csv", "--out", "o.csv", "--region", "45"]
    )
    assert (args.name, args.region, args.format) == ("wages", "45", "csv")
    assert lingong.cli.build_parser().parse_args(["project", "--data", "d", "--rebuild"]).rebuild
