"""`lingong sim`: the deterministic simulation (`sim.vopr`) from the command line.

Owns: the `sim` subcommand: `lingong sim --seed N --steps K [--json] [--no-shrink]`.
Prints the run digest (the same for the same seed and steps on every run), the counts,
and on a failure the seed, the broken invariant and the shrunk step list; exits 1 then.

Invariants: writes only into a temporary folder (or under `--tmp`), removed afterwards.
Limits: `sim.vopr.MAX_STEPS` steps.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.vopr import MAX_RECORD_BYTES, MAX_STEPS, describe, simulate


def _steps(text: str) -> int:
    n = int(text)
    if not 0 < n <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"--steps must be in 1..{MAX_STEPS}")
    return n


def _sim(args: argparse.Namespace) -> int:
    out = simulate(args.seed, args.steps, do_shrink=not args.no_shrink,
                   root=Path(args.tmp) if args.tmp else None,
                   record_bytes=args.max_record_bytes)  # fmt: skip
    rep = out.report
    if args.json:
        print(json.dumps(describe(out), ensure_ascii=False))
        return 1 if rep.failure else 0
    print(f"seed {out.seed}  steps {rep.steps}  run digest {rep.digest}")
    print(
        f"requests {rep.requests}: accepted {rep.accepted}, refused by the engine "
        f"{rep.refused}, refused at the gate {rep.gate_refused}, duplicates {rep.duplicates}; "
        f"crashes {rep.crashes} (torn tails cut {rep.torn_cuts}); log seq {rep.last_seq}"
    )
    if not rep.failure:
        print("all invariants held")
        return 0
    print(f"FAILED seed {out.seed}: {rep.failure}")
    if out.shrunk:
        print(f"shortest step list found ({len(out.shrunk)} steps, {out.shrink_runs} runs):")
        for kind, seed in out.shrunk:
            print(f"  {kind} {seed}")
    return 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="deterministic simulation: a seeded hostile crowd, crashes and torn writes, "
        "invariants checked after every step",
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--steps", type=_steps, default=500)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--no-shrink", action="store_true", help="report a failure unshrunk")
    p.add_argument("--max-record-bytes", type=int, default=MAX_RECORD_BYTES,
                   help="the log's frame limit in the run (default %(default)s)")  # fmt: skip
    p.add_argument("--tmp", help="folder for the run's temporary data (default: the system's)")
    p.set_defaults(func=_sim)
