"""The Logboek Dataverwerkingen (Logius standard): one record per processing of a data subject's data.

Every read or write of a client's personal data through the API, the pages, the command line and the
scheduled jobs passes :func:`verwerking`, which writes one :class:`~trajecten.opslag.models.Verwerking` row per
data subject: W3C Trace Context ids (``trace_id``, ``span_id``, ``parent_span_id``), a name, start and end
time, status, the processing activity (a URI from the register ``data/verwerkingsactiviteiten.yaml``), the
data subject as a keyed hash of the BSN (HMAC-SHA256, key: setting ``logboek_sleutel``; never the BSN
itself), the user and the component. Code that reads client data deep down (``web/_data.py``) calls
:func:`noteer` with the client ids it touched; the surrounding :func:`verwerking` writes them all in one
insert when it ends. :func:`inzage` lists one client's processing history (an access request).
"""

from __future__ import annotations

import hmac
import logging
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Iterator

import sqlalchemy as sa

from trajecten.basis.tijd import SystemClock
from trajecten.opslag.db import in_values
from trajecten.privacy.trace import Trace, _span_id, huidige_trace, in_trace, nieuwe_trace
from trajecten.privacy.verwerkingsregister import register
from trajecten.opslag.models import Client, Gebeurtenis, Traject, Verwerking as VerwerkingRij

log = logging.getLogger("trajecten.privacy.logboek")
C, E, T, V = Client.__table__, Gebeurtenis.__table__, Traject.__table__, VerwerkingRij.__table__
OK, ERROR = "OK", "ERROR"
_ECHTE_TIJD = SystemClock()

# --------------------------------------------------------------------------- pseudonymisation


@lru_cache(maxsize=100_000)
def pseudoniem(bsn: str, sleutel: str) -> str:
    """The data subject id of the log: HMAC-SHA256 of the BSN with the secret key (hex, 64 chars);
    remembered for the clients a process meets again and again (each sweep, each page)."""
    return hmac.digest(sleutel.encode("utf-8"), bsn.encode("utf-8"), "sha256").hex()  # one-shot: same HMAC


def _sleutel(engine) -> str:
    return engine.settings.logboek_sleutel.get_secret_value()


# --------------------------------------------------------------------------- recording


@dataclass
class Verwerking:
    """A processing in progress: what it is for, who does it, and the data subjects it touched."""

    activiteit: str  # register key; the activity of subjects noted without their own
    naam: str
    gebruiker: str
    component: str
    trace: Trace  # this processing's span
    parent_span_id: str | None
    start: datetime
    zonder_betrokkene: bool = False  # aggregates (monitoring): one record without a data subject
    clients: dict[int, set[str]] = field(default_factory=dict)  # client id -> specific activity keys
    bsns: dict[str, set[str]] = field(default_factory=dict)  # BSN -> specific activity keys (never stored)
    eerder_vastgelegd: bool = False  # records already committed by the handler (``leg_vast``)

    def noteer(self, client_ids: Iterable[int], activiteit: str | None = None) -> None:
        for cid in client_ids:
            if cid is not None:
                acts = self.clients.setdefault(int(cid), set())
                if activiteit is not None:
                    acts.add(activiteit)

    def noteer_bsn(self, bsn: str, activiteit: str | None = None) -> None:
        acts = self.bsns.setdefault(bsn, set())
        if activiteit is not None:
            acts.add(activiteit)

    @property
    def leeg(self) -> bool:
        return not self.clients and not self.bsns and not self.zonder_betrokkene

    def vastgelegd(self) -> None:
        """The records of what was noted so far are committed (:func:`leg_vast`): nothing left to write."""
        self.clients.clear()
        self.bsns.clear()
        self.zonder_betrokkene = False
        self.eerder_vastgelegd = True

    def rijen(self, engine, status: str, eind: datetime, *, conn=None,
              bekend: dict[int, str] | None = None) -> list[dict]:
        """One record per (data subject, activity): the subject's specific activities, else the default.
        The BSNs of the noted clients are read (in ``conn`` when given), except those in ``bekend``
        (client id -> BSN, already read by the caller)."""
        sleutel, reg = _sleutel(engine), register()
        per_bsn: dict[str, set[str]] = {b: set(a) for b, a in self.bsns.items()}
        if self.clients:
            bsn_of = {cid: bekend[cid] for cid in self.clients if cid in bekend} if bekend else {}
            rest = [cid for cid in self.clients if cid not in bsn_of]
            if rest:
                with (engine.reader.connect() if conn is None else nullcontext(conn)) as c:
                    bsn_of.update(bsns_van(c, rest))
            for cid, bsn in bsn_of.items():
                per_bsn.setdefault(bsn, set()).update(self.clients[cid])
        rows = [self._rij(reg.get(act).uri, pseudoniem(bsn, sleutel), status, eind)
                for bsn, acts in per_bsn.items() for act in sorted(acts or {self.activiteit})]
        if self.zonder_betrokkene and not rows:
            rows.append(self._rij(reg.get(self.activiteit).uri, None, status, eind))
        return rows

    def _rij(self, uri: str, betrokkene: str | None, status: str, eind: datetime) -> dict:
        return {"trace_id": self.trace.trace_id, "span_id": _span_id(), "parent_span_id": self.parent_span_id,
                "naam": self.naam[:200], "start_tijd": self.start, "eind_tijd": eind, "status": status,
                "activiteit": uri, "betrokkene": betrokkene, "betrokkene_type": "BSN" if betrokkene else None,
                "gebruiker": self.gebruiker[:100], "component": self.component[:50]}


