"""The ontwikkelladder: the rung a client stands on, recorded with a date and who assessed it.

The rungs are data (``data/ontwikkelladder.yaml``, a configurable default of six rungs from isolation to
paid work). Every assessment is a row (:class:`~trajecten.opslag.models.LadderTrede`) and an event on the
client's timeline; the history is never rewritten. ``ladderbeweging`` gives the monitoring counts:
per instrument, how many clients went up, stayed or went down (definition in its docstring).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml

from trajecten.basis.fouten import NietGevonden, OngeldigeInvoer
from trajecten.opslag.models import Client, Gebeurtenis, LadderTrede, Traject
from trajecten.basis.tijd import local_date

DATA = Path(__file__).with_name("data") / "ontwikkelladder.yaml"
L, T, E, C = LadderTrede.__table__, Traject.__table__, Gebeurtenis.__table__, Client.__table__


@dataclass(frozen=True)
class Trede:
    nr: int
    naam: str
    omschrijving: str = ""


@dataclass(frozen=True)
class Ladder:
    naam: str
    bron: str
    treden: tuple[Trede, ...]
    omhoog_bij: dict[str, frozenset[str]]  # instrument -> outcomes that count as one rung up

    @property
    def hoogste(self) -> int:
        return self.treden[-1].nr

    def trede(self, nr: int) -> Trede:
        if not 1 <= nr <= self.hoogste:
            raise OngeldigeInvoer("trede", f"kies een trede van 1 tot en met {self.hoogste}")
        return self.treden[nr - 1]

    def as_dict(self) -> dict:
        return {"naam": self.naam, "bron": self.bron,
                "treden": [{"trede": t.nr, "naam": t.naam, "omschrijving": t.omschrijving} for t in self.treden],
                "omhoog_bij": {k: sorted(v) for k, v in self.omhoog_bij.items()}}


@lru_cache(maxsize=4)
def laad_ladder(path: Path = DATA) -> Ladder:
    """The ladder from its data file; a wrong file is refused naming the field."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw = data.get("treden") or {}
    if not isinstance(raw, dict) or not raw:
        raise OngeldigeInvoer(f"{path.name}: treden", "geef minstens één trede (nummer: {naam: ...})")
    nrs = sorted(int(k) for k in raw)
    if nrs != list(range(1, len(nrs) + 1)):
        raise OngeldigeInvoer(f"{path.name}: treden", f"nummer de treden 1..n zonder gaten (nu {nrs})")
    treden = []
    for nr in nrs:
        t = raw.get(nr, raw.get(str(nr))) or {}
        naam = str(t.get("naam") or "").strip()
        if not naam:
            raise OngeldigeInvoer(f"{path.name}: treden.{nr}.naam", "ontbreekt")
        treden.append(Trede(nr, naam[:100], str(t.get("omschrijving") or "")))
    omhoog = {str(k): frozenset(str(x) for x in (v or ())) for k, v in (data.get("omhoog_bij") or {}).items()}
    return Ladder(str(data.get("naam") or "Ontwikkelladder"), str(data.get("bron") or ""), tuple(treden), omhoog)


# --------------------------------------------------------------------------- recording and reading


def huidige_trede(conn, client_id: int, tot: date | None = None):
    """The last assessment (by date, then by when it was recorded) on or before ``tot``; None if none."""
    q = sa.select(L).where(L.c.client_id == client_id)
    if tot is not None:
        q = q.where(L.c.datum <= tot)
    return conn.execute(q.order_by(L.c.datum.desc(), L.c.id.desc()).limit(1)).first()


def trede_vastleggen(engine, client_id: int, trede: int, *, door: str, datum: date | None = None,
                     toelichting: str = "", traject_id: int | None = None, ladder: Ladder | None = None,
                     conn=None) -> int:
    """Record the client's rung on ``datum`` (default today; never in the future), assessed by ``door``.
    Writes the history row and an event ``ontwikkelladder_trede`` for the timeline. Returns the row id."""
    ladder = ladder or laad_ladder()
    if isinstance(trede, bool) or not isinstance(trede, int):
        raise OngeldigeInvoer("trede", "een geheel getal")
    t = ladder.trede(trede)
    if not door:
        raise OngeldigeInvoer("door", "wie heeft de trede vastgesteld?")
    now = engine.clock.now()
    today = local_date(now)
    datum = datum or today
    if datum > today:
        raise OngeldigeInvoer("datum", "ligt in de toekomst; leg vast wat is vastgesteld")
    if datum < date(1900, 1, 1):
        raise OngeldigeInvoer("datum", "datum buiten 1900-2200")
    toelichting = (toelichting or "").strip()
    if len(toelichting) > 500:
        raise OngeldigeInvoer("toelichting", "hoogstens 500 tekens")
    with engine.transaction(conn) as conn:
        if conn.execute(sa.select(C.c.id).where(C.c.id == client_id)).first() is None:
            raise NietGevonden(f"cliënt {client_id} bestaat niet")
        vorige = huidige_trede(conn, client_id)
        rid = conn.execute(L.insert().values(
            client_id=client_id, trede=t.nr, trede_naam=t.naam, datum=datum, door=door, toelichting=toelichting,
            traject_id=traject_id, vastgelegd_op=now)).inserted_primary_key[0]
        payload = {"trede": t.nr, "naam": t.naam, "vorige": vorige.trede if vorige else None}
        if toelichting:
            payload["toelichting"] = toelichting
        conn.execute(E.insert().values(traject_id=traject_id, client_id=client_id, stap_id=None,
                                       type="ontwikkelladder_trede", actor=door, op=now, datum=datum,
                                       payload=payload, regel=None, regel_versie=None))
        return rid


