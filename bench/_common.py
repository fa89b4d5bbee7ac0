"""Shared helpers for the benchmarks: databases, synthetic data, timing.

Synthetic data follows the real ``intensief_begeleiden`` definition: trajectories that started 5-6
weeks ago have three steps due (``herinnering_intake`` - a reminder that looks up the intake task,
``coachingscontact`` occurrence 4 - a weekly reminder that plans its next occurrence when fired, and
``tussenevaluatie`` - a task that creates a ``taak`` row) plus two planned steps in the future
(``besluit_week9``, ``nacontrole``). "Future" trajectories (start date ahead) only add planned steps
that are not due, to test that the sweep does not slow down with the size of the timer table.

Rows are written directly (not through ``Engine.start``): PostgreSQL with COPY, SQLite with
``executemany`` in one transaction. Ids are given explicitly and PostgreSQL sequences are reset after.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from trajecten.kern.engine import Engine
from trajecten.opslag.models import Gebeurtenis, GeplandeStap, Taak, Traject
from trajecten.basis.tijd import TZ, FixedClock

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
INSTRUMENT = "intensief_begeleiden"
# A Monday morning; every due step is due at 08:00 on some earlier day.
NOW = datetime(2026, 3, 9, 10, 0, tzinfo=TZ)

Progress = Callable[[str, int, int], None]  # (label, done, total)


def _noop(label: str, done: int, total: int) -> None:  # noqa: ARG001
    pass


# --------------------------------------------------------------------------- databases


def pg_admin():
    import psycopg

    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
                           connect_timeout=3)


def pg_available() -> str | None:
    """None when the server answers, else the reason."""
    try:
        pg_admin().close()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def pg_recreate(name: str) -> str:
    """Drop and create database ``name`` (only ever our own bench databases); returns a SQLAlchemy URL."""
    assert name.startswith("bench_"), name
    with pg_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def pg_drop(name: str) -> None:
    assert name.startswith("bench_"), name
    with pg_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def sqlite_recreate(path: Path) -> str:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def sqlite_drop(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()


# --------------------------------------------------------------------------- synthetic data


@dataclass
class Dataset:
    """How many rows were written."""

    due: int = 0
    planned: int = 0  # all rows with status 'gepland' (due + not due)
    trajecten: int = 0
    rows_total: int = 0
    setup_s: float = 0.0


class _Rows:
    """Column-ordered tuples per table, built once and written with COPY or executemany."""

    def __init__(self):
        self.client: list[tuple] = []
        self.traject: list[tuple] = []
        self.stap: list[tuple] = []
        self.taak: list[tuple] = []


CLIENT_COLS = ("id", "bsn", "naam", "geboortedatum", "postcode", "gebied", "coach", "bijstand_sinds", "aangemaakt_op")
TRAJECT_COLS = ("id", "client_id", "instrument", "definitie_versie", "status", "uitkomst", "start_datum", "eind_datum",
                "feiten", "gestart_door", "aangemaakt_op")
STAP_COLS = ("id", "traject_id", "stap", "volgnr", "kind", "due_at", "status", "pogingen", "laatste_fout",
             "uitgevoerd_op", "te_laat_s", "uitkomst", "reden")
TAAK_COLS = ("id", "traject_id", "stap_id", "stap", "titel", "rol", "toegewezen_aan", "due_at", "status", "uitkomst",
             "aangemaakt_op", "gesloten_door", "gesloten_op")
COACHES = [f"coach{i:02d}" for i in range(40)]
FEITEN = {"variant": "richting_werk"}


def build_rows(engine: Engine, n_due: int, n_future: int) -> tuple[_Rows, Dataset]:
    """``n_due`` due steps (3 per trajectory, kinds mixed) plus ``n_future`` extra planned steps that
    are not due (6 per future trajectory). Due trajectories also carry 2 not-due steps each."""
    compiled = engine.register.current(INSTRUMENT)
    versie = compiled.versie
    steps = compiled.steps
    ctx = engine.plan_context
    today = NOW.astimezone(TZ).date()
    due_cache: dict[tuple[str, date], datetime] = {}

    def due(key: str, start: date) -> datetime:
        got = due_cache.get((key, start))
        if got is None:
            got = due_cache[(key, start)] = ctx.due(steps[key], start)
        return got

    def coaching(start: date, volgnr: int) -> datetime:
        d = due("coachingscontact", start)
        for _ in range(volgnr):
            d = ctx.next_occurrence(steps["coachingscontact"], 0, d, {}, {})[1]
        return d

    out, ds = _Rows(), Dataset()
    tid = sid = kid = 0
    created = NOW - timedelta(days=60)
    # ---- due trajectories: started 35-41 days ago
    n_dt = math.ceil(n_due / 3)
    left = n_due
    coach_cache: dict[date, datetime] = {}
    for i in range(n_dt):
        tid += 1
        start = today - timedelta(days=35 + i % 7)
        out.client.append((tid, f"{100000000 + tid:09d}", f"Client {tid}", date(1980 + i % 30, 1 + i % 12, 1 + i % 28),
                           "1234AB", "centrum", COACHES[i % len(COACHES)], None, created))
        out.traject.append((tid, tid, INSTRUMENT, versie, "actief", None, start, None, FEITEN, "bench", created))
        # the intake task: fired earlier, its task row done for a quarter of the trajectories
        sid += 1
        intake_due = due("intake", start)
        out.stap.append((sid, tid, "intake", 0, "task", intake_due, "uitgevoerd", 1, None, intake_due, 0, None, None))
        kid += 1
        done = i % 4 == 0
        out.taak.append((kid, tid, sid, "intake", steps["intake"].titel, "coach", COACHES[i % len(COACHES)],
                         intake_due + timedelta(days=7), "afgerond" if done else "open", None, intake_due,
                         "bench" if done else None, intake_due + timedelta(days=1) if done else None))
        if start not in coach_cache:
            coach_cache[start] = coaching(start, 4)
        for key, volgnr, at in (("herinnering_intake", 0, due("herinnering_intake", start)),
                                ("coachingscontact", 4, coach_cache[start]),
                                ("tussenevaluatie", 0, due("tussenevaluatie", start))):
            if left == 0:
                break
            assert at <= NOW, (key, at)
            sid += 1
            left -= 1
            out.stap.append((sid, tid, key, volgnr, steps[key].kind.value, at, "gepland", 0, None, None, None, None,
                             None))
            ds.due += 1
        for key in ("besluit_week9", "nacontrole"):
            at = due(key, start)
            assert at > NOW, (key, at)
            sid += 1
            out.stap.append((sid, tid, key, 0, steps[key].kind.value, at, "gepland", 0, None, None, None, None, None))
    ds.planned = ds.due + 2 * n_dt
    # ---- future trajectories: start 1-180 days ahead, all six start-anchored steps planned
    keys = ("intake", "herinnering_intake", "coachingscontact", "tussenevaluatie", "besluit_week9", "nacontrole")
    left = n_future
    i = 0
    while left > 0:
        tid += 1
        i += 1
        start = today + timedelta(days=1 + i % 180)
        out.client.append((tid, f"{100000000 + tid:09d}", f"Client {tid}", date(1980 + i % 30, 1 + i % 12, 1 + i % 28),
                           "1234AB", "centrum", COACHES[i % len(COACHES)], None, created))
        out.traject.append((tid, tid, INSTRUMENT, versie, "gepland", None, start, None, FEITEN, "bench", created))
        for key in keys:
            if left == 0:
                break
            at = due(key, start)
            assert at > NOW, (key, at)
            sid += 1
            left -= 1
            out.stap.append((sid, tid, key, 0, steps[key].kind.value, at, "gepland", 0, None, None, None, None, None))
            ds.planned += 1
    ds.trajecten = tid
    ds.rows_total = len(out.client) + len(out.traject) + len(out.stap) + len(out.taak)
    return out, ds


def populate(engine: Engine, n_due: int, n_future: int = 0, progress: Progress = _noop) -> Dataset:
    """Write the synthetic rows into the (freshly migrated, empty) engine database."""
    t0 = time.perf_counter()
    rows, ds = build_rows(engine, n_due, n_future)
    tables = [("client", CLIENT_COLS, rows.client), ("traject", TRAJECT_COLS, rows.traject),
              ("geplande_stap", STAP_COLS, rows.stap), ("taak", TAAK_COLS, rows.taak)]
    total = ds.rows_total
    done = 0
    if engine.is_postgres:
        raw = engine.db.raw_connection()
        try:
            pgconn = raw.driver_connection
            with pgconn.transaction():
                cur = pgconn.cursor()
                for name, cols, data in tables:
                    with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                        for n, row in enumerate(data, 1):
                            if name == "traject":
                                row = row[:8] + (json.dumps(row[8]),) + row[9:]
                            copy.write_row(row)
                            if n % 50_000 == 0:
                                progress("insert", done + n, total)
                    done += len(data)
                    progress("insert", done, total)
                for name, _c, _d in tables:
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                f"(SELECT coalesce(max(id), 1) FROM {name}))")
            pgconn.autocommit = True
            pgconn.execute("VACUUM ANALYZE")  # what autovacuum would do after a bulk load
            pgconn.autocommit = False
        finally:
            raw.close()
    else:
        raw = engine.db.raw_connection()
        try:
            con: sqlite3.Connection = raw.driver_connection
            con.execute("BEGIN IMMEDIATE")
            for name, cols, data in tables:
                sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                for lo in range(0, len(data), 50_000):
                    chunk = data[lo:lo + 50_000]
                    con.executemany(sql, ([_sqlite_value(v) for v in row] for row in chunk))
                    done += len(chunk)
                    progress("insert", done, total)
            con.execute("COMMIT")
            con.execute("ANALYZE")
        finally:
            raw.close()
    _check_roundtrip(engine, ds)
    ds.setup_s = time.perf_counter() - t0
    return ds


def _sqlite_value(v):
    """The same text SQLAlchemy writes for these types on SQLite (UTCDateTime stores naive UTC)."""
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return json.dumps(v)
    return v


def _check_roundtrip(engine: Engine, ds: Dataset) -> None:
    """The direct writes must read back through SQLAlchemy exactly like engine-written rows."""
    S = GeplandeStap.__table__
    with engine.db.connect() as conn:
        n_due = conn.execute(sa.select(sa.func.count()).select_from(S)
                             .where(S.c.status == "gepland", S.c.due_at <= NOW)).scalar()
        n_planned = conn.execute(sa.select(sa.func.count()).select_from(S).where(S.c.status == "gepland")).scalar()
        row = conn.execute(sa.select(S.c.due_at).order_by(S.c.id).limit(1)).first()
        tr = conn.execute(sa.select(Traject.__table__.c.feiten).limit(1)).scalar()
    assert n_due == ds.due, (n_due, ds.due)
    assert n_planned == ds.planned, (n_planned, ds.planned)
    assert row.due_at.tzinfo is not None
    assert tr == FEITEN, tr


def open_engine(url: str) -> Engine:
    return Engine.open(url, clock=FixedClock(NOW))


def counts(engine: Engine) -> dict[str, int]:
    S, E, K = GeplandeStap.__table__, Gebeurtenis.__table__, Taak.__table__
    with engine.db.connect() as conn:
        return {
            "due_left": conn.execute(sa.select(sa.func.count()).select_from(S)
                                     .where(S.c.status == "gepland", S.c.due_at <= NOW)).scalar(),
            "events": conn.execute(sa.select(sa.func.count()).select_from(E)).scalar(),
            "tasks": conn.execute(sa.select(sa.func.count()).select_from(K)).scalar(),
            "planned": conn.execute(sa.select(sa.func.count()).select_from(S).where(S.c.status == "gepland")).scalar(),
        }


# --------------------------------------------------------------------------- APScheduler baseline

_APS_DB: sa.Engine | None = None
APS_EVENTS = sa.Table(
    "aps_gebeurtenis", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("traject_id", sa.Integer, nullable=False),
    sa.Column("stap", sa.String(50), nullable=False),
    sa.Column("volgnr", sa.Integer, nullable=False),
    sa.Column("type", sa.String(50), nullable=False),
    sa.Column("op", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
)


def aps_fire(traject_id: int, stap: str, volgnr: int, due_iso: str) -> None:
    """What one APScheduler job does: record that the timer fired, like the engine's event row."""
    now = datetime.now(TZ)
    late = max(int((now - datetime.fromisoformat(due_iso)).total_seconds()), 0)
    with _APS_DB.begin() as conn:
        conn.execute(APS_EVENTS.insert().values(traject_id=traject_id, stap=stap, volgnr=volgnr, type="stap_uitgevoerd",
                                                op=now, payload={"stap": stap, "volgnr": volgnr, "te_laat_s": late}))


