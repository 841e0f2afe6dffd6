"""Fairness of a policy on the bench morning: write the morning's log, audit it.

Owns: `morning_log` (the crowd morning of `lingong bench morning`, executed in memory with
every `SetPolicy` of the morning rewritten by `policy_overrides`, written to a file log)
and `run_fairness_bench` (that log through `replay.fairness.fairness`: the priority
ratio and the lowest age-band impact ratio against the aims of issue 14).

Invariants: the same seed and overrides give the same log and the same figures; the
policy overrides are applied to every policy the morning sets (national and county),
so the figures describe that policy.
Limits: one morning of the given size in memory (about 1 GB at city scale).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from adapters.log.filelog import FileLog
from bench.fold_bench import execute_morning
from bench.morning_bench import default_workers, make_morning, sizes_for
from engine import commands as c
from engine import events as e
from replay.fairness import fairness


def _rewrite(overrides: dict[str, Any]):  # noqa: ANN202
    def transform(cmd: c.Command) -> c.Command:
        if not isinstance(cmd, c.SetPolicy) or not overrides:
            return cmd
        fields = msgspec.to_builtins(cmd.policy)
        for key, value in overrides.items():
            if isinstance(value, dict):
                fields[key] = {**fields.get(key, {}), **value}
            else:
                fields[key] = value
        return msgspec.structs.replace(cmd, policy=msgspec.convert(fields, e.Policy))

    return transform


def morning_log(
    directory: Path,
    *,
    scale: str = "city",
    workers: int | None = None,
    postings: int | None = None,
    seed: int = 7,
    policy_overrides: dict[str, Any] | None = None,
) -> tuple[Path, int]:
    """Write the bench morning's records to `directory`/log; (log folder, records)."""
    workers = default_workers(scale) if workers is None else workers
    morning = make_morning(scale, sizes_for(workers, postings), seed)
    _, records = execute_morning(morning, _rewrite(policy_overrides or {}))
    log = directory / "log"
    with FileLog(log, fsync=False) as out:
        batch = [e.encode_record(r) for r in records]
        for i in range(0, len(batch), 4096):
            out.append(batch[i : i + 4096])
    return log, len(records)


def run_fairness_bench(
    *,
    scale: str = "city",
    workers: int | None = None,
    postings: int | None = None,
    seed: int = 7,
    policy_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lingong-fairness-") as tmp:
        log, n = morning_log(
            Path(tmp),
            scale=scale,
            workers=workers,
            postings=postings,
            seed=seed,
            policy_overrides=policy_overrides,
        )
        made_s = time.perf_counter() - started
        report = fairness(log)
    return {
        "scale": scale,
        "seed": seed,
        "policy_overrides": policy_overrides or {},
        "records": n,
        "morning_s": round(made_s, 1),
        "priority_offer_ratio": report.priority_offer_ratio,
        "min_age_impact": report.min_age_impact,
        "aims_met": report.aims_met,
        "age_band": [
            {
                "group": g.group,
                "eligible": g.eligible,
                "offer_rate": g.offer_rate,
                "offer_impact": g.offer_impact,
            }
            for g in report.dimensions["age_band"]
        ],
        "priority_group": [
            {
                "group": g.group,
                "eligible": g.eligible,
                "offer_rate": g.offer_rate,
                "offer_impact": g.offer_impact,
            }
            for g in report.dimensions["priority_group"]
        ],
    }
