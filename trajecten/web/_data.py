"""What the pages and the API read and do, with the row-level access rules applied: one function per
question, used by both (so a page never shows what the API would refuse, and the other way round)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from trajecten.opslag import besluiten
from trajecten.privacy import logboek
from trajecten.basis.bsn import elfproef, maskeer, valideer_bsn
from trajecten.kern.definitie import FeitType, StapSoort
from trajecten.kern.engine import ALGEMENE_GEBEURTENISSEN
from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer
from trajecten.opslag.models import Gebruiker as GebruikerTabel
from trajecten.opslag.models import (Betaalbatch, Client, Gebeurtenis, GeplandeStap, Quarantaine, Taak, TaakStatus, Traject,
                      Uitbetaling)
from trajecten.basis.tijd import TZ, local_date
from trajecten.web._toegang import Gebruiker, betaling_filter, gebied_filter, ziet_betaling, ziet_gebied

C, T, S, E, K, U, B, Q = (Client.__table__, Traject.__table__, GeplandeStap.__table__, Gebeurtenis.__table__,
                          Taak.__table__, Uitbetaling.__table__, Betaalbatch.__table__, Quarantaine.__table__)
MIN_DATUM, MAX_DATUM = date(1900, 1, 1), date(2200, 12, 31)


def _iso(v):
    if isinstance(v, datetime):
        return v.astimezone(TZ).isoformat(timespec="minutes")
    if isinstance(v, date):
        return v.isoformat()
    return v


def vandaag(engine) -> date:
    return local_date(engine.clock.now())


# --------------------------------------------------------------------------- instruments and facts


def instrument(engine, naam: str):
    if naam not in engine.register.names():
        raise OngeldigeInvoer("instrument", f"onbekend; kies een van {', '.join(engine.register.names())}")
    return engine.register.current(naam)


def instrumenten(engine) -> list[dict]:
    out = []
    for name in engine.register.names():
        d = engine.register.current(name).definitie
        out.append({"instrument": name, "naam": d.naam, "omschrijving": d.omschrijving, "regel": d.regel,
                    "jaardoel": d.jaardoel.aantal, "uitkomsten": list(d.uitkomsten),
                    "feiten": {k: {"type": f.type.value, "verplicht": f.verplicht, "omschrijving": f.omschrijving}
                               for k, f in d.feiten.items()},
                    "gebeurtenissen": {k: g.titel for k, g in d.gebeurtenissen.items()
                                                       if not g.door_engine}})
    return out


def controleer_feiten(compiled, feiten: dict[str, Any]) -> dict[str, Any]:
    """Web-side bounds the engine does not need: date facts lie within 1900-2200."""
    for name, value in feiten.items():
        spec = compiled.definitie.feiten.get(name)
        if spec is None or spec.type is not FeitType.date or value in (None, ""):
            continue
        try:
            d = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
        except ValueError:
            continue  # the engine names the field
        if not MIN_DATUM <= d <= MAX_DATUM:
            raise OngeldigeInvoer(f"feit {name}", "datum buiten 1900-2200")
    return feiten


def controleer_datum(d: date | None, veld: str) -> date | None:
    if d is not None and not MIN_DATUM <= d <= MAX_DATUM:
        raise OngeldigeInvoer(veld, "datum buiten 1900-2200")
    return d


# --------------------------------------------------------------------------- clients


def _client_dict(r) -> dict:
    return {"id": r.id, "naam": r.naam, "bsn": maskeer(r.bsn), "geboortedatum": _iso(r.geboortedatum),
            "postcode": r.postcode, "gebied": r.gebied, "coach": r.coach, "doelgroep": r.doelgroep,
            "bijstand_sinds": _iso(r.bijstand_sinds),
            "iban": r.iban}


def clienten(engine, g: Gebruiker, q: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    where = [gebied_filter(g, C.c.gebied)]
    if q:
        esc = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(C.c.naam.ilike(f"%{esc}%", escape="\\"))
    with engine.reader.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(C).where(*where)).scalar_one()
        rows = conn.execute(sa.select(C).where(*where).order_by(C.c.naam, C.c.id).limit(limit).offset(offset)).all()
    logboek.noteer(r.id for r in rows)
    return {"totaal": total, "limit": limit, "offset": offset, "clienten": [_client_dict(r) for r in rows]}


_CLIENT_Q = sa.select(C).where(C.c.id == sa.bindparam("client_id"))  # built once: every request reads a client


def client_rij(conn, g: Gebruiker, client_id: int):
    """The client's row, read in ``conn`` (NietGevonden, a 404, when the user may not see it)."""
    row = conn.execute(_CLIENT_Q, {"client_id": client_id}).first()
    if row is None or not ziet_gebied(g, row.gebied):
        raise NietGevonden(f"cliënt {client_id} bestaat niet")  # also when not visible: existence not revealed
    logboek.noteer([row.id])
    return row


