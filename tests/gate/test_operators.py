"""`lingong station` and `lingong policy`: operators without HTTP, through the same gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.shell.runtime import Runtime
from lingong import cli

S1 = ("--id", "S1", "--name", "襄阳市零工总站", "--kind", "hub", "--region", "420602",
      "--lat", "32.009", "--lng", "112.122")  # fmt: skip


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _json(capsys, *argv: str):
    code, out, err = _cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_register_approve_list_and_suspend(tmp_path: Path, capsys) -> None:
    d = str(tmp_path)
    out = _json(capsys, "station", "register", "--data", d, *S1, "--approve", "--key", "s1")
    assert out["ok"] and out["seq"] == 2 and out["command_id"].startswith("cli:")
    (row,) = _json(capsys, "station", "list", "--data", d)
    assert (row["station_id"], row["status"], row["region"]) == ("S1", "approved", "420602")
    # the same key again is a replay: nothing new in the log
    again = _json(capsys, "station", "register", "--data", d, *S1, "--key", "s1")
    assert again["duplicate"] and again["seq"] == 1
    code, _, err = _cli(capsys, "station", "status", "S1", "suspended", "--data", d)
    assert code == 1 and "reason" in err and "[required]" in err  # an engine rule
    code, out, _ = _cli(capsys, "station", "status", "S1", "suspended", "--reason", "整改",
                        "--data", d)  # fmt: skip
    assert code == 0 and "suspended" in out
    assert _json(capsys, "station", "list", "--data", d)[0]["status"] == "suspended"


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (("--region", "42"), "region", "pattern"),
        (("--id", "13812345678"), "station_id", "id_is_pii"),
        (("--lat", "95"), "location.lat", "range"),
        (("--name", "站" * 101), "name", "max_length"),
    ],
)
def test_the_gate_refuses_bad_arguments(tmp_path: Path, capsys, change, field, rule) -> None:
    argv = list(S1)
    i = argv.index(change[0])
    argv[i + 1] = change[1]
    code, out, err = _cli(capsys, "station", "register", "--data", str(tmp_path), *argv, "--json")
    assert code == 1 and json.loads(out)["refusal"]["field"] == field
    assert f"[{rule}]" in err
    with Runtime(tmp_path) as rt:
        assert rt.log.last_seq == 0  # refused: nothing appended


def test_policy_set_and_show(tmp_path: Path, capsys) -> None:
    d = str(tmp_path)
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"radius_m": 2000, "weights": {"travel": 2.0}}))
    assert _json(capsys, "policy", "set", "--data", d, "--region", "4206", "--file", str(policy))[
        "ok"
    ]
    shown = _json(capsys, "policy", "show", "--data", d, "--region", "420602")
    assert shown["version"] == 1 and shown["policy"]["radius_m"] == 2000
    assert shown["policy"]["weights"]["travel"] == 2.0
    assert _json(capsys, "policy", "show", "--data", d)["version"] == 0  # national default
    code, out, err = _cli(capsys, "policy", "set", "--data", d, "--region", "4206",
                          "--policy", '{"radius_m": "2000", "typo_field": 1}')  # fmt: skip
    assert code == 1 and ("[type]" in err or "[unknown_field]" in err)


def test_a_served_folder_is_refused_for_writes_but_readable(tmp_path: Path, capsys) -> None:
    d = str(tmp_path)
    assert _cli(capsys, "station", "register", "--data", d, *S1)[0] == 0
    with Runtime(tmp_path):  # as `lingong serve` would hold it
        code, _, err = _cli(capsys, "station", "status", "S1", "approved", "--data", d)
        assert code == 2 and "being served" in err
        assert _json(capsys, "station", "list", "--data", d)[0]["station_id"] == "S1"


def test_non_finite_numbers_are_usage_errors(tmp_path: Path, capsys) -> None:
    argv = [*S1[:-4], "--lat", "inf", "--lng", "112.122"]
    with pytest.raises(SystemExit) as info:
        cli.main(["station", "register", "--data", str(tmp_path), *argv])
    assert info.value.code == 2


def test_readers_never_create_folders(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope"
    for argv in (("station", "list"), ("policy", "show")):
        code, _, err = _cli(capsys, *argv, "--data", str(missing))
        assert code == 2 and "no log" in err
    assert not missing.exists()
