"""Tampering is caught: by the frames and chain when bytes change, by re-execution when the
forger recomputed the checksums and the chain, and by anchors when the end is cut off."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from adapters.log.filelog import verify_log
from engine import events as e
from replay.cli import main
from replay.verify import verify
from tests.replay.util import copy_log, frames, write_log


def _middle_frame(log: Path):
    """A frame in the middle of a segment that is neither the first nor the last one."""
    fs = frames(log)
    segs = sorted({f.segment for f in fs})
    assert len(segs) >= 4, "the segmented log should have several segments"
    inner = [f for f in fs if f.segment == segs[len(segs) // 2]]
    return inner[len(inner) // 2], inner


def test_intact_log_verifies(segmented: Path, demo) -> None:
    report = verify(segmented)
    assert report.ok, report.failure
    assert report.segments >= 4
    assert report.digest == demo[1]["digest"]  # the writer's state, re-derived
    assert report.facts_checked > 0 and report.facts_unchecked > 0


def test_flipped_byte(segmented: Path, tmp_path: Path) -> None:
    log = copy_log(segmented, tmp_path / "log")
    frame, _ = _middle_frame(log)
    data = bytearray(frame.segment.read_bytes())
    data[frame.offset + frame.length - 3] ^= 0x01  # inside the payload
    frame.segment.write_bytes(bytes(data))
    report = verify(log)
    assert not report.ok
    f = report.failure
    assert (f.kind, f.segment, f.offset, f.seq) == (
        "corrupt",
        frame.segment.name,
        frame.offset,
        frame.seq,
    )
    assert "crc32" in f.message


def test_deleted_frame(segmented: Path, tmp_path: Path) -> None:
    log = copy_log(segmented, tmp_path / "log")
    frame, _ = _middle_frame(log)
    data = frame.segment.read_bytes()
    frame.segment.write_bytes(data[: frame.offset] + data[frame.offset + frame.length :])
    f = verify(log).failure
    assert f is not None and f.kind == "corrupt"
    assert (f.segment, f.offset, f.seq) == (frame.segment.name, frame.offset, frame.seq)
    assert f"seq {frame.seq + 1} where seq {frame.seq} was expected" in f.message


def test_swapped_frames(segmented: Path, tmp_path: Path) -> None:
    log = copy_log(segmented, tmp_path / "log")
    a, inner = _middle_frame(log)
    b = inner[inner.index(a) + 1]
    data = a.segment.read_bytes()
    first, second = data[a.offset : a.offset + a.length], data[b.offset : b.offset + b.length]
    a.segment.write_bytes(data[: a.offset] + second + first + data[b.offset + b.length :])
    f = verify(log).failure
    assert f is not None and (f.kind, f.segment, f.offset, f.seq) == (
        "corrupt",
        a.segment.name,
        a.offset,
        a.seq,
    )


def test_truncated_inner_segment(segmented: Path, tmp_path: Path) -> None:
    log = copy_log(segmented, tmp_path / "log")
    frame, inner = _middle_frame(log)
    data = frame.segment.read_bytes()
    frame.segment.write_bytes(data[:-10])
    f = verify(log).failure
    assert f is not None and f.kind == "corrupt" and f.segment == frame.segment.name
    assert f.offset == inner[-1].offset and f.seq == inner[-1].seq


def test_truncated_last_segment(segmented: Path, tmp_path: Path) -> None:
    log = copy_log(segmented, tmp_path / "log")
    fs = frames(log)
    last = fs[-1]
    data = last.segment.read_bytes()
    last.segment.write_bytes(data[: last.offset + 20])  # mid-frame: an unfinished append
    report = verify(log)
    assert not report.ok and report.failure.kind == "torn_tail"
    assert report.failure.segment == last.segment.name and report.failure.offset == last.offset
    allowed = verify(log, allow_torn_tail=True)
    assert allowed.ok and allowed.last_seq == last.seq - 1 and allowed.torn_tail_bytes == 20


def test_cut_at_a_frame_boundary_needs_an_anchor(segmented: Path, tmp_path: Path) -> None:
    whole = verify_log(segmented)
    log = copy_log(segmented, tmp_path / "log")
    fs = frames(log)
    last = fs[-1]
    tail = [f for f in fs if f.segment == last.segment]
    assert len(tail) >= 2, "the last segment should hold at least two appends"
    data = last.segment.read_bytes()
    last.segment.write_bytes(data[: tail[-2].offset])  # two whole appends gone
    assert verify(log).ok  # indistinguishable from a shorter log without an anchor
    f = verify(log, expect_last_seq=whole.last_seq).failure
    assert f is not None and f.kind == "anchor" and "cut off" in f.message
    f = verify(log, expect_head=whole.head_hash.hex()).failure
    assert f is not None and f.kind == "anchor"


def _first_wave_offer(data: list[bytes]) -> tuple[int, int, e.Record]:
    for i, payload in enumerate(data):
        rec = e.decode_record(payload)
        for j, ev in enumerate(rec.events):
            if isinstance(ev, e.OfferMade) and ev.source == "wave":
                return i, j, rec
    raise AssertionError("no wave offer in the demo log")


def _with_event(rec: e.Record, j: int, ev: e.Event) -> bytes:
    events = list(rec.events)
    events[j] = ev
    return e.encode_record(msgspec.structs.replace(rec, events=events))


def test_edited_score_with_valid_crc_and_chain(demo_payloads, tmp_path: Path) -> None:
    i, j, rec = _first_wave_offer(demo_payloads)
    offer = rec.events[j]
    forged = msgspec.structs.replace(offer, score=offer.score + 0.25)
    data = list(demo_payloads)
    data[i] = _with_event(rec, j, forged)
    log = write_log(tmp_path / "log", data)
    assert verify_log(log).ok  # frames and chain are perfect: only re-execution can tell
    f = verify(log).failure
    assert f is not None and f.kind == "decision"
    assert (f.seq, f.index) == (i + 1, j)
    assert f.fields["score"] == [forged.score, offer.score]
    assert f.policy_version >= 1 and f.region.startswith(f.policy_region)
    assert main(["verify", str(log), "--quiet"]) == 1


def test_edited_worker_with_valid_crc_and_chain(demo_payloads, tmp_path: Path) -> None:
    i, j, rec = _first_wave_offer(demo_payloads)
    offer = rec.events[j]
    other = "W0000499" if offer.worker_id != "W0000499" else "W0000498"
    forged = msgspec.structs.replace(offer, worker_id=other)
    data = list(demo_payloads)
    data[i] = _with_event(rec, j, forged)
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "decision" and f.seq == i + 1
    assert f.fields["worker_id"] == [other, offer.worker_id]


def test_forged_fact_refused_by_the_rules(demo_payloads, tmp_path: Path) -> None:
    """An accept moved past its offer's expiry: the rules would have refused it."""
    data = list(demo_payloads)
    offers: dict[str, e.OfferMade] = {}
    for i, payload in enumerate(data):
        rec = e.decode_record(payload)
        for ev in rec.events:
            if isinstance(ev, e.OfferMade):
                offers[ev.offer_id] = ev
        fact = rec.events[0]
        if isinstance(fact, e.OfferAccepted):
            ts = offers[fact.offer_id].expires_ms + 1  # the fact and its command moved
            late = msgspec.structs.replace(fact, ts_ms=ts)
            cmd = msgspec.structs.replace(rec.command, ts_ms=ts)  # (the digest omits time)
            data[i] = e.encode_record(
                msgspec.structs.replace(rec, events=[late, *rec.events[1:]], command=cmd)
            )
            break
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "fact" and f.seq == i + 1
    assert "offer_live" in f.message


