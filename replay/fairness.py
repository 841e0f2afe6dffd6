"""`lingong replay fairness`: offer and hire rates by age band and priority group.

Owns: `fairness(directory)`, which folds the log and, at every moment the matcher ranked
workers for a job (`replay.walk`), runs the matcher's kernel (`rank_workers_from`, with
the matcher's own arguments and room for every candidate row) to find every worker who
passed all its filters. A worker is *eligible* once they pass every filter at one such
moment ("already offered this job" aside), or once they get an offer (check-in offers
rank jobs for one worker; that worker is eligible by construction).

For each group: eligible workers, workers offered and hired among them, the offer rate
and hire rate (offered / eligible, hired / eligible), and the impact ratio of each rate
against the best-treated group of the same dimension (the four-fifths rule: a ratio under
0.8 is flagged as possible adverse impact). Groups smaller than `min_group` are reported
but neither flagged nor used as the reference (rates of a handful of people say little).

The aims of the default policy (issue 14), reported and checked:
- `priority_offer_ratio`: the offer rate of prioritised workers (older: age >= the
  policy's `older_age` (大龄), or in a priority group (兜底)) over the rest's: >= 1.0, so
  the policy keeps their priority;
- `min_age_impact`: the lowest offer-rate impact ratio of any compared age band: >= 0.8,
  so the priority never shuts a band out (Shandong 四(五)).
`passed` is True when both aims hold, or when a policy in force at the end of the log
records a `fairness_exception_reason` (the bureau's reason, listed in `exceptions`);
`lingong replay fairness` exits 1 when `passed` is False.

Invariants: read-only; groups are those of `replay.groups` (age at the local year of the
first eligibility, priority group then); gender, ethnicity and household registration are
not in the log and never used. Offers and hires are read from the records as they are
walked (the core keeps only the live ones).

Limits: a top-up wave that found nobody leaves no event, so its moment is not sampled
(the worker-level figures are unaffected unless someone was eligible only then).
"""

from __future__ import annotations

import time

import msgspec
import numpy as np

from adapters.log.ports import LogReader
from engine import events as e
from engine.geo import local_year
from engine.matcher import bell_rows, job_query_radius_m, job_vectors
from engine.matching.kernels import rank_workers_from
from engine.state import State
from replay.groups import age_band, band_order, group_label
from replay.source import open_reader, reads_log
from replay.walk import DecisionPoint, walk

FOUR_FIFTHS = 0.8
MIN_GROUP = 30
PRIORITY_RATIO_AIM = 1.0  # prioritised workers' offer rate / the rest's, at least


class GroupRow(msgspec.Struct, kw_only=True):
    group: str
    eligible: int
    offered: int
    hired: int
    offer_rate: float
    hire_rate: float
    hire_per_offered: float
    offer_impact: float | None  # rate / the reference group's rate; None: too small
    hire_impact: float | None
    flags: list[str]


class FairnessReport(msgspec.Struct, kw_only=True):
    log: str
    decision_points: int
    eligible_workers: int
    offered_workers: int
    hired_workers: int
    threshold: float
    min_group: int
    dimensions: dict[str, list[GroupRow]]
    elapsed_s: float
    # the aims: priority kept (ratio >= 1.0) and no age band shut out (impact >= 0.8)
    # None: fewer than min_group eligible on a side, or only the prioritised were offered
    priority_offer_ratio: float | None = None
    min_age_impact: float | None = None  # None: no age band large enough to compare
    aims_met: bool = True
    exceptions: dict[str, str] = {}  # region prefix -> the bureau's recorded reason
    passed: bool = True
    files: dict[str, str] = {}


class _Eligibility:
    """Eligible worker rows with their (age band, group) at first eligibility."""

    def __init__(self) -> None:
        self.first: dict[int, tuple[str, str]] = {}
        self.prioritised: set[int] = set()  # older or in a priority group at first sight
        self.seen = np.zeros(0, dtype=bool)  # row -> eligible once already
        self.points = 0

    def mark(self, state: State, rows: np.ndarray, ts_ms: int) -> None:
        if len(self.seen) < len(state.worker_ids):
            grown = np.zeros(max(len(state.worker_ids), 2 * len(self.seen)), dtype=bool)
            grown[: len(self.seen)] = self.seen
            self.seen = grown
        new = rows[~self.seen[rows]]
        if len(new) == 0:
            return
        self.seen[new] = True
        year = local_year(ts_ms)
        birth = state.workers.birth_year
        for row in new.tolist():
            age = year - int(birth[row])
            group = state.worker_priority_group(row)
            self.first[row] = (age_band(age), group_label(group))
            older_age = state.policy_for(state.worker_region[row])[1].older_age
            if group or (0 < age <= 120 and age >= older_age):
                self.prioritised.add(row)

    def probe(self, state: State, seq: int, rec: e.Record, point: DecisionPoint) -> bool:
        ts = rec.events[0].ts_ms
        self.points += 1
        offered = [state.worker_rows[o.worker_id] for o in point.offers]
        self.mark(state, np.asarray(offered, dtype=np.int64), ts)
        if point.kind == "checkin":
            return False
        rows = bell_rows(state, point.scope) if point.kind == "bell" else None
        for job_id in point.job_ids:
            job = state.jobs[job_id]
            vec = job_vectors(state, job, ts)
            if vec.skill_bit is None:
                continue
            cand = (
                rows
                if rows is not None
                else state.checked_in.query(job.lat, job.lng, job_query_radius_m(vec, ts))
            )
            if len(cand) == 0:
                continue
            # every row passing the filters (k = all); previously offered rows stay in
            eligible = rank_workers_from(
                state.workers,
                cand,
                vec.job,
                vec.pol,
                vec.weights,
                vec.accept_coef,
                len(cand),
                _NONE,
            )[0]
            self.mark(state, np.asarray(eligible, dtype=np.int64), ts)
        return False


