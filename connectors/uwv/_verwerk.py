"""Processing handover records: validate, deduplicate, start or schedule ww_preventie, quarantine the rest.

One bad record never stops the rest. Each accepted record is applied in one transaction (client,
trajectory, handover row), so a crash leaves it wholly applied or not at all, and a re-run counts it as
a duplicate. Nothing logged here contains a BSN.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa

from trajecten.privacy import logboek
from trajecten.basis.bsn import elfproef
from trajecten.opslag.db import in_values
from trajecten import StartVerzoek, lopende_trajecten
from trajecten.basis.fouten import AlLopend, NietGevonden, NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.clienten.gebieden import gebied_voor
from trajecten.opslag.bulk import allocate_ids, bulk_insert, bulk_insert_kolommen
from trajecten.opslag.models import Client, Quarantaine, Traject, TrajectStatus, UwvOverdracht
from trajecten.basis.tijd import local_date

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

    def tel_op(self, other: "Samenvatting") -> None:
        """Add the counts of a part processed elsewhere (a writer thread); ``bron`` and ``ontvangen`` stay."""
        for name in ("geaccepteerd", "gestart", "gepland", "geen_risico", "al_lopend", "dubbel", "quarantaine"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.per_reden.update(other.per_reden)
        self.onbekende_velden.update(other.onbekende_velden)

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


def verwerk(engine, regels: Iterable, bron: str, *, actor: str = ACTOR, chunk: int | None = None) -> Samenvatting:
    """Process (line number, dict | FeedParseFout, raw line) items, ``chunk`` records per transaction:
    by default 10,000 on PostgreSQL (two writers share each chunk) and 25,000 on SQLite, whose commit writes
    every page the chunk touched to the write-ahead log again, most of the indexes on random keys (BSN,
    pseudonym, due time) included, so fewer, larger commits write fewer bytes."""
    return _verwerk(engine, regels, bron, actor, chunk or (10_000 if engine.is_postgres else 25_000))


def _verwerk(engine, regels: Iterable, bron: str, actor: str, chunk: int) -> Samenvatting:
    s = Samenvatting(bron)
    now = engine.clock.now()
    today = local_date(now)
    seen: set[str] = set()
    accepted: list[tuple] = []  # (line, raw, record, area team)
    kept_bsns: list[str] = []  # BSNs of rejected records (the Logboek records their quarantine)
    rejected: list[tuple] = []  # (line, raw, [(field, reason)])
    schrijvers = _Schrijvers(engine, bron, actor, now) if _parallel(engine) else None

    def flush() -> None:
        if schrijvers is not None:  # accepted records go to the writers; this thread keeps the rejected
            schrijvers.geef(accepted)
            if not rejected:
                return
        with engine.db.begin() as conn:
            if schrijvers is None:
                _apply(engine, conn, accepted, rejected, bron, actor, now, s)
            _quarantine(conn, bron, rejected, now, s)
            _log_quarantined(engine, conn, kept_bsns, bron, actor)

    try:
        for n, obj, raw in regels:
            s.ontvangen += 1
            if isinstance(obj, FeedParseFout):
                rejected.append((n, raw, [("regel", obj.reden)]))
            else:
                record, gebied, problems, unknown = _check(obj, today)
                if unknown:
                    s.onbekende_velden.update(unknown)
                if problems:
                    rejected.append((n, raw, problems))
                    if isinstance(obj.get("bsn"), str):
                        kept_bsns.append(obj["bsn"])
                elif record.uwv_referentie in seen:
                    s.dubbel += 1
                else:
                    seen.add(record.uwv_referentie)
                    accepted.append((n, raw, record, gebied))
            if len(accepted) + len(rejected) >= chunk:
                flush()
                accepted, rejected, kept_bsns = [], [], []
        if accepted or rejected:
            flush()
    except BaseException:
        if schrijvers is not None:
            schrijvers.klaar(stil=True)  # the writers stop too; this error is the one raised
        raise
    if schrijvers is not None:
        for deel in schrijvers.klaar():
            s.tel_op(deel)
    return s


SCHRIJVERS = 2  # PostgreSQL: transactions writing accepted records at the same time


def _parallel(engine) -> bool:
    """A file or pulled feed on PostgreSQL is written by ``SCHRIJVERS`` transactions at once: while one
    waits for the server to take its rows (COPY, indexes), the other prepares its own. Within a processing that notes its data subjects (an
    API push, a few records) the records are written in that request's own transaction, one writer."""
    return engine.is_postgres and SCHRIJVERS > 1 and logboek.huidige() is None


