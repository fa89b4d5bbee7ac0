"""Exactly once where people act: the first answer to a request with a key, given again on a retry.

A request that may arrive twice (a program that retries after a timeout with the same ``Idempotency-Key``;
a person who reloads, goes back and submits a form again: the form's one-time token) carries a key.
Before it acts, the handler claims the key for its user (``claim``):

- the first request gets a :class:`Claim` and acts. It stores its answer with ``bewaar`` **in the same
  transaction as its work**, so the work and the answer commit together or neither does;
- a retry after that gets the stored :class:`Antwoord` (status code and body) and acts not again;
- the same key with another request (its hash differs): :class:`AnderVerzoek` (API: 422);
- the same key while the first request still runs: :class:`InBehandeling` (API: 409).

A request that ends without an answer to keep (refused, failed) gives its key back (``geef_vrij``): it
changed nothing, so asking again is harmless and gets the answer of that moment. A claim whose request
died (a killed process) holds the key for ``CLAIM_VERLOOPT``; after that a retry takes it over. That is
safe: the dead request committed nothing, or its answer would be there (it commits with the work). A slow
request whose claim was taken over cannot store its answer (``bewaar`` checks the claim is still its own),
so its transaction rolls back.

Keys belong to a user (unique on actor and key): two users never meet through a key. ``vervang`` and
``lees`` keep one latest answer under a key (a form's draft between its POST and the GET that shows it).
``opruimen`` removes every row older than ``BEWAARTERMIJN`` (24 h); the daily anonymisation job calls it.
Times come from the engine's clock.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trajecten.basis.fouten import OngeldigeInvoer, OngeldigeToestand
from trajecten.opslag.models import Idempotentie

log = logging.getLogger("trajecten.opslag.idempotentie")

I = Idempotentie.__table__
BEWAARTERMIJN = timedelta(hours=24)  # how long a key holds its answer (a retry later acts anew)
CLAIM_VERLOOPT = timedelta(minutes=10)  # a claim without an answer this old belongs to a dead request
_POGINGEN = 3  # claim: the row may be given back or taken over between two statements


class AnderVerzoek(OngeldigeInvoer):
    """The key was used before for a different request (the same key must mean the same request)."""

    def __init__(self, sleutel: str):
        self.sleutel = sleutel
        super().__init__("sleutel", "deze sleutel is al gebruikt voor een ander verzoek; gebruik een nieuwe sleutel")


class InBehandeling(OngeldigeToestand):
    """A request with this key is still being handled; try again when it has finished."""

    def __init__(self, sleutel: str):
        self.sleutel = sleutel
        super().__init__("een verzoek met deze sleutel is nog in behandeling; probeer het zo opnieuw")


@dataclass(frozen=True)
class Claim:
    """The key is this request's: act, then ``bewaar`` the answer (or ``geef_vrij``)."""

    id: int
    actor: str
    sleutel: str
    op: datetime  # when claimed: with ``id`` what makes the claim this request's


@dataclass(frozen=True)
class Antwoord:
    """The answer stored under a key."""

    status_code: int
    antwoord: dict
    op: datetime