def geschiedenis(engine, client_id: int) -> dict:
    """The ladder (rungs), the current rung and the dated history with who assessed it (newest first)."""
    ladder = laad_ladder()
    with engine.reader.connect() as conn:
        rows = conn.execute(sa.select(L).where(L.c.client_id == client_id)
                            .order_by(L.c.datum.desc(), L.c.id.desc())).all()
    items = [{"id": r.id, "trede": r.trede, "naam": r.trede_naam, "datum": r.datum.isoformat(), "door": r.door,
              "toelichting": r.toelichting, "traject_id": r.traject_id,
              "vastgelegd_op": r.vastgelegd_op.isoformat(timespec="minutes")} for r in rows]
    for i, it in enumerate(items):  # the movement against the assessment before it
        vorige = items[i + 1]["trede"] if i + 1 < len(items) else None
        it["beweging"] = beweging(vorige, it["trede"]) if vorige is not None else "eerste"
    return {"client_id": client_id, "ladder": ladder.as_dict(), "huidig": items[0] if items else None,
            "geschiedenis": items}


# --------------------------------------------------------------------------- monitoring


def beweging(basis: int | None, eind: int | None) -> str:
    """omhoog / gelijk / omlaag; ``zonder_nulmeting`` when there was no rung to compare with."""
    if basis is None or eind is None:
        return "zonder_nulmeting"
    return "omhoog" if eind > basis else "omlaag" if eind < basis else "gelijk"


def ladderbeweging(engine, van: date, tot: date) -> list[dict]:
    """Per instrument: how many clients went up, stayed or went down on the ladder in the period.

    Definition. A client counts for an instrument in the period ``van``..``tot`` when they have a
    trajectory of that instrument that started on or before ``tot`` and had not ended before ``van``
    (with several, the earliest start counts). Their rung at the start is the last assessment dated on or
    before that start date; their rung at the end is the last assessment dated on or before ``tot``.
    Higher: ``omhoog``; equal: ``gelijk``; lower: ``omlaag``; no assessment on or before the start:
    ``zonder_nulmeting`` (not compared). Counts only, no personal data.
    """
    namen = {}
    for name in engine.register.names():
        namen[name] = engine.register.current(name).definitie.naam
    with engine.reader.connect() as conn:
        deelnemers = conn.execute(
            sa.select(T.c.instrument, T.c.client_id, sa.func.min(T.c.start_datum).label("start"))
            .where(T.c.start_datum <= tot, sa.or_(T.c.eind_datum.is_(None), T.c.eind_datum >= van))
            .group_by(T.c.instrument, T.c.client_id)).all()
        metingen: dict[int, list[tuple[date, int]]] = {}
        clients = sorted({r.client_id for r in deelnemers})
        for i in range(0, len(clients), 5000):
            chunk = clients[i:i + 5000]
            for r in conn.execute(sa.select(L.c.client_id, L.c.datum, L.c.trede).where(
                    L.c.client_id.in_(chunk), L.c.datum <= tot).order_by(L.c.client_id, L.c.datum, L.c.id)):
                metingen.setdefault(r.client_id, []).append((r.datum, r.trede))
    out = {name: _teller(name, naam, van, tot) for name, naam in namen.items()}
    for r in deelnemers:
        m = metingen.get(r.client_id, [])
        basis = _laatste(m, r.start)
        eind = _laatste(m, tot)
        rij = out.setdefault(r.instrument, _teller(r.instrument, r.instrument, van, tot))
        rij["deelnemers"] += 1
        rij[beweging(basis, eind)] += 1
    return [out[k] for k in sorted(out)]


def _teller(instrument: str, naam: str, van: date, tot: date) -> dict:
    return {"instrument": instrument, "naam": naam, "van": van.isoformat(), "tot": tot.isoformat(),
            "deelnemers": 0, "omhoog": 0, "gelijk": 0, "omlaag": 0, "zonder_nulmeting": 0}


def _laatste(metingen: list[tuple[date, int]], tot: date) -> int | None:
    """The rung of the last assessment dated on or before ``tot`` (the list is in recording order)."""
    gevonden = None
    for datum, trede in metingen:
        if datum <= tot:
            gevonden = trede
        else:
            break
    return gevonden


LADDER_DEFINITIE = ("Deelnemers: cliënten met een traject van het instrument dat vóór het einde van de periode "
                    "begon en niet vóór het begin ervan eindigde. Vergeleken: de laatste trede op of vóór de "
                    "startdatum van het traject met de laatste trede op of vóór het einde van de periode.")


def beweging_maand_en_jaar(engine, jaar: int, maand: int) -> dict:
    """``ladderbeweging`` for the month and for the year up to and including it (the monitoring view)."""
    first, last = date(jaar, maand, 1), date(jaar, maand, calendar.monthrange(jaar, maand)[1])
    return {"definitie": LADDER_DEFINITIE, "maand": ladderbeweging(engine, first, last),
            "dit_jaar": ladderbeweging(engine, date(jaar, 1, 1), last)}
