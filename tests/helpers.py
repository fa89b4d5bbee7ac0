"""Small helpers shared by the engine-core tests (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from trajecten.opslag import besluiten
from trajecten.basis.bsn import synthetisch
from trajecten.opslag.models import Gebeurtenis, GeplandeStap, Incident, Taak, Traject
from trajecten.basis.tijd import TZ

S, T, E, K, I = (GeplandeStap.__table__, Traject.__table__, Gebeurtenis.__table__, Taak.__table__,
                 Incident.__table__)

ACTOR = "test:coach"


def at(y: int, m: int, d: int, hh: int = 8, mm: int = 0) -> datetime:
    """An aware Europe/Amsterdam moment (steps are due at 08:00 local by default)."""
    return datetime.combine(date(y, m, d), time(hh, mm), tzinfo=TZ)


def bsns(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct synthetic BSNs that pass the 11-test."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        b = synthetisch(rng)
        if b not in seen:
            seen.add(b)
            out.append(b)
    return out


def client(engine, bsn: str = "111222333", *, geboortedatum: date = date(1980, 5, 17),
           bijstand_sinds: date | None = date(2020, 1, 1), coach: str = "coach.anna") -> int:
    return engine.add_client(bsn, geboortedatum=geboortedatum, bijstand_sinds=bijstand_sinds, coach=coach)


# facts that make a client with bijstand since 2020 eligible for each instrument (started 2026-01-05)
FEITEN = {
    "intensief_begeleiden": {"variant": "richting_werk"},
    "ww_preventie": {"ww_einddatum": "2026-12-31", "risico_langdurig": True},
    "premie_op_werk": {"werk_start": "2026-01-12", "uren_per_week": 32, "contract_maanden": 12},
    "jobcoaching_nazorg": {"werk_start": "2026-01-12"},
}


def steps(engine, traject_id: int) -> dict[tuple[str, int], object]:
    """All step rows of a trajectory keyed by (stap, volgnr)."""
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(S).where(S.c.traject_id == traject_id)).all()
    return {(r.stap, r.volgnr): r for r in rows}


def planned(engine, traject_id: int) -> dict[tuple[str, int], datetime]:
    """The still-planned steps of a trajectory: (stap, volgnr) -> due moment in Amsterdam time."""
    return {k: r.due_at.astimezone(TZ) for k, r in steps(engine, traject_id).items() if r.status == "gepland"}


def events(engine, traject_id: int | None = None, type_: str | None = None) -> list:
    q = sa.select(E).order_by(E.c.id)
    if traject_id is not None:
        q = q.where(E.c.traject_id == traject_id)
    if type_ is not None:
        q = q.where(E.c.type == type_)
    with engine.db.connect() as conn:
        rows = conn.execute(q).all()
        # as the pages and the API show them: a referred decision in its place (trajecten/opslag/besluiten.py)
        return [SimpleNamespace(**{**r._asdict(), "payload": p})
                for r, p in zip(rows, besluiten.met_besluit(conn, [r.payload for r in rows]))]


def count(engine, table, *where) -> int:
    with engine.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def fired_keys(engine) -> set[tuple[int, str, int]]:
    """(traject, stap, volgnr) of every step the sweep fired (executed or skipped)."""
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(S.c.traject_id, S.c.stap, S.c.volgnr)
                            .where(S.c.status.in_(["uitgevoerd", "overgeslagen"]))).all()
    return {tuple(r) for r in rows}


def task_for(engine, traject_id: int, stap: str):
    with engine.db.connect() as conn:
        return conn.execute(sa.select(K).where(K.c.traject_id == traject_id, K.c.stap == stap)).one()


# --------------------------------------------------------------------------- stub rule hooks


@dataclass
class StubDecision:
    uitkomst: bool = True
    versie: str = "stub-1"
    betalingen: tuple = ()
    redenen: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"uitkomst": self.uitkomst, "versie": self.versie,
                "betalingen": [[b.deel, str(b.bedrag), b.opeisbaar_op.isoformat()] for b in self.betalingen]}


@dataclass(frozen=True)
class StubBetaling:
    deel: int
    bedrag: Decimal
    opeisbaar_op: date


class StubHook:
    """Says yes to everything and pays EUR 300 as part 1 (for sweep mechanics only)."""

    def __init__(self):
        self.calls: list[tuple[str, date]] = []

    def known(self, regel: str) -> bool:
        return True

    def decide(self, regel: str, feiten: dict, peildatum: date):
        self.calls.append((regel, peildatum))
        return StubDecision(betalingen=(StubBetaling(1, Decimal("300.00"), peildatum),))


class FailingHook:
    """Delegates to ``inner`` but raises for ``regel`` while ``failures_left`` > 0 (None: always)."""

    def __init__(self, inner, regel: str, failures_left: int | None = None):
        self.inner, self.regel, self.failures_left = inner, regel, failures_left
        self.failed = 0

    def known(self, regel: str) -> bool:
        return self.inner.known(regel)

    def decide(self, regel: str, feiten: dict, peildatum: date):
        if regel == self.regel and (self.failures_left is None or self.failures_left > 0):
            if self.failures_left is not None:
                self.failures_left -= 1
            self.failed += 1
            raise RuntimeError("regeldienst tijdelijk onbereikbaar")
        return self.inner.decide(regel, feiten, peildatum)


# --------------------------------------------------------------------------- concurrency worker


def sweep_worker(url: str, now_iso: str, batch_size: int, barrier, results) -> None:
    """Run in a spawned process: open an own Engine on ``url`` and sweep once at ``now``."""
    from trajecten.basis.config import load_settings
    from trajecten.kern.engine import Engine
    from trajecten.basis.tijd import FixedClock

    now = datetime.fromisoformat(now_iso)
    eng = Engine.open(url, clock=FixedClock(now), settings=load_settings(database_url=url))
    try:
        barrier.wait(timeout=60)
        res = eng.sweep(batch_size=batch_size)
        results.put((res.verwerkt, res.batches, res.mislukt + res.incidenten))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", f"{type(exc).__name__}: {exc}", 0))
        raise
    finally:
        eng.db.dispose()


def plant_due_reminders(engine, n: int, due_of, *, seed: int, created: datetime) -> list[int]:
    """``n`` trajectories of intensief_begeleiden, each with one due ``herinnering_intake`` (a reminder
    with no follow-ups), written in bulk; ``due_of(i)`` gives the i-th due time. Returns the step ids."""
    from trajecten.opslag.models import Client

    versie = engine.register.current("intensief_begeleiden").versie
    C, T, S = Client.__table__, Traject.__table__, GeplandeStap.__table__
    with engine.db.begin() as conn:
        client_ids = conn.execute(
            C.insert().returning(C.c.id, sort_by_parameter_order=True),
            [{"bsn": b, "coach": "coach.anna", "bijstand_sinds": date(2020, 1, 1), "aangemaakt_op": created}
             for b in bsns(n, seed=seed)],
        ).scalars().all()
        traject_ids = conn.execute(
            T.insert().returning(T.c.id, sort_by_parameter_order=True),
            [{"client_id": cid, "instrument": "intensief_begeleiden", "definitie_versie": versie,
              "status": "actief", "start_datum": created.astimezone(TZ).date(), "feiten": {"variant": "richting_werk"},
              "gestart_door": "test:bulk", "aangemaakt_op": created} for cid in client_ids],
        ).scalars().all()
        step_ids = conn.execute(S.insert().returning(S.c.id, sort_by_parameter_order=True), [
            {"traject_id": tid, "stap": "herinnering_intake", "volgnr": 0, "kind": "reminder",
             "due_at": due_of(i), "status": "gepland", "pogingen": 0}
            for i, tid in enumerate(traject_ids)
        ]).scalars().all()
    assert len(step_ids) == n
    return list(step_ids)
