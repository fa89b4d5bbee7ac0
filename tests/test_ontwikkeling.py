"""Ontwikkelplan and ontwikkelladder (P8): plan versioning, ladder history, trajectories started from a
plan step, the idempotent reconcile after the sweep, and the monitoring counts the ladder feeds.

Engine-level tests run on a real SQLite file and the real PostgreSQL (``db_url``); the web tests go through
the real app (TestClient) with real users and the row-level rule.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import open_engine
from tests.helpers import bsns, count, task_for
from trajecten.taken import jobs
from trajecten.clienten import ladder, ontwikkelplan
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.clienten.ladder import ladderbeweging, laad_ladder, trede_vastleggen
from trajecten.opslag.models import (Client, Gebeurtenis, LadderTrede, OntwikkelingVerwerkt, OntwikkelplanTraject,
                              OntwikkelplanVersie, Traject)
from trajecten.clienten.ontwikkeling import bijwerken_uit_trajecten
from trajecten.basis.tijd import TZ, FixedClock

C, T, E, L, V, PT, W = (Client.__table__, Traject.__table__, Gebeurtenis.__table__, LadderTrede.__table__,
                        OntwikkelplanVersie.__table__, OntwikkelplanTraject.__table__, OntwikkelingVerwerkt.__table__)
COACH = "coach.oost.1"


def nieuwe_client(engine, bsn: str = "123456782", gebied: str = "Oost") -> int:
    return engine.add_client(bsn, naam="Ria Plan", geboortedatum=date(1980, 5, 17), postcode="9713AB",
                             gebied=gebied, coach=COACH, bijstand_sinds=date(2019, 1, 1))


PLAN = {"doelen": ["Weer structuur in de week", "Over een jaar vrijwilligerswerk"],
        "afspraken_client": ["Komt elke week naar het gesprek"], "afspraken_coach": ["Zoekt een passende cursus"],
        "stappen": [{"omschrijving": "Intensief begeleiden ter ontwikkeling", "datum": "2026-02-01",
                     "instrument": "intensief_begeleiden"},
                    {"omschrijving": "Kennismaken bij het buurthuis", "datum": "2026-01-20"}]}


# --------------------------------------------------------------------------- plan versioning


def test_each_plan_change_is_a_version_with_who_and_why(engine):
    cid = nieuwe_client(engine)
    assert ontwikkelplan.plan(engine, cid)["versie"] is None
    v1 = ontwikkelplan.opslaan(engine, cid, PLAN, door=COACH, reden="Plan opgesteld met Ria", basis_versie=0)
    assert v1 == 1
    p = ontwikkelplan.plan(engine, cid)
    assert [s["id"] for s in p["inhoud"]["stappen"]] == ["s1", "s2"]
    assert p["inhoud"]["stappen"][0] == {"id": "s1", "omschrijving": "Intensief begeleiden ter ontwikkeling",
                                         "datum": "2026-02-01", "instrument": "intensief_begeleiden",
                                         "status": "open", "traject_id": None, "uitkomst": None}

    # the team lead changes it: drops step s2, adds a new one, moves a date; the reason is kept
    engine.clock.advance(timedelta(days=3))
    wijziging = {**PLAN, "stappen": [{**PLAN["stappen"][0], "id": "s1", "datum": "2026-02-15"},
                                     {"omschrijving": "Sportclub uitproberen"}]}
    v2 = ontwikkelplan.opslaan(engine, cid, wijziging, door="teamleider.oost", reden="Buurthuis gesloten",
                               basis_versie=1)
    assert v2 == 2
    p = ontwikkelplan.plan(engine, cid)
    assert p["versie"] == 2 and p["bijgewerkt_door"] == "teamleider.oost"
    assert [s["id"] for s in p["inhoud"]["stappen"]] == ["s1", "s3"]  # s2 is never handed out again
    assert [(v["versie"], v["door"], v["reden"]) for v in p["versies"]] == [
        (2, "teamleider.oost", "Buurthuis gesloten"), (1, COACH, "Plan opgesteld met Ria")]
    assert p["versies"][0]["wijzigingen"] == ["stap s1 gewijzigd (datum)",
                                              "stap s3 toegevoegd: Sportclub uitproberen", "stap s2 verwijderd"]
    assert p["versies"][1]["inhoud"]["stappen"][1]["omschrijving"] == "Kennismaken bij het buurthuis"  # v1 kept
    # every version is an event on the client's timeline, with who and why
    with engine.db.connect() as conn:
        ev = conn.execute(sa.select(E).where(E.c.client_id == cid, E.c.type == "ontwikkelplan_gewijzigd")
                          .order_by(E.c.id)).all()
    assert [(e.actor, e.payload["versie"], e.payload["reden"]) for e in ev] == [
        (COACH, 1, "Plan opgesteld met Ria"), ("teamleider.oost", 2, "Buurthuis gesloten")]


def test_a_plan_change_needs_a_reason_a_change_and_the_current_version(engine):
    cid = nieuwe_client(engine)
    with pytest.raises(OngeldigeInvoer) as exc:
        ontwikkelplan.opslaan(engine, cid, PLAN, door=COACH, reden="  ")
    assert exc.value.veld == "reden"
    ontwikkelplan.opslaan(engine, cid, PLAN, door=COACH, reden="eerste versie")
    with pytest.raises(OngeldigeInvoer) as exc:  # identical content: no empty version
        ontwikkelplan.opslaan(engine, cid, {**PLAN, "stappen": [{**s, "id": f"s{i + 1}"} for i, s in
                                                                   enumerate(PLAN["stappen"])]},
                              door=COACH, reden="niets")
    assert exc.value.veld == "plan"
    ontwikkelplan.opslaan(engine, cid, {**PLAN, "doelen": ["Ander doel"], "stappen": []}, door="teamleider.oost",
                          reden="gesprek", basis_versie=1)
    with pytest.raises(OngeldigeToestand, match="intussen gewijzigd"):  # the coach still had version 1 open
        ontwikkelplan.opslaan(engine, cid, {**PLAN, "doelen": ["Mijn doel"]}, door=COACH, reden="x", basis_versie=1)
    for invoer, veld in [({**PLAN, "doelen": []}, "doelen"),
                         ({**PLAN, "stappen": [{"omschrijving": "x", "instrument": "bestaat_niet"}]},
                          "stappen[0].instrument"),
                         ({**PLAN, "stappen": [{"omschrijving": "x", "datum": "31-12-2026"}]}, "stappen[0].datum"),
                         ({**PLAN, "stappen": [{"omschrijving": ""}]}, "stappen[0].omschrijving"),
                         ({**PLAN, "stappen": [{"id": "s99", "omschrijving": "x"}]}, "stappen[0].id"),
                         ({**PLAN, "stappen": [{"omschrijving": "x", "status": "gestart"}]}, "stappen[0].status")]:
        with pytest.raises(OngeldigeInvoer) as exc:
            ontwikkelplan.opslaan(engine, cid, invoer, door=COACH, reden="fout")
        assert exc.value.veld == veld, (veld, exc.value)
    assert count(engine, V, V.c.client_id == cid) == 2  # nothing of the refused attempts was written


# --------------------------------------------------------------------------- ladder history


def test_the_ladder_history_is_dated_with_the_assessor(engine):
    cid = nieuwe_client(engine)
    lad = laad_ladder()
    assert [t.nr for t in lad.treden] == [1, 2, 3, 4, 5, 6]
    assert lad.treden[0].naam == "Geïsoleerd" and lad.treden[-1].naam == "Betaald werk"
    trede_vastleggen(engine, cid, 2, door=COACH, datum=date(2025, 11, 3), toelichting="intake")
    trede_vastleggen(engine, cid, 3, door="teamleider.oost", datum=date(2025, 12, 15))
    trede_vastleggen(engine, cid, 1, door=COACH, datum=date(2025, 12, 1), toelichting="later vastgelegd")
    h = ladder.geschiedenis(engine, cid)
    assert [(x["datum"], x["trede"], x["door"]) for x in h["geschiedenis"]] == [
        ("2025-12-15", 3, "teamleider.oost"), ("2025-12-01", 1, COACH), ("2025-11-03", 2, COACH)]
    assert [x["beweging"] for x in h["geschiedenis"]] == ["omhoog", "omlaag", "eerste"]
    assert h["huidig"]["trede"] == 3 and h["huidig"]["naam"] == "Deelname georganiseerde activiteiten"
    with engine.db.connect() as conn:
        ev = conn.execute(sa.select(E).where(E.c.client_id == cid, E.c.type == "ontwikkelladder_trede")
                          .order_by(E.c.id)).all()
    assert [(e.actor, e.datum, e.payload["trede"], e.payload["vorige"]) for e in ev] == [
        (COACH, date(2025, 11, 3), 2, None), ("teamleider.oost", date(2025, 12, 15), 3, 2),
        (COACH, date(2025, 12, 1), 1, 3)]
    for trede, datum, veld in [(7, None, "trede"), (0, None, "trede"), (3, date(2026, 1, 6), "datum")]:
        with pytest.raises(OngeldigeInvoer) as exc:  # the clock says 2026-01-05: tomorrow is the future
            trede_vastleggen(engine, cid, trede, door=COACH, datum=datum)
        assert exc.value.veld == veld
    assert count(engine, L, L.c.client_id == cid) == 3


# --------------------------------------------------------------------------- plan step -> trajectory -> plan, ladder


def _naar_eindevaluatie(engine, tid: int, uitkomst: str) -> None:
    """Walk an intensief begeleiden trajectory to its final evaluation and record ``uitkomst`` there."""
    for _ in range(70):  # nine weeks: the sweep plans and fires what is due
        engine.clock.advance(timedelta(days=1))
        jobs.sweep(engine)
    engine.complete_task(task_for(engine, tid, "besluit_week9").id, actor=COACH, uitkomst="afronden")
    for _ in range(4):
        engine.clock.advance(timedelta(days=1))
        jobs.sweep(engine)
    engine.complete_task(task_for(engine, tid, "eindevaluatie").id, actor=COACH, uitkomst=uitkomst)


def _stand(engine) -> tuple:
    return (count(engine, L), count(engine, V), count(engine, E), count(engine, W))


def test_a_plan_step_starts_a_trajectory_whose_outcome_updates_plan_and_ladder_once(engine):
    cid = nieuwe_client(engine)
    ontwikkelplan.opslaan(engine, cid, PLAN, door=COACH, reden="plan")
    trede_vastleggen(engine, cid, 3, door=COACH, datum=date(2026, 1, 5))
    with pytest.raises(OngeldigeInvoer) as exc:  # the step names another instrument
        ontwikkelplan.start_traject(engine, cid, "s1", "jobhunting", {}, actor=COACH)
    assert exc.value.veld == "planstap"
    res = ontwikkelplan.start_traject(engine, cid, "s1", "intensief_begeleiden", {"variant": "ter_ontwikkeling"},
                                      actor=COACH)
    p = ontwikkelplan.plan(engine, cid)
    assert p["versie"] == 2 and p["versies"][0]["traject_id"] == res.traject_id
    assert ontwikkelplan.stap(p["inhoud"], "s1")["status"] == "gestart"
    assert ontwikkelplan.stap(p["inhoud"], "s1")["traject_id"] == res.traject_id
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(PT.c.stap, PT.c.gekoppeld_door)
                            .where(PT.c.traject_id == res.traject_id)).one() == ("s1", COACH)
    with pytest.raises(OngeldigeInvoer, match="loopt al traject"):  # not twice from the same step
        ontwikkelplan.start_traject(engine, cid, "s1", "intensief_begeleiden", {"variant": "ter_ontwikkeling"},
                                    actor=COACH)
    with pytest.raises(OngeldigeInvoer) as exc:  # a step with a trajectory cannot be dropped from the plan
        ontwikkelplan.opslaan(engine, cid, {**PLAN, "stappen": []}, door=COACH, reden="weg")
    assert exc.value.veld == "stappen"

    # the outcome "volgende_trede" (ter ontwikkeling) at the final evaluation: one rung up, once
    _naar_eindevaluatie(engine, res.traject_id, "volgende_trede")
    r = bijwerken_uit_trajecten(engine)
    assert (r.treden_omhoog, r.plannen) == (1, 0)  # the trajectory still runs (follow-up check): plan waits
    h = ladder.geschiedenis(engine, cid)
    assert h["huidig"]["trede"] == 4 and h["huidig"]["door"] == "systeem:uitkomst"
    assert h["huidig"]["traject_id"] == res.traject_id
    voor = _stand(engine)
    assert bijwerken_uit_trajecten(engine).as_dict() == {"plannen": 0, "treden_omhoog": 0, "zonder_trede": 0}
    assert _stand(engine) == voor  # twice changes nothing

    # the trajectory ends: the plan step becomes afgerond with the outcome, by the system, once
    engine.end(res.traject_id, actor=COACH, uitkomst="volgende_trede", reden="nacontrole gedaan")
    out = jobs.sweep(engine)  # the sweep job runs the reconcile after the sweep
    assert out["ontwikkeling"] == {"plannen": 1, "treden_omhoog": 0, "zonder_trede": 0}
    p = ontwikkelplan.plan(engine, cid)
    s1 = ontwikkelplan.stap(p["inhoud"], "s1")
    assert (s1["status"], s1["uitkomst"]) == ("afgerond", "volgende_trede")
    assert p["versies"][0]["door"] == "systeem:uitkomst" and str(res.traject_id) in p["versies"][0]["reden"]
    voor = _stand(engine)
    assert jobs.sweep(engine)["ontwikkeling"] == {"plannen": 0, "treden_omhoog": 0, "zonder_trede": 0}
    assert _stand(engine) == voor
    assert ladder.geschiedenis(engine, cid)["huidig"]["trede"] == 4  # not a second rung for the same outcome


def test_an_outcome_without_an_earlier_rung_is_handled_once_without_guessing(engine):
    cid = nieuwe_client(engine)
    res = engine.start("intensief_begeleiden", cid, {"variant": "ter_ontwikkeling"}, actor=COACH)
    engine.end(res.traject_id, actor=COACH, uitkomst="volgende_trede", reden="afgerond")
    assert bijwerken_uit_trajecten(engine).as_dict() == {"plannen": 0, "treden_omhoog": 0, "zonder_trede": 1}
    assert bijwerken_uit_trajecten(engine).as_dict() == {"plannen": 0, "treden_omhoog": 0, "zonder_trede": 0}
    assert count(engine, L) == 0
    # another outcome moves nothing
    cid2 = nieuwe_client(engine, "111222333")
    trede_vastleggen(engine, cid2, 2, door=COACH)
    res2 = engine.start("intensief_begeleiden", cid2, {"variant": "richting_werk"}, actor=COACH)
    engine.end(res2.traject_id, actor=COACH, uitkomst="geen_doorbraak", reden="afgerond")
    assert bijwerken_uit_trajecten(engine).treden_omhoog == 0
    assert ladder.geschiedenis(engine, cid2)["huidig"]["trede"] == 2


def test_two_reconciles_at_the_same_moment_step_up_once(db_url, clock):
    """Two engines (as two workers would) reconcile the same outcomes at once: each rung up is written once."""
    import threading

    from tests.helpers import bsns

    engines = [open_engine(db_url, clock), open_engine(db_url, clock)]
    try:
        eng = engines[0]
        for bsn in bsns(20, seed=8):
            cid = nieuwe_client(eng, bsn)
            trede_vastleggen(eng, cid, 2, door=COACH)
            tid = eng.start("intensief_begeleiden", cid, {"variant": "ter_ontwikkeling"}, actor=COACH).traject_id
            eng.end(tid, actor=COACH, uitkomst="volgende_trede", reden="afgerond")
        barrier, results, errors = threading.Barrier(2), [], []

        def run(e):
            try:
                barrier.wait(timeout=30)
                results.append(bijwerken_uit_trajecten(e).treden_omhoog)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and sum(results) == 20, (errors, results)
        assert count(eng, L, L.c.door == "systeem:uitkomst") == 20
        assert count(eng, W, W.c.soort == "ladder") == 20
    finally:
        for e in engines:
            e.db.dispose()


# --------------------------------------------------------------------------- monitoring counts


def _traject(conn, cid: int, instrument: str, start: date, eind: date | None = None) -> int:
    return conn.execute(T.insert().values(
        client_id=cid, instrument=instrument, definitie_versie=1, status="beeindigd" if eind else "actief",
        uitkomst="werk" if eind else None, start_datum=start, eind_datum=eind, feiten={}, gestart_door="test",
        aangemaakt_op=datetime(2026, 1, 1, tzinfo=TZ))).inserted_primary_key[0]


def _trede(conn, cid: int, trede: int, datum: date) -> None:
    conn.execute(L.insert().values(client_id=cid, trede=trede, trede_naam=f"trede {trede}", datum=datum,
                                   door="test", toelichting="", vastgelegd_op=datetime(2026, 1, 1, tzinfo=TZ)))


def test_the_monitoring_counts_up_stayed_down_per_instrument_and_period(engine):
    """Known data for March 2026; each client's expected bucket is written next to it."""
    ids = [nieuwe_client(engine, b) for b in bsns(8)]
    a, b, c, d, e, f, g, h = ids
    ib, pw = "intensief_begeleiden", "premie_op_werk"
    with engine.db.begin() as conn:
        _traject(conn, a, ib, date(2026, 2, 10))  # up: 2 before the start, 4 by the end of March
        _trede(conn, a, 2, date(2026, 2, 1)); _trede(conn, a, 3, date(2026, 3, 1)); _trede(conn, a, 4, date(2026, 3, 20))
        _trede(conn, a, 1, date(2026, 4, 2))  # after the period: ignored
        _traject(conn, b, ib, date(2026, 3, 5), date(2026, 3, 25))  # stayed: 3 at the start (same day), 3 at the end
        _trede(conn, b, 3, date(2026, 3, 5))
        _traject(conn, c, ib, date(2026, 1, 10))  # down: 4 then 2
        _trede(conn, c, 4, date(2025, 12, 1)); _trede(conn, c, 2, date(2026, 3, 31))
        _traject(conn, d, ib, date(2026, 3, 2))  # no rung at or before the start: not compared
        _trede(conn, d, 3, date(2026, 3, 10))
        _traject(conn, e, ib, date(2026, 1, 5), date(2026, 2, 27))  # ended before March: not in March
        _trede(conn, e, 1, date(2026, 1, 1)); _trede(conn, e, 5, date(2026, 3, 3))
        _traject(conn, f, ib, date(2026, 4, 1))  # starts after March: not in March
        _trede(conn, f, 1, date(2026, 1, 1))
        _traject(conn, g, ib, date(2026, 2, 1)); _traject(conn, g, ib, date(2026, 3, 15))  # two: counted once, up
        _trede(conn, g, 1, date(2026, 1, 20)); _trede(conn, g, 2, date(2026, 3, 1))
        _traject(conn, h, pw, date(2026, 3, 1))  # another instrument: counted there
        _trede(conn, h, 5, date(2026, 2, 1)); _trede(conn, h, 6, date(2026, 3, 30))
        _traject(conn, a, pw, date(2026, 3, 25))  # a in premie op werk: 4 (20 March) at the start, 4 at the end
    rijen = {r["instrument"]: r for r in ladderbeweging(engine, date(2026, 3, 1), date(2026, 3, 31))}
    assert {k: rijen[ib][k] for k in ("deelnemers", "omhoog", "gelijk", "omlaag", "zonder_nulmeting")} == \
        {"deelnemers": 5, "omhoog": 2, "gelijk": 1, "omlaag": 1, "zonder_nulmeting": 1}
    assert {k: rijen[pw][k] for k in ("deelnemers", "omhoog", "gelijk", "omlaag", "zonder_nulmeting")} == \
        {"deelnemers": 2, "omhoog": 1, "gelijk": 1, "omlaag": 0, "zonder_nulmeting": 0}
    assert rijen["ww_preventie"]["deelnemers"] == 0  # every instrument is listed
    # the year so far: e is in (it ran in January-February): 1 -> 5 is up
    jaar = {r["instrument"]: r for r in ladderbeweging(engine, date(2026, 1, 1), date(2026, 3, 31))}[ib]
    assert (jaar["deelnemers"], jaar["omhoog"]) == (6, 3)
    # February: a 2 -> 2, c 4 -> 4, e 1 -> 1, g 1 -> 1 (later rungs are after the period): all stayed
    feb = {r["instrument"]: r for r in ladderbeweging(engine, date(2026, 2, 1), date(2026, 2, 28))}[ib]
    assert (feb["deelnemers"], feb["gelijk"], feb["omhoog"]) == (4, 4, 0)
    assert all(set(r) == {"instrument", "naam", "van", "tot", "deelnemers", "omhoog", "gelijk", "omlaag",
                          "zonder_nulmeting"} for r in rijen.values())  # counts only


