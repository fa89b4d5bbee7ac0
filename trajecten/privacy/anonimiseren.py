"""Retention: anonymise the personal data of clients whose trajectories all ended before the retention
period, so that nothing identifies them while every monitoring count stays the same.

A client qualifies when they have at least one trajectory, all of them ended (``beeindigd``), each ended
longer ago than its retention period (``bewaartermijn_maanden`` of the instrument's processing activity
in ``data/verwerkingsactiviteiten.yaml``, of the payouts' activity when it had payouts; the setting
``TRAJECTEN_BEWAARTERMIJN_MAANDEN`` overrides them all), and no payout still open (proposed, approved or
exported but not yet paid). What is replaced: name, BSN (by ``A`` + the client id in base 36: unique, and
it fails the 11-test so it can never be taken for a BSN), birth date, the letters of the postcode (the
four digits stay: the area team follows from them), IBAN, the payee's name and IBAN of their payouts, and
free text: event notes and reasons, nested decision details, the ontwikkelplan and ladder notes.
Trajectories (instrument, dates, outcome), payouts (amount, status) and the events' types stay, so
``monitoring.maandcijfers`` gives the same figures before and after. Each client gets an event
``client_geanonimiseerd`` and a record in the Logboek Dataverwerkingen (written before the BSN goes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlmodel import SQLModel

from trajecten.opslag import besluiten
from trajecten.privacy import logboek
from trajecten.privacy import verwerkingsregister
from trajecten.opslag.models import Client, Gebeurtenis, Traject, TrajectStatus, Uitbetaling
from trajecten.basis.tijd import local_date

ACTOR = "systeem:anonimiseer"
NAAM = "(geanonimiseerd)"
PREFIX = "A"  # placeholder BSNs start with a letter: never 9 digits, never passing the 11-test
OPEN_BETALINGEN = ("voorgesteld", "goedgekeurd", "geexporteerd")
VRIJE_TEKST = frozenset({"toelichting", "reden", "overrule_reden", "opmerking", "omschrijving", "notitie",
                         "telefoon", "email", "e_mail", "adres", "naam", "motivering"})
C, T, E, U = Client.__table__, Traject.__table__, Gebeurtenis.__table__, Uitbetaling.__table__
# other tables keyed by client_id with free text: (table, {column: replacement}); skipped when absent
KLANTTEKST = {
    "ontwikkelplan": {"inhoud": {"geanonimiseerd": True}},
    "ontwikkelplan_versie": {"inhoud": {"geanonimiseerd": True}, "reden": NAAM, "wijzigingen": []},
    "ladder_trede": {"toelichting": ""},
    "overplaatsing": {"reden": NAAM, "toelichting": None},
}


@dataclass
class AnonimiseerResultaat:
    peildatum: date
    geanonimiseerd: int = 0
    wacht_op_betaling: int = 0  # past retention but a payout is still open

    def as_dict(self) -> dict:
        return {"peildatum": self.peildatum.isoformat(), "geanonimiseerd": self.geanonimiseerd,
                "wacht_op_betaling": self.wacht_op_betaling}


def placeholder_bsn(client_id: int) -> str:
    """``A`` + the client id in base 36, 9 characters: unique per client, never a valid BSN."""
    digits, n = "", int(client_id)
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[r] + digits
    return PREFIX + (digits or "0").rjust(8, "0")


def bewaartermijn(engine, instrument: str, met_betalingen: bool) -> int:
    """Months a trajectory's data is kept after its end."""
    if engine.settings.bewaartermijn_maanden:
        return engine.settings.bewaartermijn_maanden
    reg = verwerkingsregister.register()
    months = reg.instrument(instrument).bewaartermijn_maanden
    if met_betalingen:
        months = max(months, reg.get("uitbetalingen").bewaartermijn_maanden)
    return months


def kandidaten(engine, peildatum: date) -> tuple[list[int], int]:
    """Clients past retention (ids), and how many of those wait for an open payout."""
    niet_afgelopen = sa.select(T.c.client_id).where(
        sa.or_(T.c.status != TrajectStatus.beeindigd.value, T.c.eind_datum.is_(None)))
    open_betaling = (sa.select(T.c.client_id).join(U, U.c.traject_id == T.c.id)
                     .where(U.c.status.in_(OPEN_BETALINGEN)))
    heeft_betaling = sa.select(U.c.traject_id).distinct()
    q = (sa.select(T.c.client_id, T.c.instrument, T.c.eind_datum, T.c.id.in_(heeft_betaling).label("betaald"))
         .join(C, C.c.id == T.c.client_id)
         .where(T.c.client_id.not_in(niet_afgelopen), ~C.c.bsn.startswith(PREFIX))
         .order_by(T.c.client_id))
    verlopen: dict[int, bool] = {}
    with engine.reader.connect() as conn:
        for cid, instrument, eind, betaald in conn.execute(q):
            ok = eind + relativedelta(months=bewaartermijn(engine, instrument, bool(betaald))) < peildatum
            verlopen[cid] = verlopen.get(cid, True) and ok
        wachten = set(conn.execute(open_betaling).scalars())
    ids = [cid for cid, ok in verlopen.items() if ok]
    return [c for c in ids if c not in wachten], sum(1 for c in ids if c in wachten)