def verzoek_hash(verzoek: Any) -> str:
    """SHA-256 of the request (JSON with sorted keys): what tells a retry from another request."""
    tekst = json.dumps(verzoek, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(tekst.encode("utf-8")).hexdigest()


def _insert(conn):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(I)


def claim(engine, actor: str, sleutel: str, hash_: str) -> Claim | Antwoord:
    """Claim ``sleutel`` for ``actor``: a :class:`Claim` when this request is the first (act now), the stored
    :class:`Antwoord` when an earlier request with the same key and request has finished (act not).
    Raises :class:`AnderVerzoek` (same key, other request) or :class:`InBehandeling` (still running)."""
    for _ in range(_POGINGEN):
        now = engine.clock.now()
        with engine.db.begin() as conn:
            nieuw = conn.execute(_insert(conn).values(
                actor=actor, sleutel=sleutel, verzoek_hash=hash_, status_code=None, antwoord={}, aangemaakt_op=now,
            ).on_conflict_do_nothing(index_elements=["actor", "sleutel"]).returning(I.c.id)).first()
            if nieuw is not None:
                return Claim(nieuw.id, actor, sleutel, now)
            rij = conn.execute(sa.select(I.c.id, I.c.verzoek_hash, I.c.status_code, I.c.antwoord, I.c.aangemaakt_op)
                               .where(I.c.actor == actor, I.c.sleutel == sleutel)).first()
            if rij is None:
                continue  # given back in between: claim again
            if rij.verzoek_hash != hash_:
                raise AnderVerzoek(sleutel)
            if rij.status_code is not None:
                return Antwoord(rij.status_code, rij.antwoord or {}, rij.aangemaakt_op)
            if now - rij.aangemaakt_op < CLAIM_VERLOOPT:
                raise InBehandeling(sleutel)
            # a claim of a request that died: its work did not commit (its answer would be here), take it over
            weg = conn.execute(I.delete().where(I.c.id == rij.id, I.c.status_code.is_(None),
                                                I.c.aangemaakt_op == rij.aangemaakt_op)).rowcount
            if weg != 1:
                continue  # answered or taken over in between: look again
            nieuw = conn.execute(_insert(conn).values(
                actor=actor, sleutel=sleutel, verzoek_hash=hash_, status_code=None, antwoord={}, aangemaakt_op=now,
            ).returning(I.c.id)).first()
            log.warning("idempotentie: verlopen claim van %s overgenomen", actor)
            return Claim(nieuw.id, actor, sleutel, now)
    raise InBehandeling(sleutel)


def bewaar(engine, c: Claim, status_code: int, antwoord: dict, conn=None) -> None:
    """Store the answer of the claimed request. Pass the transaction of the work (``conn``): the answer and
    the work then commit together. Raises :class:`InBehandeling` when the claim is no longer this request's
    (taken over after ``CLAIM_VERLOOPT``): the caller's transaction must then roll back."""
    with engine.transaction(conn) as conn:
        n = conn.execute(I.update().where(I.c.id == c.id, I.c.aangemaakt_op == c.op, I.c.status_code.is_(None))
                         .values(status_code=status_code, antwoord=antwoord)).rowcount
    if n != 1:
        raise InBehandeling(c.sleutel)


def geef_vrij(engine, c: Claim) -> None:
    """Give the key back: the request ends without an answer to keep (refused or failed; it changed
    nothing). Never raises: if the database cannot be reached the claim expires after ``CLAIM_VERLOOPT``."""
    try:
        with engine.db.begin() as conn:
            conn.execute(I.delete().where(I.c.id == c.id, I.c.aangemaakt_op == c.op, I.c.status_code.is_(None)))
    except Exception:  # noqa: BLE001 - the original error of the request matters more
        log.exception("idempotentie: sleutel niet vrijgegeven (verloopt na %s)", CLAIM_VERLOOPT)


def lees(engine, actor: str, sleutel: str) -> Antwoord | None:
    """The answer stored under ``sleutel`` for ``actor`` (None: none, or still running)."""
    with engine.db.connect() as conn:
        rij = conn.execute(sa.select(I.c.status_code, I.c.antwoord, I.c.aangemaakt_op)
                           .where(I.c.actor == actor, I.c.sleutel == sleutel)).first()
    if rij is None or rij.status_code is None:
        return None
    return Antwoord(rij.status_code, rij.antwoord or {}, rij.aangemaakt_op)


def vervang(engine, actor: str, sleutel: str, antwoord: dict, status_code: int = 200) -> None:
    """Keep ``antwoord`` as the latest answer under ``sleutel`` (replacing one there): a form's draft
    between the POST that made it and the GET that shows it. Not for keys that ``claim`` guards."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        stmt = _insert(conn).values(actor=actor, sleutel=sleutel, verzoek_hash=verzoek_hash(antwoord),
                                    status_code=status_code, antwoord=antwoord, aangemaakt_op=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=["actor", "sleutel"], set_={
            "verzoek_hash": stmt.excluded.verzoek_hash, "status_code": stmt.excluded.status_code,
            "antwoord": stmt.excluded.antwoord, "aangemaakt_op": stmt.excluded.aangemaakt_op}))


def opruimen(engine, nu: datetime | None = None, termijn: timedelta = BEWAARTERMIJN) -> int:
    """Remove the keys older than ``termijn`` (their answers too); returns how many."""
    grens = (nu or engine.clock.now()) - termijn
    with engine.db.begin() as conn:
        return conn.execute(I.delete().where(I.c.aangemaakt_op < grens)).rowcount
