"""Uitstroom door werk and herinstroom, defined once from the data the engine has.

* **Uitstroom door werk** of a client on date U: a trajectory of that client ended (``eind_datum`` = U)
  with an outcome its instrument lists under ``uitstroom_uitkomsten`` (e.g. intensief_begeleiden ``werk``,
  premie_op_werk ``volledige_premie``, jobcoaching_nazorg ``duurzaam_aan_het_werk``). The engine records
  no separate date of leaving the benefit, so the trajectory's end date stands for it.
* **Back in bijstand** (instroom) on date H: an event ``bijstand_gestart`` (recorded with
  :func:`bijstand_start_vastleggen`, which also sets ``client.bijstand_sinds``) or ``herinstroom`` (the
  jobcoaching_nazorg event) with business date H, or the client's current ``bijstand_sinds`` = H.
* **Herinstroom within N months** of an uitstroom on U: some H with U < H <= U + N calendar months.
* A client **is off bijstand** (for Kansen in Kaart) while their latest uitstroom is on or after the start
  of their current bijstand and no bijstand start came after it.

No personal data leaves this module's report functions: they return counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.opslag.models import Client, Gebeurtenis, Traject, TrajectStatus

T, E, C = Traject.__table__, Gebeurtenis.__table__, Client.__table__
INSTROOM_EVENTS = ("bijstand_gestart", "herinstroom")


def uitstroom_paren(engine) -> dict[str, tuple[str, ...]]:
    """instrument -> its uitstroom outcomes (current definitions; instruments without any are left out)."""
    out = {}
    for name in engine.register.names():
        u = engine.register.current(name).definitie.uitstroom_uitkomsten
        if u:
            out[name] = tuple(u)
    return out


def uitstroom_voorwaarde(paren: dict[str, tuple[str, ...]]):
    """SQL: a trajectory row that ended with uitstroom door werk."""
    if not paren:
        return sa.false()
    return sa.and_(T.c.status == TrajectStatus.beeindigd.value, T.c.eind_datum.is_not(None),
                   sa.or_(*[sa.and_(T.c.instrument == i, T.c.uitkomst.in_(u)) for i, u in paren.items()]))


def uitstromen(conn, paren, van: date | None = None, tot: date | None = None) -> list[tuple[int, str, date]]:
    """(client_id, instrument, U) of every uitstroom with van <= U <= tot, one per client and day."""
    q = sa.select(T.c.client_id, T.c.instrument, T.c.eind_datum).where(uitstroom_voorwaarde(paren))
    if van is not None:
        q = q.where(T.c.eind_datum >= van)
    if tot is not None:
        q = q.where(T.c.eind_datum <= tot)
    seen, out = set(), []
    for cid, inst, u in conn.execute(q.order_by(T.c.eind_datum, T.c.client_id, T.c.instrument)):
        if (cid, u) not in seen:
            seen.add((cid, u))
            out.append((cid, inst, u))
    return out


def instroom_datums(conn, client_ids=None) -> dict[int, list[date]]:
    """client_id -> the dates they (re)entered bijstand: instroom events and the current bijstand_sinds."""
    out: dict[int, set[date]] = defaultdict(set)
    qe = sa.select(E.c.client_id, E.c.datum, E.c.op).where(E.c.type.in_(INSTROOM_EVENTS), E.c.client_id.is_not(None))
    qc = sa.select(C.c.id, C.c.bijstand_sinds).where(C.c.bijstand_sinds.is_not(None))
    if client_ids is not None:
        ids = sorted(set(client_ids))
        for i in range(0, len(ids), 5000):
            chunk = ids[i:i + 5000]
            _collect(conn, qe.where(E.c.client_id.in_(chunk)), qc.where(C.c.id.in_(chunk)), out)
    else:
        _collect(conn, qe, qc, out)
    return {k: sorted(v) for k, v in out.items()}


def _collect(conn, qe, qc, out) -> None:
    for cid, datum, op in conn.execute(qe):
        out[cid].add(datum or op.date())
    for cid, bs in conn.execute(qc):
        out[cid].add(bs)


def bijstand_start_vastleggen(engine, client_id: int, datum: date, *, actor: str) -> None:
    """The client (re)entered bijstand on ``datum``: ``bijstand_sinds`` becomes that date and an event
    ``bijstand_gestart`` records who said so (the herinstroom figures and Kansen in Kaart read it)."""
    if not actor:
        raise OngeldigeInvoer("actor", "wie legt de bijstandsstart vast?")
    with engine.db.begin() as conn:
        client = engine._client(conn, client_id)
        if client.bijstand_sinds is not None and datum < client.bijstand_sinds:
            raise OngeldigeInvoer("datum", f"ligt voor de huidige bijstandsstart {client.bijstand_sinds.isoformat()}")
        conn.execute(C.update().where(C.c.id == client_id).values(bijstand_sinds=datum))
        conn.execute(E.insert().values(traject_id=None, client_id=client_id, stap_id=None, type="bijstand_gestart",
                                       actor=actor, op=engine.clock.now(), datum=datum,
                                       payload={"vorige_bijstand_sinds": client.bijstand_sinds.isoformat()
                                                if client.bijstand_sinds else None}))
