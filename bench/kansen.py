"""Kansen in Kaart benchmark: a yearly contact for every bijstand client without a trajectory, across a
caseload of 50,000 clients, planned and fired by the same engine functions as in production.

Run from the repository root:

    PYTHONPATH=. python bench/kansen.py               # 50,000 clients, SQLite and PostgreSQL
    PYTHONPATH=. python bench/kansen.py --quick       # 5,000 clients (smoke run)

What is measured (each on a fresh SQLite file and a fresh PostgreSQL database at 127.0.0.1:5432; PostgreSQL
is skipped with a message when unreachable):

* plan: ``trajecten.taken.kansen.bijwerken`` on 5 Jan 2026 with N bijstand clients and no trajectories: one rule
  decision per client (``kansen_in_kaart.toegang``), N trajectories and their first yearly contact written
  through ``Engine.start_many`` in chunks of 5,000, plus the Logboek Dataverwerkingen records.
* again: the same job a second time (the daily steady state: nothing to start or end).
* fire: a year of contacts by stepping the clock month by month (12 sweeps, the last on 4 Jan 2027 23:00)
  with ``engine.sweep(now)``; every contact fires as a task on the coach's worklist and plans the next one
  a year later. Fired/s = contacts fired / seconds spent in the sweeps.
* check: contacts per client in the year (no contact is completed early here, so it must be exactly 1 for
  every client: the first contact lands on the next anniversary of the bijstand start, within a year).

Clients are written directly (bulk insert; synthetic BSNs that pass the 11-test). Results go to the section
between ``<!-- kansen:start -->`` and ``<!-- kansen:end -->`` of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402
from trajecten.taken import kansen  # noqa: E402
from trajecten.basis.bsn import synthetisch  # noqa: E402
from trajecten.basis.proces import stem_af  # noqa: E402
from trajecten.basis.config import load_settings  # noqa: E402
from trajecten.kern.engine import Engine  # noqa: E402
from trajecten.opslag.models import Client, Taak, Traject  # noqa: E402
from trajecten.basis.tijd import TZ, FixedClock  # noqa: E402

WORK = Path(os.environ.get("BENCH_WORKDIR", "/tmp/bench_kansen"))
START = datetime(2026, 1, 5, 9, 0, tzinfo=TZ)  # a Monday
PG_DB = "bench_kansen"
console = Console(width=max(Console().width, 140))


def maanden() -> list[datetime]:
    """Twelve sweep moments: the 4th of each month at 23:00, Feb 2026 .. Jan 2027 (a year from 5 Jan 2026)."""
    out = []
    for k in range(1, 13):
        y, m = (2026, 1 + k) if k < 12 else (2027, 1)
        out.append(datetime.combine(date(y, m, 4), dtime(23, 0), tzinfo=TZ))
    return out


def clients(n: int, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    seen: set[str] = set()
    rows = []
    for i in range(n):
        b = synthetisch(rng)
        while b in seen:
            b = synthetisch(rng)
        seen.add(b)
        rows.append({"bsn": b, "naam": "", "postcode": "", "gebied": "", "coach": c.COACHES[i % len(c.COACHES)],
                     "geboortedatum": date(1960, 1, 1) + timedelta(days=rng.randint(0, 40 * 365)),
                     "bijstand_sinds": date(2010, 1, 1) + timedelta(days=rng.randint(0, 15 * 365)),
                     "aangemaakt_op": START})
    return rows


def run(kind: str, n: int, prog: Progress) -> dict:
    if kind == "sqlite":
        url = c.sqlite_recreate(WORK / "kansen.db")
    else:
        url = c.pg_recreate(PG_DB)
    clock = FixedClock(START)
    eng = Engine.open(url, clock=clock, settings=load_settings(database_url=url))
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    try:
        task = prog.add_task(f"{label}: cliënten schrijven", total=n)
        rows = clients(n)
        with eng.db.begin() as conn:
            for i in range(0, n, 5000):
                conn.execute(Client.__table__.insert(), rows[i:i + 5000])
                prog.update(task, completed=min(i + 5000, n))
        prog.remove_task(task)

        task = prog.add_task(f"{label}: plannen (start_many)", total=n)
        t0 = time.perf_counter()
        plan = kansen.bijwerken(eng, progress=lambda done, total: prog.update(task, completed=done, total=total))
        plan_s = time.perf_counter() - t0
        prog.remove_task(task)
        assert plan["gestart"] == n, plan
        t0 = time.perf_counter()
        again = kansen.bijwerken(eng)
        again_s = time.perf_counter() - t0
        assert again["gestart"] == 0 and again["kandidaten"] == 0, again

        task = prog.add_task(f"{label}: een jaar contacten vuren", total=12)
        fired, sweep_s, per_maand = 0, 0.0, []
        for k, moment in enumerate(maanden(), 1):
            clock.set(moment)
            t0 = time.perf_counter()
            res = eng.sweep(moment)
            dt = time.perf_counter() - t0
            sweep_s += dt
            fired += res.uitgevoerd
            per_maand.append((moment.strftime("%Y-%m"), res.uitgevoerd, dt))
            prog.update(task, completed=k)
        prog.remove_task(task)

        T, K = Traject.__table__, Taak.__table__
        with eng.db.connect() as conn:
            per_client = conn.execute(
                sa.select(T.c.client_id, sa.func.count(K.c.id)).select_from(T.outerjoin(K, K.c.traject_id == T.c.id))
                .where(T.c.instrument == kansen.INSTRUMENT).group_by(T.c.client_id)).all()
            volgend = conn.execute(sa.text("SELECT count(*) FROM geplande_stap WHERE stap = 'jaarcontact' "
                                           "AND status = 'gepland' AND volgnr = 1")).scalar()
        counts = [x[1] for x in per_client]
        return {"label": label, "n": n, "plan_s": plan_s, "again_s": again_s, "fired": fired, "sweep_s": sweep_s,
                "per_maand": per_maand, "clients": len(counts), "min": min(counts), "max": max(counts),
                "mean": sum(counts) / len(counts), "volgend": volgend}
    finally:
        eng.db.dispose()
        if kind == "sqlite":
            c.sqlite_drop(WORK / "kansen.db")
        else:
            c.pg_drop(PG_DB)


def markdown(results: list[dict], command: str, skipped: str | None, load: tuple[str, str], wall: float) -> str:
    m = c.machine()
    lines = ["## Kansen in Kaart (P7): a yearly contact across the caseload", "",
             f"Command: `{command}` ({datetime.now(TZ):%Y-%m-%d}, {wall:.0f} s wall). Machine: {m['nproc']} cores "
             f"({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgres']}; load average "
             f"before {load[0]}, after {load[1]} (the machine is shared).", "",
             "Plan = `kansen.bijwerken` starting every client's trajectory (a rule decision each, `Engine.start_many` "
             "in chunks of 5,000, Logboek records). Again = the same daily job when nothing changed. Fire = 12 "
             "monthly `engine.sweep(now)` calls over a year; each contact becomes a task and plans the next one a "
             "year later.", "",
             "| database | clients | plan (s) | started/s | again (s) | contacts fired | sweep (s) | fired/s "
             "| contacts per client in the year (min / mean / max) | next year's contact planned |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['n']:,} | {r['plan_s']:.1f} | {r['n'] / r['plan_s']:,.0f} | "
                     f"{r['again_s']:.1f} | {r['fired']:,} | {r['sweep_s']:.1f} | {r['fired'] / r['sweep_s']:,.0f} | "
                     f"{r['min']} / {r['mean']:.3f} / {r['max']} | {r['volgend']:,} |")
    if skipped:
        lines += ["", f"PostgreSQL skipped: {skipped}."]
    lines += ["", "Contacts fired per monthly sweep (" + ", ".join(r["label"] for r in results) + "):", "",
              "| sweep at | " + " | ".join(f"{r['label']} fired | {r['label']} s" for r in results) + " |",
              "|---|" + "---:|---:|" * len(results)]
    for k in range(12):
        cells = " | ".join(f"{r['per_maand'][k][1]:,} | {r['per_maand'][k][2]:.1f}" for r in results)
        lines.append(f"| {results[0]['per_maand'][k][0]}-04 23:00 | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clienten", type=int, default=50_000, help="bijstand clients in the caseload")
    ap.add_argument("--quick", action="store_true", help="5,000 clients")
    ap.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    stem_af()  # as every process that runs the engine does at start (trajecten.basis.proces)
    n = 5_000 if args.quick else args.clienten
    command = "PYTHONPATH=. python bench/kansen.py" + ("" if not (argv if argv is not None else sys.argv[1:]) else
                                                      " " + " ".join(argv if argv is not None else sys.argv[1:]))
    WORK.mkdir(parents=True, exist_ok=True)
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    skipped = None
    if "postgres" in kinds and (why := c.pg_available()):
        skipped = f"unreachable ({why})"
        console.print(f"[yellow]PostgreSQL {skipped}; PostgreSQL skipped[/]")
        kinds.remove("postgres")
    load_before, started = c.loadavg(), time.perf_counter()
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as prog:
        for kind in kinds:
            results.append(run(kind, n, prog))
            r = results[-1]
            console.print(f"{r['label']}: plan {r['plan_s']:.1f} s, again {r['again_s']:.1f} s, fired {r['fired']:,} "
                          f"in {r['sweep_s']:.1f} s; contacts per client {r['min']}..{r['max']}")
    wall = time.perf_counter() - started
    table = Table("database", "clients", "plan s", "again s", "fired", "sweep s", "fired/s", "per client")
    for r in results:
        table.add_row(r["label"], f"{r['n']:,}", f"{r['plan_s']:.1f}", f"{r['again_s']:.1f}", f"{r['fired']:,}",
                      f"{r['sweep_s']:.1f}", f"{r['fired'] / r['sweep_s']:,.0f}", f"{r['min']}..{r['max']}")
    console.print(table)
    ok = all(r["min"] == r["max"] == 1 and r["fired"] == r["n"] for r in results)
    if not args.no_write and results:
        c.write_section("kansen", markdown(results, command, skipped, (load_before, c.loadavg()), wall))
        console.print("written: docs/benchmarks.md (kansen)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
