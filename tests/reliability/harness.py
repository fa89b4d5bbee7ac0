"""The reliability harness: the pieces the reliability tests and ``bench/reliability.py`` share.

* :func:`crash_campaign` runs the scheduled work (sweep, notifications, payouts) in a child process
  (``tests/reliability/worker.py``) and kills it with SIGKILL at a random moment, many times, while the
  parent adds work between runs (new trajectories, coaches completing tasks, the clock moving on); a last
  run is left to finish. :func:`check_invariants` then reads the whole database: no step fired twice, no
  payout twice, no due step left unfired, every fired step's events and products consistent with it,
  every notification collected once.
* :func:`concurrent_sweep` plants N due steps and lets P sweeper processes share them (PostgreSQL).
* :func:`downtime_campaign` runs a caseload with daily sweeps, switches the scheduler off for some
  simulated days (while coaches keep working) and checks the catch-up on restart.
* :func:`snapshot` is a fingerprint of a database (row count and content hash per table), to show that
  refused input changed nothing.

Everything works on a real SQLite file and on PostgreSQL, through the engine's own operations.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import queue
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from connectors.sepa import endtoend_id
from trajecten.kern import sweep as runner
from trajecten.basis.bsn import synthetisch
from trajecten.basis.config import load_settings
from trajecten import Engine, StartVerzoek
from trajecten.opslag.models import (Betaalbatch, Client, Gebeurtenis, GeplandeStap, Incident, KoppelingCursor, Melding,
                              Taak, Traject, Uitbetaling)
from trajecten.basis.tijd import TZ, FixedClock, local_date

ROOT = Path(__file__).resolve().parents[2]
S, T, E, K, U, B = (GeplandeStap.__table__, Traject.__table__, Gebeurtenis.__table__, Taak.__table__,
                    Uitbetaling.__table__, Betaalbatch.__table__)
C, I, M, KC = Client.__table__, Incident.__table__, Melding.__table__, KoppelingCursor.__table__
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
FIRED = ("uitgevoerd", "overgeslagen")
# the events that record a step firing, one per fired step (the runner names them; older runners wrote
# ``stap_uitgevoerd`` plus a separate ``herinnering``/``melding`` event for reminders and notices)
STAP_EVENTS = tuple(getattr(runner, "STAP_EVENT_TYPES", ("stap_uitgevoerd", "stap_overgeslagen")))
STARTER = "coach.a"  # starts every trajectory and completes tasks; never approves
START = datetime(2026, 1, 5, 9, 0, tzinfo=TZ)  # a Monday
Progress = Callable[[str], None]


def open_engine(url: str, now: datetime, **settings) -> tuple[Engine, FixedClock]:
    clock = FixedClock(now)
    return Engine.open(url, clock=clock, settings=load_settings(database_url=url, **settings)), clock


# --------------------------------------------------------------------------- caseload


def facts_for(instrument: str, today: date, rng: random.Random) -> dict:
    """Facts that make a client (bijstand since 2020) eligible for ``instrument`` on ``today``."""
    if instrument == "intensief_begeleiden":
        return {"variant": rng.choice(["richting_werk", "ter_ontwikkeling"])}
    if instrument == "ww_preventie":  # WW ends within 6 months: the trajectory starts today
        return {"ww_einddatum": (today + timedelta(days=rng.randint(60, 170))).isoformat(), "risico_langdurig": True}
    if instrument == "premie_op_werk":
        return {"werk_start": (today - timedelta(days=rng.randint(0, 3))).isoformat(), "uren_per_week": 20,
                "contract_maanden": 12}
    if instrument == "jobcoaching_nazorg":
        return {"werk_start": (today + timedelta(days=rng.randint(0, 5))).isoformat()}
    raise ValueError(instrument)


MIXES = {
    "uitbetalingen": ("premie_op_werk",),
    "alles": ("intensief_begeleiden", "ww_preventie", "premie_op_werk", "jobcoaching_nazorg"),
}


def add_caseload(eng: Engine, rng: random.Random, n: int, instruments=MIXES["alles"]) -> list[int]:
    """``n`` new clients, each with one trajectory (instruments in turn), started today by STARTER."""
    today = local_date(eng.clock.now())
    per: dict[str, list[StartVerzoek]] = {}
    with eng.db.begin() as conn:
        ids = conn.execute(C.insert().returning(C.c.id, sort_by_parameter_order=True), [
            {"bsn": _fresh_bsn(conn, rng), "naam": "Test Persoon", "geboortedatum": date(1985, 3, 1),
             "bijstand_sinds": date(2020, 1, 1), "coach": STARTER, "gebied": "Oost", "iban": "NL91ABNA0417164300",
             "aangemaakt_op": eng.clock.now()} for _ in range(n)]).scalars().all()
    for i, cid in enumerate(ids):
        instrument = instruments[i % len(instruments)]
        per.setdefault(instrument, []).append(StartVerzoek(cid, facts_for(instrument, today, rng)))
    out = []
    for instrument, verzoeken in per.items():
        for res in eng.start_many(instrument, verzoeken, actor=STARTER):
            if isinstance(res, Exception):
                raise res
            out.append(res.traject_id)
    return out


_USED_BSN: set[str] = set()


def _fresh_bsn(conn, rng: random.Random) -> str:
    while True:
        b = synthetisch(rng)
        if b not in _USED_BSN and conn.execute(sa.select(C.c.id).where(C.c.bsn == b)).first() is None:
            _USED_BSN.add(b)
            return b


def complete_tasks(eng: Engine, rng: random.Random, k: int | None, *, min_age: timedelta = timedelta(0)) -> int:
    """Coaches complete ``k`` random open tasks (all when None) at least ``min_age`` old, each with one
    of its step's outcomes."""
    with eng.db.connect() as conn:
        q = (sa.select(K.c.id, K.c.stap, K.c.traject_id, T.c.instrument, T.c.definitie_versie)
             .join(T, T.c.id == K.c.traject_id)
             .where(K.c.status == "open", K.c.aangemaakt_op <= eng.clock.now() - min_age).order_by(K.c.id))
        rows = conn.execute(q).all()
    if k is not None:
        rows = rng.sample(rows, min(k, len(rows)))
    for r in rows:
        step = eng.register.get(r.instrument, r.definitie_versie).steps[r.stap]
        eng.complete_task(r.id, actor=STARTER, uitkomst=rng.choice(step.uitkomsten) if step.uitkomsten else None)
    return len(rows)


