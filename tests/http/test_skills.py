"""Skills as 国家职业分类大典 codes (issue 14): the searchable list, Chinese names in the
views, 大典 codes accepted and checked by the commands, legacy English codes shown by
their 大典 name."""

from __future__ import annotations

from tests.http.world import Env

STAFF = "station_staff/4206"


def _skills(env: Env, query: str) -> dict:
    resp = env.client.get(f"/skills{query}", headers=env.auth(STAFF))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_search_the_code_list_in_chinese(env: Env) -> None:
    found = _skills(env, "?q=搬运")
    assert found["version"].startswith("大典2022") and "2022" in found["edition"]
    first = found["skills"][0]
    assert (first["code"], first["name"], first["family"]) == (
        "4-02-05-01",
        "装卸搬运工",
        "搬运装卸",
    )
    assert set(first["legacy"]) == {"moving", "loading"}
    assert _skills(env, "?q=保洁")["skills"][0]["code"] == "4-09-08-01"
    assert [s["code"] for s in _skills(env, "?q=moving")["skills"]] == ["4-02-05-01"]
    picker = _skills(env, "?limit=5")["skills"]
    assert len(picker) == 5 and picker[0]["code"] == "4-02-05-01"
    too_long = env.client.get("/skills?q=" + "搬" * 40, headers=env.auth(STAFF))
    assert too_long.status_code == 400 and too_long.json()["field"] == "q"


def test_commands_take_dadian_codes_and_views_name_them(env: Env) -> None:
    body = {"worker_id": "WD1", "region": "420602", "skills": ["4-02-05-01", "4-09-08-01"],
            "min_pay_fen": 10000, "birth_year": 1970, "personal": {"mobile": "13800001112"},
            "home": {"lat": 32.009, "lng": 112.122}}  # fmt: skip
    resp = env.client.post("/workers", json=body, headers=env.auth(STAFF))
    assert resp.status_code == 201, resp.text
    view = env.client.get("/workers/WD1", headers=env.auth(STAFF)).json()
    assert view["skill_names"] == ["装卸搬运工", "保洁员"]
    bad = dict(body, worker_id="WD2", skills=["4-99-99-98"])  # the form of a code, unknown
    resp = env.client.post("/workers", json=bad, headers=env.auth(STAFF))
    assert resp.status_code == 422 and resp.json()["rule"] == "occupation_code_unknown"
    # a legacy English code of older logs is shown by its 大典 name
    job = env.client.get("/jobs/J1", headers=env.auth(STAFF)).json()
    assert (job["skill"], job["skill_name"]) == ("moving", "装卸搬运工")
    legacy = env.client.get("/workers/W1", headers=env.auth(STAFF)).json()
    assert legacy["skill_names"] == ["装卸搬运工"]