class _Schrijvers:
    """Accepted records split over writer threads by BSN, each writer with its own connection and
    transactions. One person's records always go to the same writer, in file order, so the checks that
    read earlier records (the client exists, a preventie trajectory runs) see them committed; duplicate
    references were removed before the split. Each chunk part is one transaction (client, trajectory,
    handover, Logboek; a record the eligibility rule refuses is quarantined in it)."""

    def __init__(self, engine, bron: str, actor: str, now):
        self.engine, self.bron, self.actor, self.now = engine, bron, actor, now
        self.pools = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"uwv-feed-{i}") for i in range(SCHRIJVERS)]
        self.wachtend: list[list[Future]] = [[] for _ in range(SCHRIJVERS)]
        self.klare: list[Samenvatting] = []

    def geef(self, accepted: list[tuple]) -> None:
        delen: list[list[tuple]] = [[] for _ in range(SCHRIJVERS)]
        for item in accepted:
            delen[int(item[2].bsn) % SCHRIJVERS].append(item)
        for i, deel in enumerate(delen):
            if not deel:
                continue
            while len(self.wachtend[i]) >= 2:  # at most two parts waiting per writer (memory stays bounded)
                self.klare.append(self.wachtend[i].pop(0).result())
            ctx = contextvars.copy_context()  # the trace of the Logboek records
            self.wachtend[i].append(self.pools[i].submit(ctx.run, self._schrijf, deel))

    def _schrijf(self, deel: list[tuple]) -> Samenvatting:
        s = Samenvatting(self.bron)
        refused: list[tuple] = []
        with self.engine.db.begin() as conn:
            _apply(self.engine, conn, deel, refused, self.bron, self.actor, self.now, s)
            _quarantine(conn, self.bron, refused, self.now, s)
        return s

    def klaar(self, stil: bool = False) -> list[Samenvatting]:
        """Wait for every writer; the first error (after all have stopped) is raised, unless ``stil``."""
        fout = None
        for i, pool in enumerate(self.pools):
            for f in self.wachtend[i]:
                try:
                    self.klare.append(f.result())
                except Exception as exc:  # noqa: BLE001 - raised below, once every writer has stopped
                    fout = fout or exc
            pool.shutdown()
        if fout is not None and not stil:
            raise fout
        return self.klare


def _log_quarantined(engine, conn, bsns: list[str], bron: str, actor: str) -> None:
    """Logboek Dataverwerkingen: a rejected record kept in quarantine is personal data written too; logged
    for the person its BSN names, when it carries a BSN that passes the 11-test."""
    items = [(b, "uwv_feed") for b in bsns if elfproef(b)]
    if items:
        logboek.verwerkt(engine, items, actor, naam=f"UWV-overdracht in quarantaine ({bron})",
                         component="uwv-feed", conn=conn)


def _check(obj: dict, today) -> tuple[UwvRecord | None, str | None, list[tuple[str, str]], list[str]]:
    record, problems, unknown = valideer(obj, today)
    gebied = None
    if record is not None:
        try:
            gebied = gebied_voor(record.postcode)
        except OngeldigeInvoer as exc:
            problems = [("postcode", exc.reden)]
    return record, gebied, problems, unknown


