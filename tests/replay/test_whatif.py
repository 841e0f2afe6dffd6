"""What-if: the recorded policy reproduces the recorded outcomes; another policy changes them
under the documented rule for replies to offers."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from engine import events as e
from replay.cli import main
from replay.whatif import format_whatif, merge_policy, whatif
from tests.replay.util import records


def _identical(report, digest: str) -> None:
    assert report.records_with_other_decisions == 0
    assert report.facts_dropped == {}
    assert report.records_replayed == report.records
    assert report.offers_not_in_recorded_run == 0
    assert report.recorded == report.whatif
    assert report.digest == digest


def test_no_change_reproduces_everything(demo) -> None:
    _identical(whatif(demo[0], {}), demo[1]["digest"])


def test_recorded_county_policy_reproduces_everything(demo) -> None:
    sets = [r.events[0] for r in records(demo[0]) if isinstance(r.events[0], e.PolicySet)]
    county = next(p for p in sets if len(p.region) == 6)
    full = msgspec.to_builtins(county.policy)  # every field, as an auditor would write it
    report = whatif(demo[0], full, region=county.region)
    assert any(r["region"] == county.region for r in report.policies_replaced)
    _identical(report, demo[1]["digest"])


def test_another_policy_changes_outcomes(demo) -> None:
    report = whatif(demo[0], {"max_waves": 1, "overbook": 1.0})
    assert report.records_with_other_decisions > 0
    assert report.recorded != report.whatif
    w = report.whatif
    assert w["hires"] <= w["slots"] and w["offers_wave"] < report.recorded["offers_wave"]
    for key in report.facts_dropped:
        fact, rule = key.split(":")
        if fact in ("OfferAccepted", "OfferDeclined"):
            assert rule in ("no_live_offer", "offer_live", "job_open", "no_double_hire")
    assert report.records_replayed + sum(report.facts_dropped.values()) == report.records
    assert "what-if" in format_whatif(report)


def test_merge_keeps_unnamed_fields() -> None:
    base = e.Policy(radius_m=900, weights=e.Weights(older=0.7))
    merged = merge_policy(base, {"overbook": 2, "weights": {"travel": 2.0}})
    assert (merged.radius_m, merged.overbook, merged.weights.older) == (900, 2.0, 0.7)
    assert merged.weights.travel == 2.0


@pytest.mark.parametrize(
    "policy", [{"radius": 3000}, {"weights": {"age": 1}}, {"overbook": 10.0}, {"radius_m": "x"}]
)
def test_bad_policy_files(demo, tmp_path: Path, policy) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(policy))
    assert main(["whatif", str(demo[0]), "--policy", str(path), "--quiet"]) == 2


def test_cli_json(demo, tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"weights": {"older": 0.0, "hardship": 0.0}}))
    assert main(["whatif", str(demo[0]), "--policy", str(path), "--json", "--quiet"]) == 0
    out = msgspec.json.decode(capsys.readouterr().out)
    assert out["overrides"] == {"weights": {"older": 0.0, "hardship": 0.0}}
    assert set(out["recorded"]["by_age_band"]) <= {"<30", "30-39", "40-49", "50-59", "60+"}
