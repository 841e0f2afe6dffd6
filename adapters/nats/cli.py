"""The NATS subcommands of `lingong`: `sms-pusher`, `sms-reply`, `nats-engine`.

Owns: argument parsing for the NATS programs; their work lives in `adapters.nats.sms` and
`adapters.nats.engine_node`.

Invariants: exit 0 on a clean stop (SIGTERM / Ctrl-C), 2 on bad usage, 3 when an engine
lost its partition (restart it: it comes back as a standby). Tokens (`--token`, default
the environment variable `LINGONG_TOKEN`, never logged) authenticate to the micro
service: `sms-reply` and the pusher use an `sms_gateway` token.
Limits: none beyond the programs'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

TOKEN_ENV = "LINGONG_TOKEN"


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _sms_pusher(args: argparse.Namespace) -> int:
    from adapters.nats.sms import SmsPusher, gateway_from_spec

    _logging(args.verbose)
    try:
        gateway = gateway_from_spec(args.gateway)
    except ValueError as exc:
        print(f"lingong sms-pusher: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        pusher = SmsPusher(
            args.nats,
            gateway,
            durable=args.durable,
            queue=args.queue,
            daily_cap=args.daily_cap,
            since_s=args.since_s,
            token=args.token or "",
        )
        await pusher.start()
        print(f"lingong sms-pusher: {args.durable} in queue group {args.queue}", flush=True)
        try:
            await stop.wait()
        finally:
            await pusher.stop()
            print(json.dumps({"stats": _plain(pusher.stats)}, ensure_ascii=False), flush=True)

    asyncio.run(main())
    return 0


def _plain(obj: object) -> object:
    import msgspec

    return msgspec.to_builtins(obj)


def _sms_reply(args: argparse.Namespace) -> int:
    from adapters.nats.conn import close_quietly, connect
    from adapters.nats.sms import REPLY_SUBJECT

    if not args.token:
        print(f"lingong sms-reply: give --token or set {TOKEN_ENV} (an sms_gateway token)",
              file=sys.stderr)  # fmt: skip
        return 2

    async def main() -> dict:
        nc = await connect(args.nats, "lingong-sms-reply")
        try:
            body = {"worker_id": args.worker_id, "text": args.text, "reply_id": args.reply_id}
            headers = {"Authorization": f"Bearer {args.token}"}
            msg = await nc.request(
                REPLY_SUBJECT, json.dumps(body).encode(), timeout=15, headers=headers
            )
            return json.loads(msg.data)
        finally:
            await close_quietly(nc)

    out = asyncio.run(main())
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out.get("ok") else 1


def _nats_engine(args: argparse.Namespace) -> int:
    from adapters.nats.engine_node import run_engine_node

    _logging(args.verbose)
    return run_engine_node(
        args.nats,
        args.partition,
        args.data,
        tick_ms=args.tick_ms,
        lease_ttl_s=args.lease_ttl_s,
        publish=not args.no_publish,
        snapshot_every=args.snapshot_every,
        kek=_kek(args),
    )


def _kek(args: argparse.Namespace) -> bytes | None:
    """The operator's key-encryption key (`--kek-file`, else $LINGONG_KEK), or None."""
    from adapters.shell.pii import KEK_ENV, load_kek

    try:
        return load_kek(args.kek_file, os.environ.get(KEK_ENV))
    except ValueError as exc:
        raise SystemExit(f"lingong: {exc}") from None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sms-pusher", help="text offers and 1.5 km pushes to workers (NATS)")
    p.add_argument("--nats", required=True, help="NATS URL(s), comma-separated")
    p.add_argument("--gateway", default="console", help="file:PATH or console")
    p.add_argument("--durable", default="sms-pusher", help="JetStream durable consumer name")
    p.add_argument("--queue", default="sms-pushers", help="queue group shared by pushers")
    p.add_argument("--daily-cap", type=int, default=10, help="SMS per worker per day")
    p.add_argument("--since-s", type=float, default=600.0, help="first start: look back")
    p.add_argument(
        "--token", default=os.environ.get(TOKEN_ENV), help=f"sms_gateway token (or ${TOKEN_ENV})"
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_sms_pusher)

    r = sub.add_parser("sms-reply", help="send a worker's SMS reply (as a gateway would)")
    r.add_argument("--nats", required=True)
    r.add_argument("worker_id")
    r.add_argument("text", help='"1" accepts, "2" declines the last offer texted')
    r.add_argument("--reply-id", default="", help="the gateway's message id (idempotency)")
    r.add_argument(
        "--token", default=os.environ.get(TOKEN_ENV), help=f"sms_gateway token (or ${TOKEN_ENV})"
    )
    r.set_defaults(func=_sms_reply)

    n = sub.add_parser("nats-engine", help="an engine node with NATS only (no HTTP)")
    n.add_argument("--nats", required=True, help="NATS URL(s), comma-separated")
    n.add_argument("--partition", required=True, help="city region code this engine owns")
    n.add_argument("--data", default=".data/nats-engine", help="keys and snapshots")
    n.add_argument("--tick-ms", type=int, default=1000, help="time between Tick events")
    n.add_argument("--lease-ttl-s", type=float, default=None, help="partition lease TTL")
    n.add_argument("--snapshot-every", type=int, default=0, help="records between snapshots")
    n.add_argument("--no-publish", action="store_true", help="no event publisher")
    n.add_argument(
        "--kek-file",
        help="key-encryption key (64 hex digits; or $LINGONG_KEK): per-person keys then "
        "live in the replicated JetStream KV bucket and follow the log",
    )
    n.add_argument("-v", "--verbose", action="store_true")
    n.set_defaults(func=_nats_engine)
