"""`lingong token create | revoke | list`: bearer tokens of a data folder (HTTP and NATS).

Owns: the `token` subcommand (registered through `lingong.cli.SUBCOMMAND_MODULES`).

Invariants: `create` prints the token string exactly once (stdout) and stores only its
digest; a station_staff token is bound only to a station the folder's log registered
(read without the writer lock, so it works while `lingong serve` runs), inside the
token's region; only `--role admin --nationwide` makes a token without a region; a
station_staff token is issued to a person (`--name`, or `--account` of an existing
account): the log records the account id, the name stays in tokens.json; `list`
never prints tokens, digests or names unmasked; exit 0 on success, 1 when revoking an unknown or already
revoked token, 2 on a bad grant. `--data` defaults to `lingong serve`'s folder.
Limits: see `adapters.gate.tokens`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adapters.gate.tokens import ROLES, TokenStore, check_grant, mask_name, stations_in_log

DEFAULT_DATA = ".data/serve"  # `lingong serve`'s default folder


def _create(args: argparse.Namespace) -> int:
    store = TokenStore(args.data)
    if args.region is None and not args.nationwide:
        print(
            "lingong token create: give --region PREFIX (or --nationwide for admin)",
            file=sys.stderr,
        )
        return 2
    stations = stations_in_log(Path(args.data) / "log") if args.station else None
    try:
        check_grant(
            args.role,
            args.region or "",
            args.station or "",
            nationwide=args.nationwide,
            stations=stations,
        )
        if args.role == "station_staff" and not (args.name or args.account):
            raise ValueError(
                "a station_staff token is issued to a person: give --name "
                "(or --account of an existing account)"
            )
        token, rec = store.create(
            args.role,
            args.region or "",
            args.station or "",
            args.note or "",
            nationwide=args.nationwide,
            stations=stations,
            name=args.name or "",
            account_id=args.account or "",
        )
    except ValueError as exc:
        print(f"lingong token create: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out = {"token": token, "token_id": rec.token_id, "role": rec.role, "region": rec.region,
               "station_id": rec.station_id, "nationwide": rec.nationwide,
               "account_id": rec.account_id, "name": mask_name(rec.name)}  # fmt: skip
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(token)
        where = f" station {rec.station_id}" if rec.station_id else ""
        if rec.account_id:
            where += f", account {rec.account_id} ({mask_name(rec.name)})"
        print(
            f"token {rec.token_id}: {rec.role}, region {rec.region or '(nationwide)'}{where}; "
            "shown once, store it now",
            file=sys.stderr,
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if TokenStore(args.data).revoke(args.token_id):
        print(f"revoked {args.token_id}")
        return 0
    print(f"lingong token revoke: no active token {args.token_id}", file=sys.stderr)
    return 1


def _list(args: argparse.Namespace) -> int:
    rows = [
        {
            "token_id": t.token_id,
            "role": t.role,
            "region": t.region,
            "station_id": t.station_id,
            "nationwide": t.nationwide,
            "account_id": t.account_id,
            "name": mask_name(t.name),
            "note": t.note,
            "created_ms": t.created_ms,
            "revoked_ms": t.revoked_ms,
        }  # fmt: skip
        for t in TokenStore(args.data).list()
        if args.all or t.active
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        state = "revoked" if r["revoked_ms"] else "active"
        print(
            f"{r['token_id']}  {r['role']:<13} region={r['region'] or '*':<6} "
            f"station={r['station_id'] or '-':<12} account={r['account_id'] or '-'} "
            f"{r['name']} {state}  {r['note']}"
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    tk = sub.add_parser("token", help="bearer tokens of the HTTP API and the NATS micro service")
    ts = tk.add_subparsers(dest="token_cmd", required=True)
    data_help = f"data folder (holds tokens.json and the log; default {DEFAULT_DATA})"
    c = ts.add_parser("create", help="make a token and print it once")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--region", help="region prefix: 2, 4 or 6 digits (GB/T 2260)")
    c.add_argument(
        "--nationwide", action="store_true", help="admin only: every region (no --region)"
    )
    c.add_argument("--station", help="station id (station_staff tokens; must be registered)")
    c.add_argument(
        "--name",
        help="the person the token is issued to (kept in tokens.json only, shown masked: "
        "张*明); required for station_staff",
    )
    c.add_argument("--account", help="issue another token to this existing account (acct-...)")
    c.add_argument("--note", help="what the token is for (free text, no personal data)")
    c.add_argument("--data", default=DEFAULT_DATA, help=data_help)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_create)
    r = ts.add_parser("revoke", help="revoke a token by id")
    r.add_argument("token_id")
    r.add_argument("--data", default=DEFAULT_DATA, help=data_help)
    r.set_defaults(func=_revoke)
    ls = ts.add_parser("list", help="list tokens (ids, roles, regions; never the tokens)")
    ls.add_argument("--data", default=DEFAULT_DATA, help=data_help)
    ls.add_argument("--all", action="store_true", help="include revoked tokens")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
