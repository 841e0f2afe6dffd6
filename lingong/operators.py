"""`lingong station register|status|list`, a station's life (`lingong station apply|review|
approve|file|rectify-order|rectified|revoke|show`) and `lingong policy set|show`:
operators without HTTP.

Owns: the `station` subcommand and the `set`/`show` subcommands of `policy` (added to
the `policy` group that `replay.train` creates, so this module must be registered after
it in `lingong.cli.SUBCOMMAND_MODULES`).

Writes go through the same gate as HTTP and NATS (`adapters.gate`): the arguments become
the route's JSON body, `Gate.admit` checks it (bounds, strict types, server time, command
id `cli:<os user>:<key>`), and the command runs with the caller
`Caller(actor_id="cli:<os user>", role="admin", nationwide=True)`, or with `--token` as
the named account the token was issued to (the steps of a station's life need distinct
accounts), on a runtime opened on the data folder; `authorize` checks it against the
state. A folder that a server holds (the log's writer lock) is refused with exit 2 and
what to do instead. Reads (`list`,
`show`) fold the log without the writer lock, so they also work while a server runs;
they never create a folder.

Invariants: exit 0 on success, 1 when the gate or the engine refuses (field, rule and
message on stderr), 2 on bad usage or an unusable folder; `--json` prints exactly one
JSON document on stdout.
Limits: `list` and `show` read the whole log (no snapshot).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec

DEFAULT_DATA = ".data/serve"


class _Usage(Exception):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text}")
    return value


def _caller():  # noqa: ANN202 - engine.authz.Caller (imported lazily)
    from engine.authz import Caller

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers)
        user = "operator"
    user = re.sub(r"[^A-Za-z0-9_.-]", "", user)[:16] or "operator"
    return Caller(actor_id=f"cli:{user}", role="admin", nationwide=True)


def _token_caller(data: str, token: str | None):  # noqa: ANN202 - engine.authz.Caller | None
    """The named account a token stands for (None: no token given, the OS user acts)."""
    if not token:
        return None
    from adapters.gate.tokens import TokenStore, caller_of

    rec = TokenStore(Path(data)).verify(token)
    caller = None if rec is None else caller_of(rec)
    if caller is None:
        raise _Usage("the token is unknown, revoked or no longer valid in this data folder")
    return caller


def _submit(
    data: str, name: str, body: dict[str, Any], key: str | None, token: str | None = None
) -> dict[str, Any]:
    """Admit `body` for the route of command `name` and run it on the folder's runtime,
    as the token's account when one is given, else as the OS user (`cli:<user>`)."""
    from adapters.gate.gate import Gate, GateError
    from adapters.gate.routes import route_of
    from adapters.log.ports import LogLocked
    from adapters.shell.runtime import Runtime

    try:
        runtime = Runtime(Path(data))
    except LogLocked as exc:
        raise _Usage(
            f"{data} is being served ({exc}); use the HTTP API or NATS, or stop the server"
        ) from None
    with runtime:
        state = runtime.engine.state
        gate = Gate(lambda: max(runtime.clock.now_ms(), state.last_ts_ms))
        caller = _token_caller(data, token) or _caller()
        try:
            cmd = gate.admit(caller, route_of(name), json.dumps(body).encode(), None, key)
        except GateError as err:
            return {"ok": False, "refusal": err.as_dict(), "status": err.status}
        res = runtime.submit(cmd, caller)  # authorised against the state, then flushed
        out: dict[str, Any] = {"ok": res.ok, "command_id": cmd.command_id, "seq": res.seq}
        if res.duplicate:
            out["duplicate"] = True
        if not res.ok:
            out["refusal"] = res.refusal
        return out


def _state(data: str):  # noqa: ANN202 - engine.state.State
    """The folder's state, folded from its log without taking the writer lock."""
    from adapters.log.logformat import read_log_batches
    from engine.core import Engine
    from engine.record import decode_record

    log_dir = Path(data) / "log"
    if not log_dir.is_dir():
        raise _Usage(f"no log in {data} (nothing registered yet, or the wrong --data)")
    engine = Engine()
    for batch in read_log_batches(log_dir, verify_chain=False):
        for seq, payload in batch:
            engine.apply_record(seq, decode_record(payload))
    return engine.state


