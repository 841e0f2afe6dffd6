"""The one job formatter (`engine.present`) and its three outlets, on every pay unit.

The worker's HTTP card (`adapters.http.views.worker_card`), the station board
(`adapters.http.board_page.board_view`) and the SMS texts (`adapters.nats.sms_text`)
show the pay in its own unit: 元/天, 元/小时 (never turned into a day rate), 元/件 with
the expected total; 50 fen a piece is "0.50 元/件".
"""

from __future__ import annotations

import pytest

from adapters.http.board_page import board_view
from adapters.http.views import worker_card
from adapters.nats import sms_text as tx
from engine import commands as c
from engine.events import Policy, TravelSpeeds
from engine.present import job_card, pay_text, time_text, travel_times, yuan_text
from tests.support import World, at, cid, near

UNITS = [
    # unit, pay fen, expected pieces, pay text, expected total text, SMS pay text
    ("day", 30000, 0, "300 元/天", "共 1 天，预计 300 元", "300 元/天"),
    ("hour", 2500, 0, "25 元/小时", "共 6 小时，预计 150 元", "25 元/小时"),
    ("piece", 50, 800, "0.50 元/件", "预计 800 件，约 400 元", "0.50 元/件 约400元"),
    ("piece", 50, 0, "0.50 元/件", "按件计酬，件数未定", "0.50 元/件"),
]


def test_money_is_exact_yuan() -> None:
    assert [yuan_text(f) for f in (0, 50, 5, 100, 2550, 30000, 30001)] == [
        "0",
        "0.50",
        "0.05",
        "1",
        "25.50",
        "300",
        "300.01",
    ]
    assert pay_text(50, "piece") == "0.50 元/件"


def test_time_window_is_local() -> None:
    assert time_text(at(7), at(15)) == "11月23日 07:00–15:00"
    assert time_text(at(22), at(30)) == "11月23日 22:00 至 11月24日 06:00"
    assert time_text(at(8), at(24)) == "11月23日 08:00–00:00"  # ends at midnight


def test_travel_times_use_the_policy_speeds() -> None:
    slow = Policy(speeds=TravelSpeeds(walk_mps=1.0, ebike_mps=5.0))
    times = {t.mode: t for t in travel_times(1000.0, slow, "ebike")}
    assert list(times)[0] == "ebike"
    assert times["walk"].travel_s == 1300 and times["walk"].text == "步行 22 分钟"
    assert times["ebike"].travel_s == 260 and times["ebike"].text == "电动车 5 分钟"


def _world(unit: str, pay: int, pieces: int) -> World:
    w = World()
    w.station("S1")
    w.employer("E1")
    w.worker("W1", min_pay_fen=0, mode="ebike")
    w.check_in("W1")
    w.run(
        c.SubmitJob(
            command_id=cid(),
            ts_ms=w.now,
            job_id="J1",
            employer_id="E1",
            station_id="S1",
            title="搬运工",
            description="装卸建材",
            skill="moving",
            headcount=2,
            pay_fen=pay,
            pay_unit=unit,
            expected_pieces=pieces,
            start_ms=at(8),
            end_ms=at(14),
            location=near(300, 400),
            address="樊城区建材市场",
        )
    )
    return w


@pytest.mark.parametrize(("unit", "pay", "pieces", "text", "total", "sms"), UNITS)
def test_every_outlet_shows_the_pay_in_its_own_unit(
    unit: str, pay: int, pieces: int, text: str, total: str, sms: str
) -> None:
    w = _world(unit, pay, pieces)
    job = w.state.jobs["J1"]
    assert job.status == "open"
    # HTTP: the worker's card
    card = worker_card(w.state, job, w.state.worker_rows["W1"])
    assert (card.pay_text, card.expected_total_text) == (text, total)
    assert (card.title, card.description, card.address) == ("搬运工", "装卸建材", "樊城区建材市场")
    assert (card.headcount, card.open_slots) == (2, 2)
    assert card.time_text == "11月23日 08:00–14:00"
    assert card.distance_m == 500 and card.distance_text == "500 米"
    assert card.travel[0].mode == "ebike"  # the worker's own mode first
    assert "to=" in card.amap and "destination=latlng:" in card.baidu
    assert "元/天" not in card.pay_text or unit == "day"
    # the station board
    board = board_view(w.state, "S1", w.now)
    assert board is not None
    (row,) = board.jobs
    assert (row.pay, row.total, row.address) == (text, total, "樊城区建材市场")
    # SMS
    info = tx.JobInfo(
        job_id="J1",
        title=job.title,
        headcount=job.headcount,
        pay_fen=job.pay_fen,
        pay_unit=job.pay_unit,
        expected_pieces=job.expected_pieces,
    )
    offer = tx.offer_text(info, 500)
    assert offer == f"【零工】搬运工 2人 {sms} 距您 500米 回复1接单 2拒绝"
    assert len(offer) <= tx.SEGMENT_CHARS
    assert tx.push_text(info, 500).startswith(f"【零工】附近新岗位 搬运工 2人 {sms} ")


def test_a_card_without_origin_has_no_distance() -> None:
    w = _world("day", 30000, 0)
    card = job_card(w.state.jobs["J1"], Policy())
    assert card.distance_m is None and card.travel == [] and card.distance_text == ""