_huidig: ContextVar[Verwerking | None] = ContextVar("trajecten_verwerking", default=None)


def huidige() -> Verwerking | None:
    return _huidig.get()


def noteer(client_ids: Iterable[int], activiteit: str | None = None) -> None:
    """Note that the running processing touched these clients (no-op outside a processing)."""
    v = _huidig.get()
    if v is not None:
        v.noteer(client_ids, activiteit)


def nu() -> datetime:
    """Log times are the real time (UTC), also when the engine's clock stands still (demo, tests)."""
    return _ECHTE_TIJD.now().astimezone(timezone.utc)


def begin(activiteit: str, gebruiker: str, *, naam: str, component: str, trace: Trace | None = None,
          zonder_betrokkene: bool = False, erf: bool = True) -> Verwerking:
    """A processing as a child span of ``trace`` (default: the current trace if ``erf``, else a new one)."""
    register().get(activiteit)  # an unknown activity key is a programming error: fail early
    parent = trace or (huidige_trace() if erf else None)
    span = parent.kind() if parent is not None else nieuwe_trace()
    return Verwerking(activiteit, naam, gebruiker or "onbekend", component, span,
                      parent.span_id if parent is not None else None, nu(), zonder_betrokkene)


@contextmanager
def actief(v: Verwerking) -> Iterator[Verwerking]:
    """Make ``v`` the running processing (and its span the current trace) inside the block."""
    with in_trace(v.trace):
        token = _huidig.set(v)
        try:
            yield v
        finally:
            _huidig.reset(token)


@contextmanager
def verwerking(engine, activiteit: str, betrokkenen: Iterable[int | str] | int | str | None = None,
               gebruiker: str = "", *, naam: str, component: str = "cli",
               zonder_betrokkene: bool = False) -> Iterator[Verwerking]:
    """Record a processing of personal data: ``betrokkenen`` are client ids (int) or BSNs (str); more can
    be noted inside the block (:func:`noteer`). When the block ends, one record per data subject is
    written with status OK, or ERROR when the block raised."""
    v = begin(activiteit, gebruiker, naam=naam, component=component, zonder_betrokkene=zonder_betrokkene)
    if betrokkenen is not None:
        for b in [betrokkenen] if isinstance(betrokkenen, (int, str)) else betrokkenen:
            if isinstance(b, str):
                v.noteer_bsn(b)
            else:
                v.noteer([b])
    status = OK
    try:
        with actief(v):
            yield v
    except BaseException:
        status = ERROR
        raise
    finally:
        try:
            sluit(engine, v, status)
        except Exception:
            if status == OK:  # never hide the block's own exception behind a logging failure
                raise


