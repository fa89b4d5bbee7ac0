"""The outbox between the engine and the Zaken API.

:func:`vul` reads the engine's events after the ``zgw`` cursor and writes what must be registered
as ``zgw_opdracht`` rows, in the same transaction that moves the cursor:

    traject_gestart                       -> zaak, status <gepland|actief>
    first step fired of a gepland traject -> status actief
    traject_beeindigd                     -> resultaat <uitkomst>, status afgerond (the end status)

:func:`verwerk` sends the waiting rows in order, per trajectory (a status needs its zaak; the end
status needs the resultaat). A call that fails because the service is down is tried again later with
a growing delay; a refused call (4xx: our request is wrong) and a row whose attempts ran out become
``mislukt`` with a ``zgw_mislukt`` event for a person. Nothing here raises for a service outage: the
engine keeps working and the outbox catches up when the service is back.

No personal data goes to ZGW: a zaak carries the instrument, dates, the trajectory id and the outcome;
never the client's BSN, name or the free-text reasons staff typed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trajecten.privacy import logboek
from trajecten.opslag.models import Gebeurtenis, KoppelingCursor, Traject, ZgwOpdracht, ZgwZaak
from trajecten.kern.sweep import STAP_EVENT_TYPES

from ._client import VERZOEK, RetryPolicy, ZakenClient
from ._exceptions import BlijvendeFout, TijdelijkeFout
from ._zaaktypen import FASEN, Zaaktype, lees, voor

if TYPE_CHECKING:
    from trajecten.basis.config import Settings
    from trajecten.kern.engine import Engine

E, T, O, Z, KC = (Gebeurtenis.__table__, Traject.__table__, ZgwOpdracht.__table__, ZgwZaak.__table__,
                  KoppelingCursor.__table__)
CURSOR = "zgw"
ACTOR = "systeem:zgw"
# Event ids are handed out when a transaction inserts, not when it commits: on PostgreSQL a transaction
# may commit an id lower than one already seen. Each run re-reads this many ids before the cursor;
# the unique (gebeurtenis_id, soort) makes the re-read a no-op for rows already written.
TERUGKIJKEN = 5000


# --------------------------------------------------------------------------- filling the outbox


def vul(engine: "Engine") -> int:
    """Write the outbox rows for the events after the cursor; returns how many rows were new."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        q = sa.select(KC.c.waarde).where(KC.c.naam == CURSOR)
        if engine.is_postgres:
            q = q.with_for_update()
        cursor = int(conn.execute(q).scalar() or 0)
        hi = conn.execute(sa.select(sa.func.max(E.c.id))).scalar() or 0
        lo = max(cursor - TERUGKIJKEN, 0)
        todo: list[tuple[int, int, str, dict]] = []  # (event id, traject id, what, payload)
        for ev in conn.execute(sa.select(E.c.id, E.c.traject_id, E.c.type, E.c.op, E.c.payload)
                               .where(E.c.id > lo, E.c.id <= hi,
                                      E.c.type.in_(("traject_gestart", "traject_beeindigd")))):
            p = ev.payload or {}
            if ev.type == "traject_gestart":
                todo.append((ev.id, ev.traject_id, "zaak", {"instrument": p.get("instrument"),
                                                             "startdatum": p.get("start_datum")}))
                todo.append((ev.id, ev.traject_id, "status", {"fase": p.get("status") or "actief",
                                                               "datum": ev.op.isoformat()}))
            else:
                todo.append((ev.id, ev.traject_id, "resultaat", {"uitkomst": p.get("uitkomst")}))
                todo.append((ev.id, ev.traject_id, "status", {"fase": "afgerond", "datum": ev.op.isoformat()}))
        todo.extend(_activeringen(conn, lo, hi))
        todo.sort(key=lambda t: (t[0], ("zaak", "resultaat", "status").index(t[2])))
        rows = [{"traject_id": tid, "gebeurtenis_id": eid, "soort": soort, "payload": payload,
                 "status": "wachtend", "pogingen": 0, "aangemaakt_op": now} for eid, tid, soort, payload in todo]
        nieuw = 0
        for row in rows:  # one by one: the ids follow the events' order; a row written before is skipped
            nieuw += len(conn.execute(_insert_ignore(conn).values(**row).returning(O.c.id)).all())
        if conn.execute(sa.update(KC).where(KC.c.naam == CURSOR)
                        .values(waarde=str(max(hi, cursor)), bijgewerkt_op=now)).rowcount == 0:
            conn.execute(KC.insert().values(naam=CURSOR, waarde=str(max(hi, cursor)), bijgewerkt_op=now))
    return nieuw


def _insert_ignore(conn):
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    return mod.insert(O).on_conflict_do_nothing(index_elements=["gebeurtenis_id", "soort"])


