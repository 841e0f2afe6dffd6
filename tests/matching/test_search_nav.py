"""Keyword search (关键字查找) and navigation links (一键导航)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from engine.geo import haversine_m, wgs84_to_bd09, wgs84_to_gcj02
from engine.matching.nav import nav_links
from engine.matching.search import MAX_QUERY_CHARS, KeywordIndex, tokens

TITLES = {
    0: "搬家工 3人",
    1: "保洁阿姨",
    2: "装卸工 日结",
    3: "小区保洁 钟点工",
    4: "家具搬运 装卸",
    5: "ＫＴＶ服务员 夜班",
    6: "搬砖小工",
}


@pytest.fixture
def index() -> KeywordIndex:
    idx = KeywordIndex()
    for row, title in TITLES.items():
        idx.add(row, title)
    return idx


def test_tokens():
    assert tokens("搬家工 3人") == ["搬", "家", "工", "搬家", "家工", "3", "人"]
    assert tokens("搬家工", query=True) == ["搬家", "家工"]
    assert tokens("搬", query=True) == ["搬"]
    assert tokens("ＫＴＶ服务员", query=True) == ["ktv", "服务", "务员"]
    assert tokens(" ,。! ") == []


def test_bigram_queries(index):
    assert index.query("搬家").tolist() == [0]
    assert index.query("保洁").tolist() == [1, 3]
    assert index.query("装卸").tolist() == [2, 4]
    assert index.query("装卸工").tolist() == [2]
    assert index.query("搬").tolist() == [0, 4, 6]  # single character: unigram
    assert index.query("工").tolist() == [0, 2, 3, 6]
    assert index.query("保洁 阿姨").tolist() == [1]  # every token must match
    assert index.query("阿姨 钟点").tolist() == []
    assert index.query("ktv").tolist() == [5]
    assert index.query("KTV 夜班").tolist() == [5]
    assert index.query("3人").tolist() == [0]
    assert index.query("家工").tolist() == [0]
    assert index.query("搬家公司").tolist() == []  # 家公, 公司 absent
    assert index.query("").tolist() == [] and index.query("  ").tolist() == []


def test_remove_and_limits(index):
    index.remove(1)
    assert index.query("保洁").tolist() == [3]
    assert 1 not in index and len(index) == 6
    assert not index.discard(1)
    index.add(1, "保洁阿姨 两人")
    assert index.query("阿姨").tolist() == [1]
    with pytest.raises(ValueError):
        index.add(1, "again")
    with pytest.raises(ValueError):
        index.query("搬" * (MAX_QUERY_CHARS + 1))


def test_nav_links_format():
    dest = (32.009, 112.122)
    links = nav_links(*dest, "襄阳零工驿站 A&B", mode="ebike")
    g_lat, g_lng = wgs84_to_gcj02(*dest)
    b_lat, b_lng = wgs84_to_bd09(*dest)
    name = "%E8%A5%84%E9%98%B3%E9%9B%B6%E5%B7%A5%E9%A9%BF%E7%AB%99%20A%26B"
    assert links["amap"] == (
        f"https://uri.amap.com/navigation?to={g_lng:.6f},{g_lat:.6f},{name}"
        "&mode=ride&coordinate=gaode&callnative=1"
    )
    assert links["baidu"] == (
        f"https://api.map.baidu.com/direction?destination=latlng:{b_lat:.6f},{b_lng:.6f}"
        f"|name:{name}&mode=riding&coord_type=bd09ll&output=html&src=lingong"
    )
    assert links["distance_m"] is None and links["travel_s"] is None
    query = parse_qs(urlsplit(links["amap"]).query)
    assert unquote(query["to"][0].split(",")[2]) == "襄阳零工驿站 A&B"
    # GCJ-02 and BD-09 really are offset from WGS-84 (hundreds of metres in China)
    assert 100 < haversine_m(*dest, g_lat, g_lng) < 1000
    assert haversine_m(*dest, b_lat, b_lng) > haversine_m(*dest, g_lat, g_lng)


@pytest.mark.parametrize(
    ("mode", "amap", "baidu"),
    [
        ("walk", "walk", "walking"),
        ("bike", "ride", "riding"),
        ("bus", "bus", "transit"),
        ("car", "car", "driving"),
    ],
)
def test_nav_links_with_origin(mode, amap, baidu):
    origin = (22.817, 108.366)
    dest = (22.827, 108.376)
    links = nav_links(*dest, "保洁", from_lat=origin[0], from_lng=origin[1], mode=mode)
    d = haversine_m(*origin, *dest)
    speeds = {"walk": 1.2, "bike": 3.5, "bus": 4.0, "car": 8.0}
    assert links["distance_m"] == round(d)
    assert links["travel_s"] == round(d * 1.3 / speeds[mode])
    assert f"&mode={amap}&" in links["amap"] and f"&mode={baidu}&" in links["baidu"]
    og_lat, og_lng = wgs84_to_gcj02(*origin)
    assert links["amap"].startswith(
        f"https://uri.amap.com/navigation?from={og_lng:.6f},{og_lat:.6f},"
    )
    ob_lat, ob_lng = wgs84_to_bd09(*origin)
    assert f"?origin=latlng:{ob_lat:.6f},{ob_lng:.6f}|name:" in links["baidu"]


def test_nav_links_errors():
    with pytest.raises(ValueError):
        nav_links(32.0, 112.0, "x", mode="horse")
    with pytest.raises(ValueError):
        nav_links(32.0, 112.0, "x", from_lat=32.0)
