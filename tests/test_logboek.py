"""Logboek Dataverwerkingen (issue P6 item 5): every read and write of a client's personal data through
the API, the pages, the command line and the jobs writes a record with the standard's fields (W3C Trace
Context ids propagated from the request, name, times, status, processing activity from the register,
the data subject as a keyed hash of the BSN, the user); a client's history can be listed (inzage)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import open_engine
from tests.test_autorisatie import GEBRUIKERS, login, vul_gebruikers
from trajecten.privacy import logboek
from trajecten.privacy import verwerkingsregister
from trajecten.privacy import trace
from trajecten.cli import app as cli
from trajecten.basis.config import load_settings
from trajecten.basis.omgeving import LOGBOEK_DEV_SLEUTEL
from trajecten.kern.definitie import INSTRUMENTEN_DIR
from trajecten.opslag.models import Verwerking
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import PUBLIEK, ROUTE_ROLES, alle_routes, create_app, maak_token
from trajecten.web._verwerkingen import VERWERKINGEN

V = Verwerking.__table__
BSN, BSN2 = "123456782", "111222333"
INKOMEND = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def records(engine, **where) -> list:
    q = sa.select(V).order_by(V.c.id)
    for k, v in where.items():
        q = q.where(V.c[k] == v)
    with engine.db.connect() as conn:
        return conn.execute(q).all()


def pseudo(bsn: str, key: str = LOGBOEK_DEV_SLEUTEL) -> str:
    return hmac.new(key.encode(), bsn.encode(), hashlib.sha256).hexdigest()


def uri(sleutel: str) -> str:
    return verwerkingsregister.register().get(sleutel).uri


# --------------------------------------------------------------------------- the register


def test_every_instrument_has_a_processing_activity_in_the_register():
    """Derived from the instrument files themselves: a new instrument without an activity fails here."""
    instrumenten = sorted(yaml.safe_load(p.read_text(encoding="utf-8"))["instrument"]
                          for p in INSTRUMENTEN_DIR.glob("*.yaml"))
    assert len(instrumenten) >= 4
    reg = verwerkingsregister.Register()
    missing = [i for i in instrumenten if i not in reg.instrumenten]
    assert missing == [], f"instrument(en) zonder verwerkingsactiviteit in {verwerkingsregister.REGISTER.name}: {missing}"
    assert {"clientadministratie", "uwv_feed", "uitbetalingen", "monitoring"} <= set(reg.algemeen)
    uris = [a.uri for a in reg.alle()]
    assert len(uris) == len(set(uris)) and all(u.startswith("https://") for u in uris)
    for a in reg.alle():
        assert "AVG art. 6" in a.grondslag and a.doel and a.bewaartermijn_maanden >= 12, a


def test_an_unknown_instrument_is_logged_under_the_fallback_activity(caplog):
    with caplog.at_level(logging.WARNING, "trajecten.privacy.logboek"):
        act = verwerkingsregister.register().instrument("bestaat_niet")
    assert act.sleutel == "trajectbegeleiding" and "bestaat_niet" in caplog.text


# --------------------------------------------------------------------------- trace context


@pytest.mark.parametrize("header, ok", [
    (INKOMEND, True),
    ("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later", True),  # a later version may add fields
    ("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", False),
    ("00-00000000000000000000000000000000-b7ad6b7169203331-01", False),
    ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", False),
    ("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", False),  # upper case is invalid
    ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", False),  # version 00 has exactly 4 fields
    ("garbage", False), ("", False), (None, False),
])
def test_traceparent_parsing(header, ok):
    t = trace.lees_traceparent(header)
    assert (t is not None) is ok
    if ok:
        assert t.trace_id == "0af7651916cd43dd8448eb211c80319c" and t.span_id == "b7ad6b7169203331"


# --------------------------------------------------------------------------- routes: none may skip it


def test_every_route_is_mapped_to_a_processing_activity_or_explicitly_to_none():
    from types import SimpleNamespace

    app = create_app(SimpleNamespace(settings=load_settings()), secret_key="x", https_only=False)
    routes = {r for r in alle_routes(app) if r not in PUBLIEK}
    missing = sorted(routes - set(VERWERKINGEN))
    assert missing == [], f"routes zonder regel in web/_verwerkingen.VERWERKINGEN: {missing}"
    assert set(VERWERKINGEN) <= set(ROUTE_ROLES), set(VERWERKINGEN) - set(ROUTE_ROLES)
    reg = verwerkingsregister.register()
    for key, act in VERWERKINGEN.items():
        if act is not None:
            reg.get(act)
    # routes whose path names a client, trajectory, task or payout read personal data: never None
    persoonlijk = re.compile(r"\{(client_id|traject_id|taak_id|uitbetaling_id)\}")
    assert not [k for k, v in VERWERKINGEN.items() if v is None and persoonlijk.search(k[1])]


@pytest.fixture
def wereld(db_url):
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))
    engine = open_engine(db_url, clock)
    vul_gebruikers(engine, [("teamleider.west", "teamleider", "West")])
    cid = engine.add_client(BSN, naam="Cliënt Oost", geboortedatum=date(1980, 5, 17), gebied="Oost",
                            coach="coach.oost.1", bijstand_sinds=date(2019, 1, 1), iban="NL91ABNA0417164300")
    tr = engine.start("intensief_begeleiden", cid, {"variant": "richting_werk"}, actor="coach.oost.1")
    app = create_app(engine, secret_key="logboek")
    yield {"engine": engine, "app": app, "client_id": cid, "traject_id": tr.traject_id, "clock": clock}
    engine.db.dispose()


def test_api_reads_and_writes_are_logged_with_the_callers_trace(wereld):
    eng, app, cid, tid = wereld["engine"], wereld["app"], wereld["client_id"], wereld["traject_id"]
    c = login(app, GEBRUIKERS["coach"][0])
    r = c.get(f"/api/clients/{cid}", headers={"traceparent": INKOMEND})
    assert r.status_code == 200
    ours = trace.lees_traceparent(r.headers["traceparent"])
    assert ours.trace_id == "0af7651916cd43dd8448eb211c80319c" and ours.span_id != "b7ad6b7169203331"
    (rec,) = records(eng, trace_id=ours.trace_id)
    assert rec.parent_span_id == "b7ad6b7169203331" and re.fullmatch(r"[0-9a-f]{16}", rec.span_id)
    assert rec.naam == "GET /api/clients/{client_id}" and rec.status == "OK" and rec.component == "api"
    assert rec.activiteit == uri("clientadministratie") and rec.gebruiker == "coach.oost.1"
    assert rec.betrokkene == pseudo(BSN) and rec.betrokkene_type == "BSN"
    assert rec.start_tijd <= rec.eind_tijd
    # a write on a trajectory: the instrument's activity, a new trace when none is given
    r = c.post(f"/api/trajecten/{tid}/gebeurtenissen", json={"event": "contact", "toelichting": "gebeld"})
    assert r.status_code == 200
    new = trace.lees_traceparent(r.headers["traceparent"])
    (rec,) = records(eng, trace_id=new.trace_id)
    assert rec.activiteit == uri("instrument:intensief_begeleiden") and rec.parent_span_id is None
    assert rec.naam == "POST /api/trajecten/{traject_id}/gebeurtenissen" and rec.betrokkene == pseudo(BSN)
    # an invalid traceparent: a new trace, never an error
    r = c.get(f"/api/trajecten/{tid}", headers={"traceparent": "00-zz-kapot"})
    assert r.status_code == 200 and trace.lees_traceparent(r.headers["traceparent"]) is not None
    # a refused request that read the client: status ERROR
    r = c.post("/api/trajecten", json={"instrument": "intensief_begeleiden", "client_id": cid,
                                       "feiten": {"variant": "geen_variant"}})
    assert r.status_code in (409, 422)
    rec = records(eng, trace_id=trace.lees_traceparent(r.headers["traceparent"]).trace_id)
    assert rec and {x.status for x in rec} == {"ERROR"}
    # the worklist names clients: one record per client on it
    wereld["clock"].advance(timedelta(days=3))
    eng.sweep()
    r = c.get("/api/werklijst")
    rec = records(eng, trace_id=trace.lees_traceparent(r.headers["traceparent"]).trace_id)
    assert [x.betrokkene for x in rec] == [pseudo(BSN)]
    # a page too
    r = c.get(f"/clienten/{cid}")
    assert r.status_code == 200
    (rec,) = records(eng, trace_id=trace.lees_traceparent(r.headers["traceparent"]).trace_id)
    assert rec.component == "pagina" and rec.naam == "GET /clienten/{client_id}"
    # aggregates: one record without a data subject; routes without personal data: none
    mon = login(app, GEBRUIKERS["beleid"][0]).get("/api/monitoring")
    (rec,) = records(eng, trace_id=trace.lees_traceparent(mon.headers["traceparent"]).trace_id)
    assert rec.activiteit == uri("monitoring") and rec.betrokkene is None
    ik = c.get("/api/ik")
    assert records(eng, trace_id=trace.lees_traceparent(ik.headers["traceparent"]).trace_id) == []
    # a client the coach may not see: 404 and nothing logged about that person
    assert c.get("/api/clients/999999").status_code == 404
    # the BSN itself is nowhere in the log table
    with eng.db.connect() as conn:
        dump = json.dumps([list(map(str, r)) for r in conn.execute(sa.select(V)).all()])
    assert BSN not in dump


def test_a_started_trajectory_commits_with_its_record_and_a_failed_record_undoes_the_start(wereld, monkeypatch):
    """POST /api/trajecten writes the Logboek record in the start's own transaction: one record with the
    fields the middleware gives (not a second one afterwards); when that record cannot be written, the
    start is rolled back (500) and the attempt is still logged, with status ERROR."""
    eng, app = wereld["engine"], wereld["app"]
    cid = eng.add_client(BSN2, naam="Cliënt Twee", geboortedatum=date(1985, 1, 1), gebied="Oost",
                         coach="coach.oost.1", bijstand_sinds=date(2020, 1, 1))
    c = login(app, GEBRUIKERS["coach"][0])
    vraag = {"instrument": "intensief_begeleiden", "client_id": cid, "feiten": {"variant": "richting_werk"}}
    r = c.post("/api/trajecten", json=vraag, headers={"traceparent": INKOMEND})
    assert r.status_code == 201, r.text
    ours = trace.lees_traceparent(r.headers["traceparent"])
    (rec,) = records(eng, trace_id=ours.trace_id)
    assert rec.parent_span_id == "b7ad6b7169203331" and rec.span_id != ours.span_id
    assert rec.naam == "POST /api/trajecten" and rec.status == "OK" and rec.component == "api"
    assert rec.activiteit == uri("instrument:intensief_begeleiden") and rec.gebruiker == "coach.oost.1"
    assert rec.betrokkene == pseudo(BSN2) and rec.betrokkene_type == "BSN" and rec.start_tijd <= rec.eind_tijd
    T = sa.table("traject", sa.column("client_id"))
    with eng.db.connect() as conn:
        def gestart() -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.client_id == cid)).scalar_one()
        assert gestart() == 1
    # the record cannot be written: no trajectory without its record
    echte = logboek.schrijf

    def kapot(engine, rows, conn=None):
        if conn is not None:
            raise RuntimeError("logboek onbereikbaar")
        return echte(engine, rows, conn)

    monkeypatch.setattr(logboek, "schrijf", kapot)
    cid3 = eng.add_client("999999990", naam="Cliënt Drie", geboortedatum=date(1985, 1, 1), gebied="Oost",
                          coach="coach.oost.1", bijstand_sinds=date(2020, 1, 1))
    r = TestClient(app, raise_server_exceptions=False, cookies=c.cookies, headers=dict(c.headers)).post(
        "/api/trajecten", json={**vraag, "client_id": cid3})
    assert r.status_code == 500
    with eng.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.client_id == cid3)).scalar_one() == 0
    (rec,) = records(eng, betrokkene=pseudo("999999990"))  # a 500 carries no traceparent
    assert rec.status == "ERROR" and rec.naam == "POST /api/trajecten"


def test_a_route_mapped_to_none_that_reads_a_client_is_still_logged(wereld, monkeypatch, caplog):
    """Nothing skips the log silently: a forgotten mapping is logged under the client administration
    and warned about."""
    eng, cid = wereld["engine"], wereld["client_id"]
    monkeypatch.setitem(VERWERKINGEN, ("GET", "/api/clients/{client_id}"), None)
    c = login(wereld["app"], GEBRUIKERS["coach"][0])
    with caplog.at_level(logging.WARNING, "trajecten.web.logboek"):
        r = c.get(f"/api/clients/{cid}")
    (rec,) = records(eng, trace_id=trace.lees_traceparent(r.headers["traceparent"]).trace_id)
    assert rec.activiteit == uri("clientadministratie") and rec.betrokkene == pseudo(BSN)
    assert "geen verwerkingsactiviteit" in caplog.text


def test_inzage_over_the_api_for_team_leads_only(wereld):
    app, cid = wereld["app"], wereld["client_id"]
    coach = login(app, GEBRUIKERS["coach"][0])
    coach.get(f"/api/clients/{cid}")
    assert coach.get(f"/api/clients/{cid}/verwerkingen").status_code == 403
    assert login(app, "teamleider.west").get(f"/api/clients/{cid}/verwerkingen").status_code == 404
    r = login(app, GEBRUIKERS["teamleider"][0]).get(f"/api/clients/{cid}/verwerkingen")
    assert r.status_code == 200
    items = r.json()["verwerkingen"]
    assert {"start_tijd", "activiteit_naam", "gebruiker", "status", "handeling"} <= set(items[0])
    assert ("coach.oost.1", "Cliëntadministratie Werk & Participatie", "GET /api/clients/{client_id}") in {
        (i["gebruiker"], i["activiteit_naam"], i["handeling"]) for i in items}
    assert BSN not in r.text


def test_sweep_logs_each_batch_per_client_and_instrument_in_one_trace(db_url, clock):
    eng = open_engine(db_url, clock)
    ids = [eng.add_client(b, geboortedatum=date(1980, 5, 17), bijstand_sinds=date(2020, 1, 1), coach="c")
           for b in (BSN, BSN2)]
    for cid in ids:
        eng.start("intensief_begeleiden", cid, {"variant": "richting_werk"}, actor="x")
    eng.start("premie_op_werk", ids[0], {"werk_start": "2026-01-12", "uren_per_week": 32, "contract_maanden": 12},
              actor="x")
    clock.advance(timedelta(days=14))
    res = eng.sweep(batch_size=2)  # several batches: each logs its own clients, in its own transaction
    assert res.batches > 1
    rec = records(eng, gebruiker="systeem:sweep")
    assert {(r.betrokkene, r.activiteit) for r in rec} == {
        (pseudo(BSN), uri("instrument:intensief_begeleiden")), (pseudo(BSN2), uri("instrument:intensief_begeleiden")),
        (pseudo(BSN), uri("instrument:premie_op_werk"))}
    # at most one record per batch for a client and instrument, each its own span of the sweep's trace
    assert len(rec) <= res.batches * 3
    assert len({r.trace_id for r in rec}) == 1 and len({r.span_id for r in rec}) == len(rec)
    assert {r.component for r in rec} == {"sweep"}
    n = len(rec)
    eng.sweep()  # nothing due: nothing processed, nothing logged
    assert len(records(eng, gebruiker="systeem:sweep")) == n
    eng.db.dispose()


def test_feed_push_logs_the_handover_and_the_started_trajectory(wereld):
    eng, app = wereld["engine"], wereld["app"]
    token = maak_token(eng, "feed", "koppeling")
    regel = {"uwv_referentie": "UWV-L-1", "bsn": BSN2, "geboortedatum": "1978-04-12", "postcode": "9713 AB",
             "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-12-31", "risico_langdurig": True}
    r = TestClient(app, headers={"Authorization": f"Bearer {token}"}).post(
        "/api/feeds/uwv", content=json.dumps(regel) + "\n", headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["geaccepteerd"] == 1
    rec = records(eng, trace_id=trace.lees_traceparent(r.headers["traceparent"]).trace_id)
    assert sorted(x.activiteit for x in rec) == sorted([uri("uwv_feed"), uri("instrument:ww_preventie")])
    assert {x.betrokkene for x in rec} == {pseudo(BSN2)} and {x.gebruiker for x in rec} == {"token:feed"}


def test_cli_commands_log_and_inzage_never_prints_the_bsn(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", url)
    monkeypatch.setenv("TRAJECTEN_NU", "2026-03-02T09:00")
    run = CliRunner()

    def ok(args, **kw):
        res = run.invoke(cli, args, **kw)
        assert res.exit_code == 0, res.output
        assert BSN not in res.output
        return res.output

    ok(["client", "toevoegen", "--naam", "A. de Vries", "--bijstand-sinds", "2021-03-01", "--coach", "coach.oost.1",
        "--gebied", "Oost"], input=BSN + "\n")
    ok(["start", "intensief_begeleiden", "--client", "1", "--fact", "variant=richting_werk", "--door", "coach.oost.1"])
    ok(["event", "1", "contact", "--door", "coach.oost.1"])
    ok(["timeline", "1"])
    assert run.invoke(cli, ["event", "1", "bestaat_niet", "--door", "coach.oost.1"]).exit_code == 2
    out = ok(["logboek", "inzage", "--client", "1", "--door", "teamleider.oost"])
    assert "coach.oost.1" in out and "Intensief begeleiden" in out
    text = ok(["logboek", "inzage", "--json", "--door", "teamleider.oost"], input=BSN + "\n")
    rows = json.loads(text[text.index("["):])  # after the (hidden) BSN prompt
    eng = open_engine(url, FixedClock(datetime(2026, 3, 2, 9, tzinfo=TZ)))
    try:
        got = [(r["handeling"], r["activiteit_naam"], r["gebruiker"], r["status"]) for r in rows]
        assert got[:5] == [
            ("trajecten client toevoegen", "Cliëntadministratie Werk & Participatie", "cli:" + got[0][2][4:], "OK"),
            ("trajecten start", "Intensief begeleiden (9-12 weken)", "coach.oost.1", "OK"),
            ("trajecten event", "Intensief begeleiden (9-12 weken)", "coach.oost.1", "OK"),
            ("trajecten timeline", "Intensief begeleiden (9-12 weken)", got[3][2], "OK"),
            ("trajecten event", "Intensief begeleiden (9-12 weken)", "coach.oost.1", "ERROR"),
        ]
        assert got[5][0] == "trajecten logboek inzage" and got[5][2] == "teamleider.oost"
        assert {r.component for r in records(eng)} == {"cli"}
    finally:
        eng.db.dispose()


def test_the_pseudonym_is_keyed(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'key.db'}"
    eng = open_engine(url, clock)
    cid = eng.add_client(BSN, bijstand_sinds=date(2020, 1, 1))
    with logboek.verwerking(eng, "clientadministratie", cid, "tester", naam="lezen", component="test"):
        pass
    (rec,) = records(eng)
    assert rec.betrokkene == pseudo(BSN) != hashlib.sha256(BSN.encode()).hexdigest()
    assert len(logboek.inzage(eng, client_id=cid)) == 1
    eng.settings = load_settings(database_url=url, logboek_sleutel="een-andere-geheime-sleutel-123")
    assert logboek.inzage(eng, client_id=cid) == []  # another key: the old records are not findable
    with pytest.raises(ZeroDivisionError):
        with logboek.verwerking(eng, "clientadministratie", cid, "tester", naam="mislukt", component="test"):
            1 / 0
    assert [r.status for r in records(eng)] == ["OK", "ERROR"]
    eng.db.dispose()


def test_the_logboek_key_is_at_least_16_characters():
    # the development key's warning (every process) and refusal (production): tests/test_omgeving.py
    with pytest.raises(Exception, match="TRAJECTEN_LOGBOEK_SLEUTEL"):
        load_settings(logboek_sleutel="kort")  # at least 16 characters


def test_a_quarantined_feed_record_is_logged_for_the_person_it_names(db_url, clock, tmp_path):
    """A rejected handover is kept in quarantine with its raw content: personal data written, so logged
    (for a BSN that passes the 11-test; a record without a usable BSN names nobody)."""
    from connectors.uwv import importeer_bestand

    eng = open_engine(db_url, clock)
    path = tmp_path / "overdracht.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"uwv_referentie": "R-1", "bsn": BSN, "geboortedatum": "1980-05-17", "postcode": "9713 AB",
         "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-02-30", "risico_langdurig": True},
        {"uwv_referentie": "R-2", "bsn": "123456789", "geboortedatum": "1980-05-17", "postcode": "9713 AB",
         "ww_startdatum": "2025-06-01", "ww_einddatum": "2026-09-30", "risico_langdurig": True},
    ]) + "\n", encoding="utf-8")
    s = importeer_bestand(eng, path)
    assert (s.quarantaine, s.geaccepteerd) == (2, 0)
    rec = records(eng, gebruiker="systeem:uwv-feed")
    assert [(r.betrokkene, r.activiteit) for r in rec] == [(pseudo(BSN), uri("uwv_feed"))]
    eng.db.dispose()