def _activeringen(conn, lo: int, hi: int) -> list[tuple[int, int, str, dict]]:
    """A trajectory that started ``gepland`` becomes active when its first step fires (the sweep sets
    it ``actief`` in the same transaction): the first step event of a trajectory in (lo, hi]."""
    in_window = (sa.select(E.c.traject_id).where(E.c.id > lo, E.c.id <= hi, E.c.type.in_(STAP_EVENT_TYPES))
                 .distinct().scalar_subquery())
    firsts = conn.execute(sa.select(E.c.traject_id, sa.func.min(E.c.id).label("eid"))
                          .where(E.c.type.in_(STAP_EVENT_TYPES), E.c.traject_id.in_(in_window))
                          .group_by(E.c.traject_id).having(sa.func.min(E.c.id) > lo)).all()
    if not firsts:
        return []
    first_by_traject = {r.traject_id: r.eid for r in firsts}
    gepland = {r.traject_id for r in conn.execute(
        sa.select(E.c.traject_id, E.c.payload).where(E.c.type == "traject_gestart",
                                                     E.c.traject_id.in_(list(first_by_traject))))
        if (r.payload or {}).get("status") == "gepland"}
    if not gepland:
        return []
    ops = dict(conn.execute(sa.select(E.c.id, E.c.op).where(E.c.id.in_([first_by_traject[t] for t in gepland]))).all())
    return [(first_by_traject[t], t, "status", {"fase": "actief", "datum": ops[first_by_traject[t]].isoformat()})
            for t in gepland]


# --------------------------------------------------------------------------- sending


