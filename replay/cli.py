"""`lingong replay verify|rebuild|explain|whatif|fairness`: audits of an event log.

Owns: the argument parsers (added to `lingong` through `lingong.cli.SUBCOMMAND_MODULES`)
and turning results and errors into output and exit codes.

Invariants (those of `lingong.cli`): exit 0 on success, 1 on a failed check (a verify
failure, a damaged log, a record that does not fold), 2 on bad usage (missing folder,
unreadable policy file, bad --until); `--json` prints one JSON document to stdout.
Progress bars go to stderr, only on a terminal, never with --quiet. LOG is a log URL: the
log folder, a data folder holding `log/`, or nats://host:port/STREAM/PARTITION (the one
read port, `adapters.log.reader.open_log_reader`).

Limits: none beyond the subcommands'.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.ports import LogCorrupt
from replay.source import ReplayError, parse_until


def _emit(args: argparse.Namespace, obj: Any, text: Callable[[], str]) -> None:
    try:
        if args.json:
            sys.stdout.write(msgspec.json.encode(obj).decode() + "\n")
        else:
            print(text())
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _guard(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Damaged logs and bad input become a clear message and an exit code."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except LogCorrupt as exc:
            err = {
                "kind": "corrupt",
                "segment": exc.segment,
                "offset": exc.offset,
                "seq": exc.seq,
                "reason": exc.reason,
            }
            return _fail(
                args,
                err,
                f"log damaged: segment {exc.segment} at byte offset "
                f"{exc.offset} (seq {exc.seq}): {exc.reason}",
                1,
            )
        except ReplayError as exc:
            return _fail(
                args, {"kind": "record", "seq": exc.seq, "reason": exc.reason}, str(exc), 1
            )
        except (FileNotFoundError, ValueError) as exc:
            return _fail(args, {"kind": "usage", "reason": str(exc)}, str(exc), 2)
        except ConnectionError as exc:  # a nats:// log whose servers cannot be reached
            return _fail(args, {"kind": "unreachable", "reason": str(exc)}, str(exc), 2)

    return wrapped


def _fail(args: argparse.Namespace, err: dict[str, Any], message: str, code: int) -> int:
    if getattr(args, "json", False):
        sys.stdout.write(msgspec.json.encode({"ok": False, "error": err}).decode() + "\n")
    print(f"lingong replay {args.replay_cmd}: {message}", file=sys.stderr)
    return code


@_guard
def _verify(args: argparse.Namespace) -> int:
    from replay.verify import format_verify, verify

    report = verify(
        args.log,
        expect_head=args.expect_head,
        expect_last_seq=args.expect_last_seq,
        allow_torn_tail=args.allow_torn_tail,
        check_facts=not args.no_fact_check,
        quiet=args.quiet,
        anchors=args.anchors,
        anchor_key=_key_arg(args.anchor_key),
    )
    _emit(args, report, lambda: format_verify(report))
    return 0 if report.ok else 1


@_guard
def _rebuild(args: argparse.Namespace) -> int:
    from replay.rebuild import format_rebuild, rebuild

    until = parse_until(args.until)
    snapshots = Path(args.snapshots) if args.snapshots else None
    if snapshots is not None and not snapshots.is_dir():
        raise FileNotFoundError(f"no snapshot folder at {snapshots}")
    report = rebuild(
        args.log,
        until,
        verify_chain=args.verify_chain,
        quiet=args.quiet,
        snapshots=snapshots,
        snapshot_key=_key_arg(args.snapshot_key, "--snapshot-key"),
    )
    _emit(args, report, lambda: format_rebuild(report))
    return 0


@_guard
def _explain(args: argparse.Namespace) -> int:
    from replay.explain import explain, format_explanation

    if bool(args.offer) == bool(args.job):
        raise ValueError("give --offer ID, or --job ID (optionally with --worker ID)")
    x = explain(
        args.log,
        offer_id=args.offer or "",
        job_id=args.job or "",
        worker_id=args.worker or "",
        limit=args.limit,
        quiet=args.quiet,
    )
    _emit(args, x, lambda: format_explanation(x))
    return 0 if x.found else 1


@_guard
def _whatif(args: argparse.Namespace) -> int:
    from replay.whatif import format_whatif, load_overrides, whatif

    overrides = load_overrides(args.policy)
    report = whatif(args.log, overrides, region=args.region, quiet=args.quiet)
    _emit(args, report, lambda: format_whatif(report))
    return 0


@_guard
def _fairness(args: argparse.Namespace) -> int:
    from replay.fairness import fairness
    from replay.fairness_report import format_fairness, write_chart, write_html

    report = fairness(
        args.log, threshold=args.threshold, min_group=args.min_group, quiet=args.quiet
    )
    if args.out:
        out = Path(args.out)
        png = write_chart(report, out / "fairness.png")
        page = write_html(report, out / "fairness.html", png)
        report.files = {"chart": str(png), "html": str(page)}
    _emit(args, report, lambda: format_fairness(report))
    return 0 if report.passed else 1


def _key_arg(value: str | None, option: str = "--anchor-key") -> str | None:
    """A public key given as hex, or as a file holding it (signing-key.pub)."""
    if value is None:
        return None
    text = Path(value).read_text(encoding="ascii") if Path(value).is_file() else value
    text = text.strip().lower()
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ValueError(f"{option}: expected 64 hex digits or a file holding them, got {value!r}")
    return text


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "log",
        help="the log: a folder (DATA/log, or DATA holding log/) or "
        "nats://host:port/STREAM/PARTITION",
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("replay", help="audit a log: verify, rebuild, explain, whatif, fairness")
    rs = rp.add_subparsers(dest="replay_cmd", required=True)

    v = rs.add_parser("verify", help="check frames and hash chain, re-run every decision")
    _common(v)
    v.add_argument("--expect-head", help="head hash (hex) published or kept elsewhere")
    v.add_argument("--expect-last-seq", type=int, help="last seq known from elsewhere")
    v.add_argument(
        "--allow-torn-tail",
        action="store_true",
        help="accept an unfinished last append (a copy of a live or crashed log)",
    )
    v.add_argument(
        "--anchors",
        metavar="FILE",
        help="signed checkpoints (DATA/checkpoints/checkpoints.jsonl or a copy): prove no "
        "record before one was deleted, reordered or forged since it was signed",
    )
    v.add_argument(
        "--anchor-key",
        metavar="HEX|FILE",
        help="the public key the checkpoints must be signed by (default: the file's own)",
    )
    v.add_argument(
        "--no-fact-check",
        action="store_true",
        help="skip re-admitting facts through the rules (decisions only)",
    )
    v.set_defaults(func=_verify)

    b = rs.add_parser("rebuild", help="the state at a seq or a time: counts and digest")
    _common(b)
    b.add_argument("--until", help="SEQ, local TIME (2026-11-23T08:30) or ms:EPOCH_MS")
    b.add_argument("--verify-chain", action="store_true", help="also check the hash chain")
    b.add_argument(
        "--snapshots",
        help="start from the newest snapshot in this folder (DATA/snapshots) signed by the "
        "runtime's key: faster, but a snapshot is not hash-chained",
    )
    b.add_argument(
        "--snapshot-key",
        help="the runtime's public key (64 hex digits or a file holding them; default: "
        "DATA/checkpoints/signing-key.pub next to the snapshots)",
    )
    b.set_defaults(func=_rebuild)

    x = rs.add_parser("explain", help="the candidates and reasons behind an offer or a job")
    _common(x)
    x.add_argument("--offer", help="an offer id (JOB/WAVE/WORKER)")
    x.add_argument("--job", help="a job id: every moment offers were made for it")
    x.add_argument("--worker", help="with --job: why this worker was or was not offered")
    x.add_argument("--limit", type=int, default=20, help="rows per list (0: all)")
    x.set_defaults(func=_explain)

    w = rs.add_parser("whatif", help="re-run the facts under another policy, side by side")
    _common(w)
    w.add_argument("--policy", required=True, help="JSON file of Policy fields (all or some)")
    w.add_argument("--region", default="", help="region prefix it applies to (default: all)")
    w.set_defaults(func=_whatif)

    f = rs.add_parser("fairness", help="offer and hire rates by age band and priority group")
    _common(f)
    f.add_argument("--out", help="folder for fairness.png and fairness.html")
    f.add_argument("--threshold", type=float, default=0.8, help="impact ratio flag (4/5 rule)")
    f.add_argument("--min-group", type=int, default=30, help="smallest group compared")
    f.set_defaults(func=_fairness)


def main(argv: list[str] | None = None) -> int:
    """`python -m replay.cli verify LOG ...`: the replay subcommands without `lingong`."""
    parser = argparse.ArgumentParser(prog="python -m replay.cli")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["replay", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
