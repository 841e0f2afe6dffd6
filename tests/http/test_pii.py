"""No unmasked phone or ID number in any response, log line or metric.

A whole flow runs through the API (registrations with real-format mobiles and ID numbers,
check-ins, postings whose free text carries a phone number, a hire, wages, complaints,
reports, the board) while every response body and header is kept; then everything is
scanned with `engine.idnumbers.find_unmasked_pii`. The one route that must reveal plain
data (an employer's contact to a hired worker) is checked separately: it does, and what
it revealed appears nowhere else.
"""

from __future__ import annotations

import random

from engine.idnumbers import find_unmasked_pii
from sim.morning import make_id_number
from tests.http.world import Env, q

ID_NUMBER = make_id_number(random.Random(5), "420602", 1968)
MOBILE = "15927270001"
EMP_MOBILE = "18672700002"


def test_no_pii_anywhere(env: Env) -> None:
    c = env.client
    fe, aud = env.auth("front_end/4206"), env.auth("auditor/4206")
    seen: list[str] = []

    def keep(resp):
        seen.append(resp.text)
        seen.extend(f"{k}: {v}" for k, v in resp.headers.items())
        return resp

    worker = {"worker_id": "WP1", "region": "420602", "skills": ["moving"], "min_pay_fen": 100,
              "personal": {"name": "钱七", "mobile": MOBILE, "id_number": ID_NUMBER},
              "home": {"lat": 32.0092, "lng": 112.1221}}  # fmt: skip
    assert keep(c.post("/workers", json=worker, headers=fe)).status_code == 201
    bad = {
        **worker,
        "worker_id": "WP2",
        "personal": {"mobile": MOBILE, "id_number": ID_NUMBER[:-1] + "0"},
    }
    assert keep(c.post("/workers", json=bad, headers=fe)).status_code == 422
    phone_id = {**worker, "worker_id": MOBILE}
    assert keep(c.post("/workers", json=phone_id, headers=fe)).json()["rule"] == "id_is_pii"
    employer = {"employer_id": "EP1", "kind": "person", "name": "孙八", "region": "420602",
                "contact": {"name": "孙八", "mobile": EMP_MOBILE}}  # fmt: skip
    assert keep(c.post("/employers", json=employer, headers=fe)).status_code == 201
    assert (
        keep(c.post("/workers/WP1/check-in", json={"station_id": "S1"}, headers=fe)).status_code
        == 201
    )
    job = {"job_id": "JP1", "employer_id": "EP1", "station_id": "S1",
           "title": f"搬家 电话{EMP_MOBILE}", "description": f"联系 {EMP_MOBILE}",
           "skill": "moving", "headcount": 1, "pay_fen": 28000, "start_ms": 1795392000000,
           "end_ms": 1795413600000, "location": {"lat": 32.0093, "lng": 112.1222},
           "address": f"襄城区 {EMP_MOBILE}"}  # fmt: skip
    refused = keep(c.post("/jobs", json=job, headers=fe))  # contact details in posting text
    assert refused.status_code == 422 and refused.json()["rule"] == "no_personal_data"
    job = {**job, "title": "搬家 2人", "description": "日结", "address": "襄城区"}
    posted = keep(c.post("/jobs", json=job, headers=fe))
    assert posted.status_code == 201, posted.text
    offers = keep(c.get("/workers/WP1/offers", headers=fe)).json()
    offer = next(o for o in offers if o["job_id"] == "JP1")
    accepted = keep(c.post(f"/workers/WP1/offers/{q(offer['offer_id'])}/accept", headers=fe))
    assert accepted.status_code == 201, accepted.text
    hire = next(e for e in accepted.json()["events"] if e["type"] == "HireConfirmed")["hire_id"]
    env.clock.ms = max(env.clock.ms, 1795392000000)  # work is completed after its start
    for step, body in (("arrival", None), ("completion", None), ("wage", {"amount_fen": 28000})):
        assert keep(c.post(f"/hires/{q(hire)}/{step}", json=body, headers=fe)).status_code == 201
    complaint = {"complaint_id": "CP1", "kind": "wage_arrears", "employer_id": "EP1",
                 "worker_id": "WP1", "hire_id": hire, "text": f"老板电话 {EMP_MOBILE} 不接"}  # fmt: skip
    assert keep(c.post("/complaints", json=complaint, headers=fe)).status_code == 201
    for path in ("/workers/WP1", "/workers/WP1/hires", f"/hires/{q(hire)}", "/employers/EP1",
                 "/jobs/JP1", "/hall?lat=32.009&lng=112.122", "/search?q=搬家&lat=32.009&lng=112.122",
                 "/stations", "/stations/S1", "/jobs/JP1/navigation"):  # fmt: skip
        assert keep(c.get(path, headers=fe)).status_code == 200, path
    for name in ("roster", "progress", "supply-demand", "wages", "directory"):
        assert keep(c.get(f"/reports/{name}?month=2026-11", headers=aud)).status_code == 200, name
    for path in ("/board/S1", "/board/S1/jobs", "/healthz", "/readyz", "/schema/openapi.json"):
        assert keep(c.get(path)).status_code == 200, path
    assert keep(c.get("/metrics", headers=aud)).status_code == 200

    contact = c.get(f"/workers/WP1/hires/{q(hire)}/contact", headers=fe)
    assert contact.status_code == 200 and contact.json()["contact_mobile"] == EMP_MOBILE

    logs = env.log_text()
    metrics = c.get("/metrics", headers=aud).text
    leaks = {what: find_unmasked_pii(text)
             for what, text in (("responses", "\n".join(seen)), ("logs", logs), ("metrics", metrics))}  # fmt: skip
    where = [t[:300] for t in seen if find_unmasked_pii(t)]
    assert leaks == {"responses": [], "logs": [], "metrics": []}, where
    assert EMP_MOBILE not in logs and MOBILE not in logs and ID_NUMBER not in logs
    board = c.get("/board/S1").text
    assert "电话186****0002" in board or "JP1" not in board  # scrubbed title, if still shown
