"""The engine's state as Prometheus metrics (text exposition format 0.0.4), for ``GET /metrics``.

Counts per fixed status only - never a name, BSN, id or amount of a person. Every metric is read from the
database at scrape time, so every web process (and a worker) reports the same numbers:

* ``trajecten_database_bereikbaar``, ``trajecten_schema_actueel`` (1/0)
* ``trajecten_stappen_achterstand`` and ``trajecten_stappen_achterstand_oudste_seconden``: due steps the
  sweep has not fired yet, and the age of the oldest (alert when it grows)
* ``trajecten_stappen_gevuurd_total``: steps fired (uitgevoerd + overgeslagen; steps are never deleted)
* ``trajecten_stappen{status}``: planned steps per status
* ``trajecten_incidenten_open``, ``trajecten_quarantaine_open``
* ``trajecten_uitbetalingen_wachtend{status}``: payouts waiting (voorgesteld, goedgekeurd, geexporteerd)
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from trajecten.beheer.gezondheid import gereedheid
from trajecten.opslag.models import GeplandeStap, Incident, Quarantaine, StapStatus, Uitbetaling, UitbetalingStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

S, I, Q, U = GeplandeStap.__table__, Incident.__table__, Quarantaine.__table__, Uitbetaling.__table__
GEVUURD = (StapStatus.uitgevoerd.value, StapStatus.overgeslagen.value)
WACHTEND = (UitbetalingStatus.voorgesteld.value, UitbetalingStatus.goedgekeurd.value,
            UitbetalingStatus.geexporteerd.value)


def _metric(naam: str, soort: str, uitleg: str, waarden: list[tuple[dict[str, str], float]]) -> list[str]:
    regels = [f"# HELP {naam} {uitleg}", f"# TYPE {naam} {soort}"]
    for labels, waarde in waarden:
        lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
        regels.append(f"{naam}{{{lab}}} {_getal(waarde)}" if lab else f"{naam} {_getal(waarde)}")
    return regels


def _getal(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def tellingen(conn) -> dict:
    """The counts behind the metrics (only fixed status names as keys)."""
    per_stap = dict(conn.execute(sa.select(S.c.status, sa.func.count()).group_by(S.c.status)).all())
    per_betaling = dict(conn.execute(sa.select(U.c.status, sa.func.count())
                                     .where(U.c.status.in_(WACHTEND)).group_by(U.c.status)).all())
    return {
        "stappen": {s.value: int(per_stap.get(s.value, 0)) for s in StapStatus},
        "incidenten_open": conn.execute(sa.select(sa.func.count()).select_from(I)
                                        .where(I.c.opgelost_op.is_(None))).scalar_one(),
        "quarantaine_open": conn.execute(sa.select(sa.func.count()).select_from(Q)
                                         .where(Q.c.status == "open")).scalar_one(),
        "uitbetalingen_wachtend": {s: int(per_betaling.get(s, 0)) for s in WACHTEND},
    }


def tekst(engine, now: datetime | None = None) -> str:
    """The exposition text for ``engine`` (an :class:`~trajecten.kern.engine.Engine`)."""
    now = now or engine.clock.now()
    klaar = gereedheid(engine.db, now)
    bereikbaar = klaar["database"] == "ok"
    actueel = bool(klaar["schema"] and klaar["schema"]["actueel"])
    regels = _metric("trajecten_database_bereikbaar", "gauge", "1 when the engine database answers",
                     [({}, int(bereikbaar))])
    regels += _metric("trajecten_schema_actueel", "gauge", "1 when the database is at the newest migration",
                      [({}, int(actueel))])
    if actueel:
        a = klaar["achterstand"]
        with engine.reader.connect() as conn:
            t = tellingen(conn)
        regels += _metric("trajecten_stappen_achterstand", "gauge", "due steps not fired yet", [({}, a["stappen"])])
        regels += _metric("trajecten_stappen_achterstand_oudste_seconden", "gauge",
                          "age in seconds of the oldest due step not fired yet (0 without backlog)",
                          [({}, a["oudste_s"])])
        regels += _metric("trajecten_stappen_gevuurd_total", "counter", "steps fired (uitgevoerd + overgeslagen)",
                          [({}, sum(t["stappen"][s] for s in GEVUURD))])
        regels += _metric("trajecten_stappen", "gauge", "planned steps per status",
                          [({"status": s}, n) for s, n in t["stappen"].items()])
        regels += _metric("trajecten_incidenten_open", "gauge", "steps whose retries ran out, not yet resolved",
                          [({}, t["incidenten_open"])])
        regels += _metric("trajecten_quarantaine_open", "gauge", "rejected feed records waiting for a person",
                          [({}, t["quarantaine_open"])])
        regels += _metric("trajecten_uitbetalingen_wachtend", "gauge",
                          "payouts waiting: for approval (voorgesteld), export (goedgekeurd) "
                          "or the bank (geexporteerd)",
                          [({"status": s}, n) for s, n in t["uitbetalingen_wachtend"].items()])
    return "\n".join(regels) + "\n"