def _report(args: argparse.Namespace, out: dict[str, Any], done: str) -> int:
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    elif out["ok"]:
        print(f"{done} (seq {out['seq']}{', a replay' if out.get('duplicate') else ''})")
    if not out["ok"]:
        ref = out.get("refusal") or {}
        print(
            f"lingong {args.command}: refused: {ref.get('field')}: {ref.get('message')} "
            f"[{ref.get('rule')}]",
            file=sys.stderr,
        )
        return 1
    return 0


# ------------------------------------------------------------------ station ----------


def _station_register(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "station_id": args.id,
        "name": args.name,
        "kind": args.kind,
        "market_type": args.market_type,
        "parent_id": args.parent,
        "region": args.region,
        "location": {"lat": args.lat, "lng": args.lng, "datum": args.datum},
        "area_m2": args.area_m2,
        "address": args.address,
    }
    out = _submit(args.data, "RegisterStation", body, args.key)
    if out["ok"] and args.approve:
        approved = _submit(
            args.data, "ChangeStationStatus", {"station_id": args.id, "status": "approved"}, None
        )
        out = {**approved, "registered_seq": out["seq"]}
    return _report(
        args, out, f"station {args.id} registered{' and approved' if args.approve else ''}"
    )


def _station_status(args: argparse.Namespace) -> int:
    body = {"station_id": args.id, "status": args.status, "reason": args.reason}
    out = _submit(args.data, "ChangeStationStatus", body, args.key)
    return _report(args, out, f"station {args.id} is {args.status}")


def _station_list(args: argparse.Namespace) -> int:
    state = _state(args.data)
    rows = [
        {
            "station_id": st.station_id,
            "name": st.name,
            "kind": st.kind,
            "region": st.region,
            "status": st.status,
            "parent_id": st.parent_id,
            "lat": st.lat,
            "lng": st.lng,
        }
        for st in state.stations.values()
        if st.region.startswith(args.region)
    ]
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return 0
    for r in rows:
        print(f"{r['station_id']:<20} {r['status']:<10} {r['kind']:<7} {r['region']}  {r['name']}")
    print(f"{len(rows)} station(s)")
    return 0


# ------------------------------------------------------------------ a station's life -