def _first_record_of(payloads: list[bytes], kind: type) -> tuple[int, e.Record]:
    return next(
        (i, rec)
        for i, p in enumerate(payloads)
        if isinstance((rec := e.decode_record(p)).events[0], kind)
    )


def test_fact_edited_without_its_command(demo_payloads, tmp_path: Path) -> None:
    """A posting's pay edited in the fact only: its recorded command decides otherwise."""
    i, rec = _first_record_of(demo_payloads, e.JobSubmitted)
    fact = rec.events[0]
    data = list(demo_payloads)
    data[i] = _with_event(rec, 0, msgspec.structs.replace(fact, pay_fen=fact.pay_fen + 100))
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "fact" and f.seq == i + 1
    assert f.fields["pay_fen"] == [fact.pay_fen + 100, fact.pay_fen]


def test_command_edited_without_its_digest(demo_payloads, tmp_path: Path) -> None:
    i, rec = _first_record_of(demo_payloads, e.JobSubmitted)
    cmd = msgspec.structs.replace(rec.command, pay_fen=rec.command.pay_fen + 100)
    data = list(demo_payloads)
    data[i] = e.encode_record(msgspec.structs.replace(rec, command=cmd))
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "record" and f.seq == i + 1
    assert "digest" in f.message


def test_command_dropped_to_dodge_the_fact_check(demo_payloads, tmp_path: Path) -> None:
    """A forged fact in a record stripped of its command is refused as such."""
    i, rec = _first_record_of(demo_payloads, e.JobSubmitted)
    fact = rec.events[0]
    forged = msgspec.structs.replace(fact, pay_fen=fact.pay_fen + 100)
    data = list(demo_payloads)
    data[i] = e.encode_record(
        e.Record(v=rec.v, cmd_id=rec.cmd_id, events=[forged, *rec.events[1:]])
    )
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "record" and f.seq == i + 1
    assert "carries no command" in f.message


