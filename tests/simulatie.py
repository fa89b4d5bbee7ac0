"""Run an instrument definition through simulated months and assert its timeline.

The helper an instrument author uses (docs/instrument-schrijven.md). It drives the real engine on a
real database with the engine's ``FixedClock``: it starts one trajectory, then jumps from one due
moment to the next, sweeps, records the scripted events on their day and completes the tasks that
appear with the scripted outcomes, until the trajectory ends or the months are over.

    t = simuleer(engine, "jobhunting", {"reguliere_route_geprobeerd": True}, maanden=2,
                 taken={"eindgesprek": "betaald_werk"})
    assert_tijdlijn(t, [("2026-01-07", "kennismaking"), ...], uitkomst="betaald_werk")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from tests.helpers import S, T, bsns
from trajecten.opslag.models import Client, Uitbetaling
from trajecten.basis.tijd import TZ, local_date

U, C = Uitbetaling.__table__, Client.__table__
OPEN = object()  # in ``taken``: leave this task open (nobody completes it)
ACTOR = "test:coach"
_MAX_STAPPEN = 5000  # a definition that keeps firing forever fails loudly instead of hanging


@dataclass(frozen=True)
class Regel:
    """One step that fired: its day (Amsterdam), key, occurrence, kind, status and recorded outcome."""

    datum: date
    stap: str
    volgnr: int
    soort: str
    status: str  # uitgevoerd | overgeslagen
    uitkomst: str | None


@dataclass
class Tijdlijn:
    traject_id: int
    besluit: Any  # the eligibility decision at start
    start_datum: date
    stappen: list[Regel]
    geannuleerd: list[tuple[str, int]]
    status: str
    uitkomst: str | None
    eind_datum: date | None
    gebeurtenissen: list[str]  # event types in order
    uitbetalingen: list[tuple]  # (deel, bedrag, opeisbaar_op, ontvanger_naam, ontvanger_iban, status)
    feiten: dict = field(default_factory=dict)

    def paren(self) -> list[tuple[str, str]]:
        """(ISO day, step key) of every fired step, in order: the shape ``assert_tijdlijn`` compares."""
        return [(r.datum.isoformat(), r.stap) for r in self.stappen]

    def dag(self, stap: str, volgnr: int = 0) -> date:
        for r in self.stappen:
            if r.stap == stap and r.volgnr == volgnr:
                return r.datum
        raise KeyError(f"{stap}#{volgnr} is niet uitgevoerd; wel: {self.paren()}")

    def tabel(self) -> str:
        """A readable listing (for failure messages and for writing the expected list the first time)."""
        rows = [f"  ({r.datum.isoformat()!r}, {r.stap!r}),  # {r.soort} {r.status} {r.uitkomst or ''}".rstrip()
                for r in self.stappen]
        return "\n".join(rows) + f"\n  -> {self.status} {self.uitkomst} {self.eind_datum}"


def nieuwe_client(engine, **kwargs) -> int:
    """A client with a fresh synthetic BSN; ``kwargs`` go to ``Engine.add_client``."""
    with engine.db.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(C)).scalar_one()
    kwargs.setdefault("bijstand_sinds", date(2020, 1, 1))
    kwargs.setdefault("geboortedatum", date(1980, 5, 17))
    kwargs.setdefault("coach", "coach.anna")
    return engine.add_client(bsns(n + 1, seed=4711)[n], **kwargs)


def simuleer(engine, instrument: str, feiten: dict, *, maanden: int, client: int | dict | None = None,
             gebeurtenissen: dict | None = None, taken: dict | None = None, actor: str = ACTOR) -> Tijdlijn:
    """Start ``instrument`` now (the engine's clock) and run it ``maanden`` months.

    client: a client id, or ``add_client`` arguments (default: in bijstand since 2020, born 1980).
    gebeurtenissen: {day: event} or {day: [events]}; recorded at 09:00 on that day with that date.
    taken: {step key: outcome} for the tasks that appear (a list gives the outcomes of successive
        occurrences; ``OPEN`` leaves the task open). A task not named gets its first outcome, or none.
    """
    clock = engine.clock
    cid = client if isinstance(client, int) else nieuwe_client(engine, **(client or {}))
    res = engine.start(instrument, cid, feiten, actor=actor)
    tid = res.traject_id
    einde = datetime.combine(local_date(clock.now()) + relativedelta(months=maanden), time(23, 59), tzinfo=TZ)
    script = sorted(((_dag(d), ev) for d, evs in (gebeurtenissen or {}).items()
                     for ev in (evs if isinstance(evs, list) else [evs])), key=lambda x: x[0])
    keuzes = {k: list(v) if isinstance(v, list) else v for k, v in (taken or {}).items()}
    steps = engine.register.get(instrument, engine.register.current(instrument).versie).steps
    for _ in range(_MAX_STAPPEN):
        if _status(engine, tid) == "beeindigd":
            break
        volgende = _volgende_due(engine, tid)
        moment_ev = datetime.combine(script[0][0], time(9, 0), tzinfo=TZ) if script else None
        kandidaten = [m for m in (volgende, moment_ev) if m is not None]
        if not kandidaten or min(kandidaten) > einde:
            break
        moment = max(min(kandidaten), clock.now())
        clock.set(moment)
        engine.sweep(now=moment)
        while script and datetime.combine(script[0][0], time(9, 0), tzinfo=TZ) <= moment:
            dag, ev = script.pop(0)
            if _status(engine, tid) != "beeindigd":
                engine.record_event(tid, ev, actor=actor, datum=dag)
        for taak in engine.open_tasks(traject_id=tid):
            keuze = keuzes.get(taak.stap)
            if isinstance(keuze, list):
                keuze = keuze.pop(0) if keuze else None
            if keuze is OPEN:
                continue
            st = steps[taak.stap]
            uitkomst = keuze if keuze is not None else (st.uitkomsten[0] if st.uitkomsten else None)
            engine.complete_task(taak.id, actor=actor, uitkomst=uitkomst)
    else:
        raise AssertionError(f"{instrument}: meer dan {_MAX_STAPPEN} momenten gesimuleerd; houdt de definitie op?")
    return lees_tijdlijn(engine, tid, res.besluit)


def lees_tijdlijn(engine, traject_id: int, besluit: Any = None) -> Tijdlijn:
    with engine.db.connect() as conn:
        tr = conn.execute(sa.select(T).where(T.c.id == traject_id)).one()
        rows = conn.execute(sa.select(S).where(S.c.traject_id == traject_id).order_by(S.c.due_at, S.c.id)).all()
        pays = conn.execute(sa.select(U.c.deel, U.c.bedrag, U.c.opeisbaar_op, U.c.ontvanger_naam, U.c.ontvanger_iban,
                                      U.c.status).where(U.c.traject_id == traject_id).order_by(U.c.deel)).all()
    types = [r.type for r in engine.timeline(traject_id)["gebeurtenissen"]]
    # the day it happened: fired by the sweep (at its due moment) or, for a wait_event, when the event came
    fired = sorted((Regel((r.uitgevoerd_op or r.due_at).astimezone(TZ).date(), r.stap, r.volgnr, r.kind, r.status,
                          r.uitkomst) for r in rows if r.status in ("uitgevoerd", "overgeslagen")),
                   key=lambda g: g.datum)
    return Tijdlijn(traject_id, besluit, tr.start_datum, fired,
                    [(r.stap, r.volgnr) for r in rows if r.status == "geannuleerd"], tr.status, tr.uitkomst,
                    tr.eind_datum, types, [(p.deel, Decimal(p.bedrag), *p[2:]) for p in pays], dict(tr.feiten or {}))


def assert_tijdlijn(t: Tijdlijn, verwacht: list[tuple[str, str]], *, uitkomst: Any = ..., status: str | None = None,
                    alleen: set[str] | None = None) -> None:
    """The fired steps are exactly ``verwacht`` ((ISO day, step key), in order); ``alleen`` limits the
    comparison to those step keys. Optionally also the trajectory's outcome and status."""
    got = [p for p in t.paren() if alleen is None or p[1] in alleen]
    want = [(d.isoformat() if isinstance(d, date) else d, s) for d, s in verwacht]
    if got != want:
        missing = [p for p in want if p not in got]
        extra = [p for p in got if p not in want]
        raise AssertionError(f"tijdlijn wijkt af\n ontbreekt: {missing}\n onverwacht: {extra}\n gekregen:\n{t.tabel()}")
    if uitkomst is not ...:
        assert t.uitkomst == uitkomst, f"uitkomst {t.uitkomst!r}, verwacht {uitkomst!r}\n{t.tabel()}"
    if status is not None:
        assert t.status == status, f"status {t.status!r}, verwacht {status!r}\n{t.tabel()}"


def _dag(d: date | str) -> date:
    return d if isinstance(d, date) else date.fromisoformat(d)


def _status(engine, tid: int) -> str:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(T.c.status).where(T.c.id == tid)).scalar_one()


def _volgende_due(engine, tid: int) -> datetime | None:
    with engine.db.connect() as conn:
        due = conn.execute(sa.select(S.c.due_at).where(S.c.traject_id == tid, S.c.status == "gepland")
                           .order_by(S.c.due_at).limit(1)).scalar()
    return None if due is None else due.astimezone(TZ)
