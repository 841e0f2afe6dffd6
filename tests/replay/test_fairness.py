"""Fairness audit: rates among eligible workers, impact ratios, chart and page."""

from __future__ import annotations

from pathlib import Path

from engine import events as e
from engine.events import Policy, Weights
from replay.cli import main
from replay.fairness import fairness
from replay.fairness_report import format_fairness, write_chart, write_html
from tests.replay.util import write_log
from tests.support import World, near


def test_demo_rates_are_consistent(demo, tmp_path: Path) -> None:
    r = fairness(demo[0])
    assert r.decision_points > 0 and r.eligible_workers >= r.offered_workers >= r.hired_workers > 0
    for rows in r.dimensions.values():
        assert sum(g.eligible for g in rows) == r.eligible_workers
        assert sum(g.offered for g in rows) == r.offered_workers
        assert sum(g.hired for g in rows) == r.hired_workers
        big = [g for g in rows if g.eligible >= r.min_group]
        assert max(g.offer_impact for g in big) == 1.0
        for g in rows:
            assert g.eligible >= g.offered >= g.hired
            assert g.offer_rate == round(g.offered / g.eligible, 4)
            flagged = any("offer rate impact" in f for f in g.flags)
            assert flagged == (g.offer_impact is not None and g.offer_impact < r.threshold)
    png = write_chart(r, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_html(r, tmp_path / "f.html", png).read_text(encoding="utf-8")
    assert "<table" in page and "data:image/png;base64," in page
    assert "four-fifths" in format_fairness(r)


def test_disadvantaged_group_is_flagged(tmp_path: Path) -> None:
    """A policy that always prefers older workers: young eligible workers never get offers."""
    w = World(Policy(weights=Weights(older=5.0), overbook=1.0, max_open_offers_per_worker=1))
    w.station("S1")
    w.employer("E1")
    for i in range(3):
        w.worker(f"OLD{i}", birth_year=1970, where=near(0.0, 10.0 * i))
        w.worker(f"YNG{i}", birth_year=2000, where=near(0.0, 10.0 * i))
    for i in range(3):
        w.check_in(f"OLD{i}", where=near(300.0, 10.0 * i))
        w.check_in(f"YNG{i}", where=near(0.0, 10.0 * i))  # nearer to the jobs
    for j in range(3):
        start = w.now + (j + 1) * 3_600_000
        w.post(f"J{j}", heads=1, where=near(0.0, 0.0), start=start, title=f"搬家工{j}")
    log = write_log(tmp_path / "log", [e.encode_record(r) for r in w.records])
    r = fairness(log, min_group=2)
    bands = {g.group: g for g in r.dimensions["age_band"]}
    assert (bands["50-59"].offered, bands["50-59"].eligible) == (3, 3)
    assert (bands["<30"].offered, bands["<30"].eligible) == (0, 3)
    assert bands["<30"].offer_impact == 0.0 and bands["<30"].flags
    assert bands["50-59"].offer_impact == 1.0 and not bands["50-59"].flags


def test_cli_writes_files(demo, tmp_path: Path, capsys) -> None:
    assert main(["fairness", str(demo[0]), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "fairness.png").is_file()
    assert (tmp_path / "out" / "fairness.html").is_file()
    assert "fairness.html" in capsys.readouterr().out


def _older_first_log(tmp_path: Path, reason: str = "") -> Path:
    from engine import commands as c
    from tests.support import cid

    w = World(Policy(weights=Weights(older=5.0), overbook=1.0, max_open_offers_per_worker=1))
    if reason:
        w.run(
            c.SetPolicy(
                command_id=cid(),
                ts_ms=w.now,
                region="",
                policy=w.state.policies[""][1],
                note="older workers first this winter",
                fairness_exception_reason=reason,
            )
        )
    w.station("S1")
    w.employer("E1")
    for i in range(3):
        w.worker(f"OLD{i}", birth_year=1970, where=near(0.0, 10.0 * i))
        w.worker(f"YNG{i}", birth_year=2000, where=near(0.0, 10.0 * i))
        w.check_in(f"OLD{i}", where=near(300.0, 10.0 * i))
        w.check_in(f"YNG{i}", where=near(0.0, 10.0 * i))
    for j in range(3):
        w.post(f"J{j}", heads=1, where=near(0.0, 0.0), start=w.now + (j + 1) * 3_600_000)
    return write_log(tmp_path / "log", [e.encode_record(r) for r in w.records])


def test_a_policy_breaking_the_aims_fails_unless_a_reason_is_recorded(tmp_path: Path) -> None:
    log = _older_first_log(tmp_path / "a")
    r = fairness(log, min_group=2)
    assert r.min_age_impact == 0.0 and not r.aims_met and not r.passed
    assert "FAILED" in format_fairness(r)
    assert main(["fairness", str(log), "--min-group", "2", "--quiet"]) == 1
    excused = _older_first_log(tmp_path / "b", reason="冬季大龄优先, 局务会 2026-11 决定")
    r = fairness(excused, min_group=2)
    assert (
        not r.aims_met
        and r.passed
        and r.exceptions == {"(national)": "冬季大龄优先, 局务会 2026-11 决定"}
    )
    assert main(["fairness", str(excused), "--min-group", "2", "--quiet"]) == 0


def test_the_default_policy_meets_the_aims_on_a_small_morning(tmp_path: Path) -> None:
    from bench.fairness_bench import morning_log

    log, _ = morning_log(tmp_path, workers=3000, postings=600, seed=7)
    r = fairness(log)
    assert r.priority_offer_ratio is not None and r.priority_offer_ratio >= 1.0
    assert r.min_age_impact is not None and r.min_age_impact >= 0.8
    assert r.passed and not r.exceptions
