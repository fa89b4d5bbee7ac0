"""Collect: turn new events into outbox rows (``melding``), one digest per recipient per day or one
mail per event.

What reaches a person: reminders (``herinnering``, ``herinnering_geen_contact``) and notices
(``melding``) go to the client's coach; escalations (``taak_geescaleerd``) and incidents go to the team
lead of the client's area (``teamleider.<gebied>``). A mail names the trajectory number, the instrument,
the step's title and a link path, never a client's name, BSN or birth date.

The cursor (``koppeling_cursor`` row ``meldingen``: the last event id handled) moves in the same
transaction that inserts the outbox rows, so every event is collected exactly once. All SQL of the
collection is in this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa

from trajecten.privacy import logboek
from trajecten.opslag.models import Client, Gebeurtenis, KoppelingCursor, Melding, Taak, Traject
from trajecten.opslag.bulk import insert_ignore
from trajecten.basis.tijd import TZ, local_date

from ._smtp import zonder_bsn

E, T, C, K = Gebeurtenis.__table__, Traject.__table__, Client.__table__, Taak.__table__
M, KC = Melding.__table__, KoppelingCursor.__table__

CURSOR = "meldingen"  # last event id collected
DIGEST_CURSOR = "meldingen.digest"  # local date of the last daily digest

# event type -> kind of item (the words of the subject line)
SOORTEN = {
    "herinnering": "herinnering",
    "herinnering_geen_contact": "herinnering",
    "melding": "melding",
    "taak_geescaleerd": "escalatie",
    "incident": "incident",
}
NAAR_TEAMLEIDER = frozenset({"taak_geescaleerd", "incident"})
_MEERVOUD = {"herinnering": "herinneringen", "melding": "meldingen", "escalatie": "escalaties",
             "incident": "incidenten"}
_VOLGORDE = ("herinnering", "melding", "escalatie", "incident")
VOETTEKST = ("Deze mail bevat bewust geen namen of BSN's: open het traject via de link voor details.\n"
             "Automatisch bericht van de trajectenmotor; niet beantwoorden.")


# --------------------------------------------------------------------------- recipients


def _lokaal(naam: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", naam.strip().lower()).strip("-.")


def teamleider(gebied: str | None) -> str:
    """The team lead of an area team: ``teamleider.<gebied>`` (``teamleider.algemeen`` without an area)."""
    return f"teamleider.{_lokaal(gebied or '') or 'algemeen'}"


def ontvanger_voor(type_: str, coach: str | None, gebied: str | None) -> str:
    """Who gets an item: the coach, or the area's team lead for escalations, incidents and clients
    without a coach."""
    if type_ in NAAR_TEAMLEIDER or not (coach or "").strip():
        return teamleider(gebied)
    return coach.strip()


def adres_voor(ontvanger: str, domein: str = "gemeente.example") -> str:
    """The mail address of a recipient: ``<ontvanger>@<domein>`` (an address given as such is kept).

    The one place to change when a users table provides addresses."""
    if "@" in ontvanger:
        return ontvanger
    return f"{_lokaal(ontvanger)}@{domein}"


# --------------------------------------------------------------------------- items and mails


@dataclass(frozen=True)
class Punt:
    """One item of a mail: an event, as a line without personal data."""

    gebeurtenis_id: int
    soort: str
    ontvanger: str
    traject_id: int | None
    instrument: str | None
    tekst: str

    @property
    def regel(self) -> str:
        wie = f"traject {self.traject_id} ({self.instrument})" if self.traject_id is not None else "systeem"
        return f"{wie}: {self.tekst}"

    @property
    def link(self) -> str | None:
        return f"/trajecten/{self.traject_id}" if self.traject_id is not None else None


def _tekst(type_: str, payload: dict, taak_titels: dict[int, str]) -> str:
    stap = str(payload.get("stap") or "")
    if type_ in ("herinnering", "melding"):
        return str(payload.get("titel") or stap or type_)
    if type_ == "herinnering_geen_contact":
        return "al lang geen contact met de cliënt vastgelegd"
    if type_ == "taak_geescaleerd":
        titel = taak_titels.get(payload.get("taak")) or stap or "taak"
        return f"taak te laat, geëscaleerd naar teamleider: {titel}"
    if type_ == "incident":
        return f"stap {stap} kon niet worden uitgevoerd ({payload.get('pogingen', '?')} pogingen): zie incidenten"
    return type_


def _datum(now: datetime) -> str:
    return local_date(now).strftime("%d-%m-%Y")


def _telling(punten: list[Punt]) -> str:
    n = {s: sum(1 for p in punten if p.soort == s) for s in _VOLGORDE}
    return ", ".join(f"{n[s]} {s if n[s] == 1 else _MEERVOUD[s]}" for s in _VOLGORDE if n[s])


def _regels(punten: list[Punt]) -> list[str]:
    out = []
    for p in punten:
        out.append(f"- {p.regel}")
        if p.link:
            out.append(f"  {p.link}")
    return out


def digest(ontvanger: str, punten: list[Punt], now: datetime) -> tuple[str, str]:
    """(subject, body) of one recipient's daily digest."""
    datum = _datum(now)
    onderwerp = f"Werklijst trajecten: {_telling(punten)} ({datum})"
    lines = [f"Werklijst trajecten van {datum} voor {ontvanger}.", ""]
    for soort in _VOLGORDE:
        deel = [p for p in punten if p.soort == soort]
        if deel:
            lines += [f"{_MEERVOUD[soort].capitalize()} ({len(deel)})", *_regels(deel), ""]
    lines.append(VOETTEKST)
    return onderwerp, "\n".join(lines) + "\n"


