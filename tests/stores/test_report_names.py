"""Reports a bureau can file as they are (issue 15): Chinese occupation and region names
from the shipped code lists, no English skill codes, JSON without escapes, empty months
said plainly, charts in the HTML and XLSX outputs. All on the session's demo log."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

from adapters.stores.backend import DuckDBBackend
from adapters.stores.cli import main
from adapters.stores.projector import REPORTING, project
from adapters.stores.render import to_csv, to_json, write_report
from adapters.stores.report_model import Period, Scope
from adapters.stores.reports import build
from engine.reference import occupations, regions
from sim.morning import SKILLS

ENGLISH = {code for code, _, _ in SKILLS} | set(occupations.LEGACY_CODES)


def run(argv: list[str]) -> None:
    assert main(argv) == 0, argv


def test_supply_demand_csv_of_the_demo_month_is_in_chinese(data_dir: Path, tmp_path: Path):
    out = tmp_path / "sd.csv"
    run(["report", "supply-demand", "--data", str(data_dir), "--month", "2026-11",
         "--format", "csv", "--out", str(out)])  # fmt: skip
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    words = {cell.strip() for row in rows for cell in row}
    assert not (words & ENGLISH), words & ENGLISH  # no English skill code in any cell
    assert not re.search(r"\b(" + "|".join(sorted(ENGLISH)) + r")\b", text)
    skill_at = next(i for i, r in enumerate(rows) if r[:2] == ["职业编码", "工种"])
    skill_rows = [r for r in rows[skill_at + 1 :] if r and r[0] and not r[0].startswith("注")]
    assert skill_rows
    for r in skill_rows:
        assert occupations.is_known(r[0]) and r[1] == occupations.name(r[0])
        assert re.fullmatch(r"[\u4e00-\u9fff（）、]+", r[1])
    assert "装卸搬运工" in words  # the demo's movers and loaders
    region_at = next(i for i, r in enumerate(rows) if r[:2] == ["地区代码", "地区名称"])
    names = {r[0]: r[1] for r in rows[region_at + 1 :] if r and r[0].isdigit()}
    assert names == {c: regions.name(c + "00") for c in ("4201", "4205", "4206")}
    assert names["4206"] == "湖北省襄阳市"
    assert occupations.CODE_LIST_VERSION in text and regions.REGION_LIST_VERSION in text


def test_every_report_names_skills_and_regions_in_chinese(data_dir: Path, tmp_path: Path):
    store = DuckDBBackend(data_dir / "n.duckdb")
    project(store, REPORTING, data_dir / "log")
    scope = Scope(period=Period.month("2026-11"))
    for name in ("supply-demand", "wages", "roster", "progress", "stars", "directory"):
        rep = build(name, store, scope)
        for fmt in ("csv", "html", "json", "xlsx"):
            path = write_report(rep, fmt, tmp_path / f"{name}.{fmt}")
            if fmt == "xlsx":
                with zipfile.ZipFile(path) as z:
                    text = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
            else:
                text = path.read_text(encoding="utf-8-sig")
            for code in ENGLISH:
                assert not re.search(rf"(?<![\w-]){code}(?![\w-])", text), (name, fmt, code)
            assert "湖北省" in text, (name, fmt)  # region names, not bare codes
        doc = json.loads(to_json(rep))
        if name != "directory":
            assert doc["code_lists"]["regions"]["as_of"] == regions.REGION_LIST_AS_OF
    store.close()


def test_json_is_utf8_without_escapes(data_dir: Path):
    store = DuckDBBackend(data_dir / "j.duckdb")
    project(store, REPORTING, data_dir / "log")
    text = to_json(build("supply-demand", store, Scope(period=Period.month("2026-11"))))
    store.close()
    assert "\\u" not in text and "供需" in text and "装卸搬运工" in text


def test_an_empty_month_says_so(data_dir: Path, tmp_path: Path):
    store = DuckDBBackend(data_dir / "e.duckdb")
    project(store, REPORTING, data_dir / "log")
    rep = build("supply-demand", store, Scope(period=Period.month("2025-01")))
    store.close()
    text = to_csv(rep)
    assert "本月无数据" in text and "合计" not in text and "0.00" not in text
    html = write_report(rep, "html", tmp_path / "e.html").read_text(encoding="utf-8")
    assert "本月无数据" in html and "<table>" not in html
    doc = json.loads(to_json(rep))
    assert doc["empty"] is True and doc["message"] == "本月无数据"
    from openpyxl import load_workbook

    ws = load_workbook(write_report(rep, "xlsx", tmp_path / "e.xlsx")).worksheets[0]
    assert "本月无数据" in [r[0] for r in ws.iter_rows(values_only=True)]


def test_xlsx_has_native_charts_where_the_html_has_svg(data_dir: Path, tmp_path: Path):
    store = DuckDBBackend(data_dir / "c.duckdb")
    project(store, REPORTING, data_dir / "log")
    rep = build("supply-demand", store, Scope(period=Period.month("2026-11")))
    store.close()
    path = write_report(rep, "xlsx", tmp_path / "c.xlsx")
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        xml = z.read(charts[0]).decode("utf-8")
    assert len(charts) == 2  # by region, by skill (the station table has no chart)
    assert "按地区求职、岗位与录用" in xml
    html = write_report(rep, "html", tmp_path / "c.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "http" not in html.split("<svg", 1)[0].lower().replace(
        "http://www.w3.org", ""
    )


def test_stars_follow_the_quanzhou_seed(data_dir: Path, tmp_path: Path):
    """泉人社规〔2023〕5号 二(二): categories 零工市场/零工驿站, 90/80/70 points, 10/8/5万 and
    3/2/1万, the one-time 6万/3万 for a first recognition, a 公示 list; no invented weights."""
    from adapters.stores.report_stars import DEFAULT_RULES, stars

    rules = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert rules["data_items"] == []  # the seed publishes no item weights
    assert rules["one_time_subsidy_yuan"] == {"market": 60000, "post": 30000}
    rules["min_operating_days"] = 0  # the demo's stations are a week old
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    store = DuckDBBackend(data_dir / "s.duckdb")
    project(store, REPORTING, data_dir / "log")
    kinds = dict(store.query("SELECT station_id, kind FROM d_station"))
    market = next(s for s, k in sorted(kinds.items()) if k == "hub")
    post = next(s for s, k in sorted(kinds.items()) if k == "post")
    weak = next(s for s, k in sorted(kinds.items()) if k == "branch")
    manual = tmp_path / "m.csv"
    manual.write_text(
        f"station_id,item,points\n{market},assessment,92\n{post},assessment,85\n"
        f"{weak},assessment,65\n",
        encoding="utf-8",
    )
    rep = stars(store, Scope(period=Period.month("2026-11")), rules_path=path, manual_path=manual)
    store.close()
    rows = {r["station_id"]: r for r in rep.sections[0].rows}
    assert (rows[market]["stars"], rows[market]["subsidy_fen"]) == ("五星级", 100000_00)
    assert rows[market]["title"] == "泉州市2026年度五星级零工市场"
    assert (rows[post]["subsidy_fen"], rows[post]["title"]) == (20000_00, "")
    assert (rows[weak]["stars"], rows[weak]["subsidy_fen"]) == ("未达标", 0)
    others = [r for s, r in rows.items() if s not in (market, post, weak)]
    assert all(r["stars"] == "未考核" and r["subsidy_fen"] == 0 for r in others)
    for sid, r in rows.items():  # every station was first recognised in the demo month
        approved = r["status"] == "已认定"
        expect = (60000_00 if kinds[sid] != "post" else 30000_00) if approved else 0
        assert r["one_time_fen"] == expect, sid
    public = {r["station"]: r for r in rep.sections[2].rows}
    assert rep.sections[2].title == "公示名单"
    assert len(public) == sum(1 for r in rows.values() if r["one_time_fen"] or r["subsidy_fen"])
    top = public[rows[market]["station"]]
    assert top["total_fen"] == 100000_00 + 60000_00 and top["title"].endswith("五星级零工市场")
    assert any("泉人社规〔2023〕5号" in n for n in rep.notes)


def test_mask_name():
    from adapters.stores.worker_names import mask_name

    assert [mask_name(n) for n in ("张三丰", "李四", "欧阳修文", "王", "", " 赵 钱 ")] == [
        "张*丰", "李*", "欧**文", "*", "", "赵*",
    ]  # fmt: skip


def test_roster_shows_masked_names_unsealed_under_each_key(demo_dir: Path, tmp_path: Path):
    """姓名 are sealed in the log: the roster unseals each under the worker's own key and
    masks it; a worker whose key is gone shows as erased; the plain name is nowhere."""
    import shutil

    from adapters.log.reader import open_log_reader
    from adapters.log.records import read_records
    from adapters.shell.pii import KeyStore, Sealer
    from adapters.stores.worker_names import ERASED, mask_name, names_from
    from engine import events as ev

    data = tmp_path / "data"
    data.mkdir()
    (data / "log").symlink_to(demo_dir / "log", target_is_directory=True)
    shutil.copytree(demo_dir / "keys", data / "keys")
    sealer = Sealer(KeyStore(data / "keys", sync="none"))
    plain: dict[str, str] = {}
    reader = open_log_reader(str(data / "log"))
    for batch in read_records(reader, 1):
        for record in batch.records:
            first = record.events[0]
            if isinstance(first, ev.WorkerRegistered) and first.sealed:
                plain[first.worker_id] = sealer.unseal(first.worker_id, first.sealed)["name"]
    reader.close()
    store = DuckDBBackend(data / "r.duckdb")
    project(store, REPORTING, data / "log")
    scope = Scope(period=Period.month("2026-11"))
    rows = build("roster", store, scope, names=names_from(data)).sections[0].rows
    gone = rows[0]["worker_id"]
    assert KeyStore(data / "keys", sync="none").erase(gone)
    again = build("roster", store, scope, names=names_from(data)).sections[0].rows
    store.close()
    assert rows and all(r["name_masked"] == mask_name(plain[r["worker_id"]]) for r in rows)
    assert all("*" in r["name_masked"] for r in rows)
    for r in again:
        assert r["name_masked"] == (
            ERASED if r["worker_id"] == gone else mask_name(plain[r["worker_id"]])
        )
    out = tmp_path / "roster.csv"
    run(["report", "roster", "--data", str(data), "--month", "2026-11", "--format", "csv",
         "--out", str(out)])  # fmt: skip
    text = out.read_text(encoding="utf-8-sig")
    assert "姓名(脱敏)" in text and ERASED in text
    long_names = {n for n in plain.values() if len(n) >= 2}
    assert not [n for n in long_names if f",{n}," in text]  # no plain name in a cell


def test_training_report_counts_the_demo_log(data_dir: Path, demo_dir: Path):
    """Sign-ups (by channel) and completions per host station, as counted from the log."""
    from collections import Counter

    from engine import events as ev
    from tests.stores import logfacts as lf

    evs = lf.events(lf.read_all(demo_dir / "log"))
    host = {x.training_id: x.station_id for x in evs if isinstance(x, ev.TrainingPublished)}
    signups = Counter((host[x.training_id], x.channel) for x in evs
                      if isinstance(x, ev.TrainingSignedUp))  # fmt: skip
    done = Counter(host[x.training_id] for x in evs if isinstance(x, ev.TrainingCompleted))
    qa = Counter(x.station_id for x in evs if isinstance(x, ev.PolicyAnswerPublished))
    assert host and sum(signups.values()) and sum(done.values())
    store = DuckDBBackend(data_dir / "t.duckdb")
    project(store, REPORTING, data_dir / "log")
    rep = build("training", store, Scope(period=Period.month("2026-11")))
    progress = build("progress", store, Scope(period=Period.month("2026-11")))
    store.close()
    rows = {r["station_id"]: r for r in rep.sections[0].rows}
    for sid in set(host.values()):
        r = rows[sid]
        assert (r["counter"], r["app"], r["sms"]) == tuple(
            signups[(sid, ch)] for ch in ("counter", "app", "sms")
        )
        assert r["signups"] == r["counter"] + r["app"] + r["sms"]
        assert (r["completed"], r["qa"], r["sessions"]) == (done[sid], qa[sid], 1)
    total = rows["合计"]
    assert total["signups"] == sum(signups.values()) and total["completed"] == sum(done.values())
    ptotal = progress.sections[0].rows[-1]
    assert (ptotal["training_sessions"], ptotal["training_signups"], ptotal["training_completed"]) == (
        len(host), sum(signups.values()), sum(done.values())
    )  # fmt: skip