# --------------------------------------------------------------------------- crash


@dataclass
class CrashReport:
    """What a crash campaign did and what the database looked like afterwards."""

    db: str
    mix: str
    runs: int = 0
    kills: int = 0  # runs that were still working when the SIGKILL came
    kills_per_stage: dict[str, int] = field(default_factory=dict)  # where they landed
    trajecten: int = 0
    steps_fired: int = 0
    payouts: int = 0
    payouts_exported: int = 0
    batches: int = 0
    mails: int = 0
    seconds: float = 0.0
    violations: dict[str, list] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return sum(len(self.violations.get(k, [])) for k in ("step_fired_twice", "payout_twice",
                                                             "notification_twice", "product_twice"))

    @property
    def unfired_due(self) -> int:
        return len(self.violations.get("due_not_fired", []))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["violations"] = {k: len(v) for k, v in self.violations.items()}
        d.update(duplicates=self.duplicates, unfired_due=self.unfired_due)
        return d


def run_worker(url: str, now: datetime, mix: str, out_dir: Path, kill_after: float | None) -> tuple[str | None, float]:
    """One child run; ``kill_after`` seconds after it is ready it gets SIGKILL (None: let it finish).
    Returns (the stage the kill landed in, or None when the run had finished; seconds it worked)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.worker", url, now.isoformat(), mix,
                             str(out_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        line = proc.stdout.readline().strip()
        if line != "ready":
            proc.kill()
            raise RuntimeError(f"worker did not start: {line!r} {proc.communicate(timeout=30)[1][-2000:]}")
        t0 = time.perf_counter()
        if kill_after is None:
            _, errs = proc.communicate(timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(f"clean worker run failed ({proc.returncode}): {errs[-2000:]}")
            return None, time.perf_counter() - t0
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        worked = time.perf_counter() - t0
        out, errs = proc.communicate(timeout=60)
        if proc.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"worker failed ({proc.returncode}): {errs[-2000:]}")
        if proc.returncode == 0:
            return None, worked
        stages = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("stage ")]
        return (stages[-1] if stages else "sweep"), worked
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def crash_campaign(url: str, out_dir: Path, runs: int, *, mix: str = "alles", seed: int = 7, initial: int = 60,
                   per_run: int = 8, days_per_run: float = 0, max_kill_s: float = 0.3,
                   progress: Progress | None = None) -> CrashReport:
    """``runs`` child runs, each SIGKILLed after a random delay in [0, ``max_kill_s``), then one clean run;
    between runs the parent adds ``per_run`` trajectories, completes a few tasks and moves the clock
    ``days_per_run`` days on. Returns the report with the invariants checked at the end."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    instruments = MIXES[mix]
    eng, clock = open_engine(url, START)
    report = CrashReport(db=eng.db.dialect.name, mix=mix, runs=runs)
    try:
        add_caseload(eng, rng, initial, instruments)
        now = START
        for i in range(runs):
            now = START + timedelta(days=days_per_run * (i + 1), hours=1)
            clock.set(now)
            add_caseload(eng, rng, per_run, instruments)
            if mix == "alles":
                complete_tasks(eng, rng, 6)
            stage, worked = run_worker(url, now, mix, out_dir, kill_after=rng.uniform(0.0, max_kill_s))
            if stage is None:  # it finished first: aim within the time a run takes
                max_kill_s = worked
            else:  # killed: the run takes longer than this; widen the window
                report.kills += 1
                report.kills_per_stage[stage] = report.kills_per_stage.get(stage, 0) + 1
                max_kill_s = max(max_kill_s, worked * 2)
            if progress:
                progress(f"run {i + 1}/{runs}: {report.kills} kills")
        run_worker(url, now, mix, out_dir, kill_after=None)  # a last, clean run finishes what is left
        report.seconds = time.perf_counter() - t0
        report.violations = check_invariants(eng, now)
        with eng.db.connect() as conn:
            report.trajecten = conn.execute(sa.select(sa.func.count()).select_from(T)).scalar()
            report.steps_fired = conn.execute(sa.select(sa.func.count()).select_from(S)
                                              .where(S.c.status.in_(FIRED))).scalar()
            report.payouts = conn.execute(sa.select(sa.func.count()).select_from(U)).scalar()
            report.payouts_exported = conn.execute(sa.select(sa.func.count()).select_from(U)
                                                   .where(U.c.batch_id.is_not(None))).scalar()
            report.batches = conn.execute(sa.select(sa.func.count()).select_from(B)).scalar()
            report.mails = conn.execute(sa.select(sa.func.count()).select_from(M)).scalar()
    finally:
        eng.db.dispose()
    return report


