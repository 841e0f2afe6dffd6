"""`lingong demo` as a user runs it: the date, the folder rules, and a summary that adds up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec

from sim.demo import REFUSAL_KINDS, DemoSummary, format_summary
from tests.cli.conftest import DATE, SMALL, Run, subprocess_cli

SIZE_ARGS = ["--workers", SMALL.workers, "--postings", SMALL.postings, "--no-stores"]


def _summary(stdout: str) -> DemoSummary:
    doc = msgspec.json.decode(stdout)
    doc.pop("stores", None)
    return msgspec.convert(doc, DemoSummary)


def _text_sums(text: str) -> list[tuple[int, list[int], str]]:
    """Every `N ... = a ... + b ...` line of the text summary: (N, [a, b, ...], line)."""
    out = []
    for line in text.splitlines():
        if " = " not in line:
            continue
        left, right = line.split(" = ", 1)
        total = int(re.findall(r"\d+", left)[-1])
        parts = [int(re.match(r"\s*(\d+)", p).group(1)) for p in right.split(";")[0].split(" + ")]
        out.append((total, parts, line))
    return out


def test_demo_counts_complaint_cases_resolved_and_overdue(small_demo) -> None:
    _, s = small_demo
    assert s.check() == []
    assert s.complaints > 0 and s.complaints_resolved > 0 and s.complaints_overdue > 0
    assert s.complaints == s.complaints_resolved + s.complaints_rejected + s.complaints_open
    assert s.complaints_overdue == s.complaints_open  # the closing tick passed every deadline
    assert s.refusal_rules.get("ChangeComplaintStatus:region", 0) == 0
    out = json.loads(msgspec.json.encode(s))
    assert out["complaints_resolved"] == s.complaints_resolved
    assert out["complaints_overdue"] == s.complaints_overdue
    assert f"complaint cases    {s.complaints} = " in format_summary(s)


def test_text_summary_adds_up_and_names_the_deliberate_mistakes(small_demo) -> None:
    _, s = small_demo
    assert s.check() == []
    text = format_summary(s)
    sums = _text_sums(text)
    assert len(sums) >= 7  # postings (3), published, offers (2), after the hire (2)
    for total, parts, line in sums:
        assert total == sum(parts), line
    # the refusals: deliberate bad inputs, then what a live market refuses by itself
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("refusals"))
    assert int(re.findall(r"\d+", lines[start])[0]) == s.refusals > 0
    counted = []
    for line in lines[start + 1 :]:
        if "by command and rule" in line:
            break
        counted.append(int(line.split()[0]))
    assert sum(counted) == s.refusals
    assert s.deliberate_refusals > 0
    assert f"{s.deliberate_refusals} deliberate bad inputs" in text
    assert "on purpose" in text and "ID numbers with a wrong check digit" in text
    bad_ids = s.refusal_rules.get("RegisterWorker:checksum", 0)
    assert bad_ids > 0 and s.refusal_kinds["bad_id_number"] == bad_ids
    assert s.refusal_kinds.get("other", 0) == 0  # every refusal of the crowd is explained
    assert set(s.refusal_kinds) <= set(REFUSAL_KINDS)


def test_demo_counts_agreements_arrears_and_early_pushes(run: Run, tmp_path: Path) -> None:
    """Issue 14: `lingong demo --json` prints agreements, arrears opened and closed and the
    pushes before 07:00, non-zero from the crowd (some employers pay half first, most the
    rest hours later); the text line of arrears adds up (checked above for every line)."""
    code, out, err = run("demo", "--data", tmp_path / "d", *SIZE_ARGS, "--date", DATE, "--json")
    assert code == 0, err
    doc = msgspec.json.decode(out)
    for key in ("agreements", "arrears_opened", "arrears_closed", "pushes_before_7am"):
        assert key in doc, key
    s = _summary(out)
    assert s.check() == []
    assert s.agreements == s.hires > 0  # every hire of the morning records its agreement
    assert s.arrears_opened > s.arrears_closed > 0
    # still open: the partial payments, and (after the demo's closing tick at its complaint
    # cases' deadline, sim.cases) the hires never paid once their wages fell due
    assert s.arrears_opened - s.arrears_closed >= s.wages_partial
    assert s.arrears_holds > 0 and s.pushes_before_7am > 0
    assert s.wage_payments == s.wages_paid + s.wages_partial + s.arrears_closed


def test_demo_runs_today_in_shanghai_unless_date(run: Run, tmp_path: Path, monkeypatch) -> None:
    from lingong import cli

    # 2026-11-30 17:00 UTC is already 2026-12-01 01:00 in Asia/Shanghai
    assert cli.today(1_796_058_000_000) == "2026-12-01"
    monkeypatch.setattr(cli, "today", lambda now_ms=None: "2026-12-05")
    code, out, err = run("demo", "--data", tmp_path / "a", *SIZE_ARGS, "--json")
    assert code == 0, err
    assert _summary(out).date == "2026-12-05"
    code, out, err = run("demo", "--data", tmp_path / "b", *SIZE_ARGS, "--date", DATE, "--json")
    assert code == 0, err
    assert _summary(out).date == DATE


def test_non_empty_folder_is_refused_or_continued(run: Run, tmp_path: Path, monkeypatch) -> None:
    from lingong import cli

    monkeypatch.setattr(cli, "today", lambda now_ms=None: "2026-11-20")  # before the log
    data = tmp_path / "data"
    code, out, err = run("demo", "--data", data, *SIZE_ARGS, "--date", DATE, "--json")
    assert code == 0, err
    first = _summary(out)
    segments = {p.name: p.stat().st_size for p in (data / "log").glob("*.seg")}

    code, out, err = run("demo", "--data", data, *SIZE_ARGS, "--date", DATE)
    assert code == 2 and out == ""
    assert "not empty" in err and f"{first.records} records" in err
    assert "--continue" in err and "rm -rf" in err  # says why, and what to do
    assert {p.name: p.stat().st_size for p in (data / "log").glob("*.seg")} == segments

    code, out, err = run("demo", "--data", data, *SIZE_ARGS, "--continue", "--json")
    assert code == 0, err
    assert "continuing the log" in err
    again = _summary(out)
    # the day after the log's last event: the first run ended with a tick at the
    # deadline of its complaint cases still open (5 days for wage arrears)
    assert first.complaints_open > 0 and again.date == "2026-11-29"
    assert again.records_before == first.records and again.records > first.records
    assert again.already_registered["workers"] == first.workers
    assert again.postings > 0 and again.hires > 0 and again.check() == []
    monkeypatch.setattr(cli, "today", lambda now_ms=None: "2026-12-05")  # after the log
    code, out, err = run("demo", "--data", data, *SIZE_ARGS, "--continue", "--json")
    assert code == 0, err
    assert _summary(out).date == "2026-12-05"

    code, out, err = run("demo", "--data", data, *SIZE_ARGS, "--continue", "--date", DATE)
    assert code == 2 and "back in time" in err  # a log's time only goes forward

    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    code, _, err = run("demo", "--data", stray, *SIZE_ARGS)
    assert code == 2 and "no lingong log" in err
    assert sorted(p.name for p in stray.iterdir()) == ["notes.txt"]


def test_demo_as_a_user_runs_it(tmp_path: Path) -> None:
    """The real command in a subprocess: text on stdout, stores projected, next steps."""
    data = tmp_path / "data"
    done = subprocess_cli(
        "demo", "--data", str(data), "--workers", "200", "--postings", "50", "--date", DATE
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"synthetic morning of {DATE}" in text
    assert "registry store" in text and "reporting store" in text
    assert "deliberate bad inputs" in text
    for total, parts, line in _text_sums(text):
        assert total == sum(parts), line
    assert f"lingong log inspect {data}/log" in text
    assert f"The log and stores are in {data}." in text
    assert not text.lstrip().startswith("{")  # text, not JSON, without --json


def test_demo_without_stores_does_not_claim_them(run: Run, tmp_path: Path) -> None:
    code, out, err = run("demo", "--data", tmp_path / "d", *SIZE_ARGS, "--date", DATE)
    assert code == 0, err
    assert "stores are in" not in out and "store  " not in out  # no store lines, no claim
    assert f"The log is in {tmp_path / 'd'}." in out