def anonimiseer(engine, peildatum: date | None = None, *, chunk: int = 500) -> AnonimiseerResultaat:
    """Anonymise every client past retention on ``peildatum`` (default: today), ``chunk`` per transaction."""
    peildatum = peildatum or local_date(engine.clock.now())
    ids, wachten = kandidaten(engine, peildatum)
    res = AnonimiseerResultaat(peildatum, wacht_op_betaling=wachten)
    for i in range(0, len(ids), chunk):
        res.geanonimiseerd += _anonimiseer(engine, ids[i:i + chunk], peildatum)
    return res


def _anonimiseer(engine, ids: list[int], peildatum: date) -> int:
    now = engine.clock.now()
    with engine.db.begin() as conn:
        clients = conn.execute(sa.select(C.c.id, C.c.bsn, C.c.postcode).where(
            C.c.id.in_(ids), ~C.c.bsn.startswith(PREFIX))).all()  # again inside the transaction
        if not clients:
            return 0
        ids = [c.id for c in clients]
        # the log record first: afterwards the BSN is gone
        logboek.schrijf(engine, logboek.rijen_voor_bsns(
            engine, [(c.bsn, "clientadministratie") for c in clients], ACTOR,
            naam="anonimiseren na de bewaartermijn", component="anonimiseer"), conn)
        conn.execute(C.update().where(C.c.id == sa.bindparam("cid")).values(
            bsn=sa.bindparam("nieuw_bsn"), naam=NAAM, geboortedatum=None, postcode=sa.bindparam("pc"), iban=None),
            [{"cid": c.id, "nieuw_bsn": placeholder_bsn(c.id), "pc": (c.postcode or "")[:4]} for c in clients])
        traject_ids = list(conn.execute(sa.select(T.c.id).where(T.c.client_id.in_(ids))).scalars())
        conn.execute(U.update().where(U.c.traject_id.in_(traject_ids)).values(
            ontvanger_naam=None, ontvanger_iban=None,
            afwijzing_reden=sa.case((U.c.afwijzing_reden.is_(None), None), else_=NAAM)))
        # payees (an employer's or supplier's name and account) and free text among the trajectory's facts;
        # the typed facts monitoring counts by (dates, variant, hours) stay
        feiten = [{"tid": t.id, "f": _feiten(t.feiten)} for t in conn.execute(
            sa.select(T.c.id, T.c.feiten).where(T.c.id.in_(traject_ids))) if _feiten(t.feiten) != (t.feiten or {})]
        if feiten:
            conn.execute(T.update().where(T.c.id == sa.bindparam("tid")).values(feiten=sa.bindparam("f")), feiten)
        events = conn.execute(sa.select(E.c.id, E.c.payload).where(E.c.client_id.in_(ids))).all()
        changed = [{"eid": e.id, "p": _payload(e.payload)} for e in events]
        if changed:
            conn.execute(E.update().where(E.c.id == sa.bindparam("eid")).values(payload=sa.bindparam("p")), changed)
        bestaand = set(sa.inspect(conn).get_table_names())
        for naam, kolommen in KLANTTEKST.items():
            tabel = SQLModel.metadata.tables.get(naam)
            if tabel is not None and naam in bestaand:
                conn.execute(tabel.update().where(tabel.c.client_id.in_(ids)).values(**kolommen))
        conn.execute(E.insert(), [
            {"traject_id": None, "client_id": cid, "stap_id": None, "type": "client_geanonimiseerd", "actor": ACTOR,
             "op": now, "datum": peildatum, "payload": {"reden": "bewaartermijn verstreken"}, "regel": None,
             "regel_versie": None} for cid in ids])
    return len(ids)


def _feiten(feiten) -> dict:
    """A trajectory's facts without payee details (``<ontvanger>_naam``/``_iban``) and free text."""
    return {k: (NAAM if k in VRIJE_TEKST or k.endswith(("_naam", "_iban")) else v) for k, v in (feiten or {}).items()}


def _payload(payload) -> dict:
    """Free text out, nested details (decision facts) out; the plain facts of what happened stay."""
    if not isinstance(payload, dict):
        return {"geanonimiseerd": True}
    out = {k: v for k, v in payload.items()
           if k not in VRIJE_TEKST and k != besluiten.REF and not isinstance(v, (dict, list))}
    out.update({k: NAAM for k in payload if k in VRIJE_TEKST})
    out["geanonimiseerd"] = True
    return out
