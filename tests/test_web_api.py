"""The web application (trajecten/web): login and session, CSRF, the row-level area rule, four-eyes,
eligibility refusals with reasons and the team lead's overrule, the feed push with a machine token,
422 naming the field, the worklist, and the monitoring CSV. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from trajecten.basis.config import load_settings

from tests.helpers import at
from trajecten.opslag.models import Gebeurtenis, Gebruiker as GebruikerRij, Uitbetaling
from trajecten.web import (ROUTE_ROLES, alle_routes, create_app, maak_token,
                           routes_zonder_regel)

WW = "geheim-wachtwoord"
USERS = {  # gebruikersnaam: (rol, gebied)
    "coach.oost.1": ("coach", "Oost"),
    "coach.west.1": ("coach", "West"),
    "teamleider.oost": ("teamleider", "Oost"),
    "financien": ("financien", None),
    "beheerder": ("beheerder", None),
    "beleid": ("beleid", None),
}


@pytest.fixture(scope="module")
def ww_hash():
    # argon2 is slow on purpose; the parameters travel in the hash, so test users get cheap ones
    return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(WW)


@pytest.fixture
def app(engine, ww_hash):
    with engine.db.begin() as conn:
        conn.execute(GebruikerRij.__table__.insert(), [
            {"gebruikersnaam": naam, "naam": naam, "rol": rol, "gebied": gebied, "email": "",
             "wachtwoord_hash": ww_hash, "actief": True, "aangemaakt_op": engine.clock.now()}
            for naam, (rol, gebied) in USERS.items()])
    return create_app(engine, secret_key="test-sleutel")


def login(app, naam: str) -> TestClient:
    c = TestClient(app)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"gebruikersnaam": naam, "wachtwoord": WW, "csrf_token": token, "volgende": "/"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/ik").json()["csrf_token"]  # JSON calls from a session send it
    return c


def add_client(engine, bsn="111222333", gebied="Oost", bijstand_sinds=date(2020, 1, 1)) -> int:
    return engine.add_client(bsn, naam=f"Cliënt {bsn[-3:]}", geboortedatum=date(1980, 5, 17), gebied=gebied,
                             coach=f"coach.{gebied.lower()}.1", bijstand_sinds=bijstand_sinds,
                             iban="NL91ABNA0417164300", postcode="9713AB")


def test_every_route_has_an_access_rule():
    app = create_app(SimpleNamespace(settings=load_settings()), secret_key="x", https_only=False)
    assert routes_zonder_regel(app) == []
    paths = set(alle_routes(app))
    assert len(paths) > 40
    assert set(ROUTE_ROLES) <= paths, set(ROUTE_ROLES) - paths  # no stale rows either


def test_login_logout_and_session(app):
    c = TestClient(app)
    assert c.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert c.get("/api/ik").status_code == 401
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = c.post("/login", data={"gebruikersnaam": "coach.oost.1", "wachtwoord": "fout", "csrf_token": token})
    assert bad.status_code == 401 and "onjuist wachtwoord" in bad.text
    r = c.post("/login", data={"gebruikersnaam": "coach.oost.1", "wachtwoord": WW, "csrf_token": token,
                               "volgende": "/clienten"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/clienten"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = c.get("/api/ik").json()
    assert (me["gebruikersnaam"], me["rol"], me["gebied"]) == ("coach.oost.1", "coach", "Oost")
    home = c.get("/")
    assert home.status_code == 200 and "Mijn werklijst" in home.text and "Uitloggen" in home.text
    assert 'href="/uitbetalingen"' not in home.text  # the nav shows only what the role may use
    assert c.post("/logout", follow_redirects=False).status_code == 403  # no CSRF token
    out = c.post("/logout", data={"csrf_token": me["csrf_token"]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert c.get("/api/ik").status_code == 401


def test_csrf_refused_without_token(app, engine):
    c = login(app, "coach.oost.1")
    body = {"bsn": "111222333", "naam": "A. de Vries", "gebied": "Oost"}
    csrf = c.headers.pop("X-CSRF-Token")
    r = c.post("/api/clients", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert c.post("/api/clients", json=body, headers={"X-CSRF-Token": "verkeerd"}).status_code == 403
    assert c.post("/taken/1/afronden", data={"uitkomst": ""}).status_code == 403  # a page form without it
    r = c.post("/api/clients", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["bsn"] == "******333"


def test_coach_of_another_area_gets_404(app, engine):
    west = add_client(engine, "111222333", gebied="West")
    oost = add_client(engine, "123456782", gebied="Oost")
    c = login(app, "coach.oost.1")
    assert c.get(f"/api/clients/{west}").status_code == 404
    assert c.get(f"/clienten/{west}").status_code == 404
    assert c.post("/api/clients/zoek", json={"bsn": "111222333"}).status_code == 404
    assert [x["id"] for x in c.get("/api/clients").json()["clienten"]] == [oost]
    r = c.post("/api/trajecten", json={"instrument": "intensief_begeleiden", "client_id": west,
                                       "feiten": {"variant": "richting_werk"}})
    assert r.status_code == 404
    mine = c.get(f"/api/clients/{oost}").json()
    assert mine["bsn"] == "******782" and "123456782" not in json.dumps(mine)
    assert c.post("/api/clients/zoek", json={"bsn": "123456782"}).json() == {"id": oost}
    w = login(app, "coach.west.1")
    assert w.get(f"/api/clients/{west}").status_code == 200
    assert login(app, "financien").get(f"/api/clients/{west}").status_code == 403  # no case files for finance


def test_four_eyes_on_approval(app, engine, clock):
    cid = add_client(engine)
    tl = login(app, "teamleider.oost")
    r = tl.post("/api/trajecten", json={"instrument": "premie_op_werk", "client_id": cid, "feiten": {
        "werk_start": "2026-01-12", "uren_per_week": 32, "contract_maanden": 12}})
    assert r.status_code == 201, r.text
    clock.set(at(2026, 1, 12, 9))
    engine.sweep()
    (pid,) = [u["id"] for u in tl.get("/api/uitbetalingen?status=voorgesteld").json()["uitbetalingen"]]
    r = tl.post(f"/api/uitbetalingen/{pid}/goedkeuren")
    assert r.status_code == 403 and "traject gestart" in r.json()["detail"]  # the starter
    with engine.db.begin() as conn:  # as if finance had proposed it
        conn.execute(Uitbetaling.__table__.update().values(voorgesteld_door="financien"))
    fin = login(app, "financien")
    row = fin.get("/api/uitbetalingen").json()["uitbetalingen"][0]
    assert not row["mag_beoordelen"] and "zelf voorgesteld" in row["niet_beoordelen_omdat"]
    assert "disabled" in fin.get("/uitbetalingen").text
    r = fin.post(f"/api/uitbetalingen/{pid}/goedkeuren")
    assert r.status_code == 403 and "zelf voorgesteld" in r.json()["detail"]  # the proposer
    assert login(app, "coach.oost.1").post(f"/api/uitbetalingen/{pid}/goedkeuren").status_code == 403  # role
    r = login(app, "beheerder").post(f"/api/uitbetalingen/{pid}/goedkeuren")
    assert r.status_code == 200 and r.json()["beoordeeld_door"] == "beheerder"
    exp = fin.post("/api/uitbetalingen/export").json()
    assert exp["aantal"] == 1 and exp["totaal"] == "300.00"
    xml = fin.get(f"/api/uitbetalingen/batches/{exp['batch_id']}.xml")
    assert xml.status_code == 200 and "pain.001" in xml.text and xml.headers["content-type"].startswith("application/xml")
    assert fin.get("/api/uitbetalingen/batches/999.xml").status_code == 404


def test_start_refused_with_reasons_then_overruled_by_team_lead(app, engine):
    cid = add_client(engine, bijstand_sinds=date(2025, 9, 1))  # 4 months in bijstand: too short
    start = {"instrument": "premie_op_werk", "client_id": cid,
             "feiten": {"werk_start": "2026-01-12", "uren_per_week": 32, "contract_maanden": 12}}
    coach = login(app, "coach.oost.1")
    d = coach.post("/api/trajecten/toegang", json=start).json()
    assert d["toegelaten"] is False and d["mag_overrulen"] is False
    r = coach.post("/api/trajecten", json=start)
    assert r.status_code == 409
    redenen = r.json()["besluit"]["redenen"]
    assert any(not x["voldaan"] for x in redenen)
    assert set(redenen[0]) == {"voorwaarde", "waarde", "norm", "voldaan", "bron"}
    assert coach.post("/api/trajecten", json={**start, "overrule_reden": "ik wil"}).status_code == 403
    page = coach.post("/trajecten/nieuw", data={"csrf_token": coach.headers["X-CSRF-Token"], "client_id": cid,
                                                "instrument": "premie_op_werk", "feit_werk_start": "2026-01-12",
                                                "feit_uren_per_week": "32", "feit_contract_maanden": "12",
                                                "actie": "controleer"})
    assert "Niet toegelaten" in page.text and "✘" in page.text
    tl = login(app, "teamleider.oost")
    r = tl.post("/api/trajecten", json={**start, "overrule_reden": "  "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "overrule_reden"]
    r = tl.post("/api/trajecten", json={**start, "overrule_reden": "werkgever biedt vast contract"})
    assert r.status_code == 201 and r.json()["overruled"] is True
    with engine.db.connect() as conn:
        ev = conn.execute(sa.select(Gebeurtenis.__table__).where(
            Gebeurtenis.__table__.c.type == "toegang_overruled")).one()
    assert ev.actor == "teamleider.oost" and ev.payload["reden"] == "werkgever biedt vast contract"


def test_feed_push_with_token_summarises(app, engine):
    token = maak_token(engine, "uwv-feed", "koppeling")
    good = {"uwv_referentie": "UWV-1", "bsn": "111222333", "geboortedatum": "1978-04-12", "postcode": "9713 AB",
            "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-12-31", "risico_langdurig": True}
    bad = {**good, "uwv_referentie": "UWV-2", "bsn": "123456789"}
    body = "\n".join(json.dumps(x) for x in (good, bad)) + "\n"
    c = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post("/api/feeds/uwv", content=body, headers={**auth, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["ontvangen"], s["geaccepteerd"], s["quarantaine"]) == (2, 1, 1) and s["quarantaine_per_veld"] == {"bsn": 1}
    assert c.post("/api/feeds/uwv", content=body, headers={**auth, "Content-Type": "image/png"}).status_code == 415
    assert c.get("/api/clients", headers=auth).status_code == 403  # a machine token sees no case files
    assert c.post("/api/feeds/uwv", content=body, headers={"Authorization": "Bearer onzin",
                                                           "Content-Type": "text/csv"}).status_code == 401
    tl = login(app, "teamleider.oost")
    (q,) = tl.get("/api/quarantaine").json()["records"]
    assert q["redenen"][0]["veld"] == "bsn"
    assert "Opnieuw verwerken" in tl.get("/quarantaine").text
    r = tl.post(f"/api/quarantaine/{q['id']}/herverwerk", json={"record": {**bad, "bsn": "123456782"}})
    assert r.status_code == 200 and r.json()["quarantaine"] == 0 and r.json()["geaccepteerd"] == 1
    assert tl.get("/api/quarantaine").json()["records"] == []


def test_422_names_the_field(app, engine):
    cid = add_client(engine)
    c = login(app, "coach.oost.1")

    def loc(r):
        assert r.status_code == 422, r.text
        return [e["loc"] for e in r.json()["detail"]]

    assert ["body", "bsn"] in loc(c.post("/api/clients", json={"bsn": "123456789", "gebied": "Oost"}))
    assert ["body", "geboortedatum"] in loc(c.post("/api/clients", json={"bsn": "123456782",
                                                                         "geboortedatum": "2026-02-30"}))
    assert ["body", "bsn"] in loc(c.post("/api/clients/zoek", json={"bsn": "12"}))
    assert ["body", "naam"] in loc(c.post("/api/clients", json={"bsn": "123456782", "naam": "a\x00b"}))
    assert ["body", "feiten", "werk_start"] in loc(c.post("/api/trajecten/toegang", json={
        "instrument": "premie_op_werk", "client_id": cid,
        "feiten": {"werk_start": "geen-datum", "uren_per_week": 32, "contract_maanden": 12}}))
    assert ["body", "instrument"] in loc(c.post("/api/trajecten", json={"instrument": "bestaat_niet",
                                                                        "client_id": cid}))
    assert c.get("/api/clients/99999999999999999999").status_code == 422
    assert c.get("/api/clients/-1").status_code == 422
    assert c.get("/api/clients/abc").status_code == 422
    assert c.get("/api/clients/12345").status_code == 404
    assert c.get("/api/trajecten/12345").status_code == 404
    assert c.get("/api/monitoring?maand=13").status_code == 403  # a coach has no aggregates; checked first


def test_worklist_shows_a_task_and_completing_it_works(app, engine, clock):
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    r = coach.post("/api/trajecten", json={"instrument": "intensief_begeleiden", "client_id": cid,
                                           "feiten": {"variant": "richting_werk"}})
    assert r.status_code == 201, r.text
    tid = r.json()["traject_id"]
    clock.set(at(2026, 1, 7, 9))
    engine.sweep()
    wl = coach.get("/api/werklijst").json()
    (taak,) = [t for t in wl["later"] if t["stap"] == "intake"]  # appears today, due in 5 working days
    assert taak["traject_id"] == tid and taak["toegewezen_aan"] == "coach.oost.1"
    assert "Intake en ontwikkelplan opstellen" in coach.get("/").text
    assert login(app, "coach.west.1").get("/api/werklijst").json()["later"] == []
    assert taak["id"] in [t["id"] for t in login(app, "teamleider.oost").get("/api/werklijst").json()["later"]]
    r = coach.post(f"/api/taken/{taak['id']}/afronden", json={"toelichting": "ontwikkelplan gemaakt"})
    assert r.status_code == 200 and r.json()["status"] == "afgerond"
    assert coach.post(f"/api/taken/{taak['id']}/afronden", json={}).status_code == 409
    assert coach.post(f"/api/trajecten/{tid}/gebeurtenissen", json={"event": "contact"}).status_code == 200
    assert coach.post(f"/api/trajecten/{tid}/gebeurtenissen", json={"event": "onzin"}).status_code == 422
    r = coach.post(f"/api/trajecten/{tid}/beeindig", json={"uitkomst": "werk", "reden": "vaste baan"})
    assert r.status_code == 200 and r.json()["status"] == "beeindigd"
    detail = coach.get(f"/api/trajecten/{tid}").json()
    assert {"traject_gestart", "taak_afgerond", "contact", "traject_beeindigd"} <= {e["type"] for e in detail["gebeurtenissen"]}
    page = coach.get(f"/trajecten/{tid}")
    assert page.status_code == 200 and "vaste baan" in page.text


def test_monitoring_csv_has_a_header_row(app, engine):
    c = login(app, "beleid")
    r = c.get("/api/monitoring.csv?jaar=2026&maand=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    header = r.text.splitlines()[0].split(";")
    assert header[:3] == ["instrument", "jaar", "maand"] and "jaardoel" in header
    assert len(r.text.splitlines()) >= 5  # one row per instrument
    page = c.get("/monitoring?jaar=2026&maand=1")
    assert page.status_code == 200 and "<svg" in page.text and "/api/monitoring.csv?jaar=2026" in page.text
    assert c.get("/api/clients").status_code == 403  # policy: aggregates only
    assert c.get("/", follow_redirects=False).headers["location"] == "/monitoring"


def test_published_openapi_is_current():
    from pathlib import Path

    from trajecten.web import openapi

    doc = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
    assert json.loads(doc.read_text(encoding="utf-8")) == json.loads(json.dumps(openapi())), \
        "docs/openapi.json is stale: regenerate with trajecten.web.write_openapi"
