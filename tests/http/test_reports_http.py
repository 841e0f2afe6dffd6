"""Reports over HTTP for station staff and bureaus (issue 15): staff fetch their own
station's roster and figures and no other's; the roster has masked 姓名; JSON is UTF-8
without escapes; names of occupations and regions are Chinese."""

from __future__ import annotations

from tests.http.world import Env


def section(doc: dict, key: str) -> list[dict]:
    return next(s["rows"] for s in doc["sections"] if s["key"] == key)


def test_station_staff_fetch_their_own_roster_with_masked_names(env: Env):
    r = env.client.get("/reports/roster?month=2026-11", headers=env.auth("station_staff/4206"))
    assert r.status_code == 200, r.text
    assert "\\u" not in r.text and "花名册" in r.text  # UTF-8, no escapes
    doc = r.json()
    assert doc["scope"]["station"] == "S1"  # defaulted to the token's station
    rows = section(doc, "roster")
    assert rows and {row["station_id"] for row in rows} == {"S1"}
    h1 = next(row for row in rows if row["hire_id"] == env.ids["H1"])
    assert h1["name_masked"] == "张*"  # 张三, unsealed under W1's key and masked
    assert "张三" not in r.text
    assert h1["skill_name"] == "装卸搬运工" and h1["region_name"] == "湖北省襄阳市襄城区"
    assert "moving" not in r.text


def test_station_staff_may_not_fetch_another_station(env: Env):
    staff = env.auth("station_staff/4206")
    for url in (
        "/reports/roster?month=2026-11&station=S2",  # same region, other station
        "/reports/progress?month=2026-11&station=SW",  # other region
        "/reports/roster?month=2026-11&region=4201",
    ):
        assert env.client.get(url, headers=staff).status_code == 403, url
    s2 = env.client.get("/reports/roster?month=2026-11", headers=env.auth("station_staff/4206/S2"))
    assert s2.status_code == 200 and section(s2.json(), "roster") == []  # S2 placed nobody
    assert s2.json()["empty"] is True and s2.json()["message"] == "本月无数据"


def test_station_staff_figures_and_bureau_view(env: Env):
    mine = env.client.get(
        "/reports/supply-demand?month=2026-11", headers=env.auth("station_staff/4206")
    )
    assert mine.status_code == 200
    stations = {row["station_id"] for row in section(mine.json(), "by_station")}
    assert stations <= {"S1", ""}
    bureau = env.client.get("/reports/progress?month=2026-11", headers=env.auth("auditor/4206"))
    assert bureau.status_code == 200
    rows = {row["region"]: row for row in section(bureau.json(), "by_region")}
    assert rows["4206"]["region_name"] == "湖北省襄阳市"
    assert rows["4206"]["counties_total"] == 9 and rows["4206"]["counties_covered"] == 1
    assert rows["4206"]["mt_general"] == 2  # S1 and S2, both 综合性 (the default type)
    assert env.client.get("/reports/roster", headers=env.auth("front_end/4206")).status_code == 403