def zoek_bsn(engine, g: Gebruiker, bsn: str) -> int:
    bsn = valideer_bsn(bsn)
    with engine.reader.connect() as conn:
        row = conn.execute(sa.select(C.c.id, C.c.gebied).where(C.c.bsn == bsn)).first()
    if row is None or not ziet_gebied(g, row.gebied):
        raise NietGevonden("geen cliënt met dit BSN")
    logboek.noteer([row.id])
    return row.id


def client(engine, g: Gebruiker, client_id: int) -> dict:
    with engine.reader.connect() as conn:
        row = client_rij(conn, g, client_id)
        trajecten = conn.execute(sa.select(T).where(T.c.client_id == client_id).order_by(T.c.id.desc())).all()
        events = _events(conn, sa.select(E).where(E.c.client_id == client_id).order_by(E.c.op, E.c.id))
    out = _client_dict(row)
    out["trajecten"] = [_traject_dict(t) for t in trajecten]
    out["tijdlijn"] = events
    return out


def client_kort(engine, g: Gebruiker, client_id: int) -> dict:
    """The client's own data only (no trajectories, no timeline), with the row-level rule."""
    with engine.reader.connect() as conn:
        return _client_dict(client_rij(conn, g, client_id))


def check_client(engine, g: Gebruiker, client_id: int) -> None:
    with engine.reader.connect() as conn:
        client_rij(conn, g, client_id)


# --------------------------------------------------------------------------- trajectories


def _traject_dict(t) -> dict:
    return {"id": t.id, "client_id": t.client_id, "instrument": t.instrument, "definitie_versie": t.definitie_versie,
            "status": t.status, "uitkomst": t.uitkomst, "start_datum": _iso(t.start_datum),
            "eind_datum": _iso(t.eind_datum), "feiten": t.feiten, "gestart_door": t.gestart_door}


def _events(conn, q) -> list[dict]:
    """The events of ``q``, each decision they refer to in its place (``besluit``)."""
    rows = conn.execute(q).all()
    return [{"id": e.id, "traject_id": e.traject_id, "type": e.type, "door": e.actor, "op": _iso(e.op),
             "datum": _iso(e.datum), "payload": p, "regel": e.regel, "regel_versie": e.regel_versie}
            for e, p in zip(rows, besluiten.met_besluit(conn, [e.payload for e in rows]))]


def _stap_dict(s) -> dict:
    return {"id": s.id, "stap": s.stap, "volgnr": s.volgnr, "soort": s.kind, "due_at": _iso(s.due_at),
            "status": s.status, "uitkomst": s.uitkomst, "uitgevoerd_op": _iso(s.uitgevoerd_op),
            "te_laat_s": s.te_laat_s, "reden": s.reden, "pogingen": s.pogingen}


def _taak_dict(k) -> dict:
    return {"id": k.id, "traject_id": k.traject_id, "stap": k.stap, "titel": k.titel, "rol": k.rol,
            "toegewezen_aan": k.toegewezen_aan, "due_at": _iso(k.due_at), "status": k.status, "uitkomst": k.uitkomst,
            "gesloten_door": k.gesloten_door, "gesloten_op": _iso(k.gesloten_op)}


def traject_row(conn, g: Gebruiker, traject_id: int):
    row = conn.execute(sa.select(T, C.c.gebied, C.c.naam.label("client_naam")).join(C, C.c.id == T.c.client_id)
                       .where(T.c.id == traject_id)).first()
    if row is None or not ziet_gebied(g, row.gebied):
        raise NietGevonden(f"traject {traject_id} bestaat niet")
    logboek.noteer([row.client_id], f"instrument:{row.instrument}")
    return row


def check_traject(engine, g: Gebruiker, traject_id: int) -> None:
    with engine.reader.connect() as conn:
        traject_row(conn, g, traject_id)


