"""Kansen in Kaart bijwerken: the daily job that keeps one ``kansen_in_kaart`` trajectory running for every
bijstand client without another trajectory, across the whole caseload.

Design (the instrument file says *what* happens, this job says *for whom*):

* **Start.** Every client with a ``bijstand_sinds`` and no running (``gepland``/``actief``) trajectory of any
  instrument is a candidate. The rule ``kansen_in_kaart.toegang`` decides for each (through
  ``Engine.start_many``, in chunks of ``chunk`` clients, one transaction each so the embedded sweep can
  interleave on SQLite); refusals are counted, nothing is written for them, and they are asked again on the
  next run. Facts given: ``andere_lopende_trajecten`` (0 by construction), ``uitgestroomd_op`` (the latest
  uitstroom door werk that no bijstand start followed; see ``trajecten/clienten/uitstroom.py``) and
  ``contact_vanaf``: the next anniversary of the bijstand start (today at the earliest), so 50,000 yearly
  contacts spread over the year instead of all landing on one Monday, and each falls within a year.
* **Stop.** A running Kansen in Kaart trajectory ends through its instrument's own events: ``ander_traject``
  when the client now has another running trajectory, ``uit_bijstand`` when the client is no longer on
  bijstand (no or a future ``bijstand_sinds``, or an uitstroom door werk since the bijstand began). When the
  other trajectory ends, the next run starts Kansen in Kaart again.
* Runs are idempotent: a second run on the same day starts and ends nothing. Two runs at the same moment
  could start a client twice, so the scheduler and the Prefect deployment run it one at a time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Callable

import sqlalchemy as sa

from trajecten.kern.starten import StartVerzoek
from trajecten.basis.fouten import AlLopend, NietToegelaten, OngeldigeToestand
from trajecten.opslag.models import Client, Traject, TrajectStatus
from trajecten.basis.tijd import local_date
from trajecten.clienten.uitstroom import instroom_datums, uitstroom_paren, uitstroom_voorwaarde

INSTRUMENT = "kansen_in_kaart"
ACTOR = "systeem:kansen_in_kaart"
LOPEND = (TrajectStatus.gepland.value, TrajectStatus.actief.value)
T, C = Traject.__table__, Client.__table__


def volgend_jaarcontact(bijstand_sinds: date, vandaag: date) -> date:
    """The first anniversary of ``bijstand_sinds`` on or after ``vandaag`` (29 February: the 28th in other
    years); a bijstand that starts later gives its start date. Called once per client: no relativedelta."""
    if bijstand_sinds >= vandaag:
        return bijstand_sinds
    d = _verjaardag(bijstand_sinds, vandaag.year)
    return d if d >= vandaag else _verjaardag(bijstand_sinds, vandaag.year + 1)


def _verjaardag(d: date, jaar: int) -> date:
    try:
        return d.replace(year=jaar)
    except ValueError:  # 29 February in a year without it
        return date(jaar, 2, 28)


def bijwerken(engine, *, chunk: int = 5000, progress: Callable[[int, int], None] | None = None) -> dict:
    """Start and end Kansen in Kaart trajectories as described above; returns counts only. Every client it
    touched gets a record in the Logboek Dataverwerkingen (as the sweep does)."""
    if INSTRUMENT not in engine.register.names():
        return {"actief": False}
    from trajecten.privacy import logboek

    with logboek.systeemtaak(engine, ACTOR, naam="kansen in kaart bijwerken", component="kansen_in_kaart"):
        return _bijwerken(engine, chunk, progress)


def _bijwerken(engine, chunk: int, progress) -> dict:
    today = local_date(engine.clock.now())
    paren = uitstroom_paren(engine)
    with engine.reader.connect() as conn:
        clients = dict(conn.execute(sa.select(C.c.id, C.c.bijstand_sinds)).all())
        kik: dict[int, int] = {}
        andere: dict[int, int] = defaultdict(int)
        for tid, cid, inst in conn.execute(sa.select(T.c.id, T.c.client_id, T.c.instrument)
                                           .where(T.c.status.in_(LOPEND))):
            if inst == INSTRUMENT:
                kik[cid] = tid
            else:
                andere[cid] += 1
        laatste_uit = dict(conn.execute(sa.select(T.c.client_id, sa.func.max(T.c.eind_datum))
                                        .where(uitstroom_voorwaarde(paren)).group_by(T.c.client_id)).all())
        instroom = instroom_datums(conn, laatste_uit) if laatste_uit else {}

    def uitgestroomd_op(cid: int) -> date | None:
        u = laatste_uit.get(cid)
        if u is None or any(h > u for h in instroom.get(cid, ())):
            return None
        return u

    beeindigen: list[tuple[int, str]] = []
    verzoeken: list[StartVerzoek] = []
    for cid, bs in clients.items():
        uit = uitgestroomd_op(cid)
        if cid in kik:
            if andere[cid]:
                beeindigen.append((kik[cid], "ander_traject"))
            elif bs is None or bs > today or (uit is not None and uit >= bs):
                beeindigen.append((kik[cid], "uit_bijstand"))
        elif bs is not None and not andere[cid]:
            verzoeken.append(StartVerzoek(cid, {
                "contact_vanaf": volgend_jaarcontact(bs, today), "andere_lopende_trajecten": 0,
                "uitgestroomd_op": uit}))
    out = {"actief": True, "kandidaten": len(verzoeken), "gestart": 0, "niet_toegelaten": 0, "al_lopend": 0, "fouten": 0,
           "beeindigd_ander_traject": 0, "beeindigd_uit_bijstand": 0}
    for tid, event in beeindigen:
        try:
            engine.record_event(tid, event, actor=ACTOR)
            out[f"beeindigd_{event}"] += 1
        except OngeldigeToestand:  # ended meanwhile (by hand or its own step)
            pass
    for i in range(0, len(verzoeken), chunk):
        part = verzoeken[i:i + chunk]
        for res in engine.start_many(INSTRUMENT, part, actor=ACTOR):
            if isinstance(res, AlLopend):  # started meanwhile (a second run at the same moment)
                out["al_lopend"] += 1
            elif isinstance(res, NietToegelaten):
                out["niet_toegelaten"] += 1
            elif isinstance(res, Exception):
                out["fouten"] += 1
            else:
                out["gestart"] += 1
        if progress is not None:
            progress(min(i + chunk, len(verzoeken)), len(verzoeken))
    return out