def test_decision_passed_off_as_a_fact(demo_payloads, tmp_path: Path) -> None:
    i, j, rec = _first_wave_offer(demo_payloads)
    offer = rec.events[j]
    forged = e.Record(
        v=rec.v, cmd_id="forged-1", events=[msgspec.structs.replace(offer, cmd_id="forged-1")]
    )
    data = list(demo_payloads)
    data.insert(i + 1, e.encode_record(forged))
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "record" and f.seq == i + 2
    assert "not a fact" in f.message


def test_replayed_command_id(demo_payloads, tmp_path: Path) -> None:
    data = list(demo_payloads)
    k = next(i for i, p in enumerate(data) if isinstance(e.decode_record(p).events[0], e.Tick))
    data.insert(k + 1, data[k])
    f = verify(write_log(tmp_path / "log", data)).failure
    assert f is not None and f.kind == "record" and f.seq == k + 2
    assert "already recorded" in f.message


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_names_segment_and_offset(segmented: Path, tmp_path: Path, capsys, as_json) -> None:
    log = copy_log(segmented, tmp_path / "log")
    frame, _ = _middle_frame(log)
    data = bytearray(frame.segment.read_bytes())
    data[frame.offset + frame.length - 1] ^= 0xFF
    frame.segment.write_bytes(bytes(data))
    assert main(["verify", str(log), "--quiet", *(["--json"] if as_json else [])]) == 1
    out = capsys.readouterr().out
    if as_json:
        failure = msgspec.json.decode(out)["failure"]
        assert (failure["segment"], failure["offset"]) == (frame.segment.name, frame.offset)
    else:
        assert frame.segment.name in out and f"byte offset {frame.offset}" in out


def test_fact_no_command_produces(demo_payloads, tmp_path: Path) -> None:
    """EmployerCleared is only ever a decision: a record opening with it was forged."""
    data = list(demo_payloads)
    k = next(i for i, p in enumerate(data) if isinstance(e.decode_record(p).events[0], e.Tick))
    ts = e.decode_record(data[k]).events[0].ts_ms
    fact = e.EmployerCleared(ts_ms=ts, cmd_id="forged-2", employer_id="E000000", reason="fraud")
    data.insert(k + 1, e.encode_record(e.Record(v=1, cmd_id="forged-2", events=[fact])))
    f = verify(write_log(tmp_path / "log", data)).failure
    # EmployerCleared is only ever a decision, so the record's shape already fails
    assert f is not None and f.seq == k + 2
    assert (f.kind, "decision") == ("record", "decision") and "EmployerCleared" in f.message
