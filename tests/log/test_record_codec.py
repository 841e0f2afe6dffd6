"""Record schema 2 (engine.record_codec): compact, exact, and stable on the wire."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from adapters.log.reader import open_log_reader
from adapters.log.records import bulk_codec, decode_block, events_codec
from engine import events as e
from engine.record_codec import EVENT_CODES, RecordCodec

V1_LOG = Path(__file__).parent / "data" / "v1" / "log"


def _records() -> list[e.Record]:
    return [e.decode_record(p) for b in open_log_reader(V1_LOG).read_batches() for _, p in b]


def test_every_event_type_has_one_stable_code() -> None:
    assert sorted(EVENT_CODES) == sorted(c.__name__ for c in e.ALL_TYPES)
    assert len(set(EVENT_CODES.values())) == len(EVENT_CODES)
    # codes are on disk: these must never change
    assert (EVENT_CODES["PolicySet"], EVENT_CODES["OfferMade"], EVENT_CODES["Tick"]) == (1, 30, 14)


def test_an_offer_is_an_array_without_names_or_command_id() -> None:
    offer = e.OfferMade(
        ts_ms=1_795_385_527_826, cmd_id="jb-1", offer_id="J1/1/W1", job_id="J1",
        worker_id="W1", score=0.5, rank=1, wave=1, expires_ms=1_795_385_647_826,
        distance_m=2466, travel_s=2671,
    )  # fmt: skip
    rec = e.Record(v=e.SCHEMA_VERSION, cmd_id="jb-1", events=[offer])
    raw = msgspec.msgpack.decode(e.encode_record(rec))
    assert raw[:2] == [2, "jb-1"]
    assert raw[2][0][:3] == [30, offer.ts_ms, "J1/1/W1"] and "jb-1" not in raw[2][0]
    assert e.decode_record(e.encode_record(rec)) == rec  # the id comes back on every event
    stray = msgspec.structs.replace(offer, cmd_id="other")
    with pytest.raises(ValueError, match="carries command id 'other'"):
        e.encode_record(e.Record(v=2, cmd_id="jb-1", events=[stray]))


def test_fields_appended_later_decode_with_their_defaults() -> None:
    offer = e.OfferMade(
        ts_ms=1, cmd_id="c", offer_id="o", job_id="j", worker_id="w", score=1.0, rank=1,
        wave=1, expires_ms=2, distance_m=3, travel_s=4, source="bell", features=(0.5,),
    )  # fmt: skip
    raw = msgspec.msgpack.decode(e.encode_record(e.Record(v=2, cmd_id="c", events=[offer])))
    raw[2][0] = raw[2][0][:-2]  # as written before `source` and `features` existed
    old = e.decode_record(msgspec.msgpack.encode(raw)).events[0]
    assert (old.source, old.features) == ("wave", ())


def test_converters_and_batch_decoding_agree() -> None:
    records = _records()
    plain = RecordCodec(e.Record, e.SCHEMA_VERSION)  # the engine's converter
    fast = bulk_codec()  # the bulk reader's generated converter
    payloads = [e.encode_record(r) for r in records]
    assert [plain.decode(p) for p in payloads] == [fast.decode(p) for p in payloads] == records
    array = b"\xdd" + len(payloads).to_bytes(4, "big") + b"".join(payloads)
    assert fast.decode_array(array) == plain.decode_array(array) == records


def test_a_block_decodes_in_one_call_or_frame_by_frame_alike(tmp_path: Path) -> None:
    from adapters.log.filelog import FileLog

    records = _records()[:400]
    v1 = [p for b in open_log_reader(V1_LOG).read_batches(1, 400) for _, p in b][:400]
    with FileLog(tmp_path / "log") as log:
        log.append([e.encode_record(r) for r in records])  # schema 2: one call
        log.append(v1)  # schema 1 payloads in a v2 block: frame by frame
    blocks = list(open_log_reader(tmp_path / "log").read_blocks())
    assert [decode_block(b) for b in blocks] == [records, records]


def test_the_recorded_command_is_an_array_without_its_id_too() -> None:
    from engine import commands as c
    from engine.record import make_record

    cmd = c.CheckIn(
        command_id="ci-1", ts_ms=1_795_385_527_826, worker_id="W1", station_id="S1",
        location=c.Point(lat=30.0, lng=112.0), available_until_ms=1_795_400_000_000,
    )  # fmt: skip
    fact = e.WorkerCheckedIn(
        ts_ms=cmd.ts_ms, cmd_id="ci-1", worker_id="W1", station_id="S1", lat=30.0, lng=112.0,
        available_until_ms=cmd.available_until_ms,
    )  # fmt: skip
    rec = make_record("ci-1", [fact], command=cmd, actor="tok-1", digest=b"12345678")
    raw = msgspec.msgpack.decode(e.encode_record(rec))
    assert raw[3][0] == 9 and raw[3][1] == cmd.ts_ms and "ci-1" not in raw[3]
    assert raw[1] == "ci-1" and raw[4:] == ["tok-1", b"12345678"]
    assert e.decode_record(e.encode_record(rec)) == rec
    assert bulk_codec().decode(e.encode_record(rec)) == rec
    other = msgspec.structs.replace(cmd, command_id="ci-2")
    with pytest.raises(ValueError, match="recorded command"):
        e.encode_record(msgspec.structs.replace(rec, command=other))


def test_readers_of_events_only_skip_the_recorded_command() -> None:
    from engine import commands as c
    from engine.record import make_record

    cmd = c.CheckOut(command_id="co-1", ts_ms=1_795_385_527_826, worker_id="W1")
    fact = e.WorkerCheckedOut(ts_ms=cmd.ts_ms, cmd_id="co-1", worker_id="W1")
    rec = make_record("co-1", [fact], command=cmd, actor="tok-1", digest=b"12345678")
    payload = e.encode_record(rec)
    light = events_codec().decode(payload)
    assert light.command is None and light == msgspec.structs.replace(rec, command=None)
    assert events_codec().decode_array(msgspec.msgpack.encode([msgspec.Raw(payload)])) == [light]
    assert bulk_codec().decode(payload) == rec  # the full codec keeps it