def _apply(engine, conn, accepted: list[tuple], rejected: list[tuple], bron: str, actor: str, now,
           s: Samenvatting) -> None:
    """Apply accepted records in the caller's transaction: clients, trajectories (one bulk start),
    handover rows. A record refused by the eligibility rule is added to ``rejected``."""
    refs = [r.uwv_referentie for _, _, r, _ in accepted]
    known = set(conn.execute(sa.select(O.c.referentie).where(in_values(O.c.referentie, refs, conn))).scalars())
    todo = [a for a in accepted if a[2].uwv_referentie not in known]
    s.dubbel += len(accepted) - len(todo)
    client_of: dict[str, int] = dict(conn.execute(sa.select(C.c.bsn, C.c.id).where(
        in_values(C.c.bsn, {r.bsn for _, _, r, _ in todo}, conn))).all())
    new: dict[str, tuple] = {}  # BSN -> (record, area team) of a client not known yet
    for _, _, r, gebied in todo:
        if r.bsn not in client_of and r.bsn not in new:
            new[r.bsn] = (r, gebied)
    if new:
        ids = allocate_ids(conn, C, len(new))
        client_of.update(zip(new, ids))
        firsts = list(new.values())
        bulk_insert_kolommen(conn, C, {
            "id": ids, "bsn": list(new), "geboortedatum": [r.geboortedatum for r, _ in firsts],
            "postcode": [r.postcode for r, _ in firsts], "gebied": [g for _, g in firsts],
            "coach": [f"team:{g}" for _, g in firsts]}, {"naam": "", "aangemaakt_op": now})
    running = lopende_trajecten(conn, "ww_preventie", {client_of[r.bsn] for _, _, r, _ in todo})
    handovers: list[tuple] = []  # (reference, client id, outcome, trajectory id)
    to_start = []
    for item in todo:
        r = item[2]
        cid = client_of[r.bsn]
        if not r.risico_langdurig:
            handovers.append((r.uwv_referentie, cid, "geen_risico", None))
        elif cid in running:  # a client gets one running preventie trajectory, not a second
            handovers.append((r.uwv_referentie, cid, "al_lopend", running[cid]))
        else:
            running[cid] = None  # a second record for this client in this file waits for the first
            to_start.append(item)
    gestart: list[tuple[str, str]] = []  # (BSN, activity) of the trajectories started, for the Logboek
    if to_start:
        results = engine.start_many("ww_preventie", [
            StartVerzoek(client_of[r.bsn], {"ww_einddatum": r.ww_einddatum, "ww_startdatum": r.ww_startdatum,
                                            "risico_langdurig": True, "uwv_referentie": r.uwv_referentie})
            for _, _, r, _ in to_start], actor=actor, conn=conn)
        for (n, raw, r, _), res in zip(to_start, results):
            if isinstance(res, AlLopend):  # started meanwhile by another writer or a person (the engine's check)
                handovers.append((r.uwv_referentie, client_of[r.bsn], "al_lopend", res.traject_id))
            elif isinstance(res, NietToegelaten):
                failed = [(x.voorwaarde, "niet voldaan") for x in getattr(res.besluit, "redenen", ()) if not x.voldaan]
                rejected.append((n, raw, failed or [("toegang", str(res))]))
            elif isinstance(res, Exception):
                rejected.append((n, raw, [(getattr(res, "veld", "record"), str(res))]))
            else:
                uitkomst = "gepland" if res.status == TrajectStatus.gepland.value else "gestart"
                handovers.append((r.uwv_referentie, client_of[r.bsn], uitkomst, res.traject_id))
                gestart.append((r.bsn, "instrument:ww_preventie"))
    if handovers:
        refs, cids, uitkomsten, tids = map(list, zip(*handovers))
        bulk_insert_kolommen(conn, O, {"referentie": refs, "client_id": cids, "uitkomst": uitkomsten,
                                       "traject_id": tids}, {"ontvangen_op": now, "bron": bron})
        s.geaccepteerd += len(handovers)
        for uitkomst, k in Counter(uitkomsten).items():
            setattr(s, uitkomst, getattr(s, uitkomst) + k)
    # Logboek Dataverwerkingen: every received person (the handover), and the trajectories started for them
    logboek.verwerkt(engine, [(r.bsn, "uwv_feed") for _, _, r, _ in todo] + gestart, actor,
                     naam=f"UWV-overdracht verwerken ({bron})", component="uwv-feed", conn=conn)


