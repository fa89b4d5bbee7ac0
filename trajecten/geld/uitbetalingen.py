"""Payouts: proposed once (idempotency key), approved by a second person, exported once.

States: voorgesteld -> goedgekeurd -> geexporteerd -> betaald, or -> afgewezen. The four-eyes rule: the
person who approves or rejects is neither the one who proposed the payout nor the one who started its
trajectory. Export marks the payouts ``geexporteerd`` in the same transaction that stores the batch
(with its file), so a crash leaves either both or neither, and a second export finds nothing to do.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable, Sequence

import sqlalchemy as sa

from trajecten.opslag.db import in_values
from trajecten.basis.fouten import NietGevonden, NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.opslag.models import Betaalbatch, Client, Gebeurtenis, Traject, Uitbetaling, UitbetalingStatus
from trajecten.basis.tijd import local_date

U, T, C, B, E = (Uitbetaling.__table__, Traject.__table__, Client.__table__, Betaalbatch.__table__,
                 Gebeurtenis.__table__)


@dataclass(frozen=True)
class BetaalRegel:
    """One payment line handed to the payment-file writer (a connector)."""

    uitbetaling_id: int
    sleutel: str
    naam: str
    iban: str
    bedrag: Decimal
    omschrijving: str
    uitvoerdatum: date


@dataclass(frozen=True)
class Debiteur:
    naam: str
    iban: str
    bic: str


@dataclass(frozen=True)
class ExportResultaat:
    batch_id: int | None
    bericht_id: str | None
    aantal: int
    totaal: Decimal
    xml: bytes | None
    overgeslagen: tuple[tuple[int, str], ...]  # (payout id, reason) left approved, not exported


Schrijver = Callable[[str, Debiteur, Sequence[BetaalRegel]], bytes]


def eerdere_toekenningen(conn, client_ids: set[int]) -> dict[int, list[dict]]:
    """Client -> every payout the engine proposed for them that was not rejected (whatever its status now),
    as the rules' fact ``eerdere_toekenningen`` reads it: rule, part, subject, payable date, trajectory.
    The engine's own history: a repeat term or "one per job" is decided from it, not from a typed fact."""
    out: dict[int, list[dict]] = {}
    for r in conn.execute(
        sa.select(T.c.client_id, U.c.regel, U.c.deel, U.c.onderwerp, U.c.opeisbaar_op, U.c.traject_id)
        .join(T, T.c.id == U.c.traject_id)
        .where(in_values(T.c.client_id, client_ids, conn), U.c.status != UitbetalingStatus.afgewezen.value)
        .order_by(U.c.opeisbaar_op, U.c.id)
    ):
        out.setdefault(r.client_id, []).append({"regel": r.regel, "deel": r.deel, "onderwerp": r.onderwerp or "",
                                                "datum": r.opeisbaar_op, "traject": r.traject_id})
    return out


def lijst(engine, status: str | None = None):
    q = (sa.select(U, T.c.instrument, T.c.gestart_door).join(T, T.c.id == U.c.traject_id).order_by(U.c.id))
    if status:
        if status not in UitbetalingStatus.__members__:
            raise OngeldigeInvoer("status", f"kies een van {', '.join(UitbetalingStatus.__members__)}")
        q = q.where(U.c.status == status)
    with engine.db.connect() as conn:
        return conn.execute(q).all()


def _load(engine, conn, uitbetaling_id: int):
    q = sa.select(U, T.c.gestart_door, T.c.client_id).join(T, T.c.id == U.c.traject_id).where(U.c.id == uitbetaling_id)
    if engine.is_postgres:
        q = q.with_for_update(of=U)
    row = conn.execute(q).first()
    if row is None:
        raise NietGevonden(f"uitbetaling {uitbetaling_id} bestaat niet")
    return row


def _four_eyes(row, door: str) -> None:
    if not door:
        raise OngeldigeInvoer("door", "wie beoordeelt de uitbetaling?")
    if door == row.voorgesteld_door:
        raise NietToegelaten(f"uitbetaling {row.id}: u heeft deze zelf voorgesteld; een tweede persoon moet beoordelen")
    if door == row.gestart_door:
        raise NietToegelaten(f"uitbetaling {row.id}: u heeft het traject gestart; een tweede persoon moet beoordelen")


