"""`lingong token create | list | revoke` and the token file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.http import tokens as tk
from lingong import cli
from tests.http.world import Env


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_list_revoke(tmp_path: Path, capsys) -> None:
    code, out, _ = _cli(capsys, "token", "create", "--role", "station_staff", "--region", "4206",
                        "--station", "S1", "--note", "襄阳总站窗口", "--data", str(tmp_path))  # fmt: skip
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

    assert _cli(capsys, "token", "revoke", rec.token_id, "--data", str(tmp_path))[0] == 0
    assert tk.TokenStore(tmp_path).verify(token) is None
    assert _cli(capsys, "token", "revoke", rec.token_id, "--data", str(tmp_path))[0] == 1
    assert json.loads(_cli(capsys, "token", "list", "--data", str(tmp_path), "--json")[1]) == []
    listed = json.loads(
        _cli(capsys, "token", "list", "--all", "--data", str(tmp_path), "--json")[1]
    )
    assert listed[0]["revoked_ms"] > 0


@pytest.mark.parametrize(
    "argv",
    [
        ("--role", "station_staff", "--region", "4206"),  # staff without a station
        ("--role", "admin", "--region", "42x"),
        ("--role", "front_end", "--region", "4206", "--station", "S1"),
    ],
)
def test_bad_grants_are_refused(tmp_path: Path, capsys, argv) -> None:
    code, out, err = _cli(capsys, "token", "create", *argv, "--data", str(tmp_path))
    assert code == 2 and out == "" and err
    assert not (tmp_path / "tokens.json").exists()


def test_forged_token_with_known_id_is_refused(tmp_path: Path) -> None:
    store = tk.TokenStore(tmp_path)
    token, rec = store.create("admin", "")
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