def sluit(engine, v: Verwerking, status: str) -> int:
    """Write the records of a finished processing (one insert). A failure to write is logged, and raised."""
    if v.leeg:
        return 0
    rows = v.rijen(engine, status, nu())
    schrijf(engine, rows)
    return len(rows)


def leg_vast(engine, v: Verwerking, conn, *, bekend: dict[int, str] | None = None, status: str = OK) -> int:
    """Write the records of ``v`` (what it noted so far) now, inside the caller's transaction ``conn``:
    the processing and its record commit together, one round trip less than a second transaction
    afterwards. Call ``v.vastgelegd()`` once that transaction has committed; when it rolls back, ``v``
    still holds its data subjects and the surrounding processing records them (status ERROR)."""
    if v.leeg:
        return 0
    rows = v.rijen(engine, status, nu(), conn=conn, bekend=bekend)
    schrijf(engine, rows, conn)
    return len(rows)


_INSERT, _WENIG = V.insert(), 4


def schrijf(engine, rows: list[dict] | Records, conn=None) -> None:
    if not rows:
        return
    from trajecten.opslag.bulk import bulk_insert, bulk_insert_kolommen

    try:
        with engine.transaction(conn) as c:
            if isinstance(rows, Records):
                bulk_insert_kolommen(c, V, rows.kolommen, rows.gedeeld)
            elif len(rows) <= _WENIG:  # a request's record or two: SQLAlchemy's cached INSERT is cheaper
                c.execute(_INSERT, rows)
            else:
                bulk_insert(c, V, rows)
    except Exception:
        log.error("logboek: %d verwerkingsrecord(s) niet geschreven", len(rows))
        raise


# --------------------------------------------------------------------------- bulk paths (feed, sweep, jobs)


@dataclass
class Records:
    """Records of one bulk processing, column by column: per record its span id, activity and data
    subject; everything else (trace, name, times, user, component) shared by all of them."""

    kolommen: dict[str, list]
    gedeeld: dict

    def __len__(self) -> int:
        return len(self.kolommen["span_id"])


_PER_RECORD = ("span_id", "activiteit", "betrokkene")


def rijen_voor_bsns(engine, items: Iterable[tuple[str, str]], gebruiker: str, *, naam: str, component: str,
                    start: datetime | None = None, status: str = OK) -> Records:
    """Records for (BSN, activity key) pairs processed together (a feed chunk, a sweep): one per pair,
    children of one span of the current trace."""
    sleutel, reg = _sleutel(engine), register()
    v = begin("clientadministratie", gebruiker, naam=naam, component=component)
    if start is not None:
        v.start = start
    proto = v._rij("", "(per record)", status, nu())  # a record with a data subject: what the records share
    uri_of: dict[str, str] = {}
    pairs = dict.fromkeys(items)  # each (BSN, activity) once, in order
    acts, subjects = [], []
    for bsn, act in pairs:
        uri = uri_of.get(act)
        if uri is None:
            uri = uri_of[act] = reg.get(act).uri
        acts.append(uri)
        subjects.append(pseudoniem(bsn, sleutel))
    return Records({"span_id": [_span_id() for _ in acts], "activiteit": acts, "betrokkene": subjects},
                   {k: val for k, val in proto.items() if k not in _PER_RECORD})


def bsns_van(conn, client_ids: Iterable[int]) -> dict[int, str]:
    """client id -> BSN (read only to make the pseudonym; never stored or logged)."""
    return dict(conn.execute(sa.select(C.c.id, C.c.bsn).where(in_values(C.c.id, client_ids, conn))).all())


def rijen_voor_clients(engine, conn, items: Iterable[tuple[int, str]], gebruiker: str, *, naam: str,
                       component: str, start: datetime | None = None) -> list[dict]:
    """``rijen_voor_bsns`` for (client id, activity key) pairs, the BSNs read in ``conn`` (a sweep batch)."""
    items = set(items)
    bsn_of = bsns_van(conn, {cid for cid, _ in items})
    return rijen_voor_bsns(engine, [(bsn_of[cid], act) for cid, act in items if cid in bsn_of], gebruiker,
                           naam=naam, component=component, start=start)