def traject(engine, g: Gebruiker, traject_id: int) -> dict:
    with engine.reader.connect() as conn:
        tr = traject_row(conn, g, traject_id)
        steps = conn.execute(sa.select(S).where(S.c.traject_id == traject_id).order_by(S.c.due_at, S.c.id)).all()
        events = _events(conn, sa.select(E).where(E.c.traject_id == traject_id).order_by(E.c.id))
        tasks = conn.execute(sa.select(K).where(K.c.traject_id == traject_id).order_by(K.c.due_at, K.c.id)).all()
    out = _traject_dict(tr)
    out["client_naam"] = tr.client_naam
    out["stappen"] = [_stap_dict(s) for s in steps]
    out["gebeurtenissen"] = events
    out["taken"] = [_taak_dict(k) for k in tasks]
    try:
        compiled = engine.register.get(tr.instrument, tr.definitie_versie)
        d = compiled.definitie
        out["instrument_naam"] = d.naam
        out["mogelijke_uitkomsten"] = list(d.uitkomsten)
        out["mogelijke_gebeurtenissen"] = {**{k: v.titel for k, v in d.gebeurtenissen.items() if not v.door_engine},
                                           **{k: v.titel for k, v in ALGEMENE_GEBEURTENISSEN.items()}}
        for t in out["taken"]:
            st = compiled.steps.get(t["stap"])
            t["uitkomsten"] = list(st.uitkomsten) if st else []
    except KeyError:  # pragma: no cover - a definition version always exists for a trajectory
        out["instrument_naam"], out["mogelijke_uitkomsten"], out["mogelijke_gebeurtenissen"] = tr.instrument, [], {}
    return out


# --------------------------------------------------------------------------- worklist


TELLEN_TOT = 1000  # the worklist counts open tasks up to this many per section ("meer dan 1000")


def werklijst(engine, g: Gebruiker, coach: str | None = None, limit: int = 200) -> dict:
    """Open tasks of the clients the user may see: due today, overdue, later (each at most ``limit``)."""
    today = vandaag(engine)
    start_today = datetime.combine(today, datetime.min.time(), tzinfo=TZ)
    start_tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=TZ)
    base = (sa.select(K, T.c.instrument, T.c.definitie_versie, T.c.client_id, C.c.naam.label("client_naam"),
                      C.c.gebied)
            .join(T, T.c.id == K.c.traject_id).join(C, C.c.id == T.c.client_id)
            .where(K.c.status == TaakStatus.open.value, gebied_filter(g, C.c.gebied)))
    if coach:
        base = base.where(K.c.toegewezen_aan == coach)
    buckets = {"te_laat": K.c.due_at < start_today,
               "vandaag": sa.and_(K.c.due_at >= start_today, K.c.due_at < start_tomorrow),
               "later": K.c.due_at >= start_tomorrow}
    out: dict[str, Any] = {"datum": today.isoformat(), "coach": coach, "aantallen": {}, "afgekapt": {}}
    with engine.reader.connect() as conn:
        for name, cond in buckets.items():
            # counted up to TELLEN_TOT: a team lead's area holds tens of thousands of open tasks, and
            # counting them all on every page load cost most of the page (the caseload view has exact
            # counts per coach)
            n = conn.execute(sa.select(sa.func.count()).select_from(
                base.where(cond).with_only_columns(K.c.id).limit(TELLEN_TOT + 1).subquery())).scalar_one()
            out["aantallen"][name] = min(n, TELLEN_TOT)
            out["afgekapt"][name] = n > TELLEN_TOT
            rows = conn.execute(base.where(cond).order_by(K.c.due_at, K.c.id).limit(limit)).all()
            items = []
            for r in rows:
                d = _taak_dict(r)
                d.update(instrument=r.instrument, client_id=r.client_id, client_naam=r.client_naam, gebied=r.gebied)
                logboek.noteer([r.client_id], f"instrument:{r.instrument}")
                try:
                    st = engine.register.get(r.instrument, r.definitie_versie, conn).steps.get(r.stap)
                except KeyError:  # pragma: no cover
                    st = None
                d["uitkomsten"] = list(st.uitkomsten) if st is not None and st.kind is StapSoort.task else []
                items.append(d)
            out[name] = items
        # the coaches to choose from: the users of the visible area(s) and the area's team queue - not
        # a DISTINCT over every open task (that read all of them on each page load)
        G = GebruikerTabel.__table__
        users = conn.execute(sa.select(G.c.gebruikersnaam, G.c.gebied).where(
            G.c.actief.is_(True), G.c.rol == "coach", gebied_filter(g, G.c.gebied))
            .order_by(G.c.gebruikersnaam)).all()
    areas = sorted({u.gebied for u in users if u.gebied} | ({g.gebied} if g.gebied else set()))
    out["coaches"] = [u.gebruikersnaam for u in users] + [f"team:{a}" for a in areas]
    return out


def check_taak(engine, g: Gebruiker, taak_id: int) -> None:
    with engine.reader.connect() as conn:
        row = conn.execute(sa.select(C.c.gebied, C.c.id, T.c.instrument).join(T, T.c.client_id == C.c.id)
                           .join(K, K.c.traject_id == T.c.id).where(K.c.id == taak_id)).first()
    if row is None or not ziet_gebied(g, row.gebied):
        raise NietGevonden(f"taak {taak_id} bestaat niet")
    logboek.noteer([row.id], f"instrument:{row.instrument}")


# --------------------------------------------------------------------------- payouts