def verwerk(engine: "Engine", client: ZakenClient, now: datetime | None = None, *,
            zaaktypen: Mapping[str, Zaaktype] | None = None, limit: int = 500) -> dict:
    """Send the waiting outbox rows (oldest first, in order per trajectory). Never raises for an outage:
    the first call that finds the service down ends the run (the rest waits for the next run)."""
    s = engine.settings
    now = now or engine.clock.now()
    zaaktypen = zaaktypen if zaaktypen is not None else lees(s.zgw_zaaktypen)
    policy = RetryPolicy(pogingen=s.zgw_max_pogingen, start_s=s.zgw_retry_start_s, max_s=s.zgw_retry_max_s)
    res: Counter = Counter()
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(O).where(O.c.status == "wachtend").order_by(O.c.id).limit(limit)).all()
        tids = list({r.traject_id for r in rows})
        blocked = set(conn.execute(sa.select(O.c.traject_id).where(
            O.c.status == "mislukt", O.c.traject_id.in_(tids))).scalars()) if tids else set()
        trajecten = {r.id: r for r in conn.execute(sa.select(T.c.id, T.c.instrument, T.c.client_id)
                                                   .where(T.c.id.in_(tids)))} if tids else {}
        zaken = {r.traject_id: r._asdict() for r in conn.execute(sa.select(Z).where(Z.c.traject_id.in_(tids)))} \
            if tids else {}
    for r in rows:
        if r.traject_id in blocked:  # an earlier row of this trajectory waits or failed: keep the order
            res["geblokkeerd"] += 1
            continue
        if r.volgende_poging_op is not None and r.volgende_poging_op > now:
            blocked.add(r.traject_id)
            res["later"] += 1
            continue
        tr = trajecten[r.traject_id]
        logboek.noteer([tr.client_id], f"instrument:{tr.instrument}")
        try:
            zaak_update = _stuur(client, s, zaaktypen, r, tr, zaken.get(r.traject_id), now)
        except TijdelijkeFout as exc:
            blocked.add(r.traject_id)
            res["mislukt" if _mislukt(engine, r, tr, exc, now, policy) else "uitgesteld"] += 1
            break  # the service is down: stop probing, the next run tries again
        except BlijvendeFout as exc:
            blocked.add(r.traject_id)
            _mislukt(engine, r, tr, exc, now, policy, blijvend=True)
            res["mislukt"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - a bug in one row never stops the others
            blocked.add(r.traject_id)
            res["mislukt" if _mislukt(engine, r, tr, exc, now, policy) else "uitgesteld"] += 1
            continue
        with engine.db.begin() as conn:
            if zaak_update is not None:
                zaak_update["bijgewerkt_op"] = now
                if r.traject_id in zaken:
                    conn.execute(Z.update().where(Z.c.traject_id == r.traject_id).values(**zaak_update))
                else:
                    conn.execute(Z.insert().values(traject_id=r.traject_id, **zaak_update))
                zaken.setdefault(r.traject_id, {}).update(zaak_update)
            conn.execute(O.update().where(O.c.id == r.id).values(
                status="klaar", klaar_op=now, pogingen=r.pogingen + 1, laatste_fout=None, volgende_poging_op=None))
        res["verzonden" if zaak_update is not None else "al_gedaan"] += 1
    with engine.db.connect() as conn:
        res["wachtend"] = conn.execute(sa.select(sa.func.count()).select_from(O)
                                       .where(O.c.status == "wachtend")).scalar_one()
    return {k: res.get(k, 0) for k in ("verzonden", "al_gedaan", "uitgesteld", "mislukt", "later", "geblokkeerd",
                                       "wachtend")}


def _stuur(client: ZakenClient, s: "Settings", zaaktypen, r, tr, zaak: dict | None, now) -> dict | None:
    """Do one outbox row; returns the ``zgw_zaak`` values to store, or None when it was already done."""
    zt = voor(zaaktypen, tr.instrument)
    p = r.payload or {}
    if r.soort == "zaak":
        if zaak is not None:
            return None
        body = {
            "identificatie": f"{s.zgw_identificatie_prefix}{r.traject_id}",
            "bronorganisatie": s.zgw_rsin,
            "verantwoordelijkeOrganisatie": s.zgw_rsin,
            "zaaktype": zt.zaaktype,
            "startdatum": p.get("startdatum") or now.date().isoformat(),
            "omschrijving": f"{zt.omschrijving} traject {r.traject_id}"[:80],
        }
        found = client.registreer_zaak(body)
        return {"zaak_url": found["url"], "laatste_status": None, "resultaat_gezet": False}
    if zaak is None:
        raise BlijvendeFout(f"{r.soort} zonder zaak voor traject {r.traject_id}")  # cannot happen in order
    if r.soort == "status":
        fase = p["fase"]
        done = zaak.get("laatste_status")
        if done in FASEN and FASEN.index(done) >= FASEN.index(fase):
            return None
        client.zet_status(zaak["zaak_url"], zt.statustype(fase), datetime.fromisoformat(p["datum"]))
        return {"laatste_status": fase}
    if r.soort == "resultaat":
        if zaak.get("resultaat_gezet"):
            return None
        uitkomst = p.get("uitkomst")
        client.zet_resultaat(zaak["zaak_url"], zt.resultaattype(uitkomst), f"Uitkomst: {uitkomst}")
        return {"resultaat_gezet": True}
    raise BlijvendeFout(f"onbekende soort {r.soort!r}")


def _mislukt(engine: "Engine", r, tr, exc: Exception, now: datetime, policy: RetryPolicy,
             blijvend: bool = False) -> bool:
    """Record a failed attempt: later again, or (refused / attempts ran out) ``mislukt`` with an event."""
    attempts = r.pogingen + 1
    msg = f"{type(exc).__name__}: {exc}"[:2000]
    with engine.db.begin() as conn:
        if blijvend or policy.uitgeput(attempts):
            conn.execute(O.update().where(O.c.id == r.id).values(status="mislukt", pogingen=attempts,
                                                                 laatste_fout=msg, volgende_poging_op=None))
            conn.execute(E.insert().values(
                traject_id=r.traject_id, client_id=tr.client_id, stap_id=None, type="zgw_mislukt", actor=ACTOR,
                op=now, datum=None, payload={"opdracht": r.id, "soort": r.soort, "pogingen": attempts,
                                             "fout": msg[:500]}))
            return True
        conn.execute(O.update().where(O.c.id == r.id).values(
            pogingen=attempts, laatste_fout=msg, volgende_poging_op=now + policy.wacht(attempts)))
        return False


def opnieuw(engine: "Engine", *, door: str, traject_id: int | None = None) -> int:
    """A person fixed the cause: put the ``mislukt`` rows (of one trajectory, or all) back in the queue."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        q = sa.select(O.c.id, O.c.traject_id, O.c.soort).where(O.c.status == "mislukt")
        if traject_id is not None:
            q = q.where(O.c.traject_id == traject_id)
        rows = conn.execute(q).all()
        if not rows:
            return 0
        conn.execute(O.update().where(O.c.id.in_([r.id for r in rows]))
                     .values(status="wachtend", pogingen=0, volgende_poging_op=None))
        clients = dict(conn.execute(sa.select(T.c.id, T.c.client_id)
                                    .where(T.c.id.in_({r.traject_id for r in rows}))).all())
        conn.execute(E.insert(), [{"traject_id": r.traject_id, "client_id": clients.get(r.traject_id), "stap_id": None,
                                   "type": "zgw_opnieuw", "actor": door, "op": now, "datum": None,
                                   "payload": {"opdracht": r.id, "soort": r.soort}, "regel": None,
                                   "regel_versie": None} for r in rows])
    return len(rows)


# --------------------------------------------------------------------------- the scheduled job


def client(settings: "Settings", transport=None) -> ZakenClient:
    """A client from the settings (TRAJECTEN_ZGW_*)."""
    return ZakenClient(settings.zgw_zaken_url or "", settings.zgw_client_id, settings.zgw_secret.get_secret_value(),
                       timeout=settings.zgw_timeout_s, retry=replace(VERZOEK, pogingen=settings.zgw_verzoek_pogingen),
                       transport=transport)


def job(engine: "Engine") -> dict:
    """Fill the outbox and send it (the scheduler's ``zgw`` job, the Prefect flow ``zgw``). Counts only."""
    s = engine.settings
    if not s.zgw_zaken_url:
        return {"actief": False}
    nieuw = vul(engine)
    # Logboek Dataverwerkingen: the trajectories (clients) registered as zaken (noted by ``verwerk``)
    with logboek.verwerking(engine, "clientadministratie", gebruiker=ACTOR, naam="zaakregistratie (ZGW)",
                            component="zgw"), client(s) as c:
        return {"nieuw": nieuw, **verwerk(engine, c)}