def keur_goed(engine, uitbetaling_id: int, *, door: str) -> None:
    now = engine.clock.now()
    with engine.db.begin() as conn:
        row = _load(engine, conn, uitbetaling_id)
        _four_eyes(row, door)
        if row.status != UitbetalingStatus.voorgesteld.value:
            raise OngeldigeToestand(f"uitbetaling {uitbetaling_id} is {row.status}, niet voorgesteld")
        conn.execute(U.update().where(U.c.id == row.id, U.c.status == UitbetalingStatus.voorgesteld.value)
                     .values(status=UitbetalingStatus.goedgekeurd.value, beoordeeld_door=door, beoordeeld_op=now))
        conn.execute(E.insert().values(
            traject_id=row.traject_id, client_id=row.client_id, type="uitbetaling_goedgekeurd", actor=door, op=now,
            payload={"uitbetaling": row.id, "deel": row.deel, "bedrag": f"{row.bedrag:.2f}"},
            regel=row.regel, regel_versie=row.regel_versie))
        _meld_traject(engine, conn, row, "bij_goedkeuring", door)


def wijs_af(engine, uitbetaling_id: int, *, door: str, reden: str) -> None:
    now = engine.clock.now()
    if not reden or not reden.strip():
        raise OngeldigeInvoer("reden", "een afwijzing heeft een reden nodig")
    with engine.db.begin() as conn:
        row = _load(engine, conn, uitbetaling_id)
        _four_eyes(row, door)
        if row.status not in (UitbetalingStatus.voorgesteld.value, UitbetalingStatus.goedgekeurd.value):
            raise OngeldigeToestand(f"uitbetaling {uitbetaling_id} is {row.status}; afwijzen kan niet meer")
        conn.execute(U.update().where(U.c.id == row.id).values(
            status=UitbetalingStatus.afgewezen.value, beoordeeld_door=door, beoordeeld_op=now,
            afwijzing_reden=reden.strip()[:500]))
        conn.execute(E.insert().values(
            traject_id=row.traject_id, client_id=row.client_id, type="uitbetaling_afgewezen", actor=door, op=now,
            payload={"uitbetaling": row.id, "reden": reden.strip()[:500]}, regel=row.regel,
            regel_versie=row.regel_versie))
        _meld_traject(engine, conn, row, "bij_afwijzing", door)


def _meld_traject(engine, conn, row, wanneer: str, door: str) -> None:
    """The event the payout's step names for an approval or rejection (``bij_goedkeuring``/``bij_afwijzing``,
    e.g. Premie op Werk ends as volledige_premie only once part 2 is approved), in the same transaction.
    A trajectory that has ended meanwhile keeps its outcome."""
    tr = conn.execute(sa.select(T.c.instrument, T.c.definitie_versie, T.c.status).where(T.c.id == row.traject_id)).first()
    if tr is None or tr.status == "beeindigd":
        return
    compiled = engine.register.get(tr.instrument, tr.definitie_versie, conn)
    for st in compiled.definitie.stappen:
        if st.kind.value == "payout" and st.regel == row.regel and st.deel == row.deel and getattr(st, wanneer):
            engine.record_event(row.traject_id, getattr(st, wanneer), actor=door, conn=conn, door_engine=True,
                                payload={"uitbetaling": row.id})
            return


def schrijver(engine) -> Schrijver:
    """The payment-file writer named in the settings (a connector, loaded by name)."""
    module, _, func = engine.settings.betaalbestand_schrijver.partition(":")
    return getattr(importlib.import_module(module), func)


