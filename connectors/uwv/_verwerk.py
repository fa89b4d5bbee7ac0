"""Processing handover records: validate, deduplicate, start or schedule ww_preventie, quarantine the rest.

One bad record never stops the rest. Each accepted record is applied in one transaction (client,
trajectory, handover row), so a crash leaves it wholly applied or not at all, and a re-run counts it as
a duplicate. Nothing logged here contains a BSN.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa

from trajecten.fouten import NietToegelaten, OngeldigeInvoer
from trajecten.gebieden import gebied_voor
from trajecten.models import Client, Quarantaine, Traject, TrajectStatus, UwvOverdracht
from trajecten.tijd import local_date

from ._bestand import FeedParseFout, decode, formaat, lees
from ._record import UwvRecord, valideer

ACTOR = "systeem:uwv-feed"
C, T, Q, O = Client.__table__, Traject.__table__, Quarantaine.__table__, UwvOverdracht.__table__


@dataclass
class Samenvatting:
    bron: str
    ontvangen: int = 0
    geaccepteerd: int = 0
    gestart: int = 0
    gepland: int = 0
    geen_risico: int = 0
    al_lopend: int = 0
    dubbel: int = 0
    quarantaine: int = 0
    per_reden: Counter = field(default_factory=Counter)  # field -> records quarantined for it
    onbekende_velden: Counter = field(default_factory=Counter)
    bestand_fout: str | None = None

    def as_dict(self) -> dict:
        return {"bron": self.bron, "ontvangen": self.ontvangen, "geaccepteerd": self.geaccepteerd,
                "gestart": self.gestart, "gepland": self.gepland, "geen_risico": self.geen_risico,
                "al_lopend": self.al_lopend, "dubbel": self.dubbel, "quarantaine": self.quarantaine,
                "quarantaine_per_veld": dict(self.per_reden), "onbekende_velden": dict(self.onbekende_velden),
                **({"bestand_fout": self.bestand_fout} if self.bestand_fout else {})}

    def tekst(self) -> str:
        parts = [f"ontvangen {self.ontvangen}", f"geaccepteerd {self.geaccepteerd}", f"gestart {self.gestart}",
                 f"gepland {self.gepland}", f"zonder risico {self.geen_risico}", f"al lopend {self.al_lopend}",
                 f"dubbel {self.dubbel}", f"quarantaine {self.quarantaine}"]
        out = f"{self.bron}: " + ", ".join(parts)
        if self.per_reden:
            out += " (" + ", ".join(f"{k} {v}" for k, v in self.per_reden.most_common()) + ")"
        if self.onbekende_velden:
            out += "; onbekende velden: " + ", ".join(f"{k} ({v}x)" for k, v in self.onbekende_velden.most_common())
        if self.bestand_fout:
            out += f"; bestand in quarantaine: {self.bestand_fout}"
        return out


def verwerk(engine, regels: Iterable, bron: str, *, actor: str = ACTOR) -> Samenvatting:
    """Process (line number, dict | FeedParseFout, raw line) items."""
    s = Samenvatting(bron)
    now = engine.clock.now()
    today = local_date(now)
    seen: set[str] = set()
    for n, obj, raw in regels:
        s.ontvangen += 1
        if isinstance(obj, FeedParseFout):
            _quarantine(engine, bron, n, raw, [("regel", obj.reden)], now, s)
            continue
        record, problems, unknown = valideer(obj, today)
        s.onbekende_velden.update(unknown)
        if record is not None:
            try:
                gebied = gebied_voor(record.postcode)
            except OngeldigeInvoer as exc:
                problems = [("postcode", exc.reden)]
        if problems:
            _quarantine(engine, bron, n, raw, problems, now, s)
            continue
        if record.uwv_referentie in seen:
            s.dubbel += 1
            continue
        seen.add(record.uwv_referentie)
        try:
            uitkomst = _apply(engine, record, gebied, bron, actor, now)
        except NietToegelaten as exc:
            reasons = [(r.voorwaarde, "niet voldaan") for r in getattr(exc.besluit, "redenen", ()) if not r.voldaan]
            _quarantine(engine, bron, n, raw, reasons or [("toegang", str(exc))], now, s)
            continue
        if uitkomst == "dubbel":
            s.dubbel += 1
            continue
        s.geaccepteerd += 1
        setattr(s, uitkomst, getattr(s, uitkomst) + 1)
    return s


def _apply(engine, r: UwvRecord, gebied: str, bron: str, actor: str, now) -> str:
    with engine.db.begin() as conn:
        if conn.execute(sa.select(O.c.id).where(O.c.referentie == r.uwv_referentie)).first():
            return "dubbel"
        cid = conn.execute(sa.select(C.c.id).where(C.c.bsn == r.bsn)).scalar()
        if cid is None:
            cid = engine.add_client(r.bsn, geboortedatum=r.geboortedatum, postcode=r.postcode, gebied=gebied,
                                    coach=f"team:{gebied}", conn=conn)
        traject_id = None
        if not r.risico_langdurig:
            uitkomst = "geen_risico"
        elif conn.execute(sa.select(T.c.id).where(T.c.client_id == cid, T.c.instrument == "ww_preventie",
                                                  T.c.status != TrajectStatus.beeindigd.value)).first():
            uitkomst = "al_lopend"
        else:
            facts = {"ww_einddatum": r.ww_einddatum, "ww_startdatum": r.ww_startdatum,
                     "risico_langdurig": True, "uwv_referentie": r.uwv_referentie}
            res = engine.start("ww_preventie", cid, facts, actor=actor, conn=conn)
            traject_id = res.traject_id
            uitkomst = "gepland" if res.status == TrajectStatus.gepland.value else "gestart"
        conn.execute(O.insert().values(referentie=r.uwv_referentie, client_id=cid, ontvangen_op=now, bron=bron,
                                       uitkomst=uitkomst, traject_id=traject_id))
        return uitkomst


def _quarantine(engine, bron, n, raw, problems, now, s: Samenvatting) -> None:
    """Keep the rejected record with its reasons; the same content already waiting there is kept once."""
    inhoud = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    digest = hashlib.sha256(inhoud.encode("utf-8")).hexdigest()
    with engine.db.begin() as conn:
        if not conn.execute(sa.select(Q.c.id).where(Q.c.inhoud_hash == digest, Q.c.status == "open")).first():
            conn.execute(Q.insert().values(bron=bron, regelnr=n, inhoud=inhoud, inhoud_hash=digest,
                                           redenen=[{"veld": f, "reden": why} for f, why in problems],
                                           ontvangen_op=now))
    s.quarantaine += 1
    for f in {f for f, _ in problems}:
        s.per_reden[f] += 1


def verwerk_tekst(engine, data: bytes | str, naam: str, *, actor: str = ACTOR) -> Samenvatting:
    """A whole file's content. A file that cannot be parsed at all is quarantined whole, with the line."""
    try:
        tekst = decode(data) if isinstance(data, bytes) else data
        items = list(lees(tekst, formaat(naam, tekst)))
    except FeedParseFout as exc:
        s = Samenvatting(naam, bestand_fout=str(exc))
        raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        _quarantine(engine, naam, exc.regel, raw[:1_000_000], [("bestand", str(exc))], engine.clock.now(), s)
        return s
    return verwerk(engine, items, naam, actor=actor)


