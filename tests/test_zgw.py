"""ZGW registration (connectors/zgw) against the Zaken API stand-in running as a real local HTTP server.

Each engine test runs on a SQLite file and on the real PostgreSQL (``db_url``). The stand-in checks
every request against the Zaken API's OpenAPI subset, the JWT and the CRS headers (tests/zgw_standin.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

import connectors.zgw as zgw
from tests.helpers import ACTOR, FEITEN, bsns, client, events
from tests.zgw_standin import Catalogus, ZgwStandin
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.privacy import logboek
from trajecten.privacy import verwerkingsregister
from trajecten.opslag.models import Verwerking, ZgwOpdracht, ZgwZaak
from trajecten.taken.scheduler import JOBS

O, Z = ZgwOpdracht.__table__, ZgwZaak.__table__
CLIENT_ID = "trajecten-test"
SECRET = "test-secret-for-the-zgw-stand-in-0123456789"
RSIN = "123456782"  # passes the 11-test
BSN = "111222333"
BSN2 = bsns(2, seed=7)[1]
IB, WW = "intensief_begeleiden", "ww_preventie"
ZAAKTYPEN = zgw.lees(load_settings().zgw_zaaktypen)


@pytest.fixture
def standin():
    s = ZgwStandin(client_id=CLIENT_ID, secret=SECRET, catalogus=Catalogus.uit_zaaktypen(ZAAKTYPEN)).start()
    yield s
    s.stop()


def _settings(url: str, zaken_url: str, **kw):
    return load_settings(database_url=url, zgw_zaken_url=zaken_url, zgw_client_id=CLIENT_ID, zgw_secret=SECRET,
                         zgw_rsin=RSIN, zgw_timeout_s=0.5, **kw)


@pytest.fixture
def eng(db_url, clock, standin):
    e = Engine.open(db_url, clock=clock, settings=_settings(db_url, standin.url))
    yield e
    e.db.dispose()


def _client(settings, url: str | None = None) -> zgw.ZakenClient:
    """The client the job builds, without sleeping between attempts (tests stay fast)."""
    return zgw.ZakenClient(url or settings.zgw_zaken_url, settings.zgw_client_id,
                           settings.zgw_secret.get_secret_value(), timeout=settings.zgw_timeout_s,
                           retry=zgw.RetryPolicy(pogingen=settings.zgw_verzoek_pogingen), sleep=lambda s: None)


def _run(eng, url: str | None = None) -> dict:
    nieuw = zgw.vul(eng)
    with _client(eng.settings, url) as c:
        return {"nieuw": nieuw, **zgw.verwerk(eng, c)}


def _rows(eng, traject_id=None):
    q = sa.select(O).order_by(O.c.id)
    if traject_id is not None:
        q = q.where(O.c.traject_id == traject_id)
    with eng.db.connect() as conn:
        return conn.execute(q).all()


def _zaak_row(eng, traject_id):
    with eng.db.connect() as conn:
        return conn.execute(sa.select(Z).where(Z.c.traject_id == traject_id)).first()


def _geen_persoonsgegevens(standin: ZgwStandin, *extra: str) -> None:
    """No BSN (nor other personal data we hold) in any request the service received: bodies nor queries."""
    assert standin.verzoeken
    for v in standin.verzoeken:
        for secret in (BSN, *extra):
            assert secret not in v.raw, f"{secret!r} sent in {v.method} {v.path}"


def _statustypen(standin, zaak_url):
    return [s["statustype"] for s in standin.statussen if s["zaak"] == zaak_url]


# --------------------------------------------------------------------------- the happy path


def test_start_end_registers_zaak_status_and_resultaat_once(eng, standin, clock):
    cid = client(eng, BSN)
    tid = eng.start(IB, cid, FEITEN[IB], actor=ACTOR).traject_id

    out = JOBS["zgw"].fn(eng)  # the scheduler's job: loads the connector by name, client from the settings
    assert out["nieuw"] == 2 and out["verzonden"] == 2 and out["wachtend"] == 0, out
    # Logboek Dataverwerkingen: the registration is a processing of this client's trajectory
    V = Verwerking.__table__
    with eng.db.connect() as conn:
        logged = conn.execute(sa.select(V.c.betrokkene, V.c.activiteit).where(V.c.component == "zgw")).all()
    assert [(b, a) for b, a in logged] == [(logboek.pseudoniem(BSN, eng.settings.logboek_sleutel.get_secret_value()),
                                           verwerkingsregister.register().instrument(IB).uri)]
    zt = ZAAKTYPEN[IB]
    (zaak,) = standin.zaken.values()
    assert zaak["zaaktype"] == zt.zaaktype
    assert zaak["identificatie"] == f"TRJ-{tid}"
    assert zaak["bronorganisatie"] == zaak["verantwoordelijkeOrganisatie"] == RSIN
    assert zaak["startdatum"] == "2026-01-05"
    assert zaak["omschrijving"] == f"Intensief begeleiden traject {tid}"
    assert _statustypen(standin, zaak["url"]) == [zt.statustypen["actief"]]
    row = _zaak_row(eng, tid)
    assert row.zaak_url == zaak["url"] and row.laatste_status == "actief" and not row.resultaat_gezet

    clock.advance(timedelta(days=3))
    eng.end(tid, actor=ACTOR, uitkomst="werk", reden="Start bij Bakkerij De Vries, mw. Jansen")
    out = zgw.job(eng)
    assert out["nieuw"] == 2 and out["verzonden"] == 2, out
    assert [r["resultaattype"] for r in standin.resultaten] == [zt.resultaattypen["werk"]]
    assert _statustypen(standin, zaak["url"]) == [zt.statustypen["actief"], zt.statustypen["afgerond"]]
    assert zaak["einddatum"] == "2026-01-08"
    row = _zaak_row(eng, tid)
    assert row.laatste_status == "afgerond" and row.resultaat_gezet

    # idempotent: running again sends nothing new (and vul writes nothing new)
    before = len(standin.verzoeken)
    out = zgw.job(eng)
    assert out["nieuw"] == 0 and out["verzonden"] == 0, out
    assert len(standin.verzoeken) == before
    assert all(r.status == "klaar" for r in _rows(eng))
    # the free-text reason of the end stays home, like the BSN
    _geen_persoonsgegevens(standin, "Bakkerij", "Jansen")


def test_planned_trajectory_gets_gepland_then_actief_then_afgerond(eng, standin, clock):
    cid = client(eng, BSN)
    res = eng.start(WW, cid, FEITEN[WW], actor=ACTOR)
    assert res.status == "gepland"
    _run(eng)
    zt = ZAAKTYPEN[WW]
    (zaak,) = standin.zaken.values()
    assert zaak["zaaktype"] == zt.zaaktype
    assert _statustypen(standin, zaak["url"]) == [zt.statustypen["gepland"]]

    # the first step fires (3 working days after the start): the trajectory becomes active -> status actief, once
    clock.set(datetime.combine(res.start_datum, datetime.min.time(), tzinfo=clock.now().tzinfo) + timedelta(days=7))
    assert eng.sweep().uitgevoerd >= 1
    out = _run(eng)
    assert out["nieuw"] == 1 and out["verzonden"] == 1, out
    clock.advance(timedelta(days=8))
    eng.sweep()
    assert _run(eng)["nieuw"] == 0  # later steps are no phase change

    eng.end(res.traject_id, actor=ACTOR, uitkomst="werk", reden="werk gevonden")
    _run(eng)
    assert _statustypen(standin, zaak["url"]) == [zt.statustypen[f] for f in ("gepland", "actief", "afgerond")]
    assert [r["resultaattype"] for r in standin.resultaten] == [zt.resultaattype("werk")]
    _geen_persoonsgegevens(standin)


# --------------------------------------------------------------------------- failures


def test_timeout_after_the_service_created_the_zaak_does_not_create_a_second(eng, standin):
    tid = eng.start(IB, client(eng, BSN), FEITEN[IB], actor=ACTOR).traject_id
    standin.traag_na_aanmaken, standin.traag_s = 1, 0.8  # stores the zaak, answers after the 0.5 s timeout
    out = _run(eng)
    assert out["verzonden"] == 2 and out["mislukt"] == 0, out
    assert len(standin.zaken) == 1
    assert len(standin.requests("POST", "/zaken")) == 1  # the retry looked first and found it
    assert [v.method for v in standin.requests(path="/zaken")] == ["GET", "POST", "GET"]
    assert _zaak_row(eng, tid).zaak_url == next(iter(standin.zaken))


@pytest.mark.parametrize("storing", ["503", "geweigerd"])
def test_service_down_engine_keeps_working_and_catches_up_in_order(eng, standin, clock, storing):
    if storing == "503":
        standin.down = True
        url = None
    else:  # connection refused: nothing listens on that port
        url = f"http://127.0.0.1:{_closed_port()}/zaken/api/v1"
    c1, c2 = client(eng, BSN), client(eng, BSN2)
    t1 = eng.start(IB, c1, FEITEN[IB], actor=ACTOR).traject_id
    t2 = eng.start(IB, c2, FEITEN[IB], actor=ACTOR).traject_id
    clock.advance(timedelta(days=8))
    assert eng.sweep().uitgevoerd > 0  # the engine does not notice the outage
    eng.end(t1, actor=ACTOR, uitkomst="geen_doorbraak", reden="test")

    out = _run(eng, url)
    assert out["nieuw"] == 6 and out["verzonden"] == 0 and out["uitgesteld"] == 1, out
    if storing == "503":
        assert len(standin.verzoeken) == eng.settings.zgw_verzoek_pogingen  # one probe, not a storm
    first = _rows(eng)[0]
    assert first.status == "wachtend" and first.pogingen == 1
    assert first.volgende_poging_op == clock.now() + timedelta(seconds=eng.settings.zgw_retry_start_s)
    assert "Serverfout" in first.laatste_fout or "Onbereikbaar" in first.laatste_fout
    assert all(r.status == "wachtend" for r in _rows(eng))

    out = _run(eng, url)  # before the delay: nothing is tried again for that trajectory
    assert out["later"] == 1 and out["verzonden"] == 0

    standin.down = False
    clock.advance(timedelta(seconds=eng.settings.zgw_retry_start_s))
    out = _run(eng)
    assert out["verzonden"] == 6 and out["wachtend"] == 0, out
    posts = [(v.path, v.body.get("identificatie") or v.body.get("zaak")) for v in standin.verzoeken
             if v.method == "POST" and v.status == 201]
    z1, z2 = _zaak_row(eng, t1).zaak_url, _zaak_row(eng, t2).zaak_url
    assert posts == [("/zaken", f"TRJ-{t1}"), ("/statussen", z1), ("/zaken", f"TRJ-{t2}"), ("/statussen", z2),
                     ("/resultaten", z1), ("/statussen", z1)]
    assert standin.zaken[z1]["einddatum"] is not None
    _geen_persoonsgegevens(standin, BSN2)


def test_refused_request_is_mislukt_with_the_reason_and_not_retried(db_url, clock, standin):
    good = _settings(db_url, standin.url)
    bad = good.model_copy(update={"zgw_rsin": "123456789"})  # past the start-up check: the service must refuse it
    eng = Engine.open(db_url, clock=clock, settings=bad)
    try:
        tid = eng.start(IB, client(eng, BSN), FEITEN[IB], actor=ACTOR).traject_id
        out = _run(eng)
        assert out["mislukt"] == 1 and out["verzonden"] == 0 and out["geblokkeerd"] == 1, out
        zaak_row, status_row = _rows(eng, tid)
        assert zaak_row.status == "mislukt" and zaak_row.pogingen == 1
        assert "HTTP 400" in zaak_row.laatste_fout and "bronorganisatie: invalid (Onjuist RSIN nummer.)" \
            in zaak_row.laatste_fout
        assert status_row.status == "wachtend"  # waits for its zaak
        (ev,) = events(eng, tid, "zgw_mislukt")
        assert ev.payload["soort"] == "zaak" and "Onjuist RSIN" in ev.payload["fout"]

        clock.advance(timedelta(days=2))
        before = len(standin.verzoeken)
        out = _run(eng)  # not retried by itself
        assert out["verzonden"] == out["mislukt"] == 0 and len(standin.verzoeken) == before

        # a person fixes the setting and puts it back in the queue
        fixed = Engine.open(db_url, clock=clock, settings=good)
        try:
            assert zgw.opnieuw(fixed, door="beheer:piet", traject_id=tid) == 1
            out = _run(fixed)
            assert out["verzonden"] == 2 and out["wachtend"] == 0, out
        finally:
            fixed.db.dispose()
        assert [z["bronorganisatie"] for z in standin.zaken.values()] == [RSIN]
        _geen_persoonsgegevens(standin)
    finally:
        eng.db.dispose()


def test_attempts_run_out_into_mislukt_for_a_person(db_url, clock, standin):
    settings = _settings(db_url, standin.url, zgw_max_pogingen=2)
    eng = Engine.open(db_url, clock=clock, settings=settings)
    try:
        tid = eng.start(IB, client(eng, BSN), FEITEN[IB], actor=ACTOR).traject_id
        standin.down = True
        assert _run(eng)["uitgesteld"] == 1
        clock.advance(timedelta(hours=1))
        assert _run(eng)["mislukt"] == 1
        assert _rows(eng, tid)[0].status == "mislukt"
        assert len(events(eng, tid, "zgw_mislukt")) == 1
    finally:
        eng.db.dispose()


# --------------------------------------------------------------------------- the pieces on their own


def test_client_retries_5xx_and_timeouts_but_not_4xx():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"count": 0, "next": None, "previous": None, "results": []})
        posts = sum(r.method == "POST" for r in calls)
        if posts == 1:
            return httpx.Response(502)
        if posts == 2:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(201, json={"url": "http://zrc/statussen/1"})

    c = zgw.ZakenClient("http://zrc/zaken/api/v1", CLIENT_ID, SECRET, transport=httpx.MockTransport(handler),
                        retry=zgw.RetryPolicy(pogingen=4), sleep=lambda s: None)
    when = datetime.fromisoformat("2026-01-05T09:00:00+01:00")
    assert c.zet_status("http://zrc/zaken/1", "http://ztc/statustypen/1", when)["url"] == "http://zrc/statussen/1"
    # POST (502); each retry looks first: GET (nothing there), POST (timeout), GET, POST (201)
    assert [r.method for r in calls] == ["POST", "GET", "POST", "GET", "POST"]
    assert {r.url.path for r in calls} == {"/zaken/api/v1/statussen"}
    import jwt

    claims = jwt.decode(calls[0].headers["Authorization"].removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    assert claims["client_id"] == claims["iss"] == CLIENT_ID and "iat" in claims

    refused = []

    def bad(request):
        refused.append(request)
        return httpx.Response(400, json={"code": "invalid", "invalidParams": [
            {"name": "statustype", "code": "bad-url", "reason": "De URL is ongeldig."}]})

    c = zgw.ZakenClient("http://zrc/zaken/api/v1", CLIENT_ID, SECRET, transport=httpx.MockTransport(bad),
                        sleep=lambda s: None)
    with pytest.raises(zgw.Geweigerd) as info:
        c.zet_status("http://zrc/zaken/1", "http://ztc/statustypen/1", when)
    assert len(refused) == 1 and info.value.invalid_params[0]["code"] == "bad-url"


def test_standin_checks_shapes_jwt_and_crs(standin):
    zaaktype = ZAAKTYPEN[IB].zaaktype
    token = zgw.ZakenClient(standin.url, CLIENT_ID, SECRET)._token()
    auth = {"Authorization": f"Bearer {token}"}
    crs = {"Accept-Crs": "EPSG:4326", "Content-Crs": "EPSG:4326"}
    good = {"bronorganisatie": RSIN, "verantwoordelijkeOrganisatie": RSIN, "zaaktype": zaaktype,
            "startdatum": "2026-01-05"}
    with httpx.Client(base_url=standin.url) as http:
        assert http.post("/zaken", json=good, headers={**auth, **crs}).status_code == 201
        r = http.post("/zaken", json={"bronorganisatie": "12345678", "zaaktype": "geen-url",
                                      "startdatum": "5-1-2026"}, headers={**auth, **crs})
        assert r.status_code == 400
        got = {(p["name"], p["code"]) for p in r.json()["invalidParams"]}
        assert got == {("verantwoordelijkeOrganisatie", "required"), ("zaaktype", "invalid"),
                       ("startdatum", "invalid")}
        r = http.post("/zaken", json={**good, "bronorganisatie": "123456789"}, headers={**auth, **crs})
        assert r.json()["invalidParams"] == [{"name": "bronorganisatie", "code": "invalid",
                                              "reason": "Onjuist RSIN nummer."}]
        assert http.post("/zaken", json=good, headers=auth).status_code == 412  # CRS headers required
        assert http.get("/zaken", headers={**auth, "Accept-Crs": "EPSG:28992"}).status_code == 406
        assert http.post("/zaken", json=good, headers=crs).status_code == 403  # no JWT
        forged = zgw.ZakenClient(standin.url, CLIENT_ID, "another-secret-of-sufficient-length-0000")._token()
        assert http.get("/zaken", headers={"Authorization": f"Bearer {forged}", **crs}).status_code == 403
        zaak = next(iter(standin.zaken))
        r = http.post("/statussen", json={"zaak": zaak, "statustype": ZAAKTYPEN[IB].statustypen["afgerond"],
                                          "datumStatusGezet": "2026-01-05T10:00:00+01:00"}, headers=auth)
        assert r.status_code == 400 and r.json()["invalidParams"][0]["code"] == "resultaat-does-not-exist"
        r = http.post("/statussen", json={"zaak": zaak, "statustype": ZAAKTYPEN[WW].statustypen["actief"],
                                          "datumStatusGezet": "2026-01-05"}, headers=auth)
        assert {p["code"] for p in r.json()["invalidParams"]} == {"invalid"}  # a date is not a date-time


def test_scheduled_as_a_job_and_a_prefect_deployment():
    from pathlib import Path

    import yaml

    spec = JOBS["zgw"]
    off = load_settings()
    on = _settings("sqlite://", "http://zrc.example/zaken/api/v1")

    class E:  # only what the job spec reads
        def __init__(self, settings):
            self.settings = settings

    assert not spec.enabled(E(off)) and spec.enabled(E(on))
    assert "*/10" in str(spec.trigger(E(on)))
    assert zgw.job(E(off)) == {"actief": False}
    deployments = yaml.safe_load((Path(__file__).resolve().parents[1] / "prefect.yaml").read_text())["deployments"]
    (d,) = [d for d in deployments if d["name"] == "zgw"]
    assert d["entrypoint"] == "flows/zgw.py:zgw"
    assert d["schedules"] == [{"cron": "*/10 * * * *", "timezone": "Europe/Amsterdam"}]


def test_settings_refuse_bad_zgw_values_naming_the_variable(tmp_path):
    from trajecten.basis.config import SettingsError

    with pytest.raises(SettingsError, match="TRAJECTEN_ZGW_RSIN: .*11-test"):
        load_settings(zgw_zaken_url="http://zrc.example/zaken/api/v1", zgw_client_id="a", zgw_secret="b",
                      zgw_rsin="123456789")
    bad = tmp_path / "zaaktypen.yaml"
    bad.write_text("intensief_begeleiden:\n  zaaktype: geen-url\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="TRAJECTEN_ZGW_ZAAKTYPEN.*zaaktype must be an http"):
        _settings("sqlite://", "http://zrc.example/zaken/api/v1", zgw_zaaktypen=str(bad))
    with pytest.raises(SettingsError, match="TRAJECTEN_ZGW_SECRET"):
        load_settings(zgw_zaken_url="http://zrc.example/zaken/api/v1", zgw_client_id="a", zgw_rsin=RSIN)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
