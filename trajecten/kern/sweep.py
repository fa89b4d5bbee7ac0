"""The sweep: fire due steps in batches, each at most once.

``fire_due`` claims due steps (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several sweepers share the
work; SQLite: one writer at a time via ``BEGIN IMMEDIATE``), fires them, records an event with the
lateness, plans what follows, and commits once per batch. A step that raises is retried with
exponential backoff; when its attempts run out it becomes an incident for a person. What a batch reads
up front: ``batch.py``; what firing one step does: ``stap.py``; the bulk writes: ``opslag/bulk.py``.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

import sqlalchemy as sa

from trajecten.kern.batch import BatchData
from trajecten.kern.motor import Motor
from trajecten.kern.einde import rest_vervalt
from trajecten.kern.stap import GEPLAND, SWEEP_ACTOR, UITGEVOERD, fire_one
from trajecten.opslag.bulk import bulk_insert, bulk_update, insert_ignore_count
from trajecten.opslag.db import in_values
from trajecten.opslag.models import GeplandeStap, Gebeurtenis, Incident, StapStatus, Taak, Traject, TrajectStatus, Uitbetaling
from trajecten.privacy import logboek

S = GeplandeStap.__table__
T = Traject.__table__
E = Gebeurtenis.__table__
K = Taak.__table__
I = Incident.__table__
U = Uitbetaling.__table__

# One event per fired step, its type saying what happened: a reminder fired is a ``herinnering``, a
# notification a ``melding`` (the mail job reads these), any other step ``stap_uitgevoerd``; a step that
# no longer made sense ``stap_overgeslagen`` (with its reason). Decisions, payouts and endings add an
# event of their own with the rule's explanation.
STAP_EVENT_TYPES = ("stap_uitgevoerd", "stap_overgeslagen", "herinnering", "melding")
# Plain-str copies of the enum values the per-step code uses (Enum.value is a descriptor call, and the
# hot path reads these several times per fired step).
_GEANNULEERD = StapStatus.geannuleerd.value
_T_GEPLAND, _T_ACTIEF = TrajectStatus.gepland.value, TrajectStatus.actief.value
# what a fired or cancelled step records (the rows of ``fired`` in a batch, in this order)
_UITKOMST_KOLOMMEN = ("id", "status", "uitgevoerd_op", "te_laat_s", "uitkomst", "reden")


@dataclass
class SweepResult:
    uitgevoerd: int = 0
    overgeslagen: int = 0
    geannuleerd: int = 0
    mislukt: int = 0
    incidenten: int = 0
    te_laat: int = 0
    max_te_laat_s: int = 0
    batches: int = 0
    per_soort: Counter = field(default_factory=Counter)
    betalingen_voorgesteld: int = 0
    seconden: float = 0.0

    @property
    def verwerkt(self) -> int:
        return self.uitgevoerd + self.overgeslagen + self.geannuleerd

    def add(self, other: "SweepResult") -> None:
        for name in ("uitgevoerd", "overgeslagen", "geannuleerd", "mislukt", "incidenten", "te_laat", "batches",
                     "betalingen_voorgesteld"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_te_laat_s = max(self.max_te_laat_s, other.max_te_laat_s)
        self.per_soort.update(other.per_soort)
        self.seconden += other.seconden

    def as_dict(self) -> dict[str, Any]:
        return {
            "uitgevoerd": self.uitgevoerd, "overgeslagen": self.overgeslagen, "geannuleerd": self.geannuleerd,
            "mislukt": self.mislukt, "incidenten": self.incidenten, "te_laat": self.te_laat,
            "max_te_laat_s": self.max_te_laat_s, "batches": self.batches,
            "betalingen_voorgesteld": self.betalingen_voorgesteld, "per_soort": dict(self.per_soort),
            "seconden": round(self.seconden, 3),
        }


class Claimed(NamedTuple):
    """A claimed step with what the sweep needs of its trajectory."""

    id: int
    traject_id: int
    stap: str
    volgnr: int
    kind: str
    due_at: datetime
    pogingen: int
    instrument: str
    definitie_versie: int
    tstatus: str
    client_id: int
    start_datum: date


def _claim(conn, now: datetime, limit: int, pg: bool) -> list[Claimed]:
    # ``status = 'gepland'`` is written as a literal, not a bound parameter: a prepared statement's
    # generic plan (psycopg prepares a statement after 5 runs on a connection) can only use the partial
    # index ix_stap_due when the query itself implies its predicate; with a parameter it scans the table.
    due_now = (S.c.status == sa.literal_column(f"'{GEPLAND}'"), S.c.due_at <= now,
               sa.or_(S.c.volgende_poging_op.is_(None), S.c.volgende_poging_op <= now))
    if pg:
        # Lock the steps alone (index scan of ix_stap_due in due order, stopping after ``limit``), then
        # read their trajectories by primary key. Joined in one statement, the planner hashed the whole
        # ``traject`` table once thousands of steps were due (docs/benchmarks.md, the PostgreSQL ratio).
        steps = conn.execute(
            sa.select(S.c.id, S.c.traject_id, S.c.stap, S.c.volgnr, S.c.kind, S.c.due_at, S.c.pogingen)
            .where(*due_now).order_by(S.c.due_at, S.c.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if not steps:
            return []
        of = {r[0]: r[1:] for r in conn.execute(
            sa.select(T.c.id, T.c.instrument, T.c.definitie_versie, T.c.status, T.c.client_id, T.c.start_datum)
            .where(in_values(T.c.id, {r[1] for r in steps}, conn))
        ).all()}
        return [Claimed(*r, *of[r[1]]) for r in steps]
    # SQLite: read the stored text and convert it here, once per distinct value (see below)
    q = (
        sa.select(
            S.c.id, S.c.traject_id, S.c.stap, S.c.volgnr, S.c.kind, sa.type_coerce(S.c.due_at, sa.String),
            S.c.pogingen, T.c.instrument, T.c.definitie_versie, T.c.status, T.c.client_id,
            sa.type_coerce(T.c.start_datum, sa.String),
        )
        .join(T, T.c.id == S.c.traject_id)
        .where(*due_now)
        .order_by(S.c.due_at, S.c.id)
        .limit(limit)
    )
    # thousands of claimed steps share a handful of due times and start dates
    moments: dict[str, datetime] = {}
    days: dict[str, date] = {}
    out = []
    for r in conn.execute(q).all():
        d = moments.get(r[5])
        if d is None:
            d = moments[r[5]] = datetime.fromisoformat(r[5]).replace(tzinfo=timezone.utc)
        day = days.get(r[11])
        if day is None:
            day = days[r[11]] = date.fromisoformat(r[11])
        out.append(Claimed(r[0], r[1], r[2], r[3], r[4], d, r[6], r[7], r[8], r[9], r[10], day))
    return out


def fire_due(
    engine: Motor,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    budget_s: float | None = None,
) -> SweepResult:
    """Fire every step due at ``now`` (default: the clock) until none is left, ``max_batches`` batches
    ran or ``budget_s`` seconds are spent. Returns the counts."""
    now = now or engine.clock.now()
    batch_size = batch_size or engine.settings.batch_size
    total = SweepResult()
    started = _time.perf_counter()
    logged: set[tuple[int, str]] = set()  # (client, instrument) already in the Logboek for this sweep
    while True:
        try:
            res = fire_batch(engine, now, batch_size, logged)
        except _Botsing:
            continue
        total.add(res)
        if res.verwerkt + res.mislukt + res.incidenten == 0:
            break
        if max_batches is not None and total.batches >= max_batches:
            break
        if budget_s is not None and _time.perf_counter() - started >= budget_s:
            break
    total.seconden = _time.perf_counter() - started
    return total


def fire_batch(engine: Motor, now: datetime, batch_size: int,
               logged: set[tuple[int, str]] | None = None) -> SweepResult:
    res = SweepResult()
    t0 = _time.perf_counter()
    started = logboek.nu()
    pg = engine.is_postgres
    with engine.db.begin() as conn:
        rows = _claim(conn, now, batch_size, pg)
        if not rows:
            return res
        res.batches = 1
        data = BatchData(conn, rows, engine)
        fired, events, new_steps, tasks, payouts, failures = [], [], [], [], [], []
        traject_updates: dict[int, dict] = {}
        ended: set[int] = set()
        # Catching up, a fired step may plan a next occurrence or follow-up that is itself already due:
        # that trajectory's later rows in this batch wait for the next batch, which claims them together
        # with the new row in due order, so a trajectory's steps fire in their planned order.
        later: set[int] = set()
        cancelled_in_batch = []
        for r in rows:
            if r.traject_id in ended:
                cancelled_in_batch.append((r.id, _GEANNULEERD, now, None, None, "traject beëindigd"))
                res.geannuleerd += 1
                continue
            if r.traject_id in later:
                continue
            compiled = data._compiled(r)
            step = compiled.steps.get(r.stap)
            late = max(int((now - r.due_at).total_seconds()), 0)
            try:
                if step is None:
                    raise LookupError(f"step {r.stap!r} is not in {r.instrument} v{r.definitie_versie}")
                out = fire_one(engine, compiled, step, r, now, data)
            except Exception as exc:  # noqa: BLE001 - any failure of one step is retried, never stops the batch
                failures.append((r, exc))
                continue
            fired.append((r.id, out.status, now, late, out.uitkomst, out.reden))
            payload = {"stap": r.stap, "volgnr": r.volgnr, "te_laat_s": late, "uitkomst": out.uitkomst}
            if out.reden:
                payload["reden"] = out.reden
            if out.bericht:
                payload["titel"] = step.titel
            events.append({
                "traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id,
                "type": out.bericht or "stap_" + out.status, "actor": SWEEP_ACTOR, "op": now, "datum": None,
                "payload": payload, "regel": None, "regel_versie": None,
            })
            events.extend(out.events)
            new_steps.extend(out.steps)
            if out.steps and any(st["due_at"] <= now for st in out.steps):
                later.add(r.traject_id)
            tasks.extend(out.tasks)
            payouts.extend(out.payouts)
            upd = dict(out.traject or {})
            if r.tstatus == _T_GEPLAND and r.traject_id not in traject_updates:
                upd.setdefault("status", _T_ACTIEF)
            if upd:
                traject_updates.setdefault(r.traject_id, {}).update(upd)
            if out.end:
                ended.add(r.traject_id)
            if out.status == UITGEVOERD:
                res.uitgevoerd += 1
            else:
                res.overgeslagen += 1
            res.per_soort[r.kind] += 1
            if late > engine.settings.te_laat_marge_s:
                res.te_laat += 1
                res.max_te_laat_s = max(res.max_te_laat_s, late)
        res.betalingen_voorgesteld = len(payouts)

        if fired or cancelled_in_batch:  # each step's outcome, and one more attempt
            bulk_update(conn, S, dict(zip(_UITKOMST_KOLOMMEN, map(list, zip(*fired, *cancelled_in_batch)))),
                        plus_een=("pogingen",))
        if failures:
            _record_failures(engine, conn, failures, now, res, events)
        if tasks:
            bulk_insert(conn, K, tasks)
        if payouts:
            if insert_ignore_count(conn, U, payouts, "sleutel") != len(payouts):
                # a concurrent sweeper committed a payout with one of these keys after this batch looked:
                # undo the batch; the next one claims these steps again and meets the key (an incident)
                raise _Botsing()
        # one UPDATE per distinct set of values (mostly {status: actief} when first steps fire), not per trajectory
        same: dict[tuple, list[int]] = {}
        for tid, values in traject_updates.items():
            same.setdefault(tuple(sorted(values.items())), []).append(tid)
        for values, tids in same.items():
            conn.execute(T.update().where(in_values(T.c.id, tids, conn)).values(**dict(values)))
        if ended:
            res.geannuleerd += rest_vervalt(conn, ended, now=now, actor=SWEEP_ACTOR)
            new_steps = [s for s in new_steps if s["traject_id"] not in ended]
        if new_steps:
            bulk_insert(conn, S, new_steps, conflict=("traject_id", "stap", "volgnr"))
        if events:
            bulk_insert(conn, E, events)
        _log_processing(engine, conn, rows, started, logged if logged is not None else set())
    res.seconden = _time.perf_counter() - t0
    return res


def _log_processing(engine, conn, rows: list[Claimed], started: datetime,
                    logged: set[tuple[int, str]]) -> None:
    """Logboek Dataverwerkingen: one record per client and instrument a sweep processed, written in the
    transaction of the first batch that did (so it holds exactly what committed, concurrent sweepers never
    log each other's, and a catch-up spread over many batches logs each client once)."""
    pairs = {(r.client_id, r.instrument) for r in rows} - logged
    if not pairs:
        return
    logged |= pairs
    logboek.schrijf(engine, logboek.rijen_voor_clients(
        engine, conn, {(cid, f"instrument:{instrument}") for cid, instrument in pairs}, SWEEP_ACTOR,
        naam="sweep: stappen uitvoeren", component="sweep", start=started), conn)


class _Botsing(Exception):
    """fire_batch: a payout key met a concurrent sweeper's committed payout; the batch is undone and retried."""


def _record_failures(engine, conn, failures, now, res: SweepResult, events: list[dict]) -> None:
    policy = engine.retry_policy
    for r, exc in failures:
        attempts = r.pogingen + 1
        msg = f"{type(exc).__name__}: {exc}"[:2000]
        if policy.uitgeput(attempts) or not getattr(exc, "herhalen", True):  # e.g. DubbeleUitbetaling
            conn.execute(S.update().where(S.c.id == r.id).values(
                status=StapStatus.incident.value, pogingen=attempts, laatste_fout=msg))
            conn.execute(I.insert().values(stap_id=r.id, traject_id=r.traject_id, fout=msg, pogingen=attempts,
                                           aangemaakt_op=now))
            events.append({"traject_id": r.traject_id, "client_id": r.client_id, "stap_id": r.id, "type": "incident",
                           "actor": SWEEP_ACTOR, "op": now, "datum": None, "regel": None, "regel_versie": None,
                           "payload": {"stap": r.stap, "pogingen": attempts, "fout": msg}})
            res.incidenten += 1
        else:
            conn.execute(S.update().where(S.c.id == r.id).values(
                pogingen=attempts, laatste_fout=msg, volgende_poging_op=now + policy.wacht(attempts)))
            res.mislukt += 1
