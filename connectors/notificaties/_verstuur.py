"""Send: deliver waiting outbox rows, retry failures with backoff, and surface the ones that keep failing.

A run claims the due rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one writer) and leases them
for a while, then talks to the mail server outside any transaction, so an SMTP server that hangs never
holds a database lock. Success marks a row ``verzonden``; a failure counts an attempt and plans the next
one; when the attempts run out the row becomes ``mislukt`` and a ``melding_mislukt`` event tells a
person. A delivery problem never raises out of :func:`verstuur`. Delivery is at least once: a process
that dies between sending and marking sends that mail again after the lease.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from trajecten.basis.herhalen import RetryPolicy

from trajecten.opslag.models import Gebeurtenis, Melding

from ._exceptions import VerzendFout
from ._smtp import Bericht, Verzender, zonder_bsn

M, E = Melding.__table__, Gebeurtenis.__table__
ACTOR = "systeem:meldingen"
log = logging.getLogger("connectors.notificaties")


# a failed mail: 60 s, 2, 4, 8 ... minutes (at most an hour), 5 attempts in all
HERHAALBELEID = RetryPolicy(pogingen=5, start_s=60, max_s=3600)
LEASE_S = 600  # a claimed row is not picked up by another run for this long


def _fout(exc: Exception, bericht: Bericht) -> str:
    """What is stored and logged about a failure: never the mail body."""
    if isinstance(exc, VerzendFout):
        text = str(exc)
    else:  # an unexpected error from a Verzender: its text might quote the message, so only its class
        text = f"{type(exc).__name__} (onverwachte fout in de verzender)"
    if bericht.tekst.strip() and bericht.tekst.strip() in text:
        text = type(exc).__name__
    return zonder_bsn(text)[:500]


def verstuur(engine, verzender: Verzender, now: datetime | None = None, *,
             beleid: RetryPolicy = HERHAALBELEID, limiet: int = 1000) -> dict[str, int]:
    """Send the waiting rows that are due; returns counts {verzonden, opnieuw, mislukt}."""
    now = now or engine.clock.now()
    res = {"verzonden": 0, "opnieuw": 0, "mislukt": 0}
    with engine.db.begin() as conn:
        q = (sa.select(M.c.id, M.c.ontvanger, M.c.adres, M.c.onderwerp, M.c.tekst, M.c.pogingen)
             .where(M.c.status == "wachtend",
                    sa.or_(M.c.volgende_poging_op.is_(None), M.c.volgende_poging_op <= now))
             .order_by(M.c.id).limit(limiet))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = conn.execute(q).all()
        if rows:
            conn.execute(M.update().where(M.c.id.in_([r.id for r in rows]))
                         .values(volgende_poging_op=now + timedelta(seconds=LEASE_S)))
    for r in rows:
        bericht = Bericht(aan=r.adres, onderwerp=r.onderwerp, tekst=r.tekst, melding_id=r.id)
        try:
            verzender.verstuur(bericht)
        except Exception as exc:  # noqa: BLE001 - a delivery problem must never crash the job
            _mislukt(engine, r, _fout(exc, bericht), now, beleid, res)
        else:
            with engine.db.begin() as conn:
                conn.execute(M.update().where(M.c.id == r.id).values(
                    status="verzonden", verzonden_op=now, volgende_poging_op=None))
            res["verzonden"] += 1
    return res


def _mislukt(engine, r, fout: str, now: datetime, beleid: RetryPolicy, res: dict) -> None:
    pogingen = r.pogingen + 1
    with engine.db.begin() as conn:
        if beleid.uitgeput(pogingen):
            conn.execute(M.update().where(M.c.id == r.id).values(
                status="mislukt", pogingen=pogingen, laatste_fout=fout, volgende_poging_op=None))
            conn.execute(E.insert().values(
                traject_id=None, client_id=None, stap_id=None, type="melding_mislukt", actor=ACTOR, op=now,
                datum=None, payload={"melding": r.id, "ontvanger": r.ontvanger, "fout": fout},
                regel=None, regel_versie=None))
            res["mislukt"] += 1
            log.error("melding %s aan %s mislukt na %s pogingen: %s", r.id, r.ontvanger, pogingen, fout)
        else:
            conn.execute(M.update().where(M.c.id == r.id).values(
                pogingen=pogingen, laatste_fout=fout, volgende_poging_op=now + beleid.wacht(pogingen)))
            res["opnieuw"] += 1
            log.warning("melding %s aan %s niet verzonden (poging %s): %s", r.id, r.ontvanger, pogingen, fout)
