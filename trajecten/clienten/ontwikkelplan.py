"""The ontwikkelplan: per client one current plan, made with the coach, owned by the client.

A plan holds goals (``doelen``), agreed steps with dates (``stappen``) and the agreements of both sides
(``afspraken_client``, ``afspraken_coach``). It is versioned: every change writes the full new content as
a version with who changed it and why (a reason is required), plus an event ``ontwikkelplan_gewijzigd``
on the client's timeline. An edit names the version it was based on; when someone else saved in between
it is refused (nothing is overwritten unseen).

A step may name an instrument; a trajectory started from it is linked (``koppel_traject``: the step
becomes ``gestart``), and when that trajectory ends, ``ontwikkeling.bijwerken_uit_trajecten`` marks the
step ``afgerond`` with the outcome (a new version by ``systeem:uitkomst``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer, OngeldigeToestand
from trajecten.opslag.models import Client, Gebeurtenis, Ontwikkelplan, OntwikkelplanTraject, OntwikkelplanVersie

P, V, PT, E, C = (Ontwikkelplan.__table__, OntwikkelplanVersie.__table__, OntwikkelplanTraject.__table__,
                  Gebeurtenis.__table__, Client.__table__)

MAX_REGELS, MAX_STAPPEN, MAX_TEKST = 20, 30, 500
STAP_STATUS = ("open", "gestart", "afgerond")
LEEG: dict = {"doelen": [], "afspraken_client": [], "afspraken_coach": [], "stappen": []}
KOPPEN = {"doelen": "doelen", "afspraken_client": "afspraken cliënt", "afspraken_coach": "afspraken coach"}


# --------------------------------------------------------------------------- reading


def lees(conn, client_id: int):
    return conn.execute(sa.select(P).where(P.c.client_id == client_id)).first()


def plan(engine, client_id: int) -> dict:
    """The current plan (``versie`` None when there is none yet) and all versions, newest first."""
    with engine.reader.connect() as conn:
        row = lees(conn, client_id)
        versies = conn.execute(sa.select(V).where(V.c.client_id == client_id).order_by(V.c.versie.desc())).all()
    return {"client_id": client_id, "versie": row.versie if row else None,
            "inhoud": row.inhoud if row else dict(LEEG),
            "bijgewerkt_door": row.bijgewerkt_door if row else None,
            "bijgewerkt_op": row.bijgewerkt_op.isoformat(timespec="minutes") if row else None,
            "versies": [{"versie": v.versie, "door": v.door, "reden": v.reden, "op": v.op.isoformat(timespec="minutes"),
                         "wijzigingen": v.wijzigingen, "traject_id": v.traject_id, "inhoud": v.inhoud}
                        for v in versies]}


def stap(inhoud: dict, stap_id: str) -> dict | None:
    return next((s for s in inhoud.get("stappen", ()) if s.get("id") == stap_id), None)


# --------------------------------------------------------------------------- changing


def opslaan(engine, client_id: int, invoer: dict[str, Any], *, door: str, reden: str,
            basis_versie: int | None = None, conn=None) -> int:
    """Save a new version of the client's plan from ``invoer`` (doelen, afspraken_client, afspraken_coach,
    stappen: [{id?, omschrijving, datum?, instrument?, status?}]). ``reden`` is required; ``basis_versie``
    (the version the edit started from) guards against overwriting someone else's change. Returns the
    new version number."""
    reden = _tekst(reden, "reden", verplicht=True)
    if not door:
        raise OngeldigeInvoer("door", "wie wijzigt het plan?")
    with engine.transaction(conn) as conn:
        if conn.execute(sa.select(C.c.id).where(C.c.id == client_id)).first() is None:
            raise NietGevonden(f"cliënt {client_id} bestaat niet")
        huidig = lees(conn, client_id)
        if basis_versie is not None and basis_versie != (huidig.versie if huidig else 0):
            raise OngeldigeToestand(f"het plan is intussen gewijzigd (nu versie {huidig.versie if huidig else 0}, "
                                    f"u werkte op versie {basis_versie}); open het opnieuw")
        oud = huidig.inhoud if huidig else LEEG
        teller = huidig.stap_teller if huidig else 0
        nieuw, teller = _normaliseer(engine, oud, invoer, teller)
        return _schrijf(engine, conn, client_id, huidig, nieuw, teller, door=door, reden=reden)


def koppel_traject(engine, conn, client_id: int, stap_id: str, traject_id: int, *, door: str) -> int:
    """Record that ``traject_id`` was started from plan step ``stap_id`` (in the caller's transaction,
    together with the start): the step becomes ``gestart``. Returns the new plan version."""
    huidig = lees(conn, client_id)
    s = stap(huidig.inhoud, stap_id) if huidig else None
    if s is None:
        raise OngeldigeInvoer("planstap", f"stap {stap_id} staat niet in het ontwikkelplan")
    conn.execute(PT.insert().values(traject_id=traject_id, client_id=client_id, stap=stap_id, gekoppeld_door=door,
                                    gekoppeld_op=engine.clock.now()))
    nieuw = _kopie(huidig.inhoud)
    s = stap(nieuw, stap_id)
    s.update(status="gestart", traject_id=traject_id, uitkomst=None)
    return _schrijf(engine, conn, client_id, huidig, nieuw, huidig.stap_teller, door=door,
                    reden=f"traject {traject_id} gestart vanuit stap {stap_id}", traject_id=traject_id)


def controleer_planstap(engine, client_id: int, stap_id: str, instrument: str) -> dict:
    """May a trajectory of ``instrument`` be started from plan step ``stap_id``? Returns the step."""
    with engine.reader.connect() as conn:
        huidig = lees(conn, client_id)
    s = stap(huidig.inhoud, stap_id) if huidig else None
    if s is None:
        raise OngeldigeInvoer("planstap", f"stap {stap_id} staat niet in het ontwikkelplan")
    if s.get("instrument") and s["instrument"] != instrument:
        raise OngeldigeInvoer("planstap", f"stap {stap_id} noemt instrument {s['instrument']}, niet {instrument}")
    if s.get("status") == "gestart":
        raise OngeldigeInvoer("planstap", f"vanuit stap {stap_id} loopt al traject {s.get('traject_id')}")
    return s


def traject_afgerond(engine, conn, client_id: int, traject_id: int, instrument: str, uitkomst: str | None) -> int | None:
    """A linked trajectory ended: its step becomes ``afgerond`` with the outcome (new version by the system).
    None when there is nothing to change (the step is gone, taken by a later trajectory, or already so)."""
    huidig = lees(conn, client_id)
    link = conn.execute(sa.select(PT.c.stap).where(PT.c.traject_id == traject_id)).first()
    s = stap(huidig.inhoud, link.stap) if huidig is not None and link is not None else None
    if s is None or s.get("traject_id") != traject_id:  # the step is gone, or a later trajectory took it
        return None
    nieuw = _kopie(huidig.inhoud)
    s = stap(nieuw, link.stap)
    s.update(status="afgerond", uitkomst=uitkomst)
    if not verschil(huidig.inhoud, nieuw):
        return None
    return _schrijf(engine, conn, client_id, huidig, nieuw, huidig.stap_teller, door="systeem:uitkomst",
                    reden=f"traject {traject_id} ({instrument}) beëindigd met uitkomst {uitkomst or 'onbekend'}",
                    traject_id=traject_id)


def _schrijf(engine, conn, client_id: int, huidig, nieuw: dict, teller: int, *, door: str, reden: str,
             traject_id: int | None = None) -> int:
    oud = huidig.inhoud if huidig else LEEG
    wijzigingen = verschil(oud, nieuw)
    if not wijzigingen:
        raise OngeldigeInvoer("plan", "er is niets gewijzigd")
    now = engine.clock.now()
    versie = (huidig.versie if huidig else 0) + 1
    if huidig is None:
        conn.execute(P.insert().values(client_id=client_id, versie=versie, inhoud=nieuw, stap_teller=teller,
                                       bijgewerkt_door=door, bijgewerkt_op=now))
    else:  # only if nobody saved in between (the version is the guard)
        n = conn.execute(P.update().where(P.c.client_id == client_id, P.c.versie == huidig.versie).values(
            versie=versie, inhoud=nieuw, stap_teller=teller, bijgewerkt_door=door, bijgewerkt_op=now)).rowcount
        if n != 1:
            raise OngeldigeToestand("het plan is intussen gewijzigd; open het opnieuw")
    conn.execute(V.insert().values(client_id=client_id, versie=versie, inhoud=nieuw, door=door, reden=reden,
                                   wijzigingen=wijzigingen, traject_id=traject_id, op=now))
    conn.execute(E.insert().values(traject_id=traject_id, client_id=client_id, stap_id=None,
                                   type="ontwikkelplan_gewijzigd", actor=door, op=now, datum=None,
                                   payload={"versie": versie, "reden": reden},  # what changed: in the version
                                   regel=None, regel_versie=None))
    return versie


# --------------------------------------------------------------------------- checking the input


def _tekst(v: Any, veld: str, verplicht: bool = False, max_len: int = MAX_TEKST) -> str:
    if v is None:
        v = ""
    if not isinstance(v, str):
        raise OngeldigeInvoer(veld, "tekst verwacht")
    v = v.replace("\x00", "").strip()
    if verplicht and not v:
        raise OngeldigeInvoer(veld, "verplicht: geef een reden" if veld == "reden" else "verplicht")
    if len(v) > max_len:
        raise OngeldigeInvoer(veld, f"hoogstens {max_len} tekens")
    return v


def _regels(v: Any, veld: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        v = v.splitlines()
    if not isinstance(v, list):
        raise OngeldigeInvoer(veld, "een lijst met teksten")
    out = [t for i, x in enumerate(v) if (t := _tekst(x, f"{veld}[{i}]"))]
    if len(out) > MAX_REGELS:
        raise OngeldigeInvoer(veld, f"hoogstens {MAX_REGELS} regels")
    return out


def _datum(v: Any, veld: str) -> str | None:
    if v in (None, ""):
        return None
    try:
        d = v if isinstance(v, date) else date.fromisoformat(str(v))
    except ValueError:
        raise OngeldigeInvoer(veld, "geen datum (JJJJ-MM-DD)") from None
    if not date(1900, 1, 1) <= d <= date(2200, 12, 31):
        raise OngeldigeInvoer(veld, "datum buiten 1900-2200")
    return d.isoformat()


def _normaliseer(engine, oud: dict, invoer: dict, teller: int) -> tuple[dict, int]:
    """The new content from the input, with the system-managed step fields (status of a started step,
    traject, outcome) carried over from the current version."""
    if not isinstance(invoer, dict):
        raise OngeldigeInvoer("plan", "een object met doelen, stappen en afspraken")
    nieuw = {k: _regels(invoer.get(k), k) for k in ("doelen", "afspraken_client", "afspraken_coach")}
    if not nieuw["doelen"]:
        raise OngeldigeInvoer("doelen", "noem minstens één doel")
    ruw = invoer.get("stappen") or []
    if not isinstance(ruw, list):
        raise OngeldigeInvoer("stappen", "een lijst met stappen")
    if len(ruw) > MAX_STAPPEN:
        raise OngeldigeInvoer("stappen", f"hoogstens {MAX_STAPPEN} stappen")
    bekend = {s["id"]: s for s in oud.get("stappen", ())}
    instrumenten = set(engine.register.names())
    stappen, gezien = [], set()
    for i, s in enumerate(ruw):
        veld = f"stappen[{i}]"
        if not isinstance(s, dict):
            raise OngeldigeInvoer(veld, "een stap: omschrijving, datum, instrument")
        sid = s.get("id") or None
        vorige = None
        if sid is not None:
            vorige = bekend.get(sid)
            if vorige is None or sid in gezien:
                raise OngeldigeInvoer(f"{veld}.id", f"onbekende of dubbele stap {str(sid)[:20]!r}")
            gezien.add(sid)
        omschrijving = _tekst(s.get("omschrijving"), f"{veld}.omschrijving", verplicht=True, max_len=300)
        datum = _datum(s.get("datum"), f"{veld}.datum")
        instrument = _tekst(s.get("instrument"), f"{veld}.instrument", max_len=50) or None
        if instrument is not None and instrument not in instrumenten:
            raise OngeldigeInvoer(f"{veld}.instrument", f"onbekend; kies een van {', '.join(sorted(instrumenten))}")
        status = s.get("status") or (vorige["status"] if vorige else "open")
        if status not in STAP_STATUS:
            raise OngeldigeInvoer(f"{veld}.status", f"kies een van {', '.join(STAP_STATUS)}")
        traject_id, uitkomst = (vorige.get("traject_id"), vorige.get("uitkomst")) if vorige else (None, None)
        if traject_id is not None:  # a step with a trajectory: the trajectory decides its status
            if instrument != vorige.get("instrument"):
                raise OngeldigeInvoer(f"{veld}.instrument", f"traject {traject_id} loopt al vanuit deze stap")
            status = vorige["status"]
        elif status == "gestart":
            raise OngeldigeInvoer(f"{veld}.status", "gestart wordt een stap door er een traject vanuit te starten")
        if sid is None:
            teller += 1
            sid = f"s{teller}"
        stappen.append({"id": sid, "omschrijving": omschrijving, "datum": datum, "instrument": instrument,
                        "status": status, "traject_id": traject_id, "uitkomst": uitkomst})
    for sid, s in bekend.items():
        if sid not in gezien and s.get("traject_id") is not None:
            raise OngeldigeInvoer("stappen", f"stap {sid} hoort bij traject {s['traject_id']} en blijft in het plan")
    nieuw["stappen"] = stappen
    return nieuw, teller


# --------------------------------------------------------------------------- what changed


def verschil(oud: dict, nieuw: dict) -> list[str]:
    """What changed between two versions, in short Dutch lines (shown in the version history)."""
    out = []
    for k, label in KOPPEN.items():
        if oud.get(k, []) != nieuw.get(k, []):
            out.append(f"{label} gewijzigd")
    voor = {s["id"]: s for s in oud.get("stappen", ())}
    na = {s["id"]: s for s in nieuw.get("stappen", ())}
    for sid, s in na.items():
        if sid not in voor:
            out.append(f"stap {sid} toegevoegd: {s['omschrijving'][:60]}")
        elif s != voor[sid]:
            velden = [k for k in ("omschrijving", "datum", "instrument", "status", "traject_id", "uitkomst")
                      if s.get(k) != voor[sid].get(k)]
            out.append(f"stap {sid} gewijzigd ({', '.join(velden)})")
    out.extend(f"stap {sid} verwijderd" for sid in voor if sid not in na)
    if not out and [s["id"] for s in oud.get("stappen", ())] != [s["id"] for s in nieuw.get("stappen", ())]:
        out.append("volgorde van de stappen gewijzigd")
    return out


def _kopie(inhoud: dict) -> dict:
    return {**{k: list(v) for k, v in inhoud.items() if k != "stappen"},
            "stappen": [dict(s) for s in inhoud.get("stappen", ())]}


# --------------------------------------------------------------------------- starting a trajectory from a step


def start_traject(engine, client_id: int, stap_id: str, instrument: str, feiten: dict, *, actor: str,
                  overrule_reden: str | None = None, mag_overrulen: bool = False, conn=None):
    """Start ``instrument`` through the engine's normal start (eligibility decision and all) from plan step
    ``stap_id``, and record the link in the same transaction (the caller's ``conn`` if it passes one: the web
    stores its idempotent answer in it too). Returns the engine's ``StartResultaat``."""
    controleer_planstap(engine, client_id, stap_id, instrument)
    with engine.transaction(conn) as conn:
        res = engine.start(instrument, client_id, feiten, actor=actor, overrule_reden=overrule_reden,
                           mag_overrulen=mag_overrulen, conn=conn)
        koppel_traject(engine, conn, client_id, stap_id, res.traject_id, door=actor)
    return res