def _redenen(problems) -> list[dict]:
    return [{"veld": f, "reden": why} for f, why in problems]


def _quarantine(conn, bron, rejected: list[tuple], now, s: Samenvatting) -> None:
    """Keep rejected records with their reasons; the same content already waiting there is kept once."""
    if not rejected:
        return
    rows: dict[str, dict] = {}
    for n, raw, problems in rejected:
        inhoud = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        inhoud = inhoud.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL: kept visibly replaced
        problems = [(f.replace("\x00", "\ufffd"), why.replace("\x00", "\ufffd")) for f, why in problems]
        digest = hashlib.sha256(inhoud.encode("utf-8")).hexdigest()
        s.quarantaine += 1
        for f in {f for f, _ in problems}:
            s.per_reden[f] += 1
        rows.setdefault(digest, {"bron": bron, "regelnr": n, "inhoud": inhoud, "inhoud_hash": digest,
                                 "redenen": _redenen(problems), "ontvangen_op": now})
    waiting = set(conn.execute(sa.select(Q.c.inhoud_hash).where(
        in_values(Q.c.inhoud_hash, rows, conn), Q.c.status == "open")).scalars())
    new = [r for h, r in rows.items() if h not in waiting]
    if new:
        bulk_insert(conn, Q, new)


def verwerk_tekst(engine, data: bytes | str, naam: str, *, actor: str = ACTOR) -> Samenvatting:
    """A whole file's content. A file that cannot be parsed at all is quarantined whole, with the line."""
    try:
        tekst = decode(data) if isinstance(data, bytes) else data
        items = list(lees(tekst, formaat(naam, tekst)))
    except FeedParseFout as exc:
        s = Samenvatting(naam, bestand_fout=str(exc))
        raw = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        s.ontvangen = 1
        with engine.db.begin() as conn:
            _quarantine(conn, naam, [(exc.regel, raw[:1_000_000], [("bestand", str(exc))])], engine.clock.now(), s)
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
    """Re-process a quarantined record after a person corrected it. Accepted (or found to be a
    duplicate): the quarantine row is closed in the same transaction; refused: it stays open with the
    new reasons."""
    s = Samenvatting(f"correctie van quarantaine {quarantaine_id}", ontvangen=1)
    now = engine.clock.now()
    with engine.db.begin() as conn:
        row = conn.execute(sa.select(Q).where(Q.c.id == quarantaine_id)).first()
        if row is None:
            raise NietGevonden(f"quarantaine {quarantaine_id} bestaat niet")
        if row.status != "open":
            raise OngeldigeToestand(f"quarantaine {quarantaine_id} is al {row.status}")
        record, gebied, problems, unknown = _check(gecorrigeerd, local_date(now))
        s.onbekende_velden.update(unknown)
        rejected: list[tuple] = []
        if not problems:
            _apply(engine, conn, [(row.regelnr, row.inhoud, record, gebied)], rejected, f"correctie:{row.bron}",
                   door, now, s)
            problems = rejected[0][2] if rejected else []
        if problems:
            conn.execute(Q.update().where(Q.c.id == quarantaine_id).values(redenen=_redenen(problems)))
            s.quarantaine = 1
            s.per_reden.update(f for f, _ in problems)
        else:
            conn.execute(Q.update().where(Q.c.id == quarantaine_id).values(
                status="verwerkt", verwerkt_door=door, verwerkt_op=now))
    return s
