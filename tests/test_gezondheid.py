"""Health without login and without personal data: ``GET /health`` (alive, no database), ``GET /ready``
(database, migrations, backlog; 503 when not ready), ``GET /metrics`` (Prometheus text) and the worker's
check ``python -m trajecten.beheer.gezondheid`` / ``trajecten.taken.jobs.gezondheid``. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import open_engine
from tests.helpers import bsns, plant_due_reminders
from trajecten.beheer import gezondheid
from trajecten.taken import jobs
from trajecten.opslag.models import Client, Incident, Quarantaine, Traject, Uitbetaling
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.web import PUBLIEK, create_app
from trajecten.web._gezondheid import ROUTES

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
N_DUE = 5
SEED = 91


@pytest.fixture
def wereld(db_url):
    """Five due reminders (the oldest 5 minutes late), one later step, two incidents (one resolved), two
    quarantine records (one handled) and payouts in every status."""
    engine = open_engine(db_url, FixedClock(NOW))
    created = NOW - timedelta(days=3)
    plant_due_reminders(engine, N_DUE, lambda i: NOW - timedelta(minutes=i + 1), seed=SEED, created=created)
    plant_due_reminders(engine, 1, lambda i: NOW + timedelta(hours=1), seed=SEED + 1, created=created)
    I, Q, U, T = Incident.__table__, Quarantaine.__table__, Uitbetaling.__table__, Traject.__table__
    with engine.db.begin() as conn:
        tid = conn.execute(sa.select(sa.func.min(T.c.id))).scalar_one()
        conn.execute(I.insert(), [
            {"stap_id": 1, "traject_id": tid, "fout": "kapot", "pogingen": 5, "aangemaakt_op": NOW,
             "opgelost_door": None, "opgelost_op": None},
            {"stap_id": 2, "traject_id": tid, "fout": "kapot", "pogingen": 5, "aangemaakt_op": NOW,
             "opgelost_door": "beheerder", "opgelost_op": NOW}])
        conn.execute(Q.insert(), [
            {"bron": "feed.csv", "regelnr": n, "inhoud": "{}", "inhoud_hash": f"{n:064d}", "redenen": ["bsn"],
             "ontvangen_op": NOW, "status": status} for n, status in ((1, "open"), (2, "herverwerkt"))])
        conn.execute(U.insert(), [
            {"sleutel": f"test/{n}", "traject_id": tid, "deel": n, "bedrag": 100, "opeisbaar_op": date(2026, 3, 1),
             "status": status, "regel": "test", "regel_versie": "1", "voorgesteld_door": "systeem:sweep",
             "voorgesteld_op": NOW}
            for n, status in enumerate(["voorgesteld", "voorgesteld", "goedgekeurd", "geexporteerd", "betaald",
                                        "afgewezen"])])
        bsn, naam = conn.execute(sa.select(Client.__table__.c.bsn, Client.__table__.c.naam)).first()
    app = create_app(engine, secret_key="gezondheid")
    yield {"engine": engine, "app": app, "bsn": bsn, "naam": naam}
    engine.db.dispose()


def _metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_the_three_routes_need_no_login(wereld):
    assert set(ROUTES) <= PUBLIEK
    c = TestClient(wereld["app"], follow_redirects=False)  # no session, no token
    for _, path in ROUTES:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
    # and none is in the API description
    assert not {p for p in wereld["app"].openapi()["paths"]} & {p for _, p in ROUTES}


def test_health_answers_without_the_database(wereld, db_url):
    c = TestClient(wereld["app"])
    engine = wereld["engine"]
    echt = engine.db
    engine.db = _onbereikbaar(db_url)
    try:
        r = c.get("/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        r = c.get("/ready")  # while /ready says the database is gone
        assert r.status_code == 503
        assert r.json()["gereed"] is False and r.json()["database"].startswith("onbereikbaar (")
        m = c.get("/metrics")
        assert m.status_code == 200 and _metrics(m.text) == {"trajecten_database_bereikbaar": 0.0,
                                                              "trajecten_schema_actueel": 0.0}
    finally:
        engine.db.dispose()
        engine.db = echt


def _onbereikbaar(db_url: str) -> sa.Engine:
    from trajecten.opslag.db import make_engine

    if db_url.startswith("sqlite"):
        return make_engine("sqlite:////niet-bestaande-map/engine.db")
    return make_engine("postgresql+psycopg://postgres@127.0.0.1:1/bestaat_niet", connect_args={"connect_timeout": 2})


def test_ready_reports_migrations_and_the_backlog(wereld):
    c = TestClient(wereld["app"])
    r = c.get("/ready")
    assert r.status_code == 200
    body = r.json()
    head = gezondheid.nieuwste_revisies()
    assert body["gereed"] is True and body["database"] == "ok"
    assert body["schema"] == {"database": list(head), "nieuwste": list(head), "actueel": True}
    assert body["achterstand"] == {"stappen": N_DUE, "oudste_s": N_DUE * 60.0}
    assert r.headers["cache-control"] == "no-store"
    # the worker's check gives the same dict
    assert jobs.gezondheid(wereld["engine"]) == body


@pytest.mark.parametrize("revisie,reden", [("0017", "loopt achter"), ("ffffffffffff", "nieuwere migratie")])
def test_ready_is_503_while_the_schema_is_not_the_newest(wereld, revisie, reden):
    db = wereld["engine"].db
    (head,) = gezondheid.nieuwste_revisies()
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revisie})
    try:
        r = TestClient(wereld["app"]).get("/ready")
        assert r.status_code == 503
        assert r.json()["schema"]["actueel"] is False and r.json()["schema"]["database"] == [revisie]
        assert reden in r.json()["schema"]["reden"]
        assert "trajecten_schema_actueel 0" in TestClient(wereld["app"]).get("/metrics").text
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_metrics_in_prometheus_format_with_the_counts(wereld):
    c = TestClient(wereld["app"])
    r = c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    m = _metrics(r.text)
    assert m["trajecten_database_bereikbaar"] == 1 and m["trajecten_schema_actueel"] == 1
    assert m["trajecten_stappen_achterstand"] == N_DUE
    assert m["trajecten_stappen_achterstand_oudste_seconden"] == N_DUE * 60
    assert m['trajecten_stappen{status="gepland"}'] == N_DUE + 1
    assert m["trajecten_stappen_gevuurd_total"] == 0
    assert m["trajecten_incidenten_open"] == 1
    assert m["trajecten_quarantaine_open"] == 1
    assert {k: v for k, v in m.items() if k.startswith("trajecten_uitbetalingen_wachtend")} == {
        'trajecten_uitbetalingen_wachtend{status="voorgesteld"}': 2,
        'trajecten_uitbetalingen_wachtend{status="goedgekeurd"}': 1,
        'trajecten_uitbetalingen_wachtend{status="geexporteerd"}': 1}
    # every sample has a HELP and a TYPE line, and names are valid Prometheus metric names
    for naam in {re.match(r"[a-z_]+", k).group(0) for k in m}:
        assert f"# HELP {naam} " in r.text and re.search(rf"^# TYPE {naam} (gauge|counter)$", r.text, re.M), naam
    # fired steps count up after a sweep
    wereld["engine"].sweep()
    m = _metrics(c.get("/metrics").text)
    assert m["trajecten_stappen_achterstand"] == 0 and m["trajecten_stappen_achterstand_oudste_seconden"] == 0
    assert m["trajecten_stappen_gevuurd_total"] == N_DUE


def test_no_personal_data_in_any_of_the_three(wereld):
    c = TestClient(wereld["app"])
    geheimen = [wereld["bsn"], *bsns(N_DUE, seed=SEED)] + ([wereld["naam"]] if wereld["naam"] else [])
    for _, path in ROUTES:
        tekst = c.get(path).text
        assert not [g for g in geheimen if g in tekst], path
        assert not re.search(r"\b\d{9}\b", tekst), path  # nothing that looks like a BSN


def test_worker_check_from_the_shell(db_url, tmp_path, monkeypatch, capsys):
    """``python -m trajecten.beheer.gezondheid``: exit 0 ready, 1 not; --migreer migrates first."""
    import os

    for k in list(os.environ):
        if k.startswith("TRAJECTEN_"):
            monkeypatch.delenv(k)
    nieuw = f"sqlite:///{tmp_path / 'nieuw.db'}" if db_url.startswith("sqlite") else db_url
    if not db_url.startswith("sqlite"):
        from tests.conftest import reset_pg

        reset_pg(db_url)
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", nieuw)
    assert gezondheid.main([]) == 1  # an empty database: not migrated
    out = json.loads(capsys.readouterr().out)
    assert out["gereed"] is False and out["schema"]["database"] == [] and "loopt achter" in out["schema"]["reden"]
    assert gezondheid.main(["--migreer"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["gereed"] is True and out["achterstand"] == {"stappen": 0, "oudste_s": 0.0}
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/bestaat_niet")
    assert gezondheid.main([]) == 1
    assert json.loads(capsys.readouterr().out)["database"].startswith("onbereikbaar")