_HOURS = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])-([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def _hours(text: str) -> tuple[int, int]:
    m = _HOURS.match(text.strip())
    if m is None:
        raise _Usage(f"--hours: expected HH:MM-HH:MM, got {text[:20]!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


def _station_apply(args: argparse.Namespace) -> int:
    open_min, close_min = _hours(args.hours) if args.hours else (0, 0)
    body: dict[str, Any] = {
        "station_id": args.id,
        "name": args.name,
        "kind": args.kind,
        "market_type": args.market_type,
        "parent_id": args.parent,
        "region": args.region,
        "location": {"lat": args.lat, "lng": args.lng, "datum": args.datum},
        "address": args.address,
        "area_m2": args.area_m2,
        "head": {"name": args.head_name, "mobile": args.head_mobile},
        "hotline": args.hotline,
        "open_min": open_min,
        "close_min": close_min,
        "services": [s for s in args.services.split(",") if s],
        "staff_count": args.staff,
    }
    out = _submit(args.data, "ApplyStation", body, args.key, args.token)
    return _report(args, out, f"station {args.id}: application recorded")


_STEPS: dict[str, tuple[str, str]] = {  # subcommand -> (command, what is done)
    "review": ("ReviewStation", "reviewed"),
    "approve": ("ApproveStation", "approved"),
    "file": ("FileStation", "filed"),
    "rectify-order": ("OrderRectification", "ordered to rectify"),
    "rectified": ("ConfirmRectification", "rectified, approved again"),
    "revoke": ("RevokeStation", "revoked"),
}


def _station_step(args: argparse.Namespace) -> int:
    name, done = _STEPS[args.station_cmd]
    body: dict[str, Any] = {"station_id": args.id}
    for field in ("passed", "note", "filing_no", "items", "days", "reason"):
        value = getattr(args, field, None)
        if value is not None:
            body[field] = value
    out = _submit(args.data, name, body, args.key, args.token)
    if name == "ReviewStation" and not args.passed:
        done = "returned (审核不合格)"
    return _report(args, out, f"station {args.id} {done}")


def _station_show(args: argparse.Namespace) -> int:
    from engine.station_life import station_conditions

    state = _state(args.data)
    st = state.stations.get(args.id)
    if st is None:
        raise _Usage(f"no station {args.id!r} in {args.data}")
    out = {
        "station_id": st.station_id,
        "name": st.name,
        "kind": st.kind,
        "region": st.region,
        "status": st.status,
        "parent_id": st.parent_id,
        "area_m2": st.area_m2,
        "hotline": st.hotline,
        "hours": f"{st.open_min // 60:02d}:{st.open_min % 60:02d}-"
        f"{st.close_min // 60:02d}:{st.close_min % 60:02d}",
        "services": list(st.services),
        "staff_count": st.staff_count,
        "accounts": dict(st.accounts),
        "filing_no": st.filing_no,
        "rectify_due_ms": st.rectify_due_ms,
        "children": list(st.children),
        "unmet_conditions": list(station_conditions(state, st)),
    }
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return 0
    for key, value in out.items():
        print(f"{key:<17} {value}")
    return 0


def _add_life_parsers(ss: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    token_help = "act as this token's named account (default: the OS user, cli:<user>)"
    a = ss.add_parser("apply", help="apply for a station with its materials (ApplyStation)")
    a.add_argument("--id", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--kind", required=True, choices=("hub", "branch", "post"))
    a.add_argument("--region", required=True, help="6-digit GB/T 2260 county code")
    a.add_argument("--lat", required=True, type=_finite)
    a.add_argument("--lng", required=True, type=_finite)
    a.add_argument("--datum", default="wgs84", choices=("wgs84", "gcj02", "bd09"))
    a.add_argument("--parent", default="")
    a.add_argument(
        "--market-type", default="general", choices=("general", "industrial_park", "service_point")
    )
    a.add_argument("--address", default="")
    a.add_argument("--area-m2", type=int, required=True, help="服务场所面积")
    a.add_argument("--head-name", required=True, help="负责人 (sealed; shown masked)")
    a.add_argument("--head-mobile", default="", help="负责人手机 (sealed)")
    a.add_argument("--hotline", default="", help="服务热线 (a public number)")
    a.add_argument("--hours", default="", help="opening hours, e.g. 07:00-18:00")
    a.add_argument("--services", default="", help="comma-separated, e.g. registration,posting")
    a.add_argument("--staff", type=int, default=0, help="专(兼)职工作人员")
    a.set_defaults(func=_guarded(_station_apply))
    parsers = [a]
    for sub_name, (_, _) in _STEPS.items():
        p = ss.add_parser(sub_name, help=f"{_STEPS[sub_name][0]} (a named account's step)")
        p.add_argument("id")
        if sub_name == "review":
            verdict = p.add_mutually_exclusive_group(required=True)
            verdict.add_argument("--pass", dest="passed", action="store_true", default=None)
            verdict.add_argument("--fail", dest="passed", action="store_false")
        if sub_name in ("review", "approve", "rectified"):
            p.add_argument("--note", default=None)
        if sub_name == "file":
            p.add_argument("--filing-no", required=True, help="备案号")
        if sub_name == "rectify-order":
            p.add_argument("--items", required=True, help="what to rectify")
            p.add_argument("--days", type=int, required=True, help="deadline in days")
        if sub_name == "revoke":
            p.add_argument("--reason", required=True)
        p.set_defaults(func=_guarded(_station_step))
        parsers.append(p)
    for p in parsers:
        p.add_argument("--token", default=None, help=token_help)
        p.add_argument("--key", help="idempotency key (a retry with it changes nothing)")
    show = ss.add_parser("show", help="a station's materials, steps, accounts and conditions")
    show.add_argument("id")
    show.set_defaults(func=_guarded(_station_show))
    return [*parsers, show]


# ------------------------------------------------------------------ policy -----------


def _policy_set(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8") if args.file else args.policy
        policy = json.loads(text or "{}")
    except (OSError, ValueError) as exc:
        raise _Usage(f"cannot read the policy: {exc}") from None
    body = {"region": args.region, "policy": policy, "note": args.note}
    out = _submit(args.data, "SetPolicy", body, args.key)
    where = args.region or "the national default"
    return _report(args, out, f"policy of {where} set")


def _policy_show(args: argparse.Namespace) -> int:
    state = _state(args.data)
    version, policy = state.policy_for(args.region)
    out = {"region": args.region, "version": version, "policy": msgspec.to_builtins(policy)}
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        print(f"policy for region {args.region or '(national default)'}: version {version}")
        print(json.dumps(out["policy"], ensure_ascii=False, indent=2))
    return 0


# ------------------------------------------------------------------ parsers ----------


def _guarded(fn):  # noqa: ANN001, ANN202
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except _Usage as exc:
            print(f"lingong {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def _subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the policy command has no subcommands")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    data_help = f"data folder (default {DEFAULT_DATA}, `lingong serve`'s)"
    st = sub.add_parser("station", help="register, approve, suspend and list stations (admin)")
    ss = st.add_subparsers(dest="station_cmd", required=True)
    r = ss.add_parser("register", help="register a station (RegisterStation, through the gate)")
    r.add_argument("--id", required=True, help="station id, e.g. ST-420602-hub")
    r.add_argument("--name", required=True, help="public name (shown on the board)")
    r.add_argument("--kind", required=True, choices=("hub", "branch", "post"))
    r.add_argument("--region", required=True, help="6-digit GB/T 2260 county code")
    r.add_argument("--lat", required=True, type=_finite)
    r.add_argument("--lng", required=True, type=_finite)
    r.add_argument("--datum", default="wgs84", choices=("wgs84", "gcj02", "bd09"))
    r.add_argument("--parent", default="", help="parent station id (branches, posts)")
    r.add_argument(
        "--market-type", default="general", choices=("general", "industrial_park", "service_point")
    )
    r.add_argument("--area-m2", type=int, default=0)
    r.add_argument("--address", default="")
    r.add_argument("--approve", action="store_true", help="approve it at once")
    r.set_defaults(func=_guarded(_station_register))
    s = ss.add_parser("status", help="approve, suspend or revoke (ChangeStationStatus)")
    s.add_argument("id")
    s.add_argument("status", choices=("approved", "suspended", "revoked"))
    s.add_argument("--reason", default="", help="why (free text, no personal data)")
    s.set_defaults(func=_guarded(_station_status))
    ls = ss.add_parser("list", help="the stations of the folder's log")
    ls.add_argument("--region", default="", help="only this region prefix")
    ls.set_defaults(func=_guarded(_station_list))
    for p in (r, s, ls, *_add_life_parsers(ss)):
        p.add_argument("--data", default=DEFAULT_DATA, help=data_help)
        p.add_argument("--json", action="store_true")
    for p in (r, s):
        p.add_argument("--key", help="idempotency key (a retry with it changes nothing)")

    policy = sub.choices.get("policy")
    if policy is None:
        policy = sub.add_parser("policy", help="matching policy")
        policy.add_subparsers(dest="policy_cmd", required=True)
    ps = _subparsers_of(policy)
    p_set = ps.add_parser("set", help="set a region's policy (SetPolicy, through the gate)")
    p_set.add_argument("--region", required=True, help="prefix: '' national, 2, 4 or 6 digits")
    src = p_set.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", help="a JSON file holding the Policy")
    src.add_argument("--policy", help="the Policy as JSON text")
    p_set.add_argument("--note", default="", help="why (free text, no personal data)")
    p_set.add_argument("--key", help="idempotency key")
    p_set.set_defaults(func=_guarded(_policy_set))
    p_show = ps.add_parser("show", help="the policy in force for a region")
    p_show.add_argument("--region", default="", help="region code or prefix ('' national)")
    p_show.set_defaults(func=_guarded(_policy_show))
    for p in (p_set, p_show):
        p.add_argument("--data", default=DEFAULT_DATA, help=data_help)
        p.add_argument("--json", action="store_true")
