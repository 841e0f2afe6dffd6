"""Outcomes of a morning, counted from its events: what `whatif` compares side by side.

Owns: `Outcomes`, a collector fed with the events of each record in order (recorded or
re-run), and its `result()`: postings and review verdicts, slots, offers and their ends,
hires, fill rate, time to fill, travel distance of hires, and offers and hires by age
band and priority group.

Invariants:
- Engine-free: everything is counted from events (worker birth year and priority group
  from `WorkerRegistered`/`WorkerUpdated`, headcounts from `JobSubmitted`), so the
  recorded run and a what-if run are measured by exactly the same code.
- Same events in, same result out (medians over sorted lists; no sets iterated).

Limits: memory grows with offers (one small tuple per offer) for the travel figures.
"""

from __future__ import annotations

import statistics
from typing import Any

from engine import events as e
from engine.geo import local_year
from replay.groups import AGE_BANDS, age_band, band_order, group_label


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


class Outcomes:
    """Counts over a stream of records' events."""

    def __init__(self) -> None:
        self.birth_year: dict[str, int] = {}
        self.group: dict[str, str] = {}
        self.headcount: dict[str, int] = {}
        self.published_ms: dict[str, int] = {}
        self.offer_info: dict[str, tuple[int, int]] = {}  # offer id -> (distance m, travel s)
        self.counts: dict[str, int] = {}
        self.slots = 0
        self.fill_s: list[float] = []
        self.first_hire_s: list[float] = []
        self.hire_distance_m: list[float] = []
        self.hire_travel_s: list[float] = []
        self.by_band: dict[str, list[int]] = {}  # band -> [offers, hires]
        self.by_group: dict[str, list[int]] = {}
        self.offered_workers: dict[str, None] = {}
        self.hired_workers: dict[str, None] = {}
        self.jobs_with_hire: dict[str, None] = {}

    def _person(self, worker_id: str, ts_ms: int) -> tuple[str, str]:
        birth = self.birth_year.get(worker_id, 0)
        band = age_band(local_year(ts_ms) - birth) if birth else "unknown"
        return band, group_label(self.group.get(worker_id, ""))

    def _count(self, worker_id: str, ts_ms: int, column: int) -> None:
        band, group = self._person(worker_id, ts_ms)
        self.by_band.setdefault(band, [0, 0])[column] += 1
        self.by_group.setdefault(group, [0, 0])[column] += 1

    def feed(self, events: list[e.Event]) -> None:
        counts = self.counts
        for ev in events:
            name = type(ev).__name__
            counts[name] = counts.get(name, 0) + 1
            if isinstance(ev, e.WorkerRegistered):
                self.birth_year[ev.worker_id] = ev.birth_year
                self.group[ev.worker_id] = ev.priority_group
            elif isinstance(ev, e.WorkerUpdated):
                self.group[ev.worker_id] = ev.priority_group
            elif isinstance(ev, e.JobSubmitted):
                self.headcount[ev.job_id] = ev.headcount
            elif isinstance(ev, e.JobPublished):
                self.published_ms[ev.job_id] = ev.ts_ms
                self.slots += self.headcount.get(ev.job_id, 0)
            elif isinstance(ev, e.OfferMade):
                self.offer_info[ev.offer_id] = (ev.distance_m, ev.travel_s)
                self.offered_workers[ev.worker_id] = None
                self._count(ev.worker_id, ev.ts_ms, 0)
                counts["offer:" + ev.source] = counts.get("offer:" + ev.source, 0) + 1
            elif isinstance(ev, e.HireConfirmed):
                distance, travel = self.offer_info.get(ev.offer_id, (0, 0))
                self.hire_distance_m.append(float(distance))
                self.hire_travel_s.append(float(travel))
                self.hired_workers[ev.worker_id] = None
                self._count(ev.worker_id, ev.ts_ms, 1)
                if ev.job_id not in self.jobs_with_hire and ev.job_id in self.published_ms:
                    self.first_hire_s.append((ev.ts_ms - self.published_ms[ev.job_id]) / 1000)
                self.jobs_with_hire[ev.job_id] = None
            elif isinstance(ev, e.JobFilled) and ev.job_id in self.published_ms:
                self.fill_s.append((ev.ts_ms - self.published_ms[ev.job_id]) / 1000)

    def result(self) -> dict[str, Any]:
        c = self.counts
        hires = c.get("HireConfirmed", 0)
        offers = c.get("OfferMade", 0)
        return {
            "postings": c.get("JobSubmitted", 0),
            "published": c.get("JobPublished", 0),
            "held_for_review": c.get("JobHeldForReview", 0),
            "rejected": c.get("JobRejected", 0),
            "slots": self.slots,
            "offers": offers,
            "offers_wave": c.get("offer:wave", 0),
            "offers_checkin": c.get("offer:checkin", 0),
            "offers_bell": c.get("offer:bell", 0),
            "offers_accepted": c.get("OfferAccepted", 0),
            "offers_declined": c.get("OfferDeclined", 0),
            "offers_expired": c.get("OfferExpired", 0),
            "offers_withdrawn": c.get("OfferWithdrawn", 0),
            "pushes": c.get("PushSent", 0),
            "hires": hires,
            "jobs_filled": c.get("JobFilled", 0),
            "fill_rate": round(hires / self.slots, 4) if self.slots else 0.0,
            "acceptance_rate": round(c.get("OfferAccepted", 0) / offers, 4) if offers else 0.0,
            "median_time_to_fill_s": _median(self.fill_s),
            "mean_time_to_fill_s": _mean(self.fill_s),
            "median_time_to_first_hire_s": _median(self.first_hire_s),
            "median_hire_distance_m": _median(self.hire_distance_m),
            "mean_hire_distance_m": _mean(self.hire_distance_m),
            "mean_hire_travel_s": _mean(self.hire_travel_s),
            "workers_offered": len(self.offered_workers),
            "workers_hired": len(self.hired_workers),
            "no_shows": c.get("NoShow", 0),
            "by_age_band": {
                band: {"offers": v[0], "hires": v[1]}
                for band, v in sorted(self.by_band.items(), key=lambda kv: band_order(kv[0]))
            },
            "by_priority_group": {
                group: {"offers": v[0], "hires": v[1]} for group, v in sorted(self.by_group.items())
            },
        }


SCALARS = (
    "postings",
    "published",
    "held_for_review",
    "rejected",
    "slots",
    "offers",
    "offers_wave",
    "offers_checkin",
    "offers_bell",
    "offers_accepted",
    "offers_declined",
    "offers_expired",
    "offers_withdrawn",
    "pushes",
    "hires",
    "jobs_filled",
    "fill_rate",
    "acceptance_rate",
    "median_time_to_fill_s",
    "mean_time_to_fill_s",
    "median_time_to_first_hire_s",
    "median_hire_distance_m",
    "mean_hire_distance_m",
    "mean_hire_travel_s",
    "workers_offered",
    "workers_hired",
    "no_shows",
)

__all__ = ["AGE_BANDS", "SCALARS", "Outcomes"]
