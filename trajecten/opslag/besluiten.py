"""Decisions' explanations, stored once (table ``besluit``) and referred to by the SHA-256 of their JSON.

A trajectory's start event refers to its eligibility decision (``besluit_ref``) instead of carrying the
explanation: the starts of one feed file share a few hundred distinct decisions. Readers get the event as
before, with the explanation under ``besluit`` (:func:`met_besluit`). Content-addressed: a decision stored
twice is the same row, and a row is never changed.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Iterable

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from trajecten.opslag.bulk import bulk_insert_kolommen
from trajecten.opslag.db import in_values
from trajecten.opslag.models import Besluit

B = Besluit.__table__
REF = "besluit_ref"  # the payload key that refers to a stored decision


def sleutel(inhoud: dict) -> str:
    """The decision's key: SHA-256 (hex) of its JSON with sorted keys."""
    return hashlib.sha256(orjson.dumps(inhoud, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Nieuw:
    """The decisions of one batch (a ``start_many``), to be stored together with :meth:`bewaar`: equal
    decisions (a decision is a frozen value) get one key and one explanation, made once."""

    def __init__(self):
        self._ref_of: dict = {}
        self.besluiten: dict[str, tuple[str, dict]] = {}  # key -> (version, explanation)

    def ref(self, besluit) -> str:
        """The decision's key in the store (an unhashable decision, a test double, is keyed anew)."""
        try:
            ref = self._ref_of.get(besluit)
        except TypeError:
            ref = None
        if ref is None:
            inhoud = besluit.to_json()
            ref = sleutel(inhoud)
            self.besluiten[ref] = (besluit.versie or "", inhoud)
            try:
                self._ref_of[besluit] = ref
            except TypeError:
                pass
        return ref

    def bewaar(self, conn, regel: str) -> None:
        bewaar(conn, regel, self.besluiten)


def bewaar(conn, regel: str, besluiten: dict[str, tuple[str, dict]]) -> None:
    """Store decisions of rule ``regel`` (key -> (version, ``to_json()``)) in the caller's transaction, with
    one statement, or none when this process saw every one of them committed already (a start request
    mostly meets a known decision). A decision stored before, or by another transaction at the same moment,
    is skipped (ON CONFLICT DO NOTHING on the key). In key order: a transaction that meets a key another one
    is inserting waits for that one to end, and with one order for all, two of them never wait for each
    other (the feed's two PostgreSQL writers store the same new decisions)."""
    known = _bekend(conn.engine)
    keys = sorted(k for k in besluiten if k not in known)
    if not keys:
        return
    bulk_insert_kolommen(conn, B, {"sleutel": keys, "versie": [besluiten[k][0] for k in keys],
                                   "inhoud": [besluiten[k][1] for k in keys]}, {"regel": regel},
                         conflict=("sleutel",))
    conn.info.setdefault(_NIEUW, set()).update(keys)  # known once this transaction commits


# Keys this process saw committed, per database engine. A row of ``besluit`` never changes and is never
# deleted, so a key once committed stays there. Filled at commit only: a key inserted in a transaction
# that rolls back (or in a savepoint that does) is forgotten.
_BEKEND: "weakref.WeakKeyDictionary[sa.Engine, set[str]]" = weakref.WeakKeyDictionary()
_NIEUW = "trajecten.opslag.besluiten.nieuw"  # Connection.info: the keys the running transaction inserted
_MAX_BEKEND = 100_000
_lock = threading.Lock()


def _bekend(engine) -> set[str]:
    known = _BEKEND.get(engine)
    if known is None:
        with _lock:
            known = _BEKEND.get(engine)
            if known is None:
                known = _BEKEND[engine] = set()
                event.listen(engine, "begin", _vergeet)  # nothing left over from an earlier transaction
                event.listen(engine, "commit", _na_commit)
                event.listen(engine, "rollback", _vergeet)
                event.listen(engine, "rollback_savepoint", lambda conn, name, context: _vergeet(conn))
    return known


def _pending(conn) -> set[str] | None:
    """The keys the ending transaction inserted, taken from the connection; none from a connection that was
    lost (its rollback must not fail here; ``begin`` clears what a lost one left)."""
    if conn.invalidated:
        return None
    try:
        return conn.info.pop(_NIEUW, None)
    except sa.exc.SQLAlchemyError:
        return None


def _na_commit(conn) -> None:
    nieuw = _pending(conn)
    if nieuw:
        known = _bekend(conn.engine)
        if len(known) > _MAX_BEKEND:  # only a shortcut: starting over costs one insert per decision
            known.clear()
        known.update(nieuw)


def _vergeet(conn) -> None:
    _pending(conn)


def lees(conn, sleutels: Iterable[str]) -> dict[str, dict]:
    sleutels = set(sleutels)
    if not sleutels:
        return {}
    return dict(conn.execute(sa.select(B.c.sleutel, B.c.inhoud).where(in_values(B.c.sleutel, sleutels, conn))).all())


def met_besluit(conn, payloads: list) -> list:
    """The payloads with each referred decision in its place (``besluit``, as events carried it before)."""
    inhoud = lees(conn, (p[REF] for p in payloads if isinstance(p, dict) and REF in p))
    out = []
    for p in payloads:
        if isinstance(p, dict) and REF in p:
            p = {k: v for k, v in p.items() if k != REF} | {"besluit": inhoud.get(p[REF])}
        out.append(p)
    return out