_NONE = np.empty(0, dtype=np.int64)


class _Outcomes:
    """Worker ids offered and hired, read from every record walked."""

    def __init__(self) -> None:
        self.offered: set[str] = set()
        self.hired: set[str] = set()
        self.policy_sets: dict[str, e.PolicySet] = {}  # in force: the last per region

    def interesting(self, rec: e.Record) -> bool:
        found = False
        for ev in rec.events:
            if isinstance(ev, e.OfferMade):
                self.offered.add(ev.worker_id)
                found = True
            elif isinstance(ev, e.JobPublished):
                found = True
            elif isinstance(ev, e.HireConfirmed):
                self.hired.add(ev.worker_id)
            elif isinstance(ev, e.PolicySet):
                self.policy_sets[ev.region] = ev
        return found


@reads_log
def fairness(
    log: LogReader | str,
    *,
    threshold: float = FOUR_FIFTHS,
    min_group: int = MIN_GROUP,
    quiet: bool = True,
) -> FairnessReport:
    """Rates and impact ratios by age band and priority group among eligible workers."""
    started = time.perf_counter()
    elig = _Eligibility()
    seen = _Outcomes()
    reader = open_reader(log)
    engine = walk(reader, seen.interesting, elig.probe, quiet=quiet, desc="fairness")
    state = engine.state
    offered = {state.worker_rows[w] for w in seen.offered}
    hired = {state.worker_rows[w] for w in seen.hired}
    dims: dict[str, list[GroupRow]] = {}
    for d, name in enumerate(("age_band", "priority_group")):
        tally: dict[str, list[int]] = {}
        for row, groups in elig.first.items():
            t = tally.setdefault(groups[d], [0, 0, 0])
            t[0] += 1
            t[1] += row in offered
            t[2] += row in hired
        order = (lambda g: (band_order(g), g)) if d == 0 else (lambda g: (g != "none", g))
        dims[name] = _rows(tally, order, threshold, min_group)
    ratio = _priority_ratio(elig, offered, min_group)
    impacts = [g.offer_impact for g in dims["age_band"] if g.offer_impact is not None]
    min_impact = min(impacts) if impacts else None
    # judged at the two decimals the report shows (0.9995 is 1.00: sampling noise)
    aims_met = (ratio is None or round(ratio, 2) >= PRIORITY_RATIO_AIM) and (
        min_impact is None or round(min_impact, 2) >= threshold
    )
    exceptions = {
        region or "(national)": ps.fairness_exception_reason
        for region, ps in seen.policy_sets.items()
        if ps.fairness_exception_reason
    }
    return FairnessReport(
        log=reader.location,
        decision_points=elig.points,
        eligible_workers=len(elig.first),
        offered_workers=sum(1 for r in elig.first if r in offered),
        hired_workers=sum(1 for r in elig.first if r in hired),
        threshold=threshold,
        min_group=min_group,
        dimensions=dims,
        elapsed_s=round(time.perf_counter() - started, 3),
        priority_offer_ratio=ratio,
        min_age_impact=min_impact,
        aims_met=aims_met,
        exceptions=exceptions,
        passed=aims_met or bool(exceptions),
    )


def _priority_ratio(elig: _Eligibility, offered: set[int], min_group: int) -> float | None:
    """Offer rate of the prioritised eligible workers / that of the other eligible ones."""
    n_pri = n_rest = off_pri = off_rest = 0
    for row in elig.first:
        if row in elig.prioritised:
            n_pri += 1
            off_pri += row in offered
        else:
            n_rest += 1
            off_rest += row in offered
    if n_pri < min_group or n_rest < min_group:
        return None  # too few on one side to compare (as for the groups)
    rest = off_rest / n_rest
    if rest == 0.0:  # nobody else was offered anything: the priority is kept
        return None
    return round((off_pri / n_pri) / rest, 4)


def _rows(tally: dict[str, list[int]], order, threshold: float, min_group: int) -> list[GroupRow]:
    rates = {g: (t[1] / t[0], t[2] / t[0]) for g, t in tally.items() if t[0]}
    big = [g for g, t in tally.items() if t[0] >= min_group]
    best_offer = max((rates[g][0] for g in big), default=0.0)
    best_hire = max((rates[g][1] for g in big), default=0.0)
    out = []
    for g in sorted(tally, key=order):
        n, n_off, n_hire = tally[g]
        offer_rate, hire_rate = rates.get(g, (0.0, 0.0))
        small = n < min_group
        oi = None if small or best_offer == 0 else round(offer_rate / best_offer, 4)
        hi = None if small or best_hire == 0 else round(hire_rate / best_hire, 4)
        flags = []
        if small:
            flags.append(f"fewer than {min_group} eligible: not compared")
        if oi is not None and oi < threshold:
            flags.append(f"offer rate impact ratio {oi:.2f} < {threshold:g}")
        if hi is not None and hi < threshold:
            flags.append(f"hire rate impact ratio {hi:.2f} < {threshold:g}")
        out.append(
            GroupRow(
                group=g,
                eligible=n,
                offered=n_off,
                hired=n_hire,
                offer_rate=round(offer_rate, 4),
                hire_rate=round(hire_rate, 4),
                hire_per_offered=round(n_hire / n_off, 4) if n_off else 0.0,
                offer_impact=oi,
                hire_impact=hi,
                flags=flags,
            )
        )
    return out
