"""`lingong policy train`: the learned acceptance model, trained from the log itself.

Owns: turning the log's own offer outcomes into a training set, fitting a scikit-learn
logistic regression, and recording its coefficients as a new `PolicySet` event (through
the runtime, so it is a fact in the log like any other). The model never comes from
outside the log: features are the score components each `OfferMade` recorded.

Invariants:
- Label 1: the offer was accepted and the hire did not end in a no-show. Label 0: the
  offer was declined, expired, or accepted but the worker did not show up. Withdrawn
  offers (the job filled first, the worker left) say nothing about the worker's choice
  and are left out.
- Training is deterministic (lbfgs, fixed data order); the same log gives the same
  coefficients.
- The kernel evaluates sigmoid(coef[0] + coef[1:] . features) with the same feature
  order (`engine.matching.params.FEATURE_NAMES`).

Limits: at least `MIN_SAMPLES` labelled offers with both outcomes present, at most
`MAX_SAMPLES` (the most recent are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from engine import events as e
from engine.matching.params import FEATURE_NAMES, N_FEATURES

if TYPE_CHECKING:
    from adapters.shell.runtime import Clock

MIN_SAMPLES = 50
MAX_SAMPLES = 2_000_000


class TrainingSet(msgspec.Struct, kw_only=True):
    features: list[list[float]]
    labels: list[int]
    offers: int
    withdrawn: int


def training_set(records: list[tuple[int, e.Record]], region: str = "") -> TrainingSet:
    """Features and labels of every decided offer in `records` (optionally one region)."""
    feats: dict[str, tuple[float, ...]] = {}
    outcome: dict[str, int] = {}
    hire_offer: dict[str, str] = {}
    job_region: dict[str, str] = {}
    withdrawn = 0
    for _, rec in records:
        for ev in rec.events:
            if isinstance(ev, e.JobSubmitted):
                job_region[ev.job_id] = ev.region
            elif isinstance(ev, e.OfferMade):
                if len(ev.features) == N_FEATURES and job_region.get(ev.job_id, "").startswith(
                    region
                ):
                    feats[ev.offer_id] = ev.features
            elif isinstance(ev, e.OfferAccepted):
                outcome[ev.offer_id] = 1
            elif isinstance(ev, e.OfferDeclined | e.OfferExpired):
                outcome[ev.offer_id] = 0
            elif isinstance(ev, e.OfferWithdrawn):
                withdrawn += 1
            elif isinstance(ev, e.HireConfirmed):
                hire_offer[ev.hire_id] = ev.offer_id
            elif isinstance(ev, e.NoShow):
                offer_id = hire_offer.get(ev.hire_id)
                if offer_id is not None:
                    outcome[offer_id] = 0
    keys = [k for k in feats if k in outcome][-MAX_SAMPLES:]
    return TrainingSet(
        features=[list(feats[k]) for k in keys],
        labels=[outcome[k] for k in keys],
        offers=len(feats),
        withdrawn=withdrawn,
    )


def fit(ts: TrainingSet) -> tuple[tuple[float, ...], dict[str, float]]:
    """Coefficients (intercept first) and fit figures; raises ValueError when too little."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(ts.labels, dtype=np.int64)
    if len(y) < MIN_SAMPLES or y.min() == y.max():
        raise ValueError(
            f"need at least {MIN_SAMPLES} decided offers with both outcomes; have {len(y)}"
            f" ({int(y.sum()) if len(y) else 0} accepted)"
        )
    x = np.asarray(ts.features, dtype=np.float64)
    model = LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000)
    model.fit(x, y)
    coef = (float(model.intercept_[0]), *(float(c) for c in model.coef_[0]))
    accuracy = float(model.score(x, y))
    return coef, {"samples": float(len(y)), "accept_rate": float(y.mean()), "accuracy": accuracy}


def train(
    data_dir: Path,
    *,
    region: str = "",
    weight: float = 0.5,
    dry_run: bool = False,
    clock: Clock | None = None,
) -> dict:
    """Fit on the log in `data_dir` and record the policy (stamped by `clock`, the system
    clock by default, never before the log's last event)."""
    from adapters.shell.runtime import Runtime
    from engine.authz import Caller
    from engine.commands import SetPolicy

    # an operator on this machine, acting for the whole country (the CLI's caller)
    trainer = Caller(actor_id="cli:policy-train", role="admin", nationwide=True)

    with Runtime(data_dir, clock=clock) as rt:
        records = [(seq, e.decode_record(p)) for seq, p in rt.log.read(verify_chain=False)]
        ts = training_set(records, region)
        coef, figures = fit(ts)
        _, base = rt.engine.state.policies.get(region, rt.engine.state.policies[""])
        policy = msgspec.structs.replace(
            base,
            acceptance_coef=coef,
            weights=msgspec.structs.replace(base.weights, acceptance=weight),
        )
        out = {
            "region": region,
            "coefficients": dict(zip(("intercept", *FEATURE_NAMES), coef, strict=True)),
            "weight": weight,
            **figures,
            "offers_seen": ts.offers,
            "withdrawn_left_out": ts.withdrawn,
        }
        if dry_run:
            out["recorded"] = False
            return out
        now = max(rt.clock.now_ms(), rt.engine.state.last_ts_ms)
        res = rt.submit(
            SetPolicy(
                command_id=f"policy-train-{rt.engine.state.last_seq}",
                ts_ms=now,
                region=region,
                policy=policy,
                note=f"learned acceptance model from {int(figures['samples'])} offers",
            ),
            trainer,
        )
        if not res.ok:
            raise ValueError(f"policy refused: {res.refusal}")
        out["recorded"] = True
        out["seq"] = res.seq
        out["version"] = res.events[0].version  # type: ignore[attr-defined]
        return out


def _cmd(args: argparse.Namespace) -> int:
    if not (Path(args.data) / "log").is_dir():  # never create a data folder to train on
        print(f"lingong policy train: no log (log/) in {args.data}", file=sys.stderr)
        return 2
    try:
        out = train(Path(args.data), region=args.region, weight=args.weight, dry_run=args.dry_run)
    except ValueError as exc:
        print(f"lingong policy train: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(format_training(out))
    return 0


def format_training(out: dict) -> str:
    """What `policy train` did, for people (`--json` gives the same as one document)."""
    coef = ", ".join(f"{k} {v:+.3f}" for k, v in out["coefficients"].items())
    done = (
        f"recorded as policy version {out.get('version')} at seq {out.get('seq')}"
        if out.get("recorded")
        else "not recorded (--dry-run)"
    )
    return "\n".join(
        [
            f"acceptance model for region {out['region'] or '(national default)'}: {done}",
            f"  trained on {int(out['samples'])} decided offers of {out['offers_seen']} "
            f"({out['withdrawn_left_out']} withdrawn left out); accept rate "
            f"{out['accept_rate']:.1%}, accuracy {out['accuracy']:.1%}",
            f"  weight {out['weight']:g}; coefficients {coef}",
        ]
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", help="matching policy").add_subparsers(
        dest="policy_cmd", required=True
    )
    t = p.add_parser("train", help="fit the acceptance model from the log; record a PolicySet")
    t.add_argument("--data", required=True, help="data folder (DATA/log)")
    t.add_argument("--region", default="", help="region prefix ('' = national default)")
    t.add_argument("--weight", type=float, default=0.5, help="weight of the learned component")
    t.add_argument("--dry-run", action="store_true", help="fit and print, record nothing")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_cmd)
