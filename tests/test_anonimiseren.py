"""Retention (issue P6 item 6): the personal data of a finished trajectory is anonymised after the
retention period, nothing identifies the client afterwards, and the monitoring counts (module and
GET /api/monitoring) are identical before and after, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import open_engine
from trajecten.privacy import logboek
from trajecten.privacy import verwerkingsregister
from trajecten.geld import uitbetalingen
from trajecten.privacy.anonimiseren import NAAM, anonimiseer, placeholder_bsn
from trajecten.basis.bsn import elfproef
from trajecten.cli import app as cli
from trajecten.basis.omgeving import LOGBOEK_DEV_SLEUTEL
from trajecten.opslag.models import Client, Gebeurtenis, Uitbetaling, Verwerking
from trajecten.rapportage.monitoring import maandcijfers
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import create_app, maak_token

C, E, U, V = Client.__table__, Gebeurtenis.__table__, Uitbetaling.__table__, Verwerking.__table__
BSN = {"A": "123456782", "B": "111222333", "C": "100000009", "D": "211222306", "E": "211222318"}
PEILDATUM = date(2029, 1, 15)
PREMIE = {"uren_per_week": 32, "contract_maanden": 12}
MAANDEN = [(j, m) for j in (2021, 2028) for m in range(1, 13)]


def _client(eng, key: str) -> int:
    return eng.add_client(BSN[key], naam=f"Cliënt {key}", geboortedatum=date(1980, 5, 17), postcode="9713AB",
                          bijstand_sinds=date(2015, 1, 1), iban="NL91ABNA0417164300", coach="coach.oost.1")


def _premie(eng, clock, cid: int) -> int:
    tr = eng.start("premie_op_werk", cid, {**PREMIE, "werk_start": clock.now().date().isoformat()},
                   actor="coach.oost.1")
    for _ in range(3):
        clock.advance(timedelta(days=1))
        eng.sweep()
    return tr.traject_id


def caseload(db_url):
    """A: ended 2021 (notes, reasons); B: Premie op Werk paid and ended 2021; C: ended 2021 with a payout still
    proposed; D: ended 2028 (within retention); E: still running."""
    clock = FixedClock(datetime(2021, 1, 4, 9, 0, tzinfo=TZ))
    eng = open_engine(db_url, clock)
    ids = {k: _client(eng, k) for k in ("A", "B", "C", "E")}
    a = eng.start("intensief_begeleiden", ids["A"], {"variant": "richting_werk"}, actor="coach.oost.1").traject_id
    eng.record_event(a, "contact", actor="coach.oost.1", payload={"toelichting": "gebeld met Anna over haar schulden"})
    b = _premie(eng, clock, ids["B"])
    c = _premie(eng, clock, ids["C"])
    eng.start("intensief_begeleiden", ids["E"], {"variant": "ter_ontwikkeling"}, actor="coach.oost.1")
    (pb,) = [r.id for r in uitbetalingen.lijst(eng, "voorgesteld") if r.traject_id == b]
    uitbetalingen.keur_goed(eng, pb, door="teamleider.oost")
    batch = uitbetalingen.exporteer(eng, door="financien").batch_id
    uitbetalingen.markeer_betaald(eng, batch, door="financien")
    clock.advance(timedelta(days=60))
    eng.end(a, actor="coach.oost.1", uitkomst="werk", reden="werk gevonden bij Bakkerij Jansen in Zwolle")
    eng.end(b, actor="coach.oost.1", uitkomst="alleen_deel_1", reden="contract na 2 maanden opgezegd")
    eng.end(c, actor="coach.oost.1", uitkomst="alleen_deel_1", reden="verhuisd")
    clock.advance(datetime(2028, 5, 1, 9, 0, tzinfo=TZ) - clock.now())
    ids["D"] = _client(eng, "D")
    d = eng.start("intensief_begeleiden", ids["D"], {"variant": "richting_werk"}, actor="coach.oost.1").traject_id
    clock.advance(timedelta(days=30))
    eng.end(d, actor="coach.oost.1", uitkomst="geen_doorbraak", reden="geen doorbraak")
    clock.advance(datetime(2029, 1, 15, 9, 0, tzinfo=TZ) - clock.now())
    return eng, ids


def cijfers(eng) -> list:
    return [[m.as_dict() for m in maandcijfers(eng, j, mm)] for j, mm in MAANDEN]


def rij(eng, cid):
    with eng.db.connect() as conn:
        return conn.execute(sa.select(C).where(C.c.id == cid)).one()


def payloads(eng, cid) -> str:
    with eng.db.connect() as conn:
        return json.dumps([r.payload for r in conn.execute(sa.select(E.c.payload).where(E.c.client_id == cid))],
                          ensure_ascii=False)


def test_anonymise_after_retention_keeps_every_monitoring_count(db_url):
    eng, ids = caseload(db_url)
    token = maak_token(eng, "beleid", "beheerder")
    api = TestClient(create_app(eng, secret_key="x"), headers={"Authorization": f"Bearer {token}"})
    voor = cijfers(eng)
    api_voor = [api.get(f"/api/monitoring?jaar={j}&maand={m}").json() for j, m in MAANDEN]
    assert any(m["afgerond"] for maand in voor for m in maand)  # the figures are not all zero
    onaangeroerd = {k: rij(eng, ids[k]) for k in ("C", "D", "E")}
    assert "Zwolle" in payloads(eng, ids["A"]) and "schulden" in payloads(eng, ids["A"])

    res = anonimiseer(eng, PEILDATUM)
    assert (res.geanonimiseerd, res.wacht_op_betaling) == (2, 1)

    for k in ("A", "B"):
        r = rij(eng, ids[k])
        assert r.bsn == placeholder_bsn(ids[k]) and not elfproef(r.bsn) and len(r.bsn) == 9
        assert (r.naam, r.geboortedatum, r.postcode, r.iban) == (NAAM, None, "9713", None)
        assert r.gebied == "Oost"  # the team stays (it follows from the four digits)
        text = payloads(eng, ids[k])
        assert "Zwolle" not in text and "schulden" not in text and "Bakkerij" not in text
        assert BSN[k] not in text and "Cliënt" not in text
    with eng.db.connect() as conn:
        anon_events = conn.execute(sa.select(E.c.client_id).where(E.c.type == "client_geanonimiseerd")).scalars()
        assert sorted(anon_events) == sorted([ids["A"], ids["B"]])
        assert conn.execute(sa.select(sa.func.count()).select_from(U).where(
            U.c.ontvanger_naam.is_not(None))).scalar_one() == 0
    for k, before in onaangeroerd.items():
        assert rij(eng, ids[k]) == before, k
    # the monitoring counts are identical, in the module and over the API
    assert cijfers(eng) == voor
    assert [api.get(f"/api/monitoring?jaar={j}&maand={m}").json() for j, m in MAANDEN] == api_voor
    # the processing is in the log under the client administration; the person finds it with their BSN
    key = hmac.new(LOGBOEK_DEV_SLEUTEL.encode(), BSN["A"].encode(), hashlib.sha256).hexdigest()
    with eng.db.connect() as conn:
        rec = conn.execute(sa.select(V).where(V.c.betrokkene == key, V.c.gebruiker == "systeem:anonimiseer")).all()
    assert len(rec) == 1 and rec[0].activiteit == verwerkingsregister.register().get("clientadministratie").uri
    assert "anonimiseren na de bewaartermijn" in [r["handeling"] for r in logboek.inzage(eng, bsn=BSN["A"])]
    # a second run finds nothing new; once C's payout is rejected, C follows
    assert anonimiseer(eng, PEILDATUM).geanonimiseerd == 0
    with eng.db.connect() as conn:
        (pc,) = conn.execute(sa.select(U.c.id).join(
            sa.table("traject", sa.column("id"), sa.column("client_id")),
            sa.text("traject.id = uitbetaling.traject_id")).where(sa.text(f"traject.client_id = {ids['C']}"))).scalars()
    uitbetalingen.wijs_af(eng, pc, door="teamleider.oost", reden="verhuisd voor uitbetaling")
    voor_c = cijfers(eng)
    assert anonimiseer(eng, PEILDATUM).geanonimiseerd == 1
    assert not elfproef(rij(eng, ids["C"]).bsn) and cijfers(eng) == voor_c
    # D and E: not yet (within retention, still running)
    assert rij(eng, ids["D"]) == onaangeroerd["D"] and rij(eng, ids["E"]) == onaangeroerd["E"]
    eng.db.dispose()


def test_retention_setting_overrides_the_register(sqlite_url):
    eng, ids = caseload(sqlite_url)
    eng.settings = eng.settings.model_copy(update={"bewaartermijn_maanden": 6})
    res = anonimiseer(eng, date(2029, 1, 15))
    assert res.geanonimiseerd == 3  # A, B and now D (ended 2028-05, retention 6 months)
    assert not elfproef(rij(eng, ids["D"]).bsn)
    eng.db.dispose()


def test_placeholder_is_unique_and_never_a_bsn():
    seen = {placeholder_bsn(i) for i in range(1, 20_000)}
    assert len(seen) == 19_999 and all(len(p) == 9 and not elfproef(p) for p in seen)
    assert placeholder_bsn(36 ** 8 - 1) == "AZZZZZZZZ"


def test_cli_and_the_daily_job(tmp_path, monkeypatch):
    from trajecten.taken import scheduler

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    eng, ids = caseload(url)
    assert "anonimiseren" in scheduler.JOBS
    spec = scheduler.JOBS["anonimiseren"]
    assert str(spec.trigger(eng)).startswith("cron[") and spec.enabled(eng)
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", url)
    res = CliRunner().invoke(cli, ["anonimiseer", "--now", "2029-01-15", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"peildatum": "2029-01-15", "geanonimiseerd": 2, "wacht_op_betaling": 1}
    assert spec.fn(eng) == {"peildatum": "2029-01-15", "geanonimiseerd": 0, "wacht_op_betaling": 1,
                            "idempotentie_opgeruimd": 0}  # the job also clears old idempotency keys
    eng.db.dispose()


def test_payees_and_free_text_among_trajectory_facts_are_replaced():
    """A voucher names the employer's account, a businesscase the supplier's and a written reason: after
    anonymisation none of it is left; the facts monitoring counts by stay."""
    from trajecten.privacy.anonimiseren import _feiten

    feiten = {"werkgever_naam": "Bakkerij De Vries", "werkgever_iban": "NL91ABNA0417164300",
              "leverancier_naam": "Garage Jansen", "motivering": "auto voor de vroege dienst in Hoogezand",
              "werk_start": "2026-03-02", "uren_per_week": 24, "variant": "richting_werk"}
    out = _feiten(feiten)
    assert {k for k, v in out.items() if v == NAAM} == {"werkgever_naam", "werkgever_iban", "leverancier_naam",
                                                          "motivering"}
    assert {k: out[k] for k in ("werk_start", "uren_per_week", "variant")} == {
        "werk_start": "2026-03-02", "uren_per_week": 24, "variant": "richting_werk"}
    assert "NL91ABNA0417164300" not in json.dumps(out)