def beoordeling(g: Gebruiker, row) -> str | None:
    """Why ``g`` may not approve or reject this payout (four-eyes), or None when they may."""
    if row.status not in ("voorgesteld", "goedgekeurd"):
        return f"status {row.status}"
    if g.actor == row.voorgesteld_door:
        return "u heeft deze uitbetaling zelf voorgesteld; een tweede persoon beoordeelt"
    if g.actor == row.gestart_door:
        return "u heeft dit traject gestart; een tweede persoon beoordeelt"
    return None


def uitbetalingen(engine, g: Gebruiker, status: str | None = None, limit: int = 200, offset: int = 0) -> dict:
    where = [betaling_filter(g, C.c.gebied)]
    if status:
        where.append(U.c.status == status)
    q = (sa.select(U, T.c.instrument, T.c.gestart_door, T.c.client_id, C.c.naam.label("client_naam"), C.c.iban,
                   C.c.gebied)
         .join(T, T.c.id == U.c.traject_id).join(C, C.c.id == T.c.client_id).where(*where))
    with engine.reader.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.order_by(U.c.id).limit(limit).offset(offset)).all()
    logboek.noteer((r.client_id for r in rows), "uitbetalingen")
    items = []
    for r in rows:
        why = beoordeling(g, r)
        items.append({"id": r.id, "traject_id": r.traject_id, "instrument": r.instrument, "deel": r.deel,
                      "bedrag": f"{r.bedrag:.2f}", "opeisbaar_op": _iso(r.opeisbaar_op), "status": r.status,
                      "regel": r.regel, "regel_versie": r.regel_versie, "voorgesteld_door": r.voorgesteld_door,
                      "voorgesteld_op": _iso(r.voorgesteld_op), "gestart_door": r.gestart_door,
                      "beoordeeld_door": r.beoordeeld_door, "afwijzing_reden": r.afwijzing_reden,
                      "batch_id": r.batch_id, "client_naam": r.client_naam,
                      "ontvanger": r.ontvanger_naam or r.client_naam, "iban": r.ontvanger_iban or r.iban,
                      "gebied": r.gebied,
                      "mag_beoordelen": why is None, "niet_beoordelen_omdat": why})
    return {"totaal": total, "limit": limit, "offset": offset, "uitbetalingen": items}


def check_uitbetaling(engine, g: Gebruiker, uitbetaling_id: int) -> None:
    with engine.reader.connect() as conn:
        row = conn.execute(sa.select(C.c.gebied, C.c.id).join(T, T.c.client_id == C.c.id)
                           .join(U, U.c.traject_id == T.c.id).where(U.c.id == uitbetaling_id)).first()
    if row is None or not ziet_betaling(g, row.gebied):
        raise NietGevonden(f"uitbetaling {uitbetaling_id} bestaat niet")
    logboek.noteer([row.id], "uitbetalingen")


def batches(engine, limit: int = 20) -> list[dict]:
    with engine.reader.connect() as conn:
        rows = conn.execute(sa.select(B.c.id, B.c.bericht_id, B.c.aangemaakt_op, B.c.door, B.c.aantal, B.c.totaal)
                            .order_by(B.c.id.desc()).limit(limit)).all()
    return [{"id": r.id, "bericht_id": r.bericht_id, "aangemaakt_op": _iso(r.aangemaakt_op), "door": r.door,
             "aantal": r.aantal, "totaal": f"{r.totaal:.2f}"} for r in rows]


# --------------------------------------------------------------------------- quarantine


def quarantaine(engine, alles: bool = False, limit: int = 200, offset: int = 0) -> dict:
    q = sa.select(Q)
    if not alles:
        q = q.where(Q.c.status == "open")
    with engine.reader.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.order_by(Q.c.id).limit(limit).offset(offset)).all()
    _noteer_quarantaine(rows)
    return {"totaal": total, "records": [
        {"id": r.id, "bron": r.bron, "regelnr": r.regelnr, "inhoud": r.inhoud, "redenen": r.redenen,
         "ontvangen_op": _iso(r.ontvangen_op), "status": r.status, "verwerkt_door": r.verwerkt_door}
        for r in rows]}


def _noteer_quarantaine(rows) -> None:
    """Quarantined records are shown raw: each valid BSN in them is a data subject of this processing."""
    import json
    import re

    v = logboek.huidige()
    if v is None:
        return
    for r in rows:
        try:
            obj = json.loads(r.inhoud)
            found = [str(obj.get("bsn", ""))] if isinstance(obj, dict) else []
        except ValueError:  # a CSV line or broken JSON: any 9-digit number passing the 11-test
            found = re.findall(r"(?<!\d)\d{9}(?!\d)", r.inhoud)
        for bsn in found:
            if elfproef(bsn):
                v.noteer_bsn(bsn, "uwv_feed")
