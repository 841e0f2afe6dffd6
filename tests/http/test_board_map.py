"""Station boards list every open job near the station, whoever collected it; the e-map's
GeoJSON layers (issue 15, boards and the map). Through HTTP, on the two-region world of
`tests.http.world` (S1 the Xiangyang hub, S2 a branch 2 km north of it)."""

from __future__ import annotations

import pytest

from adapters.http.board import NOTIFY_MAX_TESTS
from adapters.http.map_page import to_datum
from tests.http.world import Env

S1 = (32.0090, 112.1220)
NEAR_S1 = {"lat": 32.0092428, "lng": 112.1220}  # 27 m north of S1, 1973 m from S2


def _post_job(env: Env, job_id: str, where: dict[str, float], title: str) -> None:
    resp = env.client.post(
        "/jobs",
        json={"job_id": job_id, "employer_id": "E1", "station_id": "S2", "title": title,
              "skill": "moving", "headcount": 3, "pay_fen": 28000, "start_ms": 1795392000000,
              "end_ms": 1795413600000, "location": where},
        headers=env.auth("station_staff/4206/S2"),
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    assert "JobPublished" in {e["type"] for e in resp.json()["events"]}


def test_board_shows_a_nearby_job_collected_by_another_station(env: Env) -> None:
    before = env.client.get("/board/S1/jobs").json()  # cached now: the change must refresh it
    assert "JN" not in [j["job_id"] for j in before["jobs"]]
    _post_job(env, "JN", NEAR_S1, "仓库装卸工")

    board = env.client.get("/board/S1/jobs").json()
    row = next(j for j in board["jobs"] if j["job_id"] == "JN")
    assert row["distance_m"] == 27 and row["distance"] == "27 米 · 步行 1 分钟"
    assert row["station_id"] == "S2" and row["station"] == "S2站"  # collected elsewhere
    assert board["count"] == before["count"] + 1
    assert board["radius_m"] == 1500 and board["radius"] == "1.5 公里"  # the policy's reach
    dists = [j["distance_m"] for j in board["jobs"]]
    assert dists == sorted(dists)  # nearest first
    page = env.client.get("/board/S1").text
    assert "仓库装卸工" in page and "S2站" in page and "方圆 1.5 公里内" in page

    # S2 collected it: its own board lists it too, though it lies 1973 m away
    own = env.client.get("/board/S2/jobs").json()
    assert [j["distance_m"] for j in own["jobs"] if j["job_id"] == "JN"] == [1973]


def test_board_leaves_out_far_jobs_of_other_stations(env: Env) -> None:
    far = {"lat": S1[0] + 0.0162, "lng": S1[1]}  # 1.8 km north of S1, 0.2 km from S2
    _post_job(env, "JF", far, "远处搬运工")
    s1 = [j["job_id"] for j in env.client.get("/board/S1/jobs").json()["jobs"]]
    assert "JF" not in s1
    s2 = env.client.get("/board/S2/jobs").json()
    assert "JF" in [j["job_id"] for j in s2["jobs"]]
    # Wuhan's hub sees none of Xiangyang's jobs (300 km away)
    sw = env.client.get("/board/SW/jobs").json()
    assert {j["job_id"] for j in sw["jobs"]} == {"JW"}


def test_board_shows_the_station_contact_or_says_none(env: Env) -> None:
    board = env.client.get("/board/S1/jobs").json()
    assert set(board) >= {"address", "hotline", "hours"}
    page = env.client.get("/board/S1").text
    assert "地址：" in page and "服务热线：" in page and "服务时间：" in page


def test_map_layers_are_geojson_in_the_datum_asked_for(env: Env) -> None:
    wgs = env.client.get("/map/stations").json()
    assert wgs["type"] == "FeatureCollection"
    s1 = next(f for f in wgs["features"] if f["id"] == "S1")
    assert s1["geometry"]["coordinates"] == [S1[1], S1[0]]  # [lng, lat] WGS-84
    assert s1["properties"]["board"] == "/board/S1" and s1["properties"]["datum"] == "wgs84"
    gcj = env.client.get("/map/stations?datum=gcj02").json()
    g1 = next(f for f in gcj["features"] if f["id"] == "S1")
    g_lat, g_lng = to_datum(S1[0], S1[1], "gcj02")
    assert g1["geometry"]["coordinates"] == [g_lng, g_lat]
    assert abs(g_lng - S1[1]) > 0.003  # the GCJ-02 offset here is some 500 m
    assert g1["properties"]["datum"] == "gcj02"

    jobs = env.client.get("/map/jobs").json()
    ids = {f["id"] for f in jobs["features"]}
    assert {"J2", "JW"} <= ids and "JH" not in ids  # held postings are not public
    j2 = next(f for f in jobs["features"] if f["id"] == "J2")
    assert j2["properties"]["pay"] == "300 元/天" and j2["properties"]["station_id"] == "S1"
    boxed = env.client.get("/map/jobs?bbox=112.0,31.9,112.3,32.1").json()
    assert "J2" in {f["id"] for f in boxed["features"]}
    assert "JW" not in {f["id"] for f in boxed["features"]}  # Wuhan is outside the box
    one = env.client.get("/map/jobs?limit=1").json()
    assert len(one["features"]) == 1 and one["truncated"] is True


@pytest.mark.parametrize(
    "query",
    ["bbox=1,2,3", "bbox=a,b,c,d", "bbox=113,31,112,32", "bbox=100,20,120,40", "datum=utm",
     "limit=0", "limit=99999"],
)  # fmt: skip
def test_map_jobs_refuses_bad_queries(env: Env, query: str) -> None:
    before = env.seq
    resp = env.client.get(f"/map/jobs?{query}")
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert env.seq == before


def test_map_page_centres_on_a_station(env: Env) -> None:
    page = env.client.get("/map?station=S1")
    assert page.status_code == 200 and "零工市场电子地图" in page.text
    g_lat, g_lng = to_datum(S1[0], S1[1], "gcj02")  # the default tiles are Amap's, GCJ-02
    assert f'"lat":{g_lat},"lng":{g_lng},"zoom":15,"centered":true' in page.text
    assert env.client.get("/map?station=NOPE").status_code == 404


def test_a_change_near_a_board_wakes_its_stream_and_a_far_one_does_not(env: Env) -> None:
    hub = env.client.app.state["board"]
    env.client.get("/board/S1/jobs")  # the hub learns where S1's board is
    wake = hub.subscribe("S1")
    try:
        hub.notify(frozenset({"S2"}), ((32.0190, 112.1220),))  # 1.1 km from S1, by S2
        assert wake.is_set()
        wake.clear()
        hub.notify(frozenset({"S2"}), ((32.0290, 112.1220),))  # 2.2 km: outside the radius
        assert not wake.is_set()
        hub.notify(frozenset({"*"}))  # a policy changed: every board
        assert wake.is_set()
        wake.clear()
        far = ((40.0, 116.0),) * (NOTIFY_MAX_TESTS + 1)  # a bulk import: no tests, all boards
        hub.notify(frozenset({"S2"}), far)
        assert wake.is_set()
    finally:
        hub.unsubscribe("S1", wake)
