"""The authorization matrix: every route of the app × every role (and no login), against ROUTE_ROLES.

The routes come from the app itself (``alle_routes``), the expectations from its access table
(``ROUTE_ROLES`` / ``PUBLIEK``): a new route without a row fails here, and a route whose handler lets a
role through that the table denies (or the other way round) fails too. Each request goes to real data
(a client, trajectory, task, payout, batch and quarantine record that exist), so "allowed" means the
request reached the handler: whatever it answers then (200, 201, 303, 404, 409, 422), it is not the role
refusal. "Denied" is the role refusal exactly: API 403 "uw rol (...) mag dit niet", page 403 "Geen
toegang"; without login: API 401, page 303 to /login. Nothing answers 5xx.

Row level: a coach of area A who asks for anything of a client of area B gets 404 (never 403: its
existence is not revealed), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.conftest import open_engine
from trajecten.clienten import caseload
from trajecten.geld import uitbetalingen as betalingen
from trajecten.beheer.koppelingen import uwv_feed
from trajecten.opslag.models import Gebruiker as GebruikerRij, Taak, Uitbetaling
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import MENSEN, PUBLIEK, ROLLEN, ROUTE_ROLES, alle_routes, create_app, maak_token

WW = "matrix-wachtwoord"
GEBRUIKERS = {  # one per role; the coach and the team lead belong to area Oost, where the data is
    "coach": ("coach.oost.1", "Oost"),
    "teamleider": ("teamleider.oost", "Oost"),
    "financien": ("financien", None),
    "beleid": ("beleid", None),
    "beheerder": ("beheerder", None),
}
ROL_NAAM = {"coach": "coach", "teamleider": "teamleider", "financien": "financien", "beleid": "beleid",
            "beheerder": "beheerder", "koppeling": "koppeling"}
FEED_REGEL = {"uwv_referentie": "UWV-M-1", "bsn": "111222333", "geboortedatum": "1978-04-12", "postcode": "9713 AB",
              "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-12-31", "risico_langdurig": True}

# a body that passes validation where that is easy (so an allowed request usually gets past it);
# the matrix does not depend on it: the role check runs before body validation
JSON_BODIES = {
    ("POST", "/api/clients"): {"bsn": "100000009", "naam": "Matrix", "gebied": "Oost"},
    ("POST", "/api/clients/zoek"): {"bsn": "123456782"},
    ("POST", "/api/trajecten/toegang"): {"instrument": "intensief_begeleiden", "client_id": "{client_id}",
                                         "feiten": {"variant": "richting_werk"}},
    ("POST", "/api/trajecten"): {"instrument": "intensief_begeleiden", "client_id": "{client_id}",
                                 "feiten": {"variant": "richting_werk"}},
    ("POST", "/api/trajecten/{traject_id}/gebeurtenissen"): {"event": "contact"},
    ("POST", "/api/trajecten/{traject_id}/beeindig"): {"uitkomst": "werk", "reden": "matrix"},
    ("POST", "/api/taken/{taak_id}/afronden"): {},
    ("POST", "/api/uitbetalingen/{uitbetaling_id}/afwijzen"): {"reden": "matrix"},
    ("POST", "/api/quarantaine/{quarantaine_id}/herverwerk"): {"record": FEED_REGEL},
    ("POST", "/api/gebruikers"): {"gebruikersnaam": "nieuw.{rol}", "rol": "beleid", "wachtwoord": "lang-genoeg-1"},
    ("POST", "/api/tokens"): {"naam": "matrix-{rol}"},
    ("POST", "/api/clients/{client_id}/ontwikkelplan"): {"doelen": ["matrix {rol}"], "reden": "matrix"},
    ("POST", "/api/clients/{client_id}/ontwikkelladder"): {"trede": 3},
    ("PATCH", "/api/clients/{client_id}"): {"postcode": "9714 AB"},
    ("POST", "/api/clients/{client_id}/coach"): {"coach": "coach.oost.1", "reden": "matrix"},
    ("POST", "/api/caseload/herverdeel"): {"client_ids": [1], "naar": "coach.oost.1", "reden": "matrix"},
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/accepteer"): {"coach": "coach.oost.1"},
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/afwijzen"): {"toelichting": "matrix"},
}
FORM_BODIES = {
    ("POST", "/trajecten/nieuw"): {"client_id": "{client_id}", "instrument": "intensief_begeleiden",
                                   "feit_variant": "richting_werk", "actie": "controleer"},
    ("POST", "/clienten/zoek"): {"bsn": "123456782"},
    ("POST", "/trajecten/{traject_id}/gebeurtenissen"): {"event": "contact"},
    ("POST", "/uitbetalingen/{uitbetaling_id}/afwijzen"): {"reden": "matrix"},
    ("POST", "/quarantaine/{quarantaine_id}/herverwerk"): {"record": json.dumps(FEED_REGEL)},
    ("POST", "/clienten/{client_id}/ontwikkelplan"): {"doelen": "matrix {rol} pagina", "reden": "matrix"},
    ("POST", "/clienten/{client_id}/ontwikkelladder"): {"trede": "2"},
    ("POST", "/caseload/herverdeel"): {"client_id": "{client_id}", "naar": "coach.oost.1", "reden": "matrix"},
    ("POST", "/clienten/{client_id}/wijzig"): {"postcode": "9714 AB"},
    ("POST", "/overplaatsingen/{overplaatsing_id}/afwijzen"): {"toelichting": "matrix"},
}
LAATST = {("POST", "/logout"), ("POST", "/api/trajecten/{traject_id}/beeindig"),
          ("POST", "/trajecten/{traject_id}/beeindig")}  # run these last: they end the session / trajectory


def cheap_hash() -> str:
    return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(WW)


def vul_gebruikers(engine, extra: list[tuple[str, str, str | None]] = ()) -> None:
    """The users of GEBRUIKERS plus ``extra`` (gebruikersnaam, rol, gebied), all with password WW."""
    h = cheap_hash()
    alle = [(naam, rol, gebied) for rol, (naam, gebied) in GEBRUIKERS.items()] + list(extra)
    rows = [{"gebruikersnaam": naam, "naam": naam, "rol": rol, "gebied": gebied, "email": "", "wachtwoord_hash": h,
             "actief": True, "aangemaakt_op": engine.clock.now()} for naam, rol, gebied in alle]
    with engine.db.begin() as conn:
        conn.execute(GebruikerRij.__table__.insert(), rows)


def login(app, gebruikersnaam: str) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"gebruikersnaam": gebruikersnaam, "wachtwoord": WW, "csrf_token": token,
                               "volgende": "/"})
    assert r.status_code == 303, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/ik").json()["csrf_token"]  # pages' forms and JSON calls send it
    return c


def maak_zaak(engine, clock, gebied: str = "Oost", bsn: str = "123456782") -> dict[str, int]:
    """A client of ``gebied`` with a Premie op Werk trajectory (payout proposed, one approved and exported in
    a batch) and an Intensief begeleiden trajectory with an open task; plus one quarantined feed record."""
    cid = engine.add_client(bsn, naam=f"Cliënt {gebied}", geboortedatum=date(1980, 5, 17), postcode="9713AB",
                            gebied=gebied, coach=f"coach.{gebied.lower()}.1", bijstand_sinds=date(2019, 1, 1),
                            iban="NL91ABNA0417164300")
    vandaag = clock.now().date()
    premie = engine.start("premie_op_werk", cid, {"werk_start": vandaag.isoformat(), "uren_per_week": 32,
                                                   "contract_maanden": 12}, actor=f"coach.{gebied.lower()}.1")
    ib = engine.start("intensief_begeleiden", cid, {"variant": "richting_werk"}, actor=f"coach.{gebied.lower()}.1")
    for _ in range(6):  # let a few days pass: the payout is proposed, the intake becomes a task
        clock.advance(timedelta(days=1))
        engine.sweep()
    with engine.db.connect() as conn:
        taak = conn.execute(sa.select(Taak.__table__.c.id).where(Taak.__table__.c.traject_id == ib.traject_id)
                            .order_by(Taak.__table__.c.id)).scalars().first()
        uid = conn.execute(sa.select(Uitbetaling.__table__.c.id)
                           .where(Uitbetaling.__table__.c.traject_id == premie.traject_id)).scalar_one()
    assert taak is not None
    return {"client_id": cid, "traject_id": ib.traject_id, "premie_traject_id": premie.traject_id, "taak_id": taak,
            "uitbetaling_id": uid}


# --------------------------------------------------------------------------- the matrix (SQLite)


@pytest.fixture(scope="module")
def wereld(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'matrix.db'}"
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))  # a Monday
    engine = open_engine(url, clock)
    vul_gebruikers(engine)
    # a second payout for a batch: approved by someone else and exported (its payout is proposed in maak_zaak)
    tweede = engine.add_client("111222333", naam="Batch", geboortedatum=date(1975, 1, 2), gebied="Oost",
                               bijstand_sinds=date(2019, 1, 1), iban="NL91ABNA0417164300")
    t = engine.start("premie_op_werk", tweede, {"werk_start": clock.now().date().isoformat(), "uren_per_week": 32,
                                                 "contract_maanden": 12}, actor="coach.oost.1")
    ids = maak_zaak(engine, clock)
    with engine.db.connect() as conn:
        pid = conn.execute(sa.select(Uitbetaling.__table__.c.id)
                           .where(Uitbetaling.__table__.c.traject_id == t.traject_id)).scalar_one()
    betalingen.keur_goed(engine, pid, door="teamleider.oost")
    ids["batch_id"] = betalingen.exporteer(engine, door="financien").batch_id
    bad = json.dumps({**FEED_REGEL, "bsn": "123456789"}) + "\n"
    uwv_feed(engine.settings).verwerk_tekst(engine, bad.encode(), "matrix.jsonl")
    with engine.db.connect() as conn:
        ids["quarantaine_id"] = conn.execute(sa.text("select max(id) from quarantaine")).scalar_one()
    # a transfer proposal (the batch client moves to West): the caseload routes act on it
    ids["overplaatsing_id"] = caseload.wijzig_client(engine, tweede, door="coach.oost.1",
                                                     postcode="9725AB").overplaatsing_id
    assert ids["batch_id"] and ids["quarantaine_id"] and ids["overplaatsing_id"]
    app = create_app(engine, secret_key="matrix")
    koppeling = maak_token(engine, "matrix-feed", "koppeling")
    tokens = {rol: maak_token(engine, f"token-{rol}", rol, gebruiker_id=_uid(engine, naam))
              for rol, (naam, _) in GEBRUIKERS.items()}
    yield {"engine": engine, "app": app, "ids": ids, "koppeling": koppeling, "tokens": tokens}
    engine.db.dispose()


def _uid(engine, naam: str) -> int:
    G = GebruikerRij.__table__
    with engine.db.connect() as conn:
        return conn.execute(sa.select(G.c.id).where(G.c.gebruikersnaam == naam)).scalar_one()


FASTAPI_HULP = {("GET", "/docs/oauth2-redirect")}  # FastAPI's own Swagger helper page: static, no data


def elke_route(app) -> list[tuple[str, str]]:
    """Every (method, path) the app answers: the app's own list (``alle_routes``: API and pages) plus what
    it leaves out, plain Starlette routes (/openapi.json, /docs, anything added with add_route) and
    mounts (/static). A plain route has no login dependency, so it must be listed as public."""
    from starlette.routing import Mount, Route

    out = set(alle_routes(app))
    for r in app.routes:
        if isinstance(r, Mount):
            out.add(("GET", r.path))
        elif isinstance(r, Route) and not hasattr(r, "dependant"):
            out.update((m, r.path) for m in r.methods - {"HEAD", "OPTIONS"})
    return sorted(out)


def routes(app) -> list[tuple[str, str]]:
    """All routes, the ones with lasting side effects for the caller last."""
    return sorted(set(elke_route(app)) - FASTAPI_HULP, key=lambda r: (r == ("POST", "/logout"), r in LAATST, r[1], r[0]))


def _vul(value, ids: dict, rol: str):
    if isinstance(value, dict):
        return {k: _vul(v, ids, rol) for k, v in value.items()}
    if isinstance(value, str):
        m = re.fullmatch(r"\{(\w+)\}", value)
        if m and m.group(1) in ids:
            return ids[m.group(1)]
        return value.replace("{rol}", rol)
    return value


def vraag(c: TestClient, method: str, path: str, ids: dict, rol: str):
    url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    if path == "/static":
        url = "/static/stijl.css"
    if path == "/trajecten/nieuw":
        url += f"?client={ids['client_id']}"
    if method == "GET":
        return c.get(url)
    if path == "/api/feeds/uwv":
        return c.post(url, content=json.dumps({**FEED_REGEL, "uwv_referentie": f"UWV-{rol}"}) + "\n",
                      headers={"Content-Type": "application/x-ndjson"})
    if path.startswith("/api/"):
        return c.request(method, url, json=_vul(JSON_BODIES.get((method, path), {}), ids, rol))
    return c.request(method, url, data=_vul(FORM_BODIES.get((method, path), {}), ids, rol))


def is_rol_weigering(r, api: bool, rol: str) -> bool:
    if r.status_code != 403:
        return False
    if api:
        return r.json().get("detail") == f"uw rol ({rol}) mag dit niet"
    return "Geen toegang" in r.text and f"Uw rol ({rol}) heeft geen toegang" in r.text


def test_every_route_of_the_app_is_in_the_access_table(wereld):
    app = wereld["app"]
    missing = [r for r in elke_route(app) if r not in ROUTE_ROLES and r not in PUBLIEK and r not in FASTAPI_HULP]
    assert missing == [], f"routes zonder regel in ROUTE_ROLES/PUBLIEK: {missing}"
    assert [r for r in alle_routes(app) if r not in ROUTE_ROLES and r not in PUBLIEK] == []
    stale = set(ROUTE_ROLES) - set(alle_routes(app))
    assert stale == set(), f"rijen in ROUTE_ROLES zonder route: {stale}"
    for key, rollen in ROUTE_ROLES.items():
        assert rollen and rollen <= ROLLEN, (key, rollen)
    # every route of the issue is there
    for r in [("GET", "/api/clients"), ("POST", "/api/clients"), ("POST", "/api/clients/zoek"),
              ("GET", "/api/clients/{client_id}"), ("GET", "/api/trajecten/{traject_id}"),
              ("GET", "/api/clients/{client_id}/verwerkingen"),  # P6: inzageverzoek (Logboek Dataverwerkingen)
              ("POST", "/api/trajecten/toegang"), ("POST", "/api/trajecten"),
              ("POST", "/api/trajecten/{traject_id}/gebeurtenissen"), ("POST", "/api/trajecten/{traject_id}/beeindig"),
              ("GET", "/api/werklijst"), ("POST", "/api/taken/{taak_id}/afronden"), ("GET", "/api/uitbetalingen"),
              ("POST", "/api/uitbetalingen/{uitbetaling_id}/goedkeuren"),
              ("POST", "/api/uitbetalingen/{uitbetaling_id}/afwijzen"), ("POST", "/api/uitbetalingen/export"),
              ("GET", "/api/uitbetalingen/batches/{batch_id}.xml"), ("POST", "/api/feeds/uwv"),
              ("GET", "/api/quarantaine"), ("POST", "/api/quarantaine/{quarantaine_id}/herverwerk"),
              ("GET", "/api/monitoring"), ("GET", "/api/monitoring.csv"), ("GET", "/openapi.json"),
              ("GET", "/login"), ("GET", "/"), ("GET", "/clienten"), ("GET", "/clienten/{client_id}"),
              ("GET", "/trajecten/nieuw"), ("GET", "/trajecten/{traject_id}"), ("GET", "/uitbetalingen"),
              ("GET", "/quarantaine"), ("GET", "/monitoring"),
              ("GET", "/api/clients/{client_id}/ontwikkelplan"), ("POST", "/api/clients/{client_id}/ontwikkelplan"),
              ("GET", "/api/clients/{client_id}/ontwikkelladder"), ("POST", "/api/clients/{client_id}/ontwikkelladder"),
              ("GET", "/clienten/{client_id}/ontwikkelplan"), ("GET", "/clienten/{client_id}/ontwikkelladder")]:
        assert r in set(elke_route(app)), r


def test_the_table_follows_the_policy():
    """The principles of the issue, stated independently of the table: finance sees payouts, not case
    files; policy only aggregates; a machine only pushes the feed; a coach handles no money."""
    def van(rol):
        return {k for k, v in ROUTE_ROLES.items() if rol in v}

    zaak = re.compile(r"^/(api/)?(clients|clienten|trajecten|taken|werklijst)")
    assert not [k for k in van("financien") if zaak.match(k[1])]
    assert {k for k in van("financien") if "uitbetalingen" in k[1]} >= {
        ("GET", "/api/uitbetalingen"), ("POST", "/api/uitbetalingen/export"),
        ("GET", "/api/uitbetalingen/batches/{batch_id}.xml"), ("GET", "/uitbetalingen")}
    assert van("beleid") <= {("GET", "/api/ik"), ("GET", "/api/instrumenten"), ("GET", "/api/monitoring"),
                             ("GET", "/api/monitoring.csv"), ("GET", "/monitoring"), ("GET", "/"), ("POST", "/logout")}
    assert van("koppeling") == {("GET", "/api/ik"), ("POST", "/api/feeds/uwv")}
    assert not [k for k in van("coach") if re.search(r"uitbetalingen|monitoring|quarantaine|gebruikers|tokens", k[1])]
    assert van("beheerder") == set(ROUTE_ROLES) - {k for k, v in ROUTE_ROLES.items() if v == {"koppeling"}}


@pytest.mark.parametrize("rol", sorted(MENSEN))
def test_matrix_logged_in(wereld, rol):
    app, ids = wereld["app"], wereld["ids"]
    c = login(app, GEBRUIKERS[rol][0])
    fout = []
    for method, path in routes(app):
        if (method, path) in PUBLIEK:
            continue
        r = vraag(c, method, path, ids, rol)
        api = path.startswith("/api/")
        mag = rol in ROUTE_ROLES[(method, path)]
        if r.status_code >= 500:
            fout.append(f"{method} {path}: {r.status_code}")
        elif r.status_code == 401 or (r.status_code == 303 and r.headers["location"].startswith("/login?")):
            fout.append(f"{method} {path}: {r.status_code} (sessie kwijt?)")
        elif mag and is_rol_weigering(r, api, rol):
            fout.append(f"{method} {path}: {rol} mag, maar kreeg de rolweigering")
        elif not mag and not is_rol_weigering(r, api, rol):
            fout.append(f"{method} {path}: {rol} mag niet, maar kreeg {r.status_code} {r.text[:120]!r}")
    assert fout == [], "\n".join(fout)


@pytest.mark.parametrize("rol", sorted(ROLLEN))
def test_matrix_with_a_bearer_token(wereld, rol):
    """The same table for machines and for tokens of people (Authorization: Bearer, no session, no CSRF),
    on every route: a machine token (koppeling) opens no page at all."""
    app, ids = wereld["app"], wereld["ids"]
    token = wereld["koppeling"] if rol == "koppeling" else wereld["tokens"][rol]
    c = TestClient(app, follow_redirects=False, headers={"Authorization": f"Bearer {token}"})
    fout = []
    for method, path in routes(app):
        if (method, path) in PUBLIEK:
            continue
        r = vraag(c, method, path, ids, rol)
        api = path.startswith("/api/")
        mag = rol in ROUTE_ROLES[(method, path)]
        if r.status_code >= 500 or r.status_code == 401:
            fout.append(f"{method} {path}: {r.status_code}")
        elif mag == is_rol_weigering(r, api, rol):
            fout.append(f"{method} {path}: {rol} {'mag' if mag else 'mag niet'}, kreeg {r.status_code} {r.text[:120]!r}")
    assert fout == [], "\n".join(fout)


def test_matrix_without_login(wereld):
    app, ids = wereld["app"], wereld["ids"]
    c = TestClient(app, follow_redirects=False)
    fout = []
    for method, path in routes(app):
        r = vraag(c, method, path, ids, "anoniem")
        if (method, path) in PUBLIEK:
            if r.status_code >= 500 or r.status_code in (401, 303) and "/login?" in r.headers.get("location", "x"):
                fout.append(f"{method} {path}: publiek, maar {r.status_code}")
            continue
        if path.startswith("/api/"):
            ok = r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer"
        else:
            ok = r.status_code == 303 and r.headers["location"].startswith("/login?volgende=")
        if not ok:
            fout.append(f"{method} {path}: zonder login {r.status_code} {r.headers.get('location', '')}")
    assert fout == [], "\n".join(fout)
    assert c.get("/openapi.json").status_code == 200 and c.get("/login").status_code == 200
    # a wrong or revoked token is 401, never the anonymous view
    bad = TestClient(app, headers={"Authorization": "Bearer trj_onzin"})
    assert bad.get("/api/werklijst").status_code == 401
    assert TestClient(app, headers={"Authorization": "Basic eDp5"}).get("/api/werklijst").status_code == 401


def test_session_writes_need_the_csrf_token(wereld):
    app, ids = wereld["app"], wereld["ids"]
    c = login(app, "beheerder")
    c.headers.pop("X-CSRF-Token")
    fout = []
    for method, path in routes(app):
        if method == "GET" or (method, path) in PUBLIEK:
            continue
        r = vraag(c, method, path, ids, "beheerder")
        if not (r.status_code == 403 and "CSRF" in r.text):
            fout.append(f"{method} {path}: zonder CSRF-token {r.status_code}")
    assert fout == [], "\n".join(fout)


# --------------------------------------------------------------------------- row level (SQLite + PostgreSQL)


def test_a_coach_of_another_area_gets_404_for_everything_of_the_client(db_url):
    clock = FixedClock(datetime.combine(date(2026, 3, 2), time(9, 0), tzinfo=TZ))
    engine = open_engine(db_url, clock)
    try:
        vul_gebruikers(engine, [("coach.west.1", "coach", "West"), ("teamleider.west", "teamleider", "West")])
        ids = maak_zaak(engine, clock, gebied="Oost")
        app = create_app(engine, secret_key="rij")
        oost, west, tl_west = login(app, "coach.oost.1"), login(app, "coach.west.1"), login(app, "teamleider.west")
        cid, tid, taak = ids["client_id"], ids["traject_id"], ids["taak_id"]
        lezen = [f"/api/clients/{cid}", f"/clienten/{cid}", f"/api/trajecten/{tid}", f"/trajecten/{tid}",
                 f"/api/clients/{cid}/ontwikkelplan", f"/clienten/{cid}/ontwikkelplan",
                 f"/api/clients/{cid}/ontwikkelladder", f"/clienten/{cid}/ontwikkelladder",
                 f"/trajecten/nieuw?client={cid}", f"/trajecten/{ids['premie_traject_id']}"]
        for url in lezen:
            assert oost.get(url).status_code == 200, url
            for other in (west, tl_west):
                r = other.get(url)
                assert r.status_code == 404, (url, r.status_code)
                assert "Cliënt Oost" not in r.text and "******782" not in r.text
        start = {"instrument": "jobcoaching_nazorg", "client_id": cid, "feiten": {"werk_start": "2026-03-01"}}
        schrijven = [("/api/trajecten/toegang", start), ("/api/trajecten", start),
                     (f"/api/trajecten/{tid}/gebeurtenissen", {"event": "contact"}),
                     (f"/api/trajecten/{tid}/beeindig", {"uitkomst": "werk", "reden": "x"}),
                     (f"/api/taken/{taak}/afronden", {}), ("/api/clients/zoek", {"bsn": "123456782"}),
                     (f"/api/clients/{cid}/ontwikkelplan", {"doelen": ["x"], "reden": "x"}),
                     (f"/api/clients/{cid}/ontwikkelladder", {"trede": 2})]
        for url, body in schrijven:
            r = west.post(url, json=body)
            assert r.status_code == 404, (url, r.status_code, r.text)
        for url, form in [(f"/trajecten/{tid}/gebeurtenissen", {"event": "contact"}),
                          (f"/trajecten/{tid}/beeindig", {"uitkomst": "werk", "reden": "x"}),
                          (f"/taken/{taak}/afronden", {}),
                          (f"/clienten/{cid}/ontwikkelplan", {"doelen": "x", "reden": "x"}),
                          (f"/clienten/{cid}/ontwikkelladder", {"trede": "2"}),
                          ("/trajecten/nieuw", {"client_id": cid, "instrument": "intensief_begeleiden",
                                                "feit_variant": "richting_werk", "actie": "start"})]:
            r = west.post(url, data=form, follow_redirects=False)
            assert r.status_code == 404, (url, r.status_code)
        # nothing of the other area leaks into lists either
        assert west.get("/api/clients").json()["clienten"] == []
        assert all(not west.get("/api/werklijst").json()[k] for k in ("te_laat", "vandaag", "later"))
        assert tl_west.get("/api/uitbetalingen").json()["uitbetalingen"] == []
        r = tl_west.post(f"/api/uitbetalingen/{ids['uitbetaling_id']}/goedkeuren")
        assert r.status_code == 404
        # area teams: the West team lead cannot reassign, move or rebalance an Oost client, nor see Oost's caseload
        for url, body in [(f"/api/clients/{cid}/coach", {"coach": "coach.west.1", "reden": "overnemen"}),
                          ("/api/caseload/herverdeel", {"client_ids": [cid], "naar": "coach.west.1", "reden": "x y"})]:
            r = tl_west.post(url, json=body)
            assert r.status_code == 404, (url, r.status_code, r.text)
        assert west.patch(f"/api/clients/{cid}", json={"postcode": "9725AB"}).status_code == 404
        assert west.post(f"/clienten/{cid}/wijzig", data={"postcode": "9725AB"}).status_code == 404
        assert tl_west.get("/api/caseload?gebied=Oost").status_code == 404
        assert tl_west.get("/caseload?gebied=Oost").status_code == 404
        assert all(c["clienten"] == 0 for c in tl_west.get("/api/caseload").json()["coaches"])
        # and the trajectory is untouched by all those attempts
        d = oost.get(f"/api/trajecten/{tid}").json()
        assert d["status"] != "beeindigd" and not any(e["door"] == "coach.west.1" for e in d["gebeurtenissen"])
        assert oost.get(f"/api/clients/{cid}").json()["bsn"] == "******782"
    finally:
        engine.db.dispose()


def test_who_a_token_or_session_is_is_remembered_for_a_few_seconds_only(db_url, monkeypatch):
    """The token and session-user look-ups are remembered per app for ``ONTHOUD_S`` seconds (no query per
    request); a deactivated account is refused, over a token and in a session, once that has passed."""
    from trajecten.web import _auth

    clock = FixedClock(datetime.combine(date(2026, 3, 2), time(9, 0), tzinfo=TZ))
    engine = open_engine(db_url, clock)
    vul_gebruikers(engine)
    uid = _uid(engine, "coach.oost.1")
    token = maak_token(engine, "coach-token", "coach", gebruiker_id=uid)
    app = create_app(engine, secret_key="geheugen")
    nu = [1000.0]
    monkeypatch.setattr(_auth, "_klok", lambda: nu[0])
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    sessie = login(app, "coach.oost.1")
    assert api.get("/api/ik").json()["via"] == "token" and sessie.get("/api/ik").json()["via"] == "sessie"
    gelezen: list[str] = []
    sa.event.listen(engine.db, "before_cursor_execute", lambda conn, cur, sql, *rest: gelezen.append(sql))
    for _ in range(3):
        assert api.get("/api/ik").json()["gebruikersnaam"] == "coach.oost.1"
        assert sessie.get("/api/ik").json()["gebruikersnaam"] == "coach.oost.1"
    assert not [q for q in gelezen if "api_token" in q or "gebruiker" in q]
    with engine.db.begin() as conn:
        conn.execute(GebruikerRij.__table__.update().where(GebruikerRij.__table__.c.id == uid).values(actief=False))
    assert api.get("/api/ik").status_code == 200  # still remembered, at most ONTHOUD_S
    nu[0] += _auth.ONTHOUD_S + 0.1
    assert api.get("/api/ik").status_code == 401
    assert sessie.get("/api/ik").status_code == 401
    assert TestClient(app, headers={"Authorization": "Bearer trj_onbekend"}).get("/api/ik").status_code == 401
    engine.db.dispose()
