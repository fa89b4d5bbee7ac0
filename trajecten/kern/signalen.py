"""Signals the rules decide, not fixed timers: escalate overdue tasks to the team lead
(``escalatie.taak_te_laat``) and remind coaches of clients without contact (``herinnering.geen_contact``).

Runs once a day (the scheduler and the Prefect deployment call :func:`signaleer`). Each signal is an
event with the rule, its version and its reasons, so a person can see why it came.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from trajecten.opslag.models import Gebeurtenis, Taak, TaakStatus, Traject, TrajectStatus
from trajecten.opslag.bulk import jsonable
from trajecten.basis.tijd import TZ, local_date

K, T, E = Taak.__table__, Traject.__table__, Gebeurtenis.__table__
ACTOR = "systeem:signalen"
CONTACT_TYPES = ("contact", "taak_afgerond", "herinnering_geen_contact")


@dataclass
class SignaalResultaat:
    escalaties: int = 0
    herinneringen: int = 0

    def as_dict(self) -> dict:
        return {"escalaties": self.escalaties, "herinneringen": self.herinneringen}


def signaleer(engine, now: datetime | None = None) -> SignaalResultaat:
    now = now or engine.clock.now()
    today = local_date(now)
    res = SignaalResultaat()
    with engine.db.begin() as conn:
        # Escalation: only tasks at least a calendar week overdue can be N working days late.
        rows = conn.execute(
            sa.select(K.c.id, K.c.traject_id, K.c.stap, K.c.due_at, T.c.client_id)
            .join(T, T.c.id == K.c.traject_id)
            .where(K.c.status == TaakStatus.open.value, K.c.geescaleerd_op.is_(None),
                   K.c.due_at < now - timedelta(days=5))
        ).all()
        events, escalated = [], []
        for r in rows:
            besluit = engine.rules.decide("escalatie.taak_te_laat",
                                          {"taak_due": r.due_at.astimezone(TZ).date(), "afgerond": False}, today)
            if besluit.uitkomst:
                escalated.append(r.id)
                events.append(_event(r.traject_id, r.client_id, "taak_geescaleerd", now,
                                     {"taak": r.id, "stap": r.stap, "naar": "teamleider", "besluit": besluit.to_json()},
                                     "escalatie.taak_te_laat", besluit.versie))
        if escalated:
            conn.execute(K.update().where(K.c.id.in_(escalated)).values(geescaleerd_op=now,
                                                                        geescaleerd_naar="teamleider"))
        res.escalaties = len(escalated)

        # Contact reminders: last contact (or the last reminder) per running trajectory.
        last = (sa.select(E.c.traject_id, sa.func.max(E.c.op).label("laatste"))
                .where(E.c.type.in_(CONTACT_TYPES)).group_by(E.c.traject_id).subquery())
        rows = conn.execute(
            sa.select(T.c.id, T.c.client_id, T.c.instrument, T.c.start_datum, last.c.laatste)
            .outerjoin(last, last.c.traject_id == T.c.id)
            .where(T.c.status == TrajectStatus.actief.value)
        ).all()
        for r in rows:
            laatste = r.laatste.astimezone(TZ).date() if r.laatste is not None else None
            besluit = engine.rules.decide("herinnering.geen_contact", {
                "laatste_contact": laatste, "traject_start": r.start_datum, "instrument": r.instrument}, today)
            if besluit.uitkomst:
                events.append(_event(r.id, r.client_id, "herinnering_geen_contact", now,
                                     {"besluit": besluit.to_json()}, "herinnering.geen_contact", besluit.versie))
                res.herinneringen += 1
        if events:
            conn.execute(E.insert(), events)
    return res


def _event(traject_id, client_id, type_, now, payload, regel, versie) -> dict:
    return {"traject_id": traject_id, "client_id": client_id, "stap_id": None, "type": type_, "actor": ACTOR,
            "op": now, "datum": None, "payload": jsonable(payload), "regel": regel, "regel_versie": versie}
