"""The references without a foreign key (migrations 0014 and 0015): after a real feed import and a sweep
every one has its parent; an orphan is reported under its reference, by ``wezen`` and by ``trajecten
controleer`` (exit 1); the four keys are gone and the others stay; SQLite keeps the partial index."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from connectors import zgw
from connectors.uwv import importeer_bestand
from tests.helpers import ACTOR, FEITEN, E, FailingHook, I, K, S, at, client, count
from tests.test_uwv_feed import rec
from trajecten.cli import _state
from trajecten.cli import app as cli
from trajecten.basis.config import load_settings
from trajecten.opslag.db import make_engine, migrate
from trajecten.kern.engine import Engine
from trajecten.opslag.integriteit import VERWIJZINGEN, voorbeelden, wezen
from trajecten.opslag.models import UwvOverdracht, ZgwOpdracht
from trajecten.kern.regelhaak import RegelsHook

PW = "premie_op_werk"
GEEN_SLEUTEL = {("geplande_stap", "traject_id"), ("gebeurtenis", "traject_id"), ("uwv_overdracht", "client_id"),
                ("uwv_overdracht", "traject_id")}


def _engine(db_url, clock):
    # the payout rule is down and a step gets one attempt: its failure becomes an incident at once
    return Engine.open(db_url, clock=clock, rules=FailingHook(RegelsHook(), PW),
                       settings=load_settings(database_url=db_url, max_pogingen=1))


def _controleer(db_url, monkeypatch):
    """``trajecten controleer`` on ``db_url``, its engine disposed afterwards."""
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", db_url)
    try:
        return CliRunner().invoke(cli, ["controleer"])
    finally:
        if "engine" in _state:
            _state.pop("engine").db.dispose()


def _alles_nul() -> dict[str, int]:
    return {v.naam: 0 for v in VERWIJZINGEN}


def test_after_a_feed_import_and_a_sweep_every_reference_has_its_parent(db_url, clock, tmp_path):
    eng = _engine(db_url, clock)
    try:
        path = tmp_path / "overdracht.jsonl"
        path.write_text("".join(json.dumps(rec(i)) + "\n" for i in range(1, 61)))
        s = importeer_bestand(eng, path)
        assert (s.geaccepteerd, s.quarantaine) == (60, 0) and s.gestart > 0
        eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR)
        res = eng.sweep(now=at(2026, 3, 2, 9))  # eight weeks on: intakes, tasks, reminders, the failing payout
        assert res.uitgevoerd > 0 and res.incidenten == 1
        assert zgw.vul(eng) > 0  # the ZGW outbox refers to the start events
        # every reference is really used, so the zeros below are not vacuous
        O, Z = UwvOverdracht.__table__, ZgwOpdracht.__table__
        assert count(eng, O, O.c.traject_id.is_not(None)) == s.gestart + s.gepland
        assert count(eng, S) > 0 and count(eng, K) > 0 and count(eng, I) == 1 and count(eng, Z) > 0
        assert count(eng, E, E.c.stap_id.is_not(None)) > 0 and count(eng, E, E.c.client_id.is_not(None)) > 0
        assert count(eng, E, E.c.payload["besluit_ref"].as_string().is_not(None)) == s.gestart + s.gepland + 1
        with eng.reader.connect() as conn:
            assert wezen(conn) == _alles_nul()
            assert all(voorbeelden(conn, v.naam) == [] for v in VERWIJZINGEN)
    finally:
        eng.db.dispose()


def test_an_orphan_is_reported_under_its_reference_and_controleer_exits_1(db_url, clock, monkeypatch):
    eng = Engine.open(db_url, clock=clock, settings=load_settings(database_url=db_url))
    try:
        tid = eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR).traject_id
        wees = tid + 1000
        with eng.db.begin() as conn:  # possible now the key is gone (migration 0015)
            sid = conn.execute(S.insert().values(traject_id=wees, stap="verzonnen", volgnr=0, kind="task",
                                                 due_at=at(2026, 2, 1), status="gepland", pogingen=0)
                               .returning(S.c.id)).scalar_one()
        with eng.reader.connect() as conn:
            assert wezen(conn) == _alles_nul() | {"geplande_stap.traject_id": 1}
            assert voorbeelden(conn, "geplande_stap.traject_id") == [(sid, wees)]
    finally:
        eng.db.dispose()

    res = _controleer(db_url, monkeypatch)
    assert res.exit_code == 1, res.output
    assert f"geplande_stap.traject_id -> traject: 1 zonder ouder (bv. geplande_stap {sid} -> traject {wees})" \
        in res.output
    assert "gebeurtenis.traject_id -> traject: 0 zonder ouder" in res.output
    assert res.output.count(" 0 zonder ouder") == len(VERWIJZINGEN) - 1


def test_controleer_exits_0_when_every_reference_has_its_parent(db_url, clock, monkeypatch):
    eng = Engine.open(db_url, clock=clock, settings=load_settings(database_url=db_url))
    eng.start(PW, client(eng), FEITEN[PW], actor=ACTOR)
    eng.db.dispose()
    res = _controleer(db_url, monkeypatch)
    assert res.exit_code == 0, res.output
    assert res.output.count(" 0 zonder ouder") == len(VERWIJZINGEN)


def test_the_four_keys_are_gone_and_the_others_stay(db_url):
    eng = make_engine(db_url)
    try:
        migrate(eng)
        insp = sa.inspect(eng)
        keys = {(t, fk["constrained_columns"][0]): fk["referred_table"]
                for t in insp.get_table_names() for fk in insp.get_foreign_keys(t)}
        assert not GEEN_SLEUTEL & set(keys)
        assert ("gebeurtenis", "client_id") not in keys  # 0014
        assert keys[("traject", "client_id")] == "client"
        assert keys[("taak", "traject_id")] == "traject" and keys[("uitbetaling", "traject_id")] == "traject"
        # no reference in the list has a key: the list is exactly what the database leaves to the engine
        assert not {(v.tabel, v.kolom) for v in VERWIJZINGEN} & set(keys)
        assert GEEN_SLEUTEL <= {(v.tabel, v.kolom) for v in VERWIJZINGEN}
        # the indexes stay
        assert {"uq_stap_once", "ix_stap_due"} <= {i["name"] for i in insp.get_indexes("geplande_stap")} | {
            u["name"] for u in insp.get_unique_constraints("geplande_stap")}
        assert "ix_gebeurtenis_traject_id" in {i["name"] for i in insp.get_indexes("gebeurtenis")}
        assert "ix_uwv_overdracht_client_id" in {i["name"] for i in insp.get_indexes("uwv_overdracht")}
    finally:
        eng.dispose()


def test_sqlite_keeps_the_partial_index_of_planned_steps(sqlite_url):
    eng = make_engine(sqlite_url)
    try:
        migrate(eng)
        with eng.connect() as conn:
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_stap_due'").scalar_one()
            plan = " ".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM geplande_stap WHERE status = 'gepland' AND due_at <= '2026-01-01'"))
    finally:
        eng.dispose()
    assert sql == "CREATE INDEX ix_stap_due ON geplande_stap (due_at) WHERE status = 'gepland'"
    assert "ix_stap_due" in plan
