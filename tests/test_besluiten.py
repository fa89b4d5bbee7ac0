"""Decisions' explanations are stored once and shown in their place (``trajecten/opslag/besluiten.py``)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from tests.helpers import bsns, client, events
from trajecten.opslag import besluiten
from trajecten.privacy.anonimiseren import _payload
from trajecten import StartVerzoek
from trajecten.opslag.models import Besluit, Gebeurtenis

B, E = Besluit.__table__, Gebeurtenis.__table__
WW = {"risico_langdurig": True, "ww_startdatum": "2026-01-01"}


def _stored(engine) -> list:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(B)).all()


def test_equal_decisions_are_stored_once_and_each_start_event_shows_its_own(engine):
    nummers = bsns(6)
    clients = [client(engine, b) for b in nummers[:5]]
    ends = ["2027-03-01", "2027-03-01", "2027-03-01", "2027-05-03", "2027-05-03"]
    starts = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-01-01", "2026-04-01"]  # not in the explanation
    res = engine.start_many("ww_preventie", [
        StartVerzoek(c, {**WW, "ww_einddatum": e, "ww_startdatum": s}) for c, e, s in zip(clients, ends, starts)],
        actor="test")
    rows = _stored(engine)
    assert len(rows) == 2  # two distinct decisions (the WW end dates), five starts
    assert {r.sleutel for r in rows} == {besluiten.sleutel(r.inhoud) for r in rows}
    for r in res:
        (gestart,) = events(engine, r.traject_id, "traject_gestart")
        assert gestart.payload["besluit"] == r.besluit.to_json()  # its own decision, in its place
        assert besluiten.REF not in gestart.payload
    # a later batch with the same decision refers to the stored row
    engine.start("ww_preventie", client(engine, nummers[5]), {**WW, "ww_einddatum": "2027-03-01"}, actor="test")
    assert len(_stored(engine)) == 2


def test_the_pages_data_shows_the_explanation_and_older_inline_events_stay(engine):
    cid = client(engine)
    tid = engine.start("ww_preventie", cid, {**WW, "ww_einddatum": "2027-03-01"}, actor="test").traject_id
    with engine.db.begin() as conn:  # an event written before the store: the decision inline
        conn.execute(sa.insert(E).values(
            traject_id=tid, client_id=cid, type="toegang_besluit", actor="oud", op=engine.clock.now(),
            payload={"regel": "x", "uitkomst": True, "redenen": []}))
        payloads = [e.payload for e in conn.execute(
            sa.select(E).where(E.c.traject_id == tid)
            .order_by(E.c.id))]
        shown = besluiten.met_besluit(conn, payloads)
    assert besluiten.REF in payloads[0] and shown[0]["besluit"]["regel"] == "ww_preventie.toegang"
    assert shown[1] == payloads[1]


def test_anonymisation_drops_the_reference_with_the_other_decision_details():
    p = {"instrument": "ww_preventie", "status": "actief", besluiten.REF: "ab" * 32}
    assert besluiten.REF not in _payload(p) and _payload(p)["status"] == "actief"


@pytest.mark.postgres
def test_two_transactions_storing_the_same_new_decision_both_commit(pg_url):
    from tests.conftest import reset_pg
    from trajecten.opslag.db import make_engine, migrate

    reset_pg(pg_url)
    eng = make_engine(pg_url)
    migrate(eng)
    inhoud = {"regel": "ww_preventie.toegang", "versie": "2020-01-01", "peildatum": date(2026, 1, 5).isoformat(),
              "uitkomst": True, "betalingen": [], "redenen": [], "parameters": {}}
    key = besluiten.sleutel(inhoud)
    errors: list[Exception] = []
    first = eng.connect()
    tx = first.begin()
    besluiten.bewaar(first, "ww_preventie.toegang", {key: ("2020-01-01", inhoud)})  # not committed: the second waits

    def second():
        try:
            with eng.begin() as conn:
                besluiten.bewaar(conn, "ww_preventie.toegang", {key: ("2020-01-01", inhoud)})
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)
    tx.commit()
    first.close()
    t.join(10)
    assert not t.is_alive() and errors == []
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(B)).scalar() == 1
    eng.dispose()


@pytest.mark.postgres
def test_two_transactions_storing_overlapping_new_decisions_do_not_deadlock(pg_url):
    """Keys are inserted in one order: the second transaction waits for the first, never the other way round
    at the same time (the feed's two writers store the same new decisions)."""
    from tests.conftest import reset_pg
    from trajecten.opslag.db import make_engine, migrate

    reset_pg(pg_url)
    eng = make_engine(pg_url)
    migrate(eng)
    k1, k2 = "a" * 64, "b" * 64
    inhoud = {"regel": "ww_preventie.toegang", "versie": "2020-01-01", "redenen": []}
    errors: list[Exception] = []
    first = eng.connect()
    tx = first.begin()
    besluiten.bewaar(first, "ww_preventie.toegang", {k1: ("2020-01-01", inhoud)})

    def second():  # k2 first in its own order: it would hold k2 while waiting for k1
        try:
            with eng.begin() as conn:
                besluiten.bewaar(conn, "ww_preventie.toegang", {k2: ("2020-01-01", inhoud), k1: ("2020-01-01", inhoud)})
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    t = threading.Thread(target=second)
    t.start()
    t.join(0.5)  # the second is waiting now
    besluiten.bewaar(first, "ww_preventie.toegang", {k2: ("2020-01-01", inhoud)})  # would wait for the second
    tx.commit()
    first.close()
    t.join(10)
    assert not t.is_alive() and errors == []
    with eng.connect() as conn:
        assert set(conn.execute(sa.select(B.c.sleutel)).scalars()) == {k1, k2}
    eng.dispose()


def test_a_reference_to_a_decision_that_is_not_stored_is_reported(engine):
    from trajecten.opslag.integriteit import voorbeelden, wezen

    cid = client(engine)
    tid = engine.start("ww_preventie", cid, {**WW, "ww_einddatum": "2027-03-01"}, actor="test").traject_id
    naam = "gebeurtenis.payload.besluit_ref"
    with engine.db.begin() as conn:
        assert wezen(conn)[naam] == 0  # the start's own reference has its row
        eid = conn.execute(sa.insert(E).values(traject_id=tid, client_id=cid, type="traject_gestart", actor="hand",
                                               op=engine.clock.now(), payload={besluiten.REF: "f" * 64})
                           .returning(E.c.id)).scalar()
        assert wezen(conn)[naam] == 1 and voorbeelden(conn, naam) == [(eid, "f" * 64)]


def test_a_known_decision_costs_no_statement_and_a_rolled_back_one_is_stored_again(engine):
    inserts: list[str] = []
    sa.event.listen(engine.db, "before_cursor_execute",
                    lambda conn, cursor, statement, *a: inserts.append(statement) if "INTO besluit" in statement else None)
    nummers = bsns(3)
    facts = {**WW, "ww_einddatum": "2027-03-01"}
    eerste = client(engine, nummers[0])
    with pytest.raises(RuntimeError):
        with engine.db.begin() as conn:  # the start is undone: its decision too
            engine.start("ww_preventie", eerste, facts, actor="test", conn=conn)
            raise RuntimeError("afgebroken")
    assert len(inserts) == 1 and _stored(engine) == []
    engine.start("ww_preventie", client(engine, nummers[1]), facts, actor="test")  # stored again, committed
    engine.start("ww_preventie", client(engine, nummers[2]), facts, actor="test")  # known: no statement
    assert len(inserts) == 2 and len(_stored(engine)) == 1
    with engine.db.connect() as conn:
        from trajecten.opslag.integriteit import wezen

        assert wezen(conn)["gebeurtenis.payload.besluit_ref"] == 0
