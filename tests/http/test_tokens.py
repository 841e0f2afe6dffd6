"""`lingong token create | list | revoke`, the token file and the grant rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.gate import tokens as tk
from lingong import cli
from tests.http.world import Env


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def folder(tmp_path: Path, capsys) -> Path:
    """A data folder whose log registered S1 (420602) and S9 (revoked)."""
    for sid in ("S1", "S9"):
        code, _, err = _cli(capsys, "station", "register", "--data", str(tmp_path), "--id", sid,
                            "--name", f"{sid}站", "--kind", "hub", "--region", "420602",
                            "--lat", "32.009", "--lng", "112.122", "--approve")  # fmt: skip
        assert code == 0, err
    revoke = ("station", "status", "S9", "revoked", "--reason", "站点关闭", "--data", str(tmp_path))
    assert _cli(capsys, *revoke)[0] == 0
    return tmp_path


def test_create_list_revoke(folder: Path, capsys) -> None:
    tmp_path = folder
    code, out, _ = _cli(capsys, "token", "create", "--role", "station_staff", "--region", "4206",
                        "--station", "S1", "--note", "襄阳总站窗口", "--name", "张三明",
                        "--data", str(tmp_path))  # fmt: skip
    assert code == 0
    token = out.strip()
    assert token.startswith("lg1.") and len(token) == 4 + 8 + 1 + 43
    raw = (tmp_path / "tokens.json").read_text()
    assert token not in raw and token.split(".")[2] not in raw
    assert tk.digest_of(token) in raw
    rec = tk.TokenStore(tmp_path).verify(token)
    assert rec is not None and (rec.role, rec.region, rec.station_id) == (
        "station_staff",
        "4206",
        "S1",
    )

    code, out, _ = _cli(capsys, "token", "list", "--data", str(tmp_path), "--json")
    (row,) = json.loads(out)
    assert row["token_id"] == rec.token_id and "digest" not in row and token not in out
    # issued to a person: an account id, the name only masked outside tokens.json
    assert row["account_id"] == rec.account_id and rec.account_id.startswith("acct-")
    assert row["name"] == "张*明" and "张三明" not in out and rec.name == "张三明"

    assert _cli(capsys, "token", "revoke", rec.token_id, "--data", str(tmp_path))[0] == 0
    assert tk.TokenStore(tmp_path).verify(token) is None
    assert _cli(capsys, "token", "revoke", rec.token_id, "--data", str(tmp_path))[0] == 1
    assert json.loads(_cli(capsys, "token", "list", "--data", str(tmp_path), "--json")[1]) == []
    listed = json.loads(
        _cli(capsys, "token", "list", "--all", "--data", str(tmp_path), "--json")[1]
    )
    assert listed[0]["revoked_ms"] > 0


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (("--role", "station_staff", "--region", "4206"), "needs --station"),
        (("--role", "admin", "--region", "42x"), "region must be"),
        (("--role", "front_end", "--region", "4206", "--station", "S1"), "only station_staff"),
        (("--role", "station_staff", "--region", "4206", "--station", "S7"), "no station"),
        (("--role", "station_staff", "--region", "4201", "--station", "S1"), "outside region"),
        (("--role", "station_staff", "--region", "4206", "--station", "S9"), "revoked"),
        (("--role", "admin", "--region", ""), "region must be"),  # nationwide needs the flag
        (("--role", "admin",), "give --region"),
        (("--role", "front_end", "--nationwide"), "only admin"),
        (("--role", "auditor", "--nationwide"), "only admin"),
        (("--role", "admin", "--nationwide", "--region", "42"), "no region"),
    ],
)  # fmt: skip
def test_bad_grants_are_refused(folder: Path, capsys, argv, why: str) -> None:
    code, out, err = _cli(capsys, "token", "create", *argv, "--data", str(folder))
    assert code == 2 and out == "" and why in err, err
    assert not (folder / "tokens.json").exists()


def test_a_staff_token_is_issued_to_a_person(folder: Path, capsys) -> None:
    base = ("token", "create", "--role", "station_staff", "--region", "4206", "--station", "S1",
            "--data", str(folder))  # fmt: skip
    code, out, err = _cli(capsys, *base)
    assert code == 2 and "--name" in err and not (folder / "tokens.json").exists()
    code, out, err = _cli(capsys, *base, "--name", "欧阳小明", "--json")
    first = json.loads(out)
    assert code == 0 and first["name"] == "欧**明" and first["account_id"].startswith("acct-")
    # another token for the same person: same account, same name, a new token id
    code, out, err = _cli(capsys, *base, "--account", first["account_id"], "--json")
    second = json.loads(out)
    assert code == 0, err
    assert second["account_id"] == first["account_id"] and second["name"] == "欧**明"
    assert second["token"] != first["token"]
    who = [tk.caller_of(tk.TokenStore(folder).verify(t)) for t in (first["token"], second["token"])]
    assert all(w is not None and w.named for w in who)
    assert {w.actor_id for w in who} == {first["account_id"]}  # what the log records
    # an account keeps its name; an unknown account needs one
    code, _, err = _cli(capsys, *base, "--account", first["account_id"], "--name", "王五")
    assert code == 2 and "another name" in err
    code, _, err = _cli(capsys, *base, "--account", "acct-nobody")
    assert code == 2 and "no account" in err
    for bad in ("deadbeef", "a:b", "1abc", "ab"):  # a token id's shape, ':', digit first, short
        code, _, err = _cli(capsys, *base, "--name", "李四", "--account", bad)
        assert code == 2 and "account id" in err, (bad, err)
    for bad in ("13812345678", "  ", "x" * 51, "张\n三"):
        code, _, err = _cli(capsys, *base, "--name", bad)
        assert code == 2, bad
    code, out, _ = _cli(capsys, "token", "list", "--data", str(folder))
    assert "欧阳小明" not in out and "欧**明" in out


def test_mask_name() -> None:
    cases = {"张三明": "张*明", "张三": "张*", "欧阳小明": "欧**明", "张": "*", "": "",
             "Li Lei": "L****i"}  # fmt: skip
    assert {n: tk.mask_name(n) for n in cases} == cases


def test_an_account_without_a_name_authenticates_nobody(tmp_path: Path) -> None:
    store = tk.TokenStore(tmp_path)
    token, rec = store.create("front_end", "4206", name="张三")
    raw = json.loads((tmp_path / "tokens.json").read_text())
    raw["tokens"][0]["name"] = ""
    (tmp_path / "tokens.json").write_text(json.dumps(raw))
    rec = tk.TokenStore(tmp_path).verify(token)
    assert rec is not None and tk.caller_of(rec) is None
    # nor an account id edited into a token id's shape (its command ids would collide)
    raw["tokens"][0].update(name="张三", account_id="0badcafe")
    (tmp_path / "tokens.json").write_text(json.dumps(raw))
    rec = tk.TokenStore(tmp_path).verify(token)
    assert rec is not None and tk.caller_of(rec) is None


def test_nationwide_admin_and_sms_gateway(folder: Path, capsys) -> None:
    code, out, _ = _cli(capsys, "token", "create", "--role", "admin", "--nationwide",
                        "--data", str(folder), "--json")  # fmt: skip
    made = json.loads(out)
    assert code == 0 and made["nationwide"] is True and made["region"] == ""
    who = tk.caller_of(tk.TokenStore(folder).verify(made["token"]))
    assert who is not None and who.nationwide and who.role == "admin"
    code, out, _ = _cli(capsys, "token", "create", "--role", "sms_gateway", "--region", "4206",
                        "--data", str(folder))  # fmt: skip
    who = tk.caller_of(tk.TokenStore(folder).verify(out.strip()))
    assert code == 0 and who is not None and who.role == "sms_gateway" and not who.nationwide


def test_token_create_works_as_the_readme_writes_it(tmp_path: Path, capsys, monkeypatch) -> None:
    """No --data: the folder `lingong serve` uses by default."""
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "token", "create", "--role", "front_end", "--region", "4206")
    assert code == 0, err
    assert tk.TokenStore(tmp_path / ".data/serve").verify(out.strip()) is not None


def test_an_older_grant_without_the_flag_authenticates_nobody(tmp_path: Path) -> None:
    """Fail closed: a token file from before the rules held a region-less front end."""
    store = tk.TokenStore(tmp_path)
    token, rec = store.create("admin", "", nationwide=True)
    raw = json.loads((tmp_path / "tokens.json").read_text())
    raw["tokens"][0].update(role="front_end", nationwide=False)
    (tmp_path / "tokens.json").write_text(json.dumps(raw))
    rec = tk.TokenStore(tmp_path).verify(token)
    assert rec is not None and tk.caller_of(rec) is None


def test_forged_token_with_known_id_is_refused(tmp_path: Path) -> None:
    store = tk.TokenStore(tmp_path)
    token, rec = store.create("admin", "", nationwide=True)
    forged = f"lg1.{rec.token_id}.{'A' * 43}"
    assert store.verify(forged) is None and store.verify(token) is not None


def test_revocation_reaches_a_running_server(env: Env, monkeypatch) -> None:
    monkeypatch.setattr(tk, "RELOAD_S", 0.0)
    store = tk.TokenStore(env.data_dir)
    token, rec = store.create("auditor", "4206")
    headers = {"Authorization": f"Bearer {token}"}
    assert env.client.get("/workers/W1", headers=headers).status_code == 200
    assert store.revoke(rec.token_id)
    resp = env.client.get("/workers/W1", headers=headers)
    assert resp.status_code == 401 and resp.json()["rule"] == "token"
