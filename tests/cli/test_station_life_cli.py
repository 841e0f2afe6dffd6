"""`lingong station apply|review|approve|file|rectify-order|rectified|revoke|show`: a
station's life from the command line, each step under another named account's token
(`--token`); the same account is refused a second step (exit 1, rule on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

from lingong import cli
from replay.verify import verify


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_station_life_from_the_command_line(tmp_path: Path, capsys) -> None:
    data = ("--data", str(tmp_path))
    code, _, err = _cli(capsys, "station", "register", *data, "--id", "S1", "--name", "襄阳总站",
                        "--kind", "hub", "--region", "420602", "--lat", "32.009",
                        "--lng", "112.122", "--approve")  # fmt: skip
    assert code == 0, err
    tokens = {}
    for name in ("申报窗口", "审核员", "审批人", "备案员", "检查员", "复查员", "撤销人"):
        role = "front_end" if name == "申报窗口" else "admin"
        named = () if role == "front_end" else ("--name", name)  # a counter need not be named
        code, out, err = _cli(capsys, "token", "create", "--role", role, "--region", "4206",
                              *named, *data)  # fmt: skip
        assert code == 0, err
        tokens[name] = out.strip()

    def as_(name: str, *argv: str) -> tuple[int, str, str]:
        return _cli(capsys, "station", *argv, *data, "--token", tokens[name])

    code, out, err = as_("申报窗口", "apply", "--id", "P1", "--name", "檀溪驿站", "--kind", "post",
                         "--parent", "S1", "--region", "420602", "--lat", "32.0101",
                         "--lng", "112.1228", "--area-m2", "20", "--head-name", "王建国",
                         "--head-mobile", "13912345678", "--hours", "07:00-18:00",
                         "--services", "registration,posting,training_signup,policy_advice",
                         "--staff", "2")  # fmt: skip
    assert code == 0, err
    code, out, _ = _cli(capsys, "station", "show", "P1", *data, "--json")
    shown = json.loads(out)
    assert shown["unmet_conditions"] == [
        "服务场所面积20平方米，低于驿站要求的30平方米",
        "未公布服务热线",
    ]
    code, _, err = as_("审核员", "review", "P1", "--pass")
    assert code == 1 and "station_conditions" in err and "低于驿站要求的30平方米" in err
    code, _, err = as_("审核员", "review", "P1", "--fail", "--note", "面积不足，未公布热线")
    assert code == 0, err
    code, out, _ = _cli(capsys, "station", "show", "P1", *data, "--json")
    assert json.loads(out)["status"] == "returned"

    code, _, err = as_("申报窗口", "apply", "--id", "P2", "--name", "檀溪驿站", "--kind", "post",
                       "--parent", "S1", "--region", "420602", "--lat", "32.0101",
                       "--lng", "112.1228", "--area-m2", "45", "--head-name", "王建国",
                       "--hotline", "0710-3611234", "--hours", "07:00-18:00",
                       "--services", "registration,posting,training_signup,policy_advice",
                       "--staff", "2")  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(capsys, "station", "review", "P2", "--pass", *data)  # the OS user
    assert code == 1 and "named_account" in err
    assert as_("审核员", "review", "P2", "--pass")[0] == 0
    code, _, err = as_("审核员", "approve", "P2")
    assert code == 1 and "distinct_accounts" in err and "审核" in err
    assert as_("审批人", "approve", "P2", "--note", "同意")[0] == 0
    assert as_("备案员", "file", "P2", "--filing-no", "襄就备〔2026〕2号")[0] == 0
    assert as_("检查员", "rectify-order", "P2", "--items", "急救药箱缺失", "--days", "10")[0] == 0
    code, _, err = as_("检查员", "rectified", "P2")
    assert code == 1 and "distinct_accounts" in err
    assert as_("复查员", "rectified", "P2", "--note", "已配齐")[0] == 0
    assert as_("撤销人", "revoke", "P2", "--reason", "停止运营")[0] == 0

    code, out, _ = _cli(capsys, "station", "show", "P2", *data, "--json")
    shown = json.loads(out)
    assert shown["status"] == "revoked" and shown["filing_no"] == "襄就备〔2026〕2号"
    accounts = shown["accounts"]
    assert list(accounts) == ["apply", "review", "approval", "filing", "rectification_order",
                              "rectified", "revocation"]  # fmt: skip
    assert len(set(accounts.values())) == 7
    assert _cli(capsys, "station", "approve", "P2", *data, "--token", "lg1.bad")[0] == 2
    assert verify(str(tmp_path / "log")).ok