def verwerkt(engine, items: Iterable[tuple[str, str]], gebruiker: str, *, naam: str, component: str,
             conn=None) -> None:
    """(BSN, activity key) pairs a bulk path processed (the feed): noted in the running processing when
    there is one (the API push), else written at once in ``conn`` (a file import, a scheduled job)."""
    items = list(items)
    v = _huidig.get()
    if v is not None:
        for bsn, act in items:
            v.noteer_bsn(bsn, act)
        return
    schrijf(engine, rijen_voor_bsns(engine, items, gebruiker, naam=naam, component=component), conn)


def noteer_uitbetalingen(engine, batch_id: int | None = None, ids: Iterable[int] = ()) -> None:
    """Note the clients whose names and IBANs are in a payment batch or in the given payouts."""
    from trajecten.opslag.models import Uitbetaling

    U = Uitbetaling.__table__
    ids = list(ids)
    if _huidig.get() is None or (batch_id is None and not ids):
        return
    cond = U.c.batch_id == batch_id if batch_id is not None else sa.false()
    if ids:
        cond = sa.or_(cond, U.c.id.in_(ids))
    with engine.reader.connect() as conn:
        clients = conn.execute(sa.select(T.c.client_id).distinct().join(U, U.c.traject_id == T.c.id).where(cond))
        noteer(list(clients.scalars()), "uitbetalingen")


def hoogste_gebeurtenis(engine) -> int:
    with engine.reader.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(E.c.id), 0))).scalar_one()


def log_gebeurtenissen(engine, na_id: int, actor: str, *, naam: str, component: str,
                       start: datetime | None = None) -> int:
    """Records for the trajectories a system job touched: its events after id ``na_id`` written by
    ``actor``, one record per (client, instrument), in one insert. Returns the number of records."""
    q = (sa.select(C.c.bsn, T.c.instrument).distinct()
         .select_from(E.join(C, C.c.id == E.c.client_id).outerjoin(T, T.c.id == E.c.traject_id))
         .where(E.c.id > na_id, E.c.actor == actor))
    with engine.reader.connect() as conn:
        pairs = [(bsn, f"instrument:{instrument}" if instrument else "clientadministratie")
                 for bsn, instrument in conn.execute(q)]
    rows = rijen_voor_bsns(engine, pairs, actor, naam=naam, component=component, start=start)
    schrijf(engine, rows)
    return len(rows)


@contextmanager
def systeemtaak(engine, actor: str, *, naam: str, component: str) -> Iterator[None]:
    """Around a job that writes events as ``actor`` (sweep, signals): afterwards, one record per client
    and instrument it touched."""
    start, na_id = nu(), hoogste_gebeurtenis(engine)
    with in_trace(huidige_trace()):
        try:
            yield
        finally:  # batches committed before a failure were processed too
            log_gebeurtenissen(engine, na_id, actor, naam=naam, component=component, start=start)


# --------------------------------------------------------------------------- access request (inzage)


def inzage(engine, *, client_id: int | None = None, bsn: str | None = None) -> list[dict]:
    """The processing history of one person (oldest first): when, activity, who, status. By client id or
    by BSN (after anonymisation only the BSN, given by the person, finds the old records)."""
    if bsn is None:
        with engine.reader.connect() as conn:
            bsn = conn.execute(sa.select(C.c.bsn).where(C.c.id == client_id)).scalar_one_or_none()
        if bsn is None:
            from trajecten.basis.fouten import NietGevonden

            raise NietGevonden(f"cliënt {client_id} bestaat niet")
    betrokkene = pseudoniem(bsn, _sleutel(engine))
    per_uri = register().per_uri()
    with engine.reader.connect() as conn:
        rows = conn.execute(sa.select(V).where(V.c.betrokkene == betrokkene)
                            .order_by(V.c.start_tijd, V.c.id)).all()
    return [{"start_tijd": r.start_tijd, "eind_tijd": r.eind_tijd, "activiteit": r.activiteit,
             "activiteit_naam": per_uri[r.activiteit].naam if r.activiteit in per_uri else r.activiteit,
             "handeling": r.naam, "gebruiker": r.gebruiker, "component": r.component, "status": r.status,
             "trace_id": r.trace_id} for r in rows]

