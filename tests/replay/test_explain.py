"""Explain re-asks the matcher at the exact moment of a decision and agrees with the log."""

from __future__ import annotations

import math
import re
from pathlib import Path

import msgspec

from engine import events as e
from replay.explain import explain, format_explanation
from tests.replay.util import records, write_log


def _offers(log: Path) -> dict[str, list[e.OfferMade]]:
    out: dict[str, list[e.OfferMade]] = {}
    for rec in records(log):
        for ev in rec.events:
            if isinstance(ev, e.OfferMade):
                out.setdefault(ev.source, []).append(ev)
    return out


def _check_job_side(log: Path, offer: e.OfferMade) -> None:
    x = explain(log, offer_id=offer.offer_id, limit=0)
    assert x.found and len(x.points) == 1
    point = x.points[0]
    assert point.agrees, format_explanation(x)
    assert offer.offer_id in [o["offer_id"] for o in point.offers]
    seen = next(s for s in point.candidates if s.worker_id == offer.worker_id)
    assert seen.eligible and seen.offered and not seen.reasons
    assert seen.score == offer.score  # bit for bit
    assert math.isclose(sum(c["points"] for c in seen.components.values()), offer.score)
    assert point.eligible == len(point.candidates)
    assert point.seen == len(point.candidates) + len(point.excluded)
    for s in point.excluded:
        assert not s.eligible and s.reasons and s.score is None
    ranks = [s.rank for s in point.candidates]
    assert ranks == list(range(1, len(ranks) + 1))
    if offer.source == "wave":
        assert seen.rank == offer.rank
        assert [s.offered for s in point.candidates[: point.wanted]] == [True] * len(point.offers)


def test_wave_offers_agree(demo) -> None:
    waves = _offers(demo[0])["wave"]
    for offer in (waves[0], waves[len(waves) // 2], waves[-1]):
        _check_job_side(demo[0], offer)


def test_bell_offer_agrees(demo) -> None:
    bell = _offers(demo[0])["bell"]
    _check_job_side(demo[0], bell[0])


def test_checkin_offer_agrees(demo) -> None:
    offer = _offers(demo[0])["checkin"][0]
    x = explain(demo[0], offer_id=offer.offer_id)
    point = x.points[0]
    assert point.kind == "checkin" and point.agrees
    scores = {j["job_id"]: j["score"] for j in point.jobs}
    assert scores[offer.job_id] == offer.score


def test_job_and_worker_not_offered(demo) -> None:
    waves = _offers(demo[0])["wave"]
    job_id = waves[0].job_id
    offered = {o.worker_id for o in waves if o.job_id == job_id}
    x = explain(demo[0], job_id=job_id)
    assert x.found and all(p.job_id == job_id for p in x.points)
    # someone the index returned who was never offered this job: say why
    point = x.points[0]
    other = next(s for s in point.excluded + point.candidates if s.worker_id not in offered)
    y = explain(demo[0], job_id=job_id, worker_id=other.worker_id)
    for p in y.points:
        w = p.worker
        assert w is not None and w.worker_id == other.worker_id and not w.offered
        assert w.reasons or w.rank > p.wanted  # failed a filter, or ranked below the cut
    text = format_explanation(y)
    assert other.worker_id in text and job_id in text


def test_unknown_offer(demo) -> None:
    x = explain(demo[0], offer_id="J9999999/1/W0000001")
    assert not x.found and "no offer" in x.note


def test_forged_score_disagrees(demo_payloads, tmp_path: Path) -> None:
    data = list(demo_payloads)
    for i, payload in enumerate(data):
        rec = e.decode_record(payload)
        j = next(
            (
                k
                for k, ev in enumerate(rec.events)
                if isinstance(ev, e.OfferMade) and ev.source == "wave"
            ),
            None,
        )
        if j is not None:
            events = list(rec.events)
            events[j] = msgspec.structs.replace(events[j], score=events[j].score * 2)
            data[i] = e.encode_record(e.Record(v=rec.v, cmd_id=rec.cmd_id, events=events))
            break
    log = write_log(tmp_path / "log", data)
    x = explain(log, offer_id=events[j].offer_id)
    assert x.found and not x.points[0].agrees


def test_ranks_match_scores_for_bell_and_wave_offers(demo) -> None:
    """Ranks shown are by score (1 = best), for bell offers too: their recorded rank is the
    assignment's order, labelled as such, never presented as a rank by score."""
    by_source = _offers(demo[0])
    bell = by_source["bell"]
    bell_total: dict[str, float] = {}
    for rec in records(demo[0]):
        made = [ev for ev in rec.events if isinstance(ev, e.OfferMade) and ev.source == "bell"]
        if made:
            bell_total[rec.cmd_id] = sum(o.score for o in made)
    assert bell, "the demo's morning rings the opening bell"
    for offer in [*bell, *by_source["wave"][:5]]:
        x = explain(demo[0], offer_id=offer.offer_id, limit=0)
        point = x.points[0]
        scores = [s.score for s in point.candidates]
        assert [s.rank for s in point.candidates] == list(range(1, len(scores) + 1))
        assert scores == sorted(scores, reverse=True)
        by_rank = {s.rank: s for s in point.candidates}
        for o in point.offers:
            seen = by_rank[o["score_rank"]]
            assert (seen.worker_id, seen.score) == (o["worker_id"], o["score"])
        ranked = sorted(point.offers, key=lambda o: o["score_rank"])
        assert [o["score"] for o in ranked] == sorted((o["score"] for o in ranked), reverse=True)
        text = format_explanation(x)
        shown = [
            (int(m.group(2)), float(m.group(1)))
            for m in re.finditer(r"score (\d+\.\d+), rank (\d+) by score", text)
        ]
        assert [r for r, _ in shown] == sorted(r for r, _ in shown)  # listed best first
        assert [s for _, s in shown] == sorted((s for _, s in shown), reverse=True)
        if offer.source == "bell":
            assert point.kind == "bell" and point.agrees
            assert math.isclose(point.bell_objective, bell_total[offer.cmd_id], rel_tol=1e-9)
            assert f"assigned #{offer.rank} to this job" in text
        else:
            assert all(o["score_rank"] == o["rank"] for o in point.offers)


def test_replay_builds_no_kernel_vectors_of_its_own() -> None:
    """explain and fairness ask the matcher for a job's vectors (`engine.matcher.job_vectors`,
    `bell_rows`): no module of replay/ calls the parameter builders itself, so an
    explanation cannot drift from the decision."""
    import ast

    builders = {"job_params", "policy_params", "weights_array", "accept_coef_array",
                "query_radius_m", "reach_m", "push_params"}  # fmt: skip
    root = Path(__file__).resolve().parents[2] / "replay"
    used = {
        (path.name, node.id if isinstance(node, ast.Name) else node.attr)
        for path in root.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Name | ast.Attribute)
        and (node.id if isinstance(node, ast.Name) else node.attr) in builders
    }
    assert not used, used