def exporteer(engine, *, door: str, writer: Schrijver | None = None) -> ExportResultaat:
    """Export every approved payout as one batch; nothing is ever exported twice."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    writer = writer or schrijver(engine)
    s = engine.settings
    debiteur = Debiteur(s.sepa_debiteur_naam, s.sepa_debiteur_iban, s.sepa_debiteur_bic)
    now = engine.clock.now()
    today = local_date(now)
    with engine.db.begin() as conn:
        q = (sa.select(U.c.id, U.c.sleutel, U.c.traject_id, U.c.deel, U.c.bedrag, U.c.regel, U.c.opeisbaar_op,
                       T.c.client_id, T.c.instrument,
                       sa.func.coalesce(U.c.ontvanger_naam, C.c.naam).label("naam"),
                       sa.func.coalesce(U.c.ontvanger_iban, C.c.iban).label("iban"))
             .join(T, T.c.id == U.c.traject_id).join(C, C.c.id == T.c.client_id)
             .where(U.c.status == UitbetalingStatus.goedgekeurd.value).order_by(U.c.id))
        if engine.is_postgres:
            q = q.with_for_update(of=U, skip_locked=True)
        rows = conn.execute(q).all()
        lines, skipped = [], []
        for r in rows:
            try:
                iban = str(IBAN(r.iban or "").compact)
            except SchwiftyException:
                skipped.append((r.id, "ontvanger heeft geen geldig IBAN"))
                continue
            lines.append(BetaalRegel(r.id, r.sleutel, r.naam or "onbekend", iban, Decimal(r.bedrag),
                                     f"{r.regel.replace('_', ' ')} deel {r.deel} traject {r.traject_id}"[:140],
                                     max(today, r.opeisbaar_op)))
        if not lines:
            return ExportResultaat(None, None, 0, Decimal("0.00"), None, tuple(skipped))
        bericht_id = f"TRJ{now:%Y%m%d%H%M%S}{uuid.uuid4().hex[:8]}"[:35]
        xml = writer(bericht_id, debiteur, lines)
        totaal = sum((line.bedrag for line in lines), Decimal("0.00"))
        batch_id = conn.execute(B.insert().values(
            bericht_id=bericht_id, aangemaakt_op=now, door=door, aantal=len(lines), totaal=totaal,
            xml=xml.decode("utf-8"))).inserted_primary_key[0]
        ids = [line.uitbetaling_id for line in lines]
        n = conn.execute(U.update().where(U.c.id.in_(ids), U.c.status == UitbetalingStatus.goedgekeurd.value)
                         .values(status=UitbetalingStatus.geexporteerd.value, batch_id=batch_id)).rowcount
        if n != len(ids):  # someone else exported part of them meanwhile: roll everything back
            raise OngeldigeToestand("uitbetalingen zijn tegelijk door een andere export opgepakt; probeer opnieuw")
        by_id = {r.id: r for r in rows}
        conn.execute(E.insert(), [
            {"traject_id": by_id[i].traject_id, "client_id": by_id[i].client_id, "stap_id": None,
             "type": "uitbetaling_geexporteerd", "actor": door, "op": now, "datum": None,
             "payload": {"uitbetaling": i, "batch": batch_id, "bericht_id": bericht_id}, "regel": by_id[i].regel,
             "regel_versie": None} for i in ids])
    return ExportResultaat(batch_id, bericht_id, len(lines), totaal, xml, tuple(skipped))


def markeer_betaald(engine, batch_id: int, *, door: str) -> int:
    """The bank confirmed a batch: its exported payouts become ``betaald`` (once). Returns how many."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        if conn.execute(sa.select(B.c.id).where(B.c.id == batch_id)).first() is None:
            raise NietGevonden(f"betaalbatch {batch_id} bestaat niet")
        rows = conn.execute(sa.select(U.c.id, U.c.traject_id, U.c.regel, T.c.client_id).join(T, T.c.id == U.c.traject_id)
                            .where(U.c.batch_id == batch_id, U.c.status == UitbetalingStatus.geexporteerd.value)).all()
        if not rows:
            return 0
        conn.execute(U.update().where(U.c.id.in_([r.id for r in rows]),
                                      U.c.status == UitbetalingStatus.geexporteerd.value)
                     .values(status=UitbetalingStatus.betaald.value, betaald_op=now))
        conn.execute(E.insert(), [
            {"traject_id": r.traject_id, "client_id": r.client_id, "stap_id": None, "type": "uitbetaling_betaald",
             "actor": door, "op": now, "datum": None, "payload": {"uitbetaling": r.id, "batch": batch_id},
             "regel": r.regel, "regel_versie": None} for r in rows])
    return len(rows)


def batches_te_bevestigen(engine) -> list[int]:
    """The batches with payouts exported and not yet confirmed paid by the bank."""
    with engine.db.connect() as conn:
        return list(conn.execute(sa.select(U.c.batch_id).where(
            U.c.status == UitbetalingStatus.geexporteerd.value).distinct().order_by(U.c.batch_id)).scalars())


def batch_xml(engine, batch_id: int) -> bytes:
    with engine.db.connect() as conn:
        xml = conn.execute(sa.select(B.c.xml).where(B.c.id == batch_id)).scalar()
    if xml is None:
        raise NietGevonden(f"betaalbatch {batch_id} bestaat niet")
    return xml.encode("utf-8")
