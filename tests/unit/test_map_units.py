"""Pure pieces of the boards and the e-map: the datum conversion of the GeoJSON layers,
the tile option, the station's contact as the registry may record it."""

from __future__ import annotations

import msgspec
import pytest

from adapters.http.board_page import station_contact
from adapters.http.map_page import (
    DEFAULT_TILES,
    NO_TILES,
    map_tiles_from,
    parse_bbox,
    render_map,
    to_datum,
)
from adapters.http.problems import ApiError
from engine.geo import bd09_to_wgs84, gcj02_to_wgs84
from engine.state import Station

# Public test vectors of eviltransform (WGS-84 -> GCJ-02): Shanghai, Shenzhen, Beijing.
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj02_matches_the_published_vectors(wgs, gcj) -> None:
    lat, lng = to_datum(*wgs, "gcj02")
    assert lat == pytest.approx(gcj[0], abs=1e-7) and lng == pytest.approx(gcj[1], abs=1e-7)
    back = gcj02_to_wgs84(lat, lng)
    assert back == pytest.approx(wgs, abs=2e-7)  # 7 decimals out, ~1 cm


def test_wgs84_is_unchanged_and_bd09_round_trips() -> None:
    assert to_datum(32.0090, 112.1220, "wgs84") == (32.009, 112.122)
    b_lat, b_lng = to_datum(32.0090, 112.1220, "bd09")
    assert bd09_to_wgs84(b_lat, b_lng) == pytest.approx((32.0090, 112.1220), abs=2e-7)
    with pytest.raises(ValueError):
        to_datum(32.0, 112.0, "utm")


def test_map_tiles_option() -> None:
    assert map_tiles_from(None) == DEFAULT_TILES and map_tiles_from("") == DEFAULT_TILES
    assert map_tiles_from("none") == NO_TILES and NO_TILES.url == ""
    osm = map_tiles_from("https://tiles.example.org/{z}/{x}/{y}.png", "wgs84")
    assert osm.datum == "wgs84" and osm.subdomains == ""
    local = map_tiles_from("/tiles/{z}/{x}/{y}.png")
    assert local.datum == "gcj02"
    for bad in ("ftp://x/{z}/{x}/{y}", "https://x/tile.png"):
        with pytest.raises(ValueError):
            map_tiles_from(bad)
    with pytest.raises(ValueError):
        map_tiles_from("https://x/{z}/{x}/{y}", "utm")


def test_map_page_names_the_tiles_only_in_its_config() -> None:
    page = render_map(DEFAULT_TILES)
    assert page.count("autonavi.com") == 1 and '"datum":"gcj02"' in page
    assert '"tiles":""' in render_map(NO_TILES) and '"datum":"wgs84"' in render_map(NO_TILES)


def test_bbox() -> None:
    assert parse_bbox("") is None
    assert parse_bbox("112,31.5,112.5,32") == (112.0, 31.5, 112.5, 32.0)
    for bad in ("1,2,3", "x,1,2,3", "2,1,1,3", "nan,1,2,3", "100,20,120,40"):
        with pytest.raises(ApiError):
            parse_bbox(bad)


def _station(**extra) -> Station:
    return Station(station_id="S", name="站", kind="hub", market_type="", parent_id="",
                   region="420602", lat=32.0, lng=112.0, **extra)  # fmt: skip


class _WithContact(msgspec.Struct, kw_only=True):  # as the registry may grow the record
    station_id: str = "S"
    address: str = "襄阳市樊城区人民路1号"
    hotline: str = "0710-3456789"
    opening_hours: str = "05:30–12:00"


class _Materials(msgspec.Struct, kw_only=True):
    site_address: str = "襄城区檀溪路2号"
    hotline: str = "12333"
    open_minute: int = 330
    close_minute: int = 720


class _WithMaterials(msgspec.Struct, kw_only=True):
    station_id: str = "S"
    materials: _Materials = msgspec.field(default_factory=_Materials)


class _AsApplied(msgspec.Struct, kw_only=True):  # the application's fields (ApplyStation)
    station_id: str = "S"
    hotline: str = ""
    open_min: int = 0
    close_min: int = 0


def test_station_contact_from_the_application_fields() -> None:
    assert station_contact(_AsApplied()) == ("", "", "")  # type: ignore[arg-type]  # 0-0: none
    applied = _AsApplied(hotline="0710-3456789", open_min=330, close_min=1080)
    assert station_contact(applied) == ("", "0710-3456789", "05:30–18:00")  # type: ignore[arg-type]


def test_station_contact_from_either_shape() -> None:
    assert station_contact(_station()) == ("", "", "")  # today's record: nothing declared
    assert station_contact(_WithContact()) == (  # type: ignore[arg-type]
        "襄阳市樊城区人民路1号",
        "0710-3456789",
        "05:30–12:00",
    )
    assert station_contact(_WithMaterials()) == (  # type: ignore[arg-type]
        "襄城区檀溪路2号",
        "12333",
        "05:30–12:00",
    )


def test_station_contact_masks_personal_numbers_in_free_text() -> None:
    leaky = _WithContact(address="人民路1号 找张三 13912345678")
    address, _, _ = station_contact(leaky)  # type: ignore[arg-type]
    assert "13912345678" not in address