# --------------------------------------------------------------------------- API and pages (real app)


@pytest.fixture
def web(sqlite_url):
    from tests.test_autorisatie import vul_gebruikers
    from trajecten.web import create_app

    clock = FixedClock(datetime.combine(date(2026, 3, 2), time(9, 0), tzinfo=TZ))
    engine = open_engine(sqlite_url, clock)
    vul_gebruikers(engine, [("coach.west.1", "coach", "West")])
    cid = nieuwe_client(engine)
    yield engine, create_app(engine, secret_key="ontwikkeling"), cid
    engine.db.dispose()


def test_api_plan_and_ladder_with_field_errors_and_conflicts(web):
    from tests.test_autorisatie import login

    engine, app, cid = web
    coach = login(app, COACH)
    url = f"/api/clients/{cid}/ontwikkelplan"
    assert coach.get(url).json()["versie"] is None
    r = coach.post(url, json={**PLAN, "reden": "eerste gesprek", "versie": 0})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["versie"] == 1 and d["eigenaar"] == {"client_id": cid, "naam": "Ria Plan"}
    assert d["versies"][0]["door"] == COACH and d["versies"][0]["reden"] == "eerste gesprek"
    for body, loc in [({**PLAN, "versie": 1}, ["body", "reden"]),  # no reason: pydantic names it
                      ({**PLAN, "reden": " ", "versie": 1}, ["body", "reden"]),
                      ({**PLAN, "reden": "x", "stappen": [{"omschrijving": "y", "instrument": "onzin"}]},
                       ["body", "stappen[0].instrument"]),
                      ({**PLAN, "reden": "x", "stappen": [{"omschrijving": "y", "datum": "2026-13-01"}]},
                       ["body", "stappen", 0, "datum"])]:
        r = coach.post(url, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc, r.json()
    r = coach.post(url, json={**PLAN, "doelen": ["nieuw doel"], "reden": "x", "versie": 0})
    assert r.status_code == 409 and "intussen gewijzigd" in r.json()["detail"]

    lurl = f"/api/clients/{cid}/ontwikkelladder"
    r = coach.post(lurl, json={"trede": 2, "datum": "2026-02-20", "toelichting": "intake"})
    assert r.status_code == 201, r.text
    assert r.json()["huidig"] == {**r.json()["huidig"], "trede": 2, "door": COACH, "datum": "2026-02-20"}
    for body, loc in [({"trede": 7}, ["body", "trede"]), ({"trede": 2, "datum": "2026-03-03"}, ["body", "datum"]),
                      ({}, ["body", "trede"])]:
        r = coach.post(lurl, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text

    # a trajectory from the plan step through the normal start (with its decision); the link is recorded
    r = coach.post("/api/trajecten", json={"instrument": "intensief_begeleiden", "client_id": cid,
                                           "feiten": {"variant": "ter_ontwikkeling"}, "planstap": "s1"})
    assert r.status_code == 201 and r.json()["besluit"]["uitkomst"] is True, r.text
    stap = coach.get(url).json()["inhoud"]["stappen"][0]
    assert (stap["status"], stap["traject_id"]) == ("gestart", r.json()["traject_id"])
    r = coach.post("/api/trajecten", json={"instrument": "jobhunting", "client_id": cid, "feiten": {},
                                           "planstap": "s2"})
    assert r.status_code in (201, 409, 422)  # s2 names no instrument: any may start from it
    r = coach.post("/api/trajecten", json={"instrument": "intensief_begeleiden", "client_id": cid,
                                           "feiten": {"variant": "ter_ontwikkeling"}, "planstap": "s9"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "planstap"]

    # the client timeline shows plan and ladder changes
    typen = [e["type"] for e in coach.get(f"/api/clients/{cid}").json()["tijdlijn"]]
    assert "ontwikkelplan_gewijzigd" in typen and "ontwikkelladder_trede" in typen

    # another area: 404 for everything, nothing written; finance and policy: refused by role
    west = login(app, "coach.west.1")
    for r in (west.get(url), west.get(lurl), west.post(url, json={**PLAN, "reden": "x"}),
              west.post(lurl, json={"trede": 1}), west.get(f"/clienten/{cid}/ontwikkelplan"),
              west.get(f"/clienten/{cid}/ontwikkelladder")):
        assert r.status_code == 404, r.text
    for rol in ("financien", "beleid"):
        c = login(app, rol)
        assert c.get(url).status_code == 403 and c.get(lurl).status_code == 403
        assert c.get(f"/clienten/{cid}/ontwikkelplan").status_code == 403
    assert count(engine, L, L.c.client_id == cid) == 1


def test_monitoring_api_and_page_show_the_ladder_counts(web):
    from tests.test_autorisatie import login

    engine, app, cid = web
    trede_vastleggen(engine, cid, 2, door=COACH, datum=date(2026, 2, 1))
    engine.start("intensief_begeleiden", cid, {"variant": "ter_ontwikkeling"}, actor=COACH)
    engine.clock.advance(timedelta(days=8))
    trede_vastleggen(engine, cid, 4, door=COACH, datum=date(2026, 3, 10))  # after the start (2 March): up
    beleid = login(app, "beleid")
    d = beleid.get("/api/monitoring", params={"jaar": 2026, "maand": 3}).json()["ontwikkelladder"]
    ib = next(r for r in d["maand"] if r["instrument"] == "intensief_begeleiden")
    assert (ib["deelnemers"], ib["omhoog"], ib["gelijk"], ib["omlaag"]) == (1, 1, 0, 0)
    assert d["maand"] == ladderbeweging(engine, date(2026, 3, 1), date(2026, 3, 31))
    assert "laatste trede op of vóór de startdatum" in d["definitie"]
    page = beleid.get("/monitoring", params={"jaar": 2026, "maand": 3}).text
    rij = page[page.index("<table class=\"ladderbeweging\">"):]
    rij = rij[rij.index("Intensief begeleiden"):]
    rij = rij[:rij.index("</tr>")]
    assert [int(x) for x in __import__("re").findall(r'class="getal">(\d+)<', rij)] == [1, 0, 0, 0, 1, 0, 0, 0]
    assert "Ria Plan" not in page  # aggregates only


def test_plan_and_ladder_forms_keep_the_input_on_an_error(web):
    import re

    from tests.test_autorisatie import login

    engine, app, cid = web
    coach = login(app, COACH)
    tok = coach.headers["X-CSRF-Token"]
    vorm = {"csrf_token": tok, "versie": "0", "doelen": "Sociale contacten\nVrijwilligerswerk",
            "afspraken_client": "Komt op afspraken", "afspraken_coach": "Belt elke week",
            "stap_0_id": "", "stap_0_omschrijving": "Buurthuis", "stap_0_datum": "2026-04-01",
            "stap_0_instrument": "", "stap_0_status": "open", "reden": ""}
    r = coach.post(f"/clienten/{cid}/ontwikkelplan", data=vorm)
    assert r.status_code == 422 and "reden" in r.text and "Buurthuis" in r.text  # nothing typed is lost
    r = coach.post(f"/clienten/{cid}/ontwikkelplan", data={**vorm, "reden": "Eerste gesprek"}, follow_redirects=False)
    assert r.status_code == 303
    page = coach.get(f"/clienten/{cid}/ontwikkelplan").text
    assert "Versie 1" in page and "Eerste gesprek" in page and "Belt elke week" in page
    assert re.search(r'href="/trajecten/nieuw\?client=\d+&amp;instrument=', page) is None  # no instrument: no start
    # the step gets an instrument: the page offers "Start traject", which opens the normal start page
    r = coach.post(f"/clienten/{cid}/ontwikkelplan", data={
        **vorm, "versie": "1", "stap_0_id": "s1", "stap_0_instrument": "intensief_begeleiden", "reden": "IB erbij"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    page = coach.get(f"/clienten/{cid}/ontwikkelplan").text
    assert f'/trajecten/nieuw?client={cid}&amp;instrument=intensief_begeleiden&amp;planstap=s1' in page
    start = coach.get(f"/trajecten/nieuw?client={cid}&instrument=intensief_begeleiden&planstap=s1").text
    assert 'name="planstap" value="s1"' in start and "Buurthuis" in start
    formulier = re.search(r'name="formulier" value="([^"]+)"', start).group(1)  # the form's one-time token
    r = coach.post("/trajecten/nieuw", data={"csrf_token": tok, "client_id": cid, "instrument": "intensief_begeleiden",
                                             "feit_variant": "ter_ontwikkeling", "actie": "start", "planstap": "s1",
                                             "formulier": formulier}, follow_redirects=False)
    assert r.status_code == 303, r.text
    tid = int(r.headers["location"].rsplit("/", 1)[1])
    assert ontwikkelplan.stap(ontwikkelplan.plan(engine, cid)["inhoud"], "s1")["traject_id"] == tid
    # ladder form: a date in the future is refused with the field, the choice kept
    r = coach.post(f"/clienten/{cid}/ontwikkelladder", data={"csrf_token": tok, "trede": "3", "datum": "2026-04-01",
                                                             "toelichting": "te vroeg"})
    assert r.status_code == 422 and "datum" in r.text and "te vroeg" in r.text
    r = coach.post(f"/clienten/{cid}/ontwikkelladder", data={"csrf_token": tok, "trede": "3", "datum": "2026-03-01",
                                                             "toelichting": "na gesprek"}, follow_redirects=False)
    assert r.status_code == 303
    client_page = coach.get(f"/clienten/{cid}").text
    assert "trede 3 (Deelname georganiseerde activiteiten) sinds 2026-03-01" in client_page
    assert "versie 3" in client_page