def per_gebeurtenis(ontvanger: str, p: Punt, now: datetime) -> tuple[str, str]:
    """(subject, body) of a mail about one event."""
    wie = f"traject {p.traject_id} ({p.instrument})" if p.traject_id is not None else "systeem"
    onderwerp = f"{p.soort.capitalize()}: {wie} ({_datum(now)})"
    lines = [f"{p.soort.capitalize()} voor {ontvanger}:", "", *_regels([p]), "", VOETTEKST]
    return onderwerp, "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the collection


def _cursor(conn, naam: str, now: datetime, lock: bool = False) -> str:
    insert_ignore(conn, KC, [{"naam": naam, "waarde": "", "bijgewerkt_op": now}], ["naam"])
    q = sa.select(KC.c.waarde).where(KC.c.naam == naam)
    if lock:
        q = q.with_for_update()  # PostgreSQL: one collector at a time (SQLite: BEGIN IMMEDIATE already)
    return conn.execute(q).scalar_one()


def _zet_cursor(conn, naam: str, waarde: str, now: datetime) -> None:
    conn.execute(KC.update().where(KC.c.naam == naam).values(waarde=waarde, bijgewerkt_op=now))


def digest_is_aan_de_beurt(settings, now: datetime, laatste: str) -> bool:
    """Digest mode: collect once a day, at the first run from the digest time on."""
    uur = time.fromisoformat(settings.meldingen_digest_tijd)
    lokaal = now.astimezone(TZ)
    return lokaal.time() >= uur and laatste < lokaal.date().isoformat()


def verzamel(engine, now: datetime | None = None) -> int:
    """Write outbox rows for the events since the cursor; returns how many rows were written.

    Digest mode collects once a day (from ``meldingen_digest_tijd``); per-event mode on every run."""
    settings = engine.settings
    now = now or engine.clock.now()
    modus = settings.meldingen_modus
    with engine.db.begin() as conn:
        vanaf = int(_cursor(conn, CURSOR, now, lock=True) or 0)
        if modus == "digest" and not digest_is_aan_de_beurt(settings, now, _cursor(conn, DIGEST_CURSOR, now)):
            return 0
        tot = conn.execute(sa.select(sa.func.max(E.c.id))).scalar() or 0
        rows = conn.execute(
            sa.select(E.c.id, E.c.type, E.c.traject_id, E.c.payload, T.c.instrument, C.c.coach, C.c.gebied,
                      C.c.id.label("client_id"))
            .select_from(E.outerjoin(T, T.c.id == E.c.traject_id)
                         .outerjoin(C, C.c.id == sa.func.coalesce(E.c.client_id, T.c.client_id)))
            .where(E.c.id > vanaf, E.c.id <= tot, E.c.type.in_(list(SOORTEN)))
            .order_by(E.c.id)
        ).all()
        taak_ids = {r.payload.get("taak") for r in rows if r.type == "taak_geescaleerd"} - {None}
        titels = dict(conn.execute(sa.select(K.c.id, K.c.titel).where(K.c.id.in_(taak_ids))).all()) if taak_ids else {}

        per_ontvanger: dict[str, list[Punt]] = {}
        for r in rows:
            logboek.noteer([r.client_id], f"instrument:{r.instrument}" if r.instrument else None)
            payload = r.payload or {}
            p = Punt(r.id, SOORTEN[r.type], ontvanger_voor(r.type, r.coach, r.gebied), r.traject_id, r.instrument,
                     _tekst(r.type, payload, titels))
            per_ontvanger.setdefault(p.ontvanger, []).append(p)

        nieuw = []
        for ontvanger, punten in per_ontvanger.items():
            if modus == "digest":
                mails = [(digest(ontvanger, punten, now), punten)]
            else:
                mails = [(per_gebeurtenis(ontvanger, p, now), [p]) for p in punten]
            for (onderwerp, tekst), deel in mails:
                nieuw.append({
                    "ontvanger": ontvanger[:100], "adres": adres_voor(ontvanger, settings.mail_domein)[:254],
                    "onderwerp": zonder_bsn(onderwerp)[:200], "tekst": zonder_bsn(tekst),
                    "gebeurtenissen": [p.gebeurtenis_id for p in deel], "status": "wachtend", "pogingen": 0,
                    "volgende_poging_op": None, "laatste_fout": None, "aangemaakt_op": now, "verzonden_op": None,
                })
        if nieuw:
            conn.execute(M.insert(), nieuw)
        _zet_cursor(conn, CURSOR, str(max(tot, vanaf)), now)
        if modus == "digest":
            _zet_cursor(conn, DIGEST_CURSOR, local_date(now).isoformat(), now)
    return len(nieuw)