def aps_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        eng = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn, _record):  # same durability settings the engine uses
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return eng
    return sa.create_engine(url, pool_size=12, max_overflow=4)


@dataclass
class ApsResult:
    n: int
    add_s: float
    fired: int
    run_s: float
    complete: bool
    workers: int

    @property
    def rate(self) -> float:
        return self.fired / self.run_s if self.run_s else 0.0


def run_apscheduler(url: str, n: int, budget_s: float, workers: int = 10, progress: Progress = _noop) -> ApsResult:
    """APScheduler 3 + SQLAlchemyJobStore, one 'date' job per due timer (run_date in the past,
    misfire_grace_time=None so late jobs still run). Times scheduler start -> all N job functions done."""
    global _APS_DB
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _APS_DB = aps_engine(url)
    APS_EVENTS.metadata.create_all(_APS_DB)
    store_engine = aps_engine(url)
    sched = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store_engine)},
        executors={"default": ThreadPoolExecutor(workers)},
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        timezone=TZ,
    )
    sched.start(paused=True)
    t0 = time.perf_counter()
    now_real = datetime.now(TZ)
    for i in range(n):
        run_date = now_real - timedelta(days=1, seconds=i)  # all in the past, oldest last
        sched.add_job(aps_fire, "date", run_date=run_date, id=f"t{i}", replace_existing=False,
                      args=(1 + i // 3, ("herinnering_intake", "coachingscontact", "tussenevaluatie")[i % 3],
                            0, run_date.isoformat()))
        if (i + 1) % 500 == 0:
            progress("add_job", i + 1, n)
    add_s = time.perf_counter() - t0
    count_q = sa.select(sa.func.count()).select_from(APS_EVENTS)
    t1 = time.perf_counter()
    sched.resume()
    fired = 0
    complete = False
    with _APS_DB.connect() as conn:
        while True:
            time.sleep(0.2)
            fired = conn.execute(count_q).scalar()
            conn.rollback()
            progress("fired", fired, n)
            if fired >= n:
                complete = True
                break
            if time.perf_counter() - t1 > budget_s:
                break
    run_s = time.perf_counter() - t1
    sched.shutdown(wait=False)
    time.sleep(0.5)
    store_engine.dispose()
    _APS_DB.dispose()
    return ApsResult(n, add_s, fired, run_s, complete, workers)


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pg = subprocess.run(["psql", "-h", PG_HOST, "-U", PG_USER, "-d", "postgres", "-Atc", "SHOW server_version"],
                            capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001
        pg = "?"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgres": pg or "?"}


# --------------------------------------------------------------------------- reporting (shared by every bench script)

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (10 million additions), best of 3: how fast this shared machine
    runs Python at the moment. The same code measured on a day the probe says 0.8 s and on one it says 1.1 s
    differs by about as much."""
    best = float("inf")
    for _ in range(3):
        t0, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return round(best, 2)


def loadavg() -> str:
    """The 1/5/15-minute load average, to show how shared the machine was during a run."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def write_section(key: str, markdown: str, heading: str | None = None, doc: Path = DOC) -> None:
    """Replace the block between ``<!-- key:start -->`` and ``<!-- key:end -->`` in docs/benchmarks.md;
    a first run puts it under ``heading`` (added at the end when the document lacks it), or at the end."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n\nResults of the benchmarks in `bench/`.\n"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    elif heading and heading in text:
        text = text.replace(heading, heading + "\n\n" + block, 1)
    else:
        text = text.rstrip() + "\n\n" + (heading + "\n\n" if heading else "") + block + "\n"
    doc.write_text(text, encoding="utf-8")
