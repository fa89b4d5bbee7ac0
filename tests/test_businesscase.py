"""Businesscase (P8): a one-off tailored payment to the supplier, within a dated ceiling per case, with a
written cost/benefit reason, through the same proposed -> approved (four eyes) -> exported path as every
payout. On SQLite and PostgreSQL; the rule's own cases are in tests/regels/gevallen/businesscase.yaml."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from regels import beslis
from tests.helpers import bsns, events
from trajecten.geld import uitbetalingen
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer
from trajecten.opslag.models import Traject, Uitbetaling

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
BC = "businesscase"
MOTIVERING = ("Baan in Assen vanaf 06:00, OV rijdt dan nog niet; bijdrage in een auto kost eenmalig minder "
              "dan een maand bijstand en hij stroomt duurzaam uit.")
LEVERANCIER = {"leverancier_naam": "Autobedrijf Noord B.V.", "leverancier_iban": "NL44RABO0123456789"}


def feiten(bedrag: str = "800.00", **extra) -> dict:
    return {"bedrag": bedrag, "omschrijving": "auto om een vroege dienst in Assen te halen",
            "motivering": MOTIVERING, **LEVERANCIER, **extra}


def client(engine, seed: int) -> int:
    return engine.add_client(bsns(1, seed=seed)[0], naam="Jongeman", postcode="9713AB", coach="coach.oost.1",
                             geboortedatum=date(2001, 4, 1), bijstand_sinds=date(2024, 6, 1),
                             iban="NL91ABNA0417164300")


def payouts(engine):
    U = Uitbetaling.__table__
    with engine.db.connect() as conn:
        return conn.execute(sa.select(U).order_by(U.c.id)).all()


def test_full_path_proposed_once_four_eyes_exported_once_to_the_supplier(engine):
    tid = engine.start(BC, client(engine, 91), feiten(), actor="coach.oost.1").traject_id
    engine.sweep()
    engine.sweep()  # a second sweep proposes nothing more
    (p,) = payouts(engine)
    assert (p.traject_id, p.deel, p.bedrag, p.status) == (tid, 1, Decimal("800.00"), "voorgesteld")
    cid = engine.timeline(tid)["traject"].client_id  # the rule names no subject: the case is the trajectory
    assert p.sleutel == f"c{cid}/businesscase/1/traject={tid}" and p.regel == "businesscase" and p.regel_versie == "2020-01-01"
    assert (p.ontvanger_naam, p.ontvanger_iban) == (LEVERANCIER["leverancier_naam"], LEVERANCIER["leverancier_iban"])
    (ev,) = events(engine, tid, "uitbetaling_voorgesteld")
    assert ev.payload["bedrag"] == "800.00" and ev.regel == "businesscase"

    with pytest.raises(NietToegelaten, match="traject gestart"):
        uitbetalingen.keur_goed(engine, p.id, door="coach.oost.1")  # the starter
    with pytest.raises(NietToegelaten, match="zelf voorgesteld"):
        uitbetalingen.keur_goed(engine, p.id, door=p.voorgesteld_door)  # the proposer
    uitbetalingen.keur_goed(engine, p.id, door="teamleider.oost")

    res = uitbetalingen.exporteer(engine, door="financien")
    assert res.aantal == 1 and res.totaal == Decimal("800.00") and res.overgeslagen == ()
    doc = ET.fromstring(res.xml)
    (tx,) = doc.iterfind(".//p:CdtTrfTxInf", NS)
    assert tx.find("p:Amt/p:InstdAmt", NS).text == "800.00"
    assert tx.find("p:Cdtr/p:Nm", NS).text == "Autobedrijf Noord B.V."  # the supplier, not the client
    assert tx.find("p:CdtrAcct/p:Id/p:IBAN", NS).text == "NL44RABO0123456789"
    assert uitbetalingen.exporteer(engine, door="financien").batch_id is None  # exported once
    assert [x.status for x in payouts(engine)] == ["geexporteerd"]


def test_above_the_ceiling_the_start_is_refused_with_amount_and_ceiling(engine):
    cid = client(engine, 92)
    with pytest.raises(NietToegelaten) as exc:
        engine.start(BC, cid, feiten("2600.00"), actor="coach.oost.1")
    b = exc.value.besluit
    assert b.uitkomst is False and b.regel == "businesscase.toegang"
    (reden,) = [r for r in b.redenen if not r.voldaan]
    assert "2500.00" in reden.voorwaarde and reden.waarde == "€ 2600.00"
    assert "Beleidskeuze" in reden.bron  # the ceiling is a municipal choice, said so in its source
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Traject.__table__)).scalar_one() == 0
    # exactly the ceiling is allowed
    assert engine.start(BC, cid, feiten("2500.00"), actor="coach.oost.1").status == "actief"


def test_the_payout_rule_refuses_above_the_ceiling_even_after_an_overruled_start(engine, clock):
    """A team lead may overrule a refused start (with a reason); the payout rule still refuses the amount:
    no payout is proposed, the refusal with its reasons is an event, and the trajectory ends."""
    cid = client(engine, 93)
    tid = engine.start(BC, cid, feiten("3000.00"), actor="teamleider.oost", overrule_reden="spoed",
                       mag_overrulen=True).traject_id
    engine.sweep()
    assert payouts(engine) == []
    (ev,) = events(engine, tid, "uitbetaling_vervallen")
    redenen = [r for r in ev.payload["besluit"]["redenen"] if not r["voldaan"]]
    assert redenen and "2500.00" in redenen[0]["voorwaarde"]
    with engine.db.connect() as conn:
        tr = conn.execute(sa.select(Traject.__table__).where(Traject.__table__.c.id == tid)).one()
    assert (tr.status, tr.uitkomst) == ("beeindigd", "niet_toegekend")
    d = beslis(BC, {"bedrag": "2500.01", "omschrijving": "x", "motivering": MOTIVERING}, date(2026, 1, 5))
    assert d.uitkomst is False and d.betalingen == ()


def test_required_facts_and_reason_length_name_the_field(engine):
    cid = client(engine, 94)
    for missing in ("leverancier_iban", "motivering", "bedrag"):
        f = feiten()
        del f[missing]
        with pytest.raises(OngeldigeInvoer) as exc:
            engine.start(BC, cid, f, actor="coach.oost.1")
        assert exc.value.veld == f"feit {missing}"
    with pytest.raises(NietToegelaten) as exc:
        engine.start(BC, cid, feiten(motivering="auto nodig"), actor="coach.oost.1")
    (reden,) = [r for r in exc.value.besluit.redenen if not r.voldaan]
    assert "motivering" in reden.voorwaarde and reden.waarde == "10 tekens"


def test_evaluation_after_three_months_records_the_outcome(engine, clock):
    tid = engine.start(BC, client(engine, 95), feiten(), actor="coach.oost.1").traject_id
    engine.sweep()
    clock.advance(timedelta(days=95))
    engine.sweep()
    (taak,) = engine.open_tasks(traject_id=tid)
    assert taak.stap == "evaluatie" and taak.toegewezen_aan == "coach.oost.1"
    engine.complete_task(taak.id, actor="coach.oost.1", uitkomst="aan_het_werk")
    engine.sweep()
    with engine.db.connect() as conn:
        tr = conn.execute(sa.select(Traject.__table__).where(Traject.__table__.c.id == tid)).one()
    assert (tr.status, tr.uitkomst) == ("beeindigd", "aan_het_werk")
