"""Exactly once where people act, on the web: ``POST /api/trajecten`` with an ``Idempotency-Key`` (a retry
gets the first answer and starts nothing; the same key with another body is 422 naming the header; a key
in flight is 409), a second start while one runs is 409 with its ``traject_id`` (API) or a link (page),
and the start page starts once per form token (Controleer and Start both answer 303; the facts stay on
the server, never in a URL). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from trajecten.opslag import idempotentie
from trajecten.opslag.models import Traject

from tests.test_web_api import add_client, app, login, ww_hash  # noqa: F401 - fixtures

T = Traject.__table__
IB = {"instrument": "intensief_begeleiden", "feiten": {"variant": "richting_werk"}}
MOTIVERING = ("Baan in Assen vanaf 06:00, OV rijdt dan nog niet; bijdrage in een auto kost eenmalig minder "
              "dan een maand bijstand en hij stroomt duurzaam uit.")
BC_FEITEN = {"bedrag": "800.00", "omschrijving": "auto om een vroege dienst in Assen te halen",
             "motivering": MOTIVERING, "leverancier_naam": "Autobedrijf Noord B.V.",
             "leverancier_iban": "NL44RABO0123456789"}


def trajecten(engine, cid: int, instrument: str) -> list[int]:
    with engine.db.connect() as conn:
        return list(conn.execute(sa.select(T.c.id).where(T.c.client_id == cid, T.c.instrument == instrument)
                                 .order_by(T.c.id)).scalars())


# --------------------------------------------------------------------------- API


def test_api_same_idempotency_key_twice_gives_the_first_answer_and_starts_once(app, engine):
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    body = {**IB, "client_id": cid}
    eerste = coach.post("/api/trajecten", json=body, headers={"Idempotency-Key": "start-1"})
    assert eerste.status_code == 201, eerste.text
    assert "idempotent-replayed" not in eerste.headers
    tweede = coach.post("/api/trajecten", json=body, headers={"Idempotency-Key": "start-1"})
    assert tweede.status_code == 201 and tweede.json() == eerste.json()
    assert tweede.headers["idempotent-replayed"] == "true"
    assert trajecten(engine, cid, "intensief_begeleiden") == [eerste.json()["traject_id"]]
    # the same key with another body: 422 naming the header, nothing started
    r = coach.post("/api/trajecten", json={**body, "feiten": {"variant": "ter_ontwikkeling"}},
                   headers={"Idempotency-Key": "start-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "Idempotency-Key" in r.json()["detail"][0]["msg"]
    # keys are per user: another user's "start-1" is theirs (here refused: one runs already)
    tl = login(app, "teamleider.oost")
    r = tl.post("/api/trajecten", json=body, headers={"Idempotency-Key": "start-1"})
    assert r.status_code == 409 and r.json()["traject_id"] == eerste.json()["traject_id"]
    assert trajecten(engine, cid, "intensief_begeleiden") == [eerste.json()["traject_id"]]
    # a key of another area's client: 404, before any key is looked at
    west = add_client(engine, "123456782", gebied="West")
    r = coach.post("/api/trajecten", json={**body, "client_id": west}, headers={"Idempotency-Key": "start-2"})
    assert r.status_code == 404


def test_api_a_refusal_is_not_kept_and_a_key_in_flight_is_409(app, engine):
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    fout = {"instrument": "jobcoaching_nazorg", "client_id": cid, "feiten": {"werk_start": "1800-01-01"}}
    r = coach.post("/api/trajecten", json=fout, headers={"Idempotency-Key": "k"})
    assert r.status_code == 422  # refused: nothing started, nothing kept, the key is free again
    goed = {**fout, "feiten": {"werk_start": "2026-01-12"}}
    r = coach.post("/api/trajecten", json=goed, headers={"Idempotency-Key": "k"})
    assert r.status_code == 201, r.text  # not "another body": the refusal did not hold the key
    # the same request of another key still running (claimed, no answer yet): 409 with Retry-After
    hash_ = idempotentie.verzoek_hash({**IB, "client_id": cid, "overrule_reden": None, "planstap": None})
    idempotentie.claim(engine, "coach.oost.1", "POST /api/trajecten loopt", hash_)
    r = coach.post("/api/trajecten", json={**IB, "client_id": cid}, headers={"Idempotency-Key": "loopt"})
    assert r.status_code == 409 and "in behandeling" in r.json()["detail"] and r.headers["retry-after"] == "1"
    assert trajecten(engine, cid, "intensief_begeleiden") == []
    # a malformed key is a 422 on the header
    r = coach.post("/api/trajecten", json={**IB, "client_id": cid}, headers={"Idempotency-Key": "met spatie"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_api_second_start_while_one_runs_is_409_with_its_id(app, engine):
    """Needs the engine's one-running check (AlLopend): the mapping is the web's."""
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    tid = coach.post("/api/trajecten", json={**IB, "client_id": cid}).json()["traject_id"]
    r = coach.post("/api/trajecten", json={**IB, "client_id": cid})
    assert r.status_code == 409, r.text
    assert r.json()["traject_id"] == tid and r.json()["instrument"] == "intensief_begeleiden"
    assert str(tid) in r.json()["detail"]
    r = coach.post("/api/trajecten/toegang", json={**IB, "client_id": cid})
    assert r.status_code == 409 and r.json()["traject_id"] == tid
    assert trajecten(engine, cid, "intensief_begeleiden") == [tid]
    # ended: a new one may start
    coach.post(f"/api/trajecten/{tid}/beeindig", json={"uitkomst": "werk", "reden": "aan het werk"})
    assert coach.post("/api/trajecten", json={**IB, "client_id": cid}).status_code == 201


# --------------------------------------------------------------------------- the start page


def formulier(html: str) -> str:
    return re.search(r'name="formulier" value="([^"]+)"', html).group(1)


def vorm(c, cid: int, instrument: str, feiten: dict, actie: str, token: str, **extra) -> dict:
    return {"csrf_token": c.headers["X-CSRF-Token"], "client_id": cid, "instrument": instrument, "actie": actie,
            "formulier": token, **{f"feit_{k}": v for k, v in feiten.items()}, **extra}


def test_start_page_controleer_and_start_redirect_and_start_once_per_form(app, engine):
    """businesscase allows parallel trajectories (per_client: meerdere): only the form token keeps a
    repeated Start from starting a second one."""
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    page = coach.get(f"/trajecten/nieuw?client={cid}&instrument=businesscase")
    token = formulier(page.text)
    assert formulier(coach.get(f"/trajecten/nieuw?client={cid}&instrument=businesscase").text) != token
    r = coach.post("/trajecten/nieuw", data=vorm(coach, cid, "businesscase", BC_FEITEN, "controleer", token),
                   follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    assert parse_qs(urlsplit(url).query) == {"client": [str(cid)], "instrument": ["businesscase"], "concept": [token]}
    assert "NL44" not in url and "Assen" not in url  # the facts stay on the server
    concept = coach.get(url)
    assert concept.status_code == 200 and "Toegelaten" in concept.text and "NL44RABO0123456789" in concept.text
    assert formulier(concept.text) == token and 'value="start"' in concept.text
    assert coach.get(url).text.count("NL44RABO0123456789") == 1  # a reload shows the same, writes nothing

    start = vorm(coach, cid, "businesscase", BC_FEITEN, "start", token)
    r = coach.post("/trajecten/nieuw", data=start, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/trajecten/\d+", r.headers["location"]), r.headers["location"]
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    assert f"Traject {tid} gestart" in coach.get(r.headers["location"]).text
    # the same form again (reload of a POST, back button, double click): nothing new, the same trajectory
    for _ in range(2):
        r = coach.post("/trajecten/nieuw", data=start, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/trajecten/{tid}")
        assert "Dit traject was al gestart" in coach.get(r.headers["location"]).text
    assert trajecten(engine, cid, "businesscase") == [tid]
    # back on the draft's page: it says so
    assert f'href="/trajecten/{tid}">traject {tid}</a> al gestart' in coach.get(url).text
    # Controleer on that old form is a new, deliberate start: a new token
    r = coach.post("/trajecten/nieuw", data={**start, "actie": "controleer"}, follow_redirects=False)
    nieuw = parse_qs(urlsplit(r.headers["location"]).query)["concept"][0]
    assert nieuw != token
    r = coach.post("/trajecten/nieuw", data={**start, "formulier": nieuw}, follow_redirects=False)
    assert r.headers["location"] != f"/trajecten/{tid}"
    assert len(trajecten(engine, cid, "businesscase")) == 2


def test_start_page_refusals_go_back_to_the_draft_with_the_reason(app, engine):
    cid = add_client(engine)
    coach = login(app, "coach.oost.1")
    token = formulier(coach.get(f"/trajecten/nieuw?client={cid}&instrument=intensief_begeleiden").text)
    # without a token (an old form): nothing starts; the draft keeps what was typed
    r = coach.post("/trajecten/nieuw", data=vorm(coach, cid, "intensief_begeleiden", {"variant": "richting_werk"},
                                                 "start", ""), follow_redirects=False)
    assert r.status_code == 303 and "concept=" in r.headers["location"]
    page = coach.get(r.headers["location"]).text
    assert "Het formulier was verouderd" in page and 'value="richting_werk"' in page
    assert trajecten(engine, cid, "intensief_begeleiden") == []
    # bad facts: the reason on the draft's page (303 there), the token stays usable
    r = coach.post("/trajecten/nieuw", data=vorm(coach, cid, "jobcoaching_nazorg", {"werk_start": "1800-01-01"},
                                                 "start", token), follow_redirects=False)
    assert r.status_code == 303 and f"concept={token}" in r.headers["location"]
    assert "Niet gestart" in coach.get(r.headers["location"]).text and "1800-01-01" in coach.get(r.headers["location"]).text
    # a running trajectory of the instrument (engine: AlLopend): the refusal links to it
    tid = coach.post("/api/trajecten", json={**IB, "client_id": cid}).json()["traject_id"]
    r = coach.post("/trajecten/nieuw", data=vorm(coach, cid, "intensief_begeleiden", {"variant": "richting_werk"},
                                                 "start", token), follow_redirects=False)
    assert r.status_code == 303 and f"concept={token}" in r.headers["location"]
    page = coach.get(r.headers["location"]).text
    assert "al een lopend traject" in page and f'<a href="/trajecten/{tid}">Naar het lopende traject {tid}</a>' in page
    assert trajecten(engine, cid, "intensief_begeleiden") == [tid]
    # Controleer says it too, before anyone presses Start
    r = coach.post("/trajecten/nieuw", data=vorm(coach, cid, "intensief_begeleiden", {"variant": "richting_werk"},
                                                 "controleer", token))
    assert "al een lopend traject" in r.text and f'href="/trajecten/{tid}"' in r.text
    # an unknown or expired draft, or another user's: the empty form with a message
    r = coach.get(f"/trajecten/nieuw?client={cid}&instrument=intensief_begeleiden&concept={'x' * 32}")
    assert r.status_code == 200 and "Dit concept is verlopen" in r.text
    van_de_coach = f"/trajecten/nieuw?client={cid}&instrument=intensief_begeleiden&concept={token}"
    assert 'value="richting_werk"' in coach.get(van_de_coach).text
    r = login(app, "teamleider.oost").get(van_de_coach)
    assert "Dit concept is verlopen" in r.text and 'value="richting_werk"' not in r.text
