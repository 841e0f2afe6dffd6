"""Report `directory` (零工市场名录与电子地图): the public list and map of stations.

Owns: the station table (Linfen: 名录 published to the public; Shandong: 电子地图) with
coordinates in WGS-84 and, for marking them on Amap/Tencent and Baidu maps, GCJ-02 and
BD-09; and the same stations as a GeoJSON FeatureCollection (RFC 7946: WGS-84,
coordinates [lng, lat], no `crs` member), kept in `Report.extra["geojson"]`.

Invariants: a station is listed when registered on or before the period's last day; its
status is the one in force at the end of that day. Coordinates rounded to 7 decimals.
Limits: no personal data is involved (stations are public places).
"""

from __future__ import annotations

from typing import Any

from adapters.stores.backend import Backend
from adapters.stores.report_model import (
    KIND_ZH,
    MARKET_TYPE_ZH,
    OPERATING,
    STATUS_ZH,
    Chart,
    Column,
    Report,
    Scope,
    Section,
    region_name,
)
from adapters.stores.report_roster import station_status_at
from adapters.stores.report_sql import position
from engine.geo import wgs84_to_bd09, wgs84_to_gcj02

DECIMALS = 7


def directory(store: Backend, scope: Scope, *, approved_only: bool = False) -> Report:
    status = station_status_at(store, scope.period.last_day)
    rows: list[dict[str, Any]] = []
    for sid, name, kind, mtype, parent, region, lat, lng, area, address in store.query(
        "SELECT station_id, name, kind, market_type, parent_id, region, lat, lng, area_m2, "
        "address FROM d_station WHERE registered_day <= ? AND region LIKE ? ORDER BY station_id",
        [scope.period.last_day, scope.region + "%"],
    ):
        if scope.station and sid != scope.station:
            continue
        st = status.get(sid, ("", 0))[0]
        if approved_only and st not in OPERATING:
            continue
        glat, glng = wgs84_to_gcj02(lat, lng)
        blat, blng = wgs84_to_bd09(lat, lng)
        rows.append(
            {
                "station_id": sid, "name": name, "kind": KIND_ZH.get(kind, kind),
                "market_type": MARKET_TYPE_ZH.get(mtype, mtype), "parent_id": parent,
                "region": region, "region_name": region_name(region), "status": STATUS_ZH.get(st, st), "address": address,
                "area_m2": int(area), "lng": round(lng, DECIMALS), "lat": round(lat, DECIMALS),
                "gcj_lng": round(glng, DECIMALS), "gcj_lat": round(glat, DECIMALS),
                "bd_lng": round(blng, DECIMALS), "bd_lat": round(blat, DECIMALS),
                "_kind": kind, "_status": st,
            }
        )  # fmt: skip
    columns = [
        Column("station_id", "站点编号"), Column("name", "名称"), Column("kind", "层级"),
        Column("market_type", "类型"), Column("parent_id", "上级站点"),
        Column("region", "地区代码"), Column("region_name", "地区名称"),
        Column("status", "状态"), Column("address", "地址"),
        Column("area_m2", "面积(平方米)", "int"), Column("lng", "经度(WGS-84)", "float"),
        Column("lat", "纬度(WGS-84)", "float"), Column("gcj_lng", "经度(高德/腾讯)", "float"),
        Column("gcj_lat", "纬度(高德/腾讯)", "float"), Column("bd_lng", "经度(百度)", "float"),
        Column("bd_lat", "纬度(百度)", "float"),
    ]  # fmt: skip
    return Report(
        name="directory",
        title="零工市场(驿站)名录",
        scope=scope,
        position=position(store),
        sections=[
            Section(
                "stations",
                "站点名录",
                columns,
                rows,
                Chart("scatter", "lng", ("lat",), "Stations (WGS-84)", "站点分布图"),
            )
        ],  # fmt: skip
        notes=[
            "GeoJSON 与 WGS-84 坐标符合 RFC 7946；在高德、腾讯地图标注用 GCJ-02，百度地图用 BD-09。"
        ],
        extra={"geojson": geojson(rows)},
    )


def geojson(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 7946 FeatureCollection of directory rows (Point geometries, [lng, lat])."""
    features = []
    for r in rows:
        props = {
            "station_id": r["station_id"], "name": r["name"], "kind": r["_kind"],
            "kind_zh": r["kind"], "market_type": r["market_type"], "parent_id": r["parent_id"],
            "region": r["region"], "region_name": r["region_name"], "status": r["_status"], "status_zh": r["status"],
            "address": r["address"], "area_m2": r["area_m2"],
        }  # fmt: skip
        features.append(
            {
                "type": "Feature",
                "id": r["station_id"],
                "geometry": {"type": "Point", "coordinates": [r["lng"], r["lat"]]},
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}
