"""Area teams (P8): the team from the postcode (central target groups to their specialist team, a postcode
outside the municipality refused naming the field), one coach per client across trajectories, coach
reassignment as an event, the team lead's caseload, and transfers that are proposed, not done silently.
Engine level on SQLite and PostgreSQL; the API and the CLI on SQLite files.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.conftest import open_engine
from tests.helpers import FEITEN, bsns
from trajecten.clienten import caseload as cl
from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer, OngeldigeToestand
from trajecten.clienten.gebieden import gebiedsteams, team_voor
from trajecten.opslag.models import Client, Gebeurtenis, Gebruiker, Overplaatsing, Taak

C, E, O, K = Client.__table__, Gebeurtenis.__table__, Overplaatsing.__table__, Taak.__table__
IB = "intensief_begeleiden"
COACHES = [("coach.oost.1", "Oost"), ("coach.oost.2", "Oost"), ("coach.west.1", "West"),
           ("coach.inburgering.1", "Inburgering")]


def gebruikers(engine, extra=()) -> None:
    rows = [{"gebruikersnaam": n, "naam": n, "rol": "coach", "gebied": g, "email": "", "wachtwoord_hash": "-",
             "actief": True, "aangemaakt_op": engine.clock.now()} for n, g in [*COACHES, *extra]]
    with engine.db.begin() as conn:
        conn.execute(Gebruiker.__table__.insert(), rows)


def rij(engine, client_id: int):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(C).where(C.c.id == client_id)).one()


def client_events(engine, client_id: int, type_: str) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(E).where(E.c.client_id == client_id, E.c.type == type_).order_by(E.c.id)).all()


# --------------------------------------------------------------------------- team from postcode


@pytest.mark.parametrize("postcode,doelgroep,team", [
    ("9713 AB", None, "Oost"), ("9722cd", None, "Noord"), ("9751 AA", None, "Haren"), ("9791XX", None, "Ten Boer"),
    ("9713AB", "inburgeraar", "Inburgering"), ("9722CD", "ex_gedetineerde", "Ex-gedetineerden"),
    ("9725AB", "Doelgroepregister", "Doelgroepregister"), ("", "inburgeraar", "Inburgering"),
])
def test_team_from_postcode_and_central_target_groups(postcode, doelgroep, team):
    assert team_voor(postcode, doelgroep) == team
    assert team in gebiedsteams()


def test_refusals_name_the_field():
    with pytest.raises(OngeldigeInvoer) as exc:
        team_voor("1011 AB")  # Amsterdam
    assert exc.value.veld == "postcode" and "buiten de gemeente Groningen" in exc.value.reden
    with pytest.raises(OngeldigeInvoer) as exc:
        team_voor("1011 AB", "inburgeraar")  # a central group does not make an outside address valid
    assert exc.value.veld == "postcode"
    with pytest.raises(OngeldigeInvoer) as exc:
        team_voor("9713AB", "nationaliteit")
    assert exc.value.veld == "doelgroep" and "inburgeraar" in exc.value.reden
    with pytest.raises(OngeldigeInvoer) as exc:
        team_voor("")
    assert exc.value.veld == "postcode"


def test_add_client_takes_the_team_from_postcode_or_target_group(engine):
    b = bsns(4, seed=81)
    oost = engine.add_client(b[0], postcode="9713 ab", coach="coach.oost.1")
    inburgering = engine.add_client(b[1], postcode="9713AB", doelgroep="inburgeraar")
    assert (rij(engine, oost).gebied, rij(engine, oost).postcode) == ("Oost", "9713AB")
    assert (rij(engine, inburgering).gebied, rij(engine, inburgering).doelgroep) == ("Inburgering", "inburgeraar")
    with pytest.raises(OngeldigeInvoer) as exc:
        engine.add_client(b[2], postcode="1011AB")
    assert exc.value.veld == "postcode"
    with pytest.raises(OngeldigeInvoer) as exc:
        engine.add_client(b[3], postcode="9713AB", doelgroep="statushouder")
    assert exc.value.veld == "doelgroep"
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(C)).scalar_one() == 2  # nothing half-written


# --------------------------------------------------------------------------- one coach across trajectories


def test_the_coach_stays_across_two_trajectories(engine, clock):
    """Two trajectories in a row keep the client's coach: tasks of both go to that coach, also when
    somebody else (another coach, a team lead) started the trajectory."""
    gebruikers(engine)
    cid = engine.add_client(bsns(1, seed=82)[0], postcode="9713AB", coach="coach.oost.1",
                            geboortedatum=date(1985, 1, 1), bijstand_sinds=date(2020, 1, 1))
    eerste = engine.start(IB, cid, FEITEN[IB], actor="coach.oost.2").traject_id  # a colleague starts it
    clock.advance(timedelta(days=3))
    engine.sweep()
    engine.end(eerste, actor="teamleider.oost", uitkomst="werk", reden="aan het werk")
    tweede = engine.start(IB, cid, FEITEN[IB], actor="teamleider.oost").traject_id
    clock.advance(timedelta(days=5))  # past the intake (+2 working days)
    engine.sweep()
    assert rij(engine, cid).coach == "coach.oost.1"
    with engine.db.connect() as conn:
        taken = conn.execute(sa.select(K.c.traject_id, K.c.toegewezen_aan).where(K.c.rol == "coach")).all()
    assert {t.traject_id for t in taken} == {eerste, tweede}
    assert {t.toegewezen_aan for t in taken} == {"coach.oost.1"}
    assert client_events(engine, cid, "coach_toegewezen") == []  # starting never reassigns


# --------------------------------------------------------------------------- reassignment


def test_coach_toewijzen_records_who_from_to_why_and_moves_open_tasks(engine, clock):
    gebruikers(engine)
    cid = engine.add_client(bsns(1, seed=83)[0], postcode="9713AB", coach="coach.oost.1",
                            bijstand_sinds=date(2020, 1, 1))
    tid = engine.start(IB, cid, FEITEN[IB], actor="coach.oost.1").traject_id
    clock.advance(timedelta(days=3))
    engine.sweep()
    open_voor = engine.open_tasks(traject_id=tid)
    assert open_voor and {t.toegewezen_aan for t in open_voor} == {"coach.oost.1"}

    t = cl.coach_toewijzen(engine, cid, "coach.oost.2", door="teamleider.oost", reden="caseload gelijk verdelen")
    assert (t.van, t.naar, t.taken) == ("coach.oost.1", "coach.oost.2", len(open_voor))
    assert rij(engine, cid).coach == "coach.oost.2"
    assert {x.toegewezen_aan for x in engine.open_tasks(traject_id=tid)} == {"coach.oost.2"}
    (ev,) = client_events(engine, cid, "coach_toegewezen")
    assert ev.actor == "teamleider.oost" and ev.traject_id is None
    assert ev.payload["van"] == "coach.oost.1" and ev.payload["naar"] == "coach.oost.2"
    assert ev.payload["reden"] == "caseload gelijk verdelen" and ev.payload["taken"] == len(open_voor)
    # later tasks go to the new coach
    clock.advance(timedelta(weeks=3))
    engine.sweep()
    assert {x.toegewezen_aan for x in engine.open_tasks(traject_id=tid)} == {"coach.oost.2"}

    for naar, veld, tekst in [("coach.west.1", "coach", "team West"), ("coach.onbekend", "coach", "geen actieve coach"),
                              ("coach.oost.2", "coach", "al de coach")]:
        with pytest.raises(OngeldigeInvoer) as exc:
            cl.coach_toewijzen(engine, cid, naar, door="teamleider.oost", reden="waarom niet")
        assert exc.value.veld == veld and tekst in exc.value.reden
    with pytest.raises(OngeldigeInvoer) as exc:
        cl.coach_toewijzen(engine, cid, "coach.oost.1", door="teamleider.oost", reden="")
    assert exc.value.veld == "reden"
    assert rij(engine, cid).coach == "coach.oost.2" and len(client_events(engine, cid, "coach_toegewezen")) == 1


def test_caseload_per_coach_and_rebalance_all_or_nothing(engine, clock):
    gebruikers(engine)
    b = bsns(5, seed=84)
    ids = [engine.add_client(b[i], postcode="9713AB", coach="coach.oost.1", bijstand_sinds=date(2020, 1, 1))
           for i in range(3)]
    west = engine.add_client(b[3], postcode="9725AB", coach="coach.west.1", bijstand_sinds=date(2020, 1, 1))
    zonder = engine.add_client(b[4], postcode="9714AB", bijstand_sinds=date(2020, 1, 1))
    for cid in ids[:2]:
        engine.start(IB, cid, FEITEN[IB], actor="coach.oost.1")
    clock.advance(timedelta(days=3))
    engine.sweep()  # intake tasks appear (due in 5 working days)
    clock.advance(timedelta(days=20))  # ... and are overdue now
    c = cl.caseload(engine, "Oost")
    per = {r["coach"]: r for r in c["coaches"]}
    assert set(per) == {"coach.oost.1", "coach.oost.2"}
    assert per["coach.oost.1"]["clienten"] == 3 and per["coach.oost.2"]["clienten"] == 0
    n_open = len(engine.open_tasks(assignee="coach.oost.1"))
    assert n_open >= 2 and per["coach.oost.1"]["open_taken"] == n_open
    assert 2 <= per["coach.oost.1"]["te_laat"] <= n_open
    assert c["zonder_coach"] == 1 and c["clienten"] == 4

    # a West client in the batch: nothing moves (all or nothing), with the gebied check of the team lead
    with pytest.raises(NietGevonden):
        cl.herverdeel(engine, [ids[0], west], "coach.oost.2", door="teamleider.oost", reden="herverdelen", gebied="Oost")
    with pytest.raises(OngeldigeInvoer):  # and a coach of another team is refused
        cl.herverdeel(engine, [ids[0]], "coach.west.1", door="teamleider.oost", reden="herverdelen")
    assert rij(engine, ids[0]).coach == "coach.oost.1"
    res = cl.herverdeel(engine, [ids[0], ids[1], zonder], "coach.oost.2", door="teamleider.oost",
                        reden="herverdelen", gebied="Oost")
    assert [t.client_id for t in res] == [ids[0], ids[1], zonder]
    per = {r["coach"]: r for r in cl.caseload(engine, "Oost")["coaches"]}
    assert per["coach.oost.1"]["clienten"] == 1 and per["coach.oost.2"]["clienten"] == 3
    assert per["coach.oost.2"]["open_taken"] == n_open and per["coach.oost.1"]["open_taken"] == 0
    assert sum(len(client_events(engine, x, "coach_toegewezen")) for x in (ids[0], ids[1], zonder)) == 3


# --------------------------------------------------------------------------- transfers


def test_a_move_proposes_a_transfer_and_only_acceptance_moves_the_client(engine):
    gebruikers(engine, [("coach.west.2", "West")])
    cid = engine.add_client(bsns(1, seed=85)[0], postcode="9713AB", coach="coach.oost.1")
    w = cl.wijzig_client(engine, cid, door="coach.oost.1", postcode="9725 AB", reden="verhuisd")
    assert w.team == "West" and w.overplaatsing_id
    c = rij(engine, cid)
    assert (c.postcode, c.gebied, c.coach) == ("9725AB", "Oost", "coach.oost.1")  # not moved silently
    (voorstel,) = cl.overplaatsingen(engine, "West")
    assert voorstel["van_gebied"] == "Oost" and voorstel["naar_gebied"] == "West" and voorstel["status"] == "open"
    assert cl.overplaatsingen(engine, "Oost") == [voorstel] and cl.overplaatsingen(engine, "Noord") == []
    assert [e.payload["naar_gebied"] for e in client_events(engine, cid, "overplaatsing_voorgesteld")] == ["West"]
    assert client_events(engine, cid, "client_gewijzigd")[0].payload["postcode"] == {"van": "9713AB", "naar": "9725AB"}

    # the same move again: still one open proposal
    assert cl.wijzig_client(engine, cid, door="coach.oost.1", postcode="9725AB").overplaatsing_id == w.overplaatsing_id
    with pytest.raises(OngeldigeInvoer) as exc:  # the receiving team's coach only
        cl.accepteer_overplaatsing(engine, w.overplaatsing_id, door="teamleider.west", coach="coach.oost.2")
    assert exc.value.veld == "coach"
    t = cl.accepteer_overplaatsing(engine, w.overplaatsing_id, door="teamleider.west", coach="coach.west.2")
    c = rij(engine, cid)
    assert (c.gebied, c.coach) == ("West", "coach.west.2") and (t.van, t.naar) == ("coach.oost.1", "coach.west.2")
    assert cl.overplaatsing(engine, w.overplaatsing_id)["status"] == "geaccepteerd"
    assert [e.actor for e in client_events(engine, cid, "overplaatsing_geaccepteerd")] == ["teamleider.west"]
    assert client_events(engine, cid, "coach_toegewezen")[-1].payload["naar"] == "coach.west.2"
    with pytest.raises(OngeldigeToestand):
        cl.wijs_overplaatsing_af(engine, w.overplaatsing_id, door="teamleider.west", toelichting="te laat")


def test_rejected_transfer_keeps_team_and_coach_and_a_move_back_lapses_it(engine):
    gebruikers(engine)
    b = bsns(2, seed=86)
    cid = engine.add_client(b[0], postcode="9713AB", coach="coach.oost.1")
    w = cl.wijzig_client(engine, cid, door="coach.oost.1", postcode="9722AB")
    with pytest.raises(OngeldigeInvoer) as exc:
        cl.wijs_overplaatsing_af(engine, w.overplaatsing_id, door="teamleider.oost", toelichting="")
    assert exc.value.veld == "toelichting"
    cl.wijs_overplaatsing_af(engine, w.overplaatsing_id, door="teamleider.oost", toelichting="verhuist volgende maand terug")
    c = rij(engine, cid)
    assert (c.gebied, c.coach, c.postcode) == ("Oost", "coach.oost.1", "9722AB")
    assert client_events(engine, cid, "overplaatsing_afgewezen")[0].payload["toelichting"].startswith("verhuist")

    # a move to another area and back before anyone decided: the proposal lapses
    other = engine.add_client(b[1], postcode="9713AB", coach="coach.oost.2")
    w2 = cl.wijzig_client(engine, other, door="coach.oost.2", postcode="9722AB")
    assert cl.wijzig_client(engine, other, door="coach.oost.2", postcode="9714AB").overplaatsing_id is None
    assert cl.overplaatsing(engine, w2.overplaatsing_id)["status"] == "vervallen"
    assert cl.overplaatsingen(engine) == []

    # a central target group proposes the specialist team; a postcode outside the municipality is refused
    w3 = cl.wijzig_client(engine, other, door="coach.oost.2", doelgroep="doelgroepregister")
    assert w3.team == "Doelgroepregister" and w3.overplaatsing_id
    with pytest.raises(OngeldigeInvoer) as exc:
        cl.wijzig_client(engine, other, door="coach.oost.2", postcode="1011AB")
    assert exc.value.veld == "postcode" and "buiten de gemeente" in exc.value.reden
    assert rij(engine, other).postcode == "9714AB"


# --------------------------------------------------------------------------- API and CLI (SQLite)


@pytest.fixture
def web(sqlite_url, clock):
    from tests.test_autorisatie import login, vul_gebruikers
    from trajecten.web import create_app

    eng = open_engine(sqlite_url, clock)
    vul_gebruikers(eng, [("coach.oost.2", "coach", "Oost"), ("coach.west.1", "coach", "West"),
                         ("teamleider.west", "teamleider", "West")])
    app = create_app(eng, secret_key="gebiedsteams")
    yield eng, app, login
    eng.db.dispose()


def test_api_client_team_refusal_transfer_and_caseload(web):
    eng, app, login = web
    coach = login(app, "coach.oost.1")
    r = coach.post("/api/clients", json={"bsn": "111222333", "naam": "Verhuizer", "postcode": "1011 AB"})
    assert r.status_code == 422 and "postcode" in r.text and "buiten de gemeente" in r.text
    r = coach.post("/api/clients", json={"bsn": "111222333", "postcode": "9713 AB", "gebied": "West"})
    assert r.status_code == 422 and "gebied" in r.text and "team Oost" in r.text  # must agree with the postcode
    r = coach.post("/api/clients", json={"bsn": "111222333", "naam": "Verhuizer", "postcode": "9713 AB"})
    assert r.status_code == 201 and r.json()["gebied"] == "Oost" and r.json()["coach"] == "coach.oost.1"
    cid = r.json()["id"]
    r = coach.patch(f"/api/clients/{cid}", json={"postcode": "9725AB", "reden": "verhuisd"})
    assert r.status_code == 200 and r.json()["team"] == "West" and r.json()["client"]["gebied"] == "Oost"
    oid = r.json()["overplaatsing_id"]
    assert coach.get("/api/caseload").status_code == 403  # team leads only

    lead_oost = login(app, "teamleider.oost")
    load = lead_oost.get("/api/caseload").json()
    assert load["gebied"] == "Oost" and {c["coach"]: c["clienten"] for c in load["coaches"]}["coach.oost.1"] == 1
    assert lead_oost.get("/api/caseload?gebied=West").status_code == 404
    r = lead_oost.post(f"/api/clients/{cid}/coach", json={"coach": "coach.west.1", "reden": "probeer"})
    assert r.status_code == 422 and "team West" in r.text
    r = lead_oost.post(f"/api/overplaatsingen/{oid}/accepteer", json={"coach": "coach.west.1"})
    assert r.status_code == 422 and "ontvangende team" in r.text  # the sending team does not accept
    assert [o["id"] for o in lead_oost.get("/api/overplaatsingen").json()] == [oid]

    lead_west = login(app, "teamleider.west")
    assert lead_west.get(f"/api/clients/{cid}").status_code == 404  # not theirs yet
    r = lead_west.post(f"/api/overplaatsingen/{oid}/accepteer", json={"coach": "coach.west.1"})
    assert r.status_code == 200 and r.json()["naar"] == "coach.west.1"
    c = lead_west.get(f"/api/clients/{cid}").json()
    assert (c["gebied"], c["coach"]) == ("West", "coach.west.1")
    assert {e["type"] for e in c["tijdlijn"]} >= {"overplaatsing_voorgesteld", "overplaatsing_geaccepteerd",
                                                  "coach_toegewezen", "client_gewijzigd"}
    assert lead_oost.get(f"/api/clients/{cid}").status_code == 404  # gone from Oost


def test_cli_coach_toewijzen_and_transfer(tmp_path):
    from trajecten.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    env = {"TRAJECTEN_DATABASE_URL": url}
    r = runner.invoke(app, ["client", "toevoegen", "--postcode", "1011AB"], input="123456782\n", env=env)
    assert r.exit_code == 2 and "postcode" in r.output and "buiten de gemeente" in r.output
    r = runner.invoke(app, ["client", "toevoegen", "--postcode", "9713AB", "--coach", "coach.oost.1"],
                      input="123456782\n", env=env)
    assert r.exit_code == 0 and "team Oost" in r.output, r.output
    r = runner.invoke(app, ["client", "toevoegen", "--doelgroep", "inburgeraar"], input="111222333\n", env=env)
    assert r.exit_code == 0 and "team Inburgering" in r.output, r.output
    from trajecten.basis.config import load_settings
    from trajecten.kern.engine import Engine

    eng = Engine.open(url, settings=load_settings(database_url=url))
    gebruikers(eng)
    eng.db.dispose()
    r = runner.invoke(app, ["coach", "toewijzen", "1", "--naar", "coach.oost.2", "--reden", "herverdelen",
                            "--door", "teamleider.oost"], env=env)
    assert r.exit_code == 0 and "coach.oost.1 → coach.oost.2" in r.output, r.output
    r = runner.invoke(app, ["coach", "toewijzen", "1", "--naar", "coach.west.1", "--reden", "x y z"], env=env)
    assert r.exit_code == 2 and "coach" in r.output and "team West" in r.output
    r = runner.invoke(app, ["client", "wijzig", "1", "--postcode", "9725AB", "--door", "coach.oost.2"], env=env)
    assert r.exit_code == 0 and "overplaatsingsvoorstel" in r.output, r.output
    oid = re.search(r"overplaatsingsvoorstel (\d+)", r.output).group(1)
    r = runner.invoke(app, ["caseload", "Oost"], env=env)
    assert r.exit_code == 0 and "coach.oost.2" in r.output and f"overplaatsing {oid}" in r.output
    r = runner.invoke(app, ["overplaatsing", "accepteer", oid, "--coach", "coach.west.1", "--door", "teamleider.west"],
                      env=env)
    assert r.exit_code == 0 and "coach.west.1" in r.output, r.output


def test_page_form_records_a_move_as_a_proposal_and_refuses_outside_the_municipality(web):
    eng, app, login = web
    cid = eng.add_client("123456782", naam="Pagina", postcode="9713AB", coach="coach.oost.1")
    coach = login(app, "coach.oost.1")
    assert 'action="/clienten/%d/wijzig"' % cid in coach.get(f"/clienten/{cid}").text
    r = coach.post(f"/clienten/{cid}/wijzig", data={"postcode": "1011 AB", "doelgroep": ""}, follow_redirects=True)
    assert "Niet gewijzigd: postcode: 1011 ligt buiten de gemeente Groningen" in r.text
    r = coach.post(f"/clienten/{cid}/wijzig", data={"postcode": "9725 AB", "doelgroep": "", "reden": "verhuisd"},
                   follow_redirects=True)
    assert "overplaatsingsvoorstel" in r.text and "team West" in r.text
    c = rij(eng, cid)
    assert (c.postcode, c.gebied, c.coach) == ("9725AB", "Oost", "coach.oost.1")
    (o,) = cl.overplaatsingen(eng)
    lead = login(app, "teamleider.west")
    page = lead.get("/caseload").text
    assert f'id="overplaatsing-{o["id"]}"' in page and "Pagina" in page
    r = lead.post(f"/overplaatsingen/{o['id']}/afwijzen", data={"gebied": "West", "toelichting": "blijft bij Oost"},
                  follow_redirects=True)
    assert f"Overplaatsing {o['id']} afgewezen" in r.text
    assert (rij(eng, cid).gebied, cl.overplaatsing(eng, o["id"])["beoordeeld_door"]) == ("Oost", "teamleider.west")
