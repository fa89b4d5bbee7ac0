"""Payouts: proposed once by the sweep, four-eyes approval, exported once as a valid SEPA batch."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from trajecten.geld import uitbetalingen
from trajecten.basis.bsn import synthetisch
from trajecten.basis.fouten import NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.opslag.models import Betaalbatch, Gebeurtenis, Uitbetaling

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def _premie_client(engine, rng, iban="NL91ABNA0417164300"):
    return engine.add_client(synthetisch(rng), naam="Jan Jansen", geboortedatum=date(1980, 5, 1),
                             bijstand_sinds=date(2019, 1, 1), coach="coach.a", iban=iban)


def _start_premie(engine, cid, werk_start="2026-01-05"):
    return engine.start("premie_op_werk", cid, {"werk_start": werk_start, "uren_per_week": "24",
                                                "contract_maanden": 12}, actor="coach.a").traject_id


def _payouts(engine):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(Uitbetaling.__table__).order_by(Uitbetaling.__table__.c.id)).all()


def test_sweep_proposes_part_one_once_with_rule_version(engine):
    rng = random.Random(1)
    tid = _start_premie(engine, _premie_client(engine, rng))
    engine.sweep()
    engine.sweep()  # a second sweep proposes nothing more
    rows = _payouts(engine)
    assert [(r.traject_id, r.deel, r.bedrag, r.status) for r in rows] == [(tid, 1, Decimal("300.00"), "voorgesteld")]
    cid = engine.timeline(tid)["traject"].client_id
    assert rows[0].sleutel == f"c{cid}/premie_op_werk/1/werk_start=2026-01-05"  # per client and job
    assert rows[0].regel_versie == "2023-04-01"  # the regulation in force on the work start date
    # proposing the same part again (same idempotency key) leaves one row
    from trajecten.opslag.bulk import insert_ignore
    with engine.db.begin() as conn:
        insert_ignore(conn, Uitbetaling.__table__, [{**{k: getattr(rows[0], k) for k in (
            "sleutel", "traject_id", "deel", "bedrag", "opeisbaar_op", "status", "regel", "regel_versie",
            "voorgesteld_door", "voorgesteld_op")}}], ["sleutel"])
    assert len(_payouts(engine)) == 1


def test_four_eyes(engine):
    rng = random.Random(2)
    _start_premie(engine, _premie_client(engine, rng))
    engine.sweep()
    pid = _payouts(engine)[0].id
    with pytest.raises(NietToegelaten, match="traject gestart"):
        uitbetalingen.keur_goed(engine, pid, door="coach.a")  # started the trajectory
    with pytest.raises(NietToegelaten, match="zelf voorgesteld"):
        uitbetalingen.keur_goed(engine, pid, door="systeem:sweep")  # proposed it
    assert _payouts(engine)[0].status == "voorgesteld"
    uitbetalingen.keur_goed(engine, pid, door="teamleider.b")
    row = _payouts(engine)[0]
    assert (row.status, row.beoordeeld_door) == ("goedgekeurd", "teamleider.b")
    with pytest.raises(OngeldigeToestand):
        uitbetalingen.keur_goed(engine, pid, door="teamleider.c")
    with engine.db.connect() as conn:
        ev = conn.execute(sa.select(Gebeurtenis.__table__).where(
            Gebeurtenis.__table__.c.type == "uitbetaling_goedgekeurd")).one()
    assert (ev.actor, ev.regel, ev.regel_versie) == ("teamleider.b", "premie_op_werk", "2023-04-01")


def test_reject_needs_reason(engine):
    rng = random.Random(3)
    _start_premie(engine, _premie_client(engine, rng))
    engine.sweep()
    pid = _payouts(engine)[0].id
    with pytest.raises(OngeldigeInvoer, match="reden"):
        uitbetalingen.wijs_af(engine, pid, door="teamleider.b", reden="  ")
    uitbetalingen.wijs_af(engine, pid, door="teamleider.b", reden="contract bleek 3 maanden")
    assert _payouts(engine)[0].status == "afgewezen"


def test_export_once_as_valid_sepa_batch(engine):
    rng = random.Random(4)
    for _ in range(3):
        _start_premie(engine, _premie_client(engine, rng))
    bad = _premie_client(engine, rng, iban=None)  # no IBAN on file: stays approved, reported
    _start_premie(engine, bad)
    engine.sweep()
    for p in _payouts(engine):
        uitbetalingen.keur_goed(engine, p.id, door="teamleider.b")
    res = uitbetalingen.exporteer(engine, door="financien.c")
    assert res.aantal == 3 and res.totaal == Decimal("900.00")
    assert len(res.overgeslagen) == 1 and "IBAN" in res.overgeslagen[0][1]
    doc = ET.fromstring(res.xml)
    assert doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", NS).text == res.bericht_id
    assert doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", NS).text == "3"
    assert doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", NS).text == "900.00"
    amounts = [e.text for e in doc.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    assert amounts == ["300.00"] * 3
    statuses = sorted(p.status for p in _payouts(engine))
    assert statuses == ["geexporteerd"] * 3 + ["goedgekeurd"]
    again = uitbetalingen.exporteer(engine, door="financien.c")
    assert again.batch_id is None and again.aantal == 0
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Betaalbatch.__table__)).scalar() == 1
    assert uitbetalingen.batch_xml(engine, res.batch_id) == res.xml
    assert uitbetalingen.markeer_betaald(engine, res.batch_id, door="financien.c") == 3
    assert uitbetalingen.markeer_betaald(engine, res.batch_id, door="financien.c") == 0  # once
    assert sorted(p.status for p in _payouts(engine)) == ["betaald"] * 3 + ["goedgekeurd"]


def test_part_two_only_when_work_kept_six_months(engine, clock):
    from datetime import timedelta

    rng = random.Random(5)
    kept = _start_premie(engine, _premie_client(engine, rng))
    lost = _start_premie(engine, _premie_client(engine, rng))
    engine.sweep()
    clock.set(clock.now() + timedelta(days=190))  # past werk_start + 6 months (2026-07-06)
    engine.sweep()
    tasks = {t.traject_id: t for t in engine.open_tasks() if t.stap == "controle_werk"}
    engine.complete_task(tasks[kept].id, actor="coach.a", uitkomst="werk_behouden")
    engine.complete_task(tasks[lost].id, actor="coach.a", uitkomst="werk_beeindigd")
    engine.sweep()
    parts = {(p.traject_id, p.deel): p.bedrag for p in _payouts(engine)}
    assert parts == {(kept, 1): Decimal("300.00"), (kept, 2): Decimal("900.00"), (lost, 1): Decimal("300.00")}
    assert engine.timeline(kept)["traject"].status == "actief"  # part 2 proposed, not yet granted
    part_2 = next(p for p in _payouts(engine) if (p.traject_id, p.deel) == (kept, 2))
    uitbetalingen.keur_goed(engine, part_2.id, door="teamleider.b")
    tl = engine.timeline(kept)["traject"]
    assert (tl.status, tl.uitkomst) == ("beeindigd", "volledige_premie")
    assert engine.timeline(lost)["traject"].uitkomst == "alleen_deel_1"