def importeer_bestand(engine, path: Path | str, *, actor: str = ACTOR) -> Samenvatting:
    path = Path(path)
    return verwerk_tekst(engine, path.read_bytes(), path.name, actor=actor)


def verwerk_map(engine, map_: Path | str, *, actor: str = ACTOR) -> dict:
    """The scheduled job: import each new file in ``map_`` and move it to ``map_/verwerkt``."""
    folder = Path(map_)
    done = folder / "verwerkt"
    done.mkdir(parents=True, exist_ok=True)
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        s = importeer_bestand(engine, path, actor=actor)
        path.rename(done / path.name)
        out.append(s.as_dict())
    return {"bestanden": len(out), "resultaten": out}


def herverwerk(engine, quarantaine_id: int, gecorrigeerd: dict, *, door: str) -> Samenvatting:
    """Re-process a quarantined record after a person corrected it; the quarantine row is closed when
    the corrected record is accepted (or is a duplicate), and stays open with the new reasons otherwise."""
    with engine.db.connect() as conn:
        row = conn.execute(sa.select(Q).where(Q.c.id == quarantaine_id)).first()
    if row is None:
        from trajecten.fouten import NietGevonden

        raise NietGevonden(f"quarantaine {quarantaine_id} bestaat niet")
    if row.status != "open":
        from trajecten.fouten import OngeldigeToestand

        raise OngeldigeToestand(f"quarantaine {quarantaine_id} is al {row.status}")
    s = Samenvatting(f"correctie van quarantaine {quarantaine_id}")
    now = engine.clock.now()
    record, problems, unknown = valideer(gecorrigeerd, local_date(now))
    s.ontvangen = 1
    s.onbekende_velden.update(unknown)
    if record is not None:
        try:
            gebied = gebied_voor(record.postcode)
        except OngeldigeInvoer as exc:
            problems = [("postcode", exc.reden)]
    if problems:
        with engine.db.begin() as conn:
            conn.execute(Q.update().where(Q.c.id == quarantaine_id).values(
                redenen=[{"veld": f, "reden": why} for f, why in problems]))
        s.quarantaine = 1
        s.per_reden.update(f for f, _ in problems)
        return s
    uitkomst = _apply(engine, record, gebied, f"correctie:{row.bron}", door, now)
    if uitkomst == "dubbel":
        s.dubbel = 1
    else:
        s.geaccepteerd = 1
        setattr(s, uitkomst, 1)
    with engine.db.begin() as conn:
        conn.execute(Q.update().where(Q.c.id == quarantaine_id).values(status="verwerkt", verwerkt_door=door,
                                                                        verwerkt_op=now))
    return s