def check_invariants(eng: Engine, now: datetime, *, notifications: bool = True) -> dict[str, list]:
    """Every way the database can show a broken promise, as lists of offending keys (empty = kept)."""
    v: dict[str, list] = {}

    def add(name, items):
        v[name] = list(items)

    with eng.db.connect() as conn:
        steps = {r.id: r for r in conn.execute(sa.select(S))}
        ev = conn.execute(sa.select(E.c.id, E.c.type, E.c.stap_id, E.c.traject_id, E.c.payload)).all()
        tasks = conn.execute(sa.select(K.c.stap_id)).all()
        payouts = conn.execute(sa.select(U)).all()
        batches = conn.execute(sa.select(B)).all()
        mails = conn.execute(sa.select(M.c.id, M.c.gebeurtenissen, M.c.status)).all() if notifications else []
        cursor = conn.execute(sa.select(KC.c.waarde).where(KC.c.naam == "meldingen")).scalar()
        incidents = conn.execute(sa.select(I.c.stap_id)).all()

    stap_events = Counter(e.stap_id for e in ev if e.type in STAP_EVENTS)
    add("step_fired_twice", [sid for sid, n in stap_events.items() if n > 1])
    by_type: dict[str, Counter] = {}
    for e in ev:
        by_type.setdefault(e.type, Counter())[e.stap_id] += 1
    # due steps: none left planned (a step waiting for a retry is not due yet), none became an incident
    add("due_not_fired", [s.id for s in steps.values() if s.status == "gepland" and s.due_at <= now
                          and (s.volgende_poging_op is None or s.volgende_poging_op <= now)])
    add("incident", [r.stap_id for r in incidents])

    # each fired step: exactly one step event of its status, with its name and number; and its product
    bad_log, product_twice = [], []
    task_count = Counter(t.stap_id for t in tasks)
    for s in steps.values():
        if s.status in FIRED:
            n_skip = by_type.get("stap_overgeslagen", Counter())[s.id]
            if stap_events[s.id] != 1 or (s.status == "overgeslagen") != (n_skip == 1):
                bad_log.append((s.id, s.status, stap_events[s.id]))
            if s.kind == "task" and s.status == "uitgevoerd" and task_count[s.id] != 1:
                product_twice.append(("taak", s.id, task_count[s.id]))
            if s.kind == "reminder":
                n = by_type.get("herinnering", Counter())[s.id]
                if n != (1 if s.status == "uitgevoerd" else 0):
                    product_twice.append(("herinnering", s.id, n))
                if s.status == "overgeslagen" and not s.reden:
                    bad_log.append((s.id, "overgeslagen zonder reden", 0))
            if s.kind == "notify" and by_type.get("melding", Counter())[s.id] != 1:
                product_twice.append(("melding", s.id, by_type.get("melding", Counter())[s.id]))
        elif stap_events[s.id]:
            bad_log.append((s.id, s.status, stap_events[s.id]))  # an event for a step that did not fire
    add("event_log_inconsistent", bad_log + [e.id for e in ev if e.type in STAP_EVENTS and e.stap_id not in steps])
    add("product_twice", product_twice)

    # payouts: one per (trajectory, rule, part); one proposal event each; each exported one in one batch
    # whose file lists exactly its payouts
    keys = Counter((p.traject_id, p.regel, p.deel) for p in payouts)
    add("payload_not_an_object", [e.id for e in ev if not isinstance(e.payload, (dict, type(None)))])
    proposed = Counter((e.traject_id, _payload(e).get("deel")) for e in ev if e.type == "uitbetaling_voorgesteld")
    exported = Counter(_payload(e).get("uitbetaling") for e in ev if e.type == "uitbetaling_geexporteerd")
    twice = [k for k, n in keys.items() if n > 1] + [k for k, n in proposed.items() if n > 1]
    twice += [k for k, n in exported.items() if n > 1]
    add("payout_twice", twice)
    bad_pay = [(p.traject_id, p.deel) for p in payouts if proposed[(p.traject_id, p.deel)] != 1]
    by_batch: dict[int, list] = {}
    for p in payouts:
        if p.batch_id is not None:
            by_batch.setdefault(p.batch_id, []).append(p)
        if (p.status in ("geexporteerd", "betaald")) != (p.batch_id is not None):
            bad_pay.append(("status/batch", p.id))
    for b in batches:
        mine = by_batch.get(b.id, [])
        doc = ET.fromstring(b.xml.encode())
        ids = sorted(x.text for x in doc.iterfind(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", NS))
        if b.aantal != len(mine) or b.totaal != sum(p.bedrag for p in mine) or \
                ids != sorted(endtoend_id(p.id) for p in mine):
            bad_pay.append(("batch", b.id))
    if set(by_batch) - {b.id for b in batches}:
        bad_pay.append(("batch missing", sorted(set(by_batch) - {b.id for b in batches})))
    add("payout_inconsistent", bad_pay)

    if notifications and cursor is not None:
        from connectors.notificaties import SOORTEN

        collected = Counter(i for m in mails for i in (m.gebeurtenissen or []))
        add("notification_twice", [i for i, n in collected.items() if n > 1])
        due = [e.id for e in ev if e.type in SOORTEN and e.id <= int(cursor or 0)]
        add("notification_lost", [i for i in due if collected[i] == 0])
        add("mail_not_sent", [m.id for m in mails if m.status != "verzonden"])
    return v


def _payload(e) -> dict:
    return e.payload if isinstance(e.payload, dict) else {}


# --------------------------------------------------------------------------- concurrency


def concurrent_sweep(url: str, n_steps: int, n_procs: int = 4, batch_size: int = 100) -> dict:
    """Plant ``n_steps`` due reminders, let ``n_procs`` sweeper processes (spawned, each its own Engine)
    start together and sweep; returns what each processed, the wall time and the database's counts."""
    from tests.helpers import at, plant_due_reminders, sweep_worker

    eng, clock = open_engine(url, START)
    try:
        plant_due_reminders(eng, n_steps, lambda i: at(2026, 1, 12, 8, i % 60), seed=11, created=clock.now())
    finally:
        eng.db.dispose()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n_procs + 1)
    results = ctx.Queue()
    now = at(2026, 1, 12, 10)
    procs = [ctx.Process(target=sweep_worker, args=(url, now.isoformat(), batch_size, barrier, results))
             for _ in range(n_procs)]
    for p in procs:
        p.start()
    got: list = []
    try:
        barrier.wait(timeout=120)  # all engines are open: the clock starts now
        t0 = time.perf_counter()
        for _ in range(n_procs):
            got.append(results.get(timeout=1200))
        seconds = time.perf_counter() - t0
    except queue.Empty:
        raise RuntimeError(f"only {len(got)} of {n_procs} sweepers reported: {got}") from None
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            by_status = dict(conn.execute(sa.select(S.c.status, sa.func.count()).group_by(S.c.status)).all())
            per_step = Counter(conn.execute(sa.select(E.c.stap_id).where(E.c.type.in_(STAP_EVENTS))).scalars())
            reminders = Counter(conn.execute(sa.select(E.c.stap_id).where(E.c.type == "herinnering")).scalars())
            attempts = conn.execute(sa.select(sa.func.min(S.c.pogingen), sa.func.max(S.c.pogingen))).one()
    finally:
        db.dispose()
    return {
        "steps": n_steps, "sweepers": n_procs, "batch_size": batch_size, "seconds": seconds,
        "per_sweeper": [g[0] for g in got], "errors": [g for g in got if g[0] == "error" or g[2] != 0],
        "exit_codes": [p.exitcode for p in procs], "by_status": by_status,
        "fired_once": sum(1 for n in per_step.values() if n == 1), "fired_twice": sum(1 for n in per_step.values() if n > 1),
        "reminders_twice": sum(1 for n in reminders.values() if n > 1), "reminders": sum(reminders.values()),
        "pogingen": tuple(attempts), "steps_per_s": n_steps / seconds if seconds else 0.0,
    }


# --------------------------------------------------------------------------- downtime


@dataclass
class DowntimeReport:
    db: str
    trajecten: int
    down_days: int
    down_from: datetime
    restart: datetime
    due_in_window: int = 0  # steps due while the scheduler was off (planned before it went off)
    fired: int = 0  # fired by the restart sweep (includes follow-ups that became due during catch-up)
    skipped: int = 0  # of which skipped with a reason (e.g. the task was completed meanwhile)
    tasks_completed_meanwhile: int = 0
    max_late_s: int = 0
    seconds: float = 0.0
    violations: dict[str, list] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["violations"] = {k: len(x) for k, x in self.violations.items()}
        d["down_from"], d["restart"] = self.down_from.isoformat(), self.restart.isoformat()
        return d


def downtime_campaign(url: str, n: int, *, down_days: int = 7, cohorts: int = 8, seed: int = 3,
                      progress: Progress | None = None) -> DowntimeReport:
    """``n`` trajectories started in ``cohorts`` weekly cohorts, swept every morning and worked on by
    coaches; then the scheduler is off for ``down_days`` days while coaches keep completing tasks; on
    restart one sweep (the scheduler's job) catches up. The report's violations list what broke."""
    from trajecten.taken import jobs

    rng = random.Random(seed)
    eng, clock = open_engine(url, START)
    try:
        per = n // cohorts
        day = START
        for c in range(cohorts):
            add_caseload(eng, rng, per if c < cohorts - 1 else n - per * (cohorts - 1))
            for _ in range(7):  # a week of daily sweeps; coaches complete most open tasks
                day += timedelta(days=1)
                clock.set(day)
                eng.sweep()
                complete_tasks(eng, rng, None, min_age=timedelta(days=2))  # a coach needs a few days
            if progress:
                progress(f"cohort {c + 1}/{cohorts} ({day.date()})")
        down_from = day
        restart = down_from + timedelta(days=down_days)
        with eng.db.connect() as conn:
            waiting = {r.id: r for r in conn.execute(sa.select(S).where(S.c.status == "gepland",
                                                                        S.c.due_at <= restart))}
        # the scheduler is off; coaches keep working: half of the open tasks are completed meanwhile
        clock.set(down_from + timedelta(days=down_days // 2 or 1, hours=4))
        completed = complete_tasks(eng, rng, None if n <= 0 else max(1, _open_tasks(eng) // 2))
        clock.set(restart)
        t0 = time.perf_counter()
        res = jobs.sweep(eng)  # what the scheduler runs on restart
        seconds = time.perf_counter() - t0
        report = DowntimeReport(db=eng.db.dialect.name, trajecten=n, down_days=down_days, down_from=down_from,
                                restart=restart, due_in_window=len(waiting), fired=res["uitgevoerd"] + res["overgeslagen"],
                                skipped=res["overgeslagen"], tasks_completed_meanwhile=completed,
                                max_late_s=res["max_te_laat_s"], seconds=seconds)
        report.violations = check_catch_up(eng, waiting, restart)
        report.violations.update({k: x for k, x in check_invariants(eng, restart, notifications=False).items()
                                  if k not in report.violations})
    finally:
        eng.db.dispose()
    return report


def _open_tasks(eng: Engine) -> int:
    with eng.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(K).where(K.c.status == "open")).scalar()


def check_catch_up(eng: Engine, waiting: dict, restart: datetime) -> dict[str, list]:
    """After the restart sweep: each step that was due fired once with lateness = restart - due; a
    reminder whose task was closed meanwhile was skipped with a reason and sent nothing; per trajectory
    the steps fired in due order (all of them, also follow-ups and repeats planned during the catch-up)."""
    v: dict[str, list] = {"wrong_lateness": [], "skipped_without_reason": [], "reminder_for_closed_task": [],
                          "out_of_order": [], "waiting_not_fired": []}
    with eng.db.connect() as conn:
        steps = {r.id: r for r in conn.execute(sa.select(S).where(S.c.uitgevoerd_op == restart))}
        ev = conn.execute(sa.select(E.c.id, E.c.type, E.c.stap_id, E.c.traject_id).where(E.c.op == restart)
                          .order_by(E.c.id)).all()
        closed = {(r.traject_id, r.stap) for r in conn.execute(sa.select(K.c.traject_id, K.c.stap)
                                                                 .where(K.c.status != "open"))}
        versions = {r.id: (r.instrument, r.definitie_versie)
                    for r in conn.execute(sa.select(T.c.id, T.c.instrument, T.c.definitie_versie))}
    compiled = {}
    for sid in waiting:
        s = steps.get(sid)
        if s is None or s.status not in FIRED:
            v["waiting_not_fired"].append(sid)
    for s in steps.values():
        if s.status not in FIRED:
            continue
        if s.te_laat_s != int((restart - s.due_at).total_seconds()):
            v["wrong_lateness"].append((s.id, s.te_laat_s))
        if s.status == "overgeslagen" and not s.reden:
            v["skipped_without_reason"].append(s.id)
        if s.kind == "reminder" and s.status == "uitgevoerd":
            tr_key = versions[s.traject_id]
            c = compiled.get(tr_key) or compiled.setdefault(tr_key, eng.register.get(*tr_key))
            target = c.steps[s.stap].herinnert_aan
            if target and (s.traject_id, target) in closed and s.id in waiting:
                v["reminder_for_closed_task"].append(s.id)
    per_traject: dict[int, list] = {}
    for e in ev:
        if e.type in STAP_EVENTS and e.stap_id in steps:
            per_traject.setdefault(e.traject_id, []).append(steps[e.stap_id])
    for tid, fired in per_traject.items():
        dues = [s.due_at for s in fired]
        if dues != sorted(dues):
            v["out_of_order"].append(tid)
    return v


# --------------------------------------------------------------------------- snapshot


# The Logboek Dataverwerkingen records every processing of a person's data, a refused attempt included:
# that row is the log doing its job, not a change made by the refused input.
LOGBOEK = frozenset({"verwerking"})


def snapshot(db: sa.Engine, exclude: frozenset[str] = LOGBOEK) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of all rows in primary-key order). Equal snapshots = nothing changed."""
    out = {}
    meta = sa.MetaData()
    meta.reflect(db)
    with db.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name in exclude:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            h = hashlib.sha256()
            n = 0
            for row in conn.execute(sa.select(table).order_by(*order)):
                h.update(repr(tuple(row)).encode())
                n += 1
            out[name] = (n, h.hexdigest())
    return out
