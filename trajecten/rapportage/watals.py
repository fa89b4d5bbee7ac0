"""Policy what-if over the current caseload: how many clients gain or lose eligibility (and the money
effect) when a rule parameter changes. Reads the caseload; writes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator

import sqlalchemy as sa

from trajecten.kern.feiten import regel_feiten
from trajecten.opslag.models import Client, Traject, TrajectStatus

C, T = Client.__table__, Traject.__table__


def caseload(engine, regel: str, peildatum: date, aannames: dict[str, Any] | None = None
             ) -> Iterator[tuple[int, dict[str, Any], date]]:
    """(client id, facts, peildatum) for every client. Facts: the client's own (birth date, bijstand
    since), those of a running trajectory whose instrument uses this rule, then ``aannames`` for what
    is not known (e.g. ``uren_per_week=20``); ``werk_start`` defaults to the peildatum."""
    wanted = engine.rules.fact_names(regel)
    instruments = {name for name in engine.register.names()
                   if _uses_rule(engine.register.current(name).definitie, regel)}
    running: dict[int, dict] = {}
    with engine.db.connect() as conn:
        if instruments:
            for row in conn.execute(sa.select(T.c.client_id, T.c.feiten).where(
                    T.c.instrument.in_(instruments), T.c.status != TrajectStatus.beeindigd.value).order_by(T.c.id)):
                running[row.client_id] = row.feiten or {}
        rows = conn.execute(sa.select(C.c.id, C.c.geboortedatum, C.c.bijstand_sinds).order_by(C.c.id)).all()
    base = dict(aannames or {})
    if "werk_start" in wanted:
        base.setdefault("werk_start", peildatum)
    for r in rows:
        facts = {**base, **regel_feiten(r.geboortedatum, r.bijstand_sinds, running.get(r.id, {}))}
        yield r.id, {k: v for k, v in facts.items() if k in wanted}, peildatum


def _uses_rule(defn, regel: str) -> bool:
    return defn.regel == regel or any(s.regel == regel for s in defn.stappen)


def wat_als(engine, regel: str, overrides: dict[str, object], peildatum: date,
            aannames: dict[str, Any] | None = None):
    import regels

    return regels.wat_als(regel, caseload(engine, regel, peildatum, aannames), overrides)
