"""Sweep benchmark: fired steps per second of ``Engine.sweep`` against APScheduler 3.

Run from the repository root:

    PYTHONPATH=. python bench/sweep.py            # everything (~5-10 min on 2 cores)
    PYTHONPATH=. python bench/sweep.py --quick    # smoke run: 10k only, ratio test with 100k planned

What is measured (each on SQLite and on PostgreSQL 127.0.0.1:5432):

* engine: ``engine.sweep(now, batch_size=B)`` until nothing is due, on N due steps (10k, 100k) of the
  real ``intensief_begeleiden`` definition (reminders that look up a task, weekly reminders that plan
  their next occurrence, tasks that create a ``taak`` row); fired/s = fired steps / wall seconds.
  B is chosen by a scan over ``--batch-sizes`` at 10k.
* ratio: the same sweep of 10k due steps with ~16.7k planned rows vs with 1M planned rows (the extra
  rows are future steps of other trajectories); goal: large / small <= 1.2.
* baseline: APScheduler 3 ``BackgroundScheduler`` + ``SQLAlchemyJobStore`` on the same kind of
  database, one ``date`` job per timer (run_date in the past, ``misfire_grace_time=None``, coalesce),
  each job writing an event row; jobs fired/s from ``resume()`` until all ran (adding the jobs is
  timed separately). If it does not finish within ``--aps-budget`` seconds the partial rate is shown.

Each engine measurement runs on a fresh copy of a populated template database (PostgreSQL
``CREATE DATABASE ... TEMPLATE``, SQLite file copy) and the best of ``--repeat`` runs is reported,
because this machine is shared. Results go to the section between ``<!-- sweep:start -->`` and
``<!-- sweep:end -->`` of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402
from trajecten.basis.proces import stem_af  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("BENCH_WORKDIR", "/tmp/bench_sweep"))
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- sweep:start -->", "<!-- sweep:end -->"
GOAL_RATE = 20_000
GOAL_RATIO = 1.2
console = Console(width=max(Console().width, 180))


# --------------------------------------------------------------------------- databases as templates


class Db:
    """One database kind: build a populated template once, then hand out fresh copies of it."""

    def __init__(self, kind: str):
        self.kind = kind
        self.label = "SQLite" if kind == "sqlite" else "PostgreSQL"

    def _template_name(self, tag: str) -> str:
        return f"bench_sweep_t_{tag}"

    def build(self, tag: str, n_due: int, n_future: int, progress) -> c.Dataset:
        if self.kind == "sqlite":
            url = c.sqlite_recreate(WORK / f"template_{tag}.db")
        else:
            url = c.pg_recreate(self._template_name(tag))
        eng = c.open_engine(url)
        ds = c.populate(eng, n_due, n_future, progress=progress)
        eng.db.dispose()
        if self.kind == "sqlite":  # fold the WAL into the file so a plain copy is complete
            import sqlite3

            con = sqlite3.connect(WORK / f"template_{tag}.db")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
        return ds

    def fresh(self, tag: str) -> str:
        """A new database copied from template ``tag``; returns its URL."""
        if self.kind == "sqlite":
            path = WORK / "run.db"
            url = c.sqlite_recreate(path)
            shutil.copyfile(WORK / f"template_{tag}.db", path)
            return url
        with c.pg_admin() as admin:
            admin.execute('DROP DATABASE IF EXISTS "bench_sweep"')
            admin.execute(f'CREATE DATABASE "bench_sweep" TEMPLATE "{self._template_name(tag)}"')
        return f"postgresql+psycopg://{c.PG_USER}@{c.PG_HOST}:{c.PG_PORT}/bench_sweep"

    def drop(self, tag: str) -> None:
        if self.kind == "sqlite":
            c.sqlite_drop(WORK / f"template_{tag}.db")
        else:
            c.pg_drop(self._template_name(tag))

    def cleanup(self) -> None:
        if self.kind == "sqlite":
            c.sqlite_drop(WORK / "run.db")
            c.sqlite_drop(WORK / "aps.db")
        else:
            c.pg_drop("bench_sweep")
            c.pg_drop("bench_sweep_aps")


@dataclass
class Run:
    fired: int
    seconds: float
    batches: int
    uitgevoerd: int
    overgeslagen: int

    @property
    def rate(self) -> float:
        return self.fired / self.seconds


def sweep_once(db: Db, tag: str, n_expected: int, batch_size: int) -> Run:
    url = db.fresh(tag)
    eng = c.open_engine(url)
    t0 = time.perf_counter()
    res = eng.sweep(now=c.NOW, batch_size=batch_size)
    secs = time.perf_counter() - t0
    left = c.counts(eng)["due_left"]
    eng.db.dispose()
    if res.verwerkt != n_expected or left != 0 or res.mislukt or res.incidenten:
        raise SystemExit(f"{db.label}: sweep fired {res.verwerkt} of {n_expected}, {left} still due, "
                         f"{res.mislukt} failed, {res.incidenten} incidents")
    return Run(res.verwerkt, secs, res.batches, res.uitgevoerd, res.overgeslagen)


def _sweeper(url: str, batch_size: int, out, go) -> None:
    stem_af()  # a sweeper process tunes itself at start (trajecten.basis.proces), as trajecten sweep's do
    eng = c.open_engine(url)
    go.wait()
    res = eng.sweep(now=c.NOW, batch_size=batch_size)
    out.put((res.verwerkt, res.batches, res.uitgevoerd, res.overgeslagen))


def sweep_parallel(db: Db, tag: str, n_expected: int, batch_size: int, procs: int) -> Run:
    """``procs`` sweeper processes on one PostgreSQL database (FOR UPDATE SKIP LOCKED shares the work)."""
    import multiprocessing as mp

    url = db.fresh(tag)
    c.open_engine(url).db.dispose()  # migrate here, once, so the sweepers never race on the schema
    ctx = mp.get_context("spawn")
    out, go = ctx.Queue(), ctx.Event()
    ps = [ctx.Process(target=_sweeper, args=(url, batch_size, out, go)) for _ in range(procs)]
    for p in ps:
        p.start()
    time.sleep(4)  # let every process import and open its engine before the clock starts
    t0 = time.perf_counter()
    go.set()
    got = []
    while len(got) < procs:
        try:
            got.append(out.get(timeout=1))
        except Exception:  # noqa: BLE001 - queue.Empty: check that no sweeper died
            if any(p.exitcode not in (None, 0) for p in ps) or time.perf_counter() - t0 > 900:
                for p in ps:
                    p.kill()
                raise SystemExit(f"{db.label}: a sweeper process failed (exit codes {[p.exitcode for p in ps]})")
    secs = time.perf_counter() - t0
    for p in ps:
        p.join()
    eng = c.open_engine(url)
    left = c.counts(eng)["due_left"]
    eng.db.dispose()
    fired = sum(g[0] for g in got)
    if fired != n_expected or left != 0:
        raise SystemExit(f"{db.label}: {procs} sweepers fired {fired} of {n_expected}, {left} still due")
    return Run(fired, secs, sum(g[1] for g in got), sum(g[2] for g in got), sum(g[3] for g in got))


def best(db: Db, tag: str, n: int, batch_size: int, repeat: int) -> Run:
    runs = [sweep_once(db, tag, n, batch_size) for _ in range(repeat)]
    return min(runs, key=lambda r: r.seconds)


# --------------------------------------------------------------------------- report


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def check(ok: bool) -> str:
    return "✅" if ok else "❌"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    stem_af()  # as every process that runs the engine does at start (trajecten.basis.proces)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k only; ratio test with 100k planned instead of 1M")
    ap.add_argument("--batch-sizes", default="1000,2000,5000", help="batch sizes scanned at 10k (comma-separated)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per engine measurement; the best counts")
    ap.add_argument("--aps-n", type=int, default=10_000, help="timers in the APScheduler baseline")
    ap.add_argument("--aps-budget", type=float, default=180.0, help="seconds before the baseline is cut off")
    ap.add_argument("--sweepers", type=int, default=2,
                    help="PostgreSQL: also measure this many sweeper processes at once (1 = skip)")
    ap.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = ap.parse_args(argv)
    command = "PYTHONPATH=. python bench/sweep.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                     " " + " ".join(sys.argv[1:] if argv is None else argv))
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    big_due = [] if args.quick else [100_000]
    ratio_future = 90_000 if args.quick else 990_000 - 6_668  # 1M planned rows in all (10k due + their own 6,668)

    kinds = ["sqlite", "postgres"]
    if args.only:
        kinds = [args.only]
    if "postgres" in kinds and (why := c.pg_available()):
        console.print(f"[yellow]PostgreSQL unreachable ({why}); PostgreSQL rows skipped[/]")
        kinds.remove("postgres")

    started = time.perf_counter()
    load_before = c.loadavg()
    results: dict[str, dict] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as prog:

        def bar(desc: str):
            task = prog.add_task(desc, total=1)

            def update(label: str, done: int, total: int) -> None:
                prog.update(task, completed=done, total=total, description=f"{desc} [{label}]")

            return task, update

        for kind in kinds:
            db = Db(kind)
            r: dict = results.setdefault(kind, {"label": db.label})
            # ---- batch-size scan and 10k
            task, upd = bar(f"{db.label}: 10k due, populate")
            ds10 = db.build("10k", 10_000, 0, upd)
            prog.remove_task(task)
            scan = {}
            for bs in sizes:
                task, _ = bar(f"{db.label}: 10k due, batch {bs}")
                scan[bs] = best(db, "10k", ds10.due, bs, args.repeat)
                prog.remove_task(task)
            bs_best = max(scan, key=lambda b: scan[b].rate)
            r.update(scan=scan, batch=bs_best, ds={10_000: ds10}, runs={10_000: scan[bs_best]})
            if kind == "postgres" and args.sweepers > 1:
                task, _ = bar(f"{db.label}: 10k due, {args.sweepers} sweepers")
                r["par"] = {10_000: min((sweep_parallel(db, "10k", ds10.due, bs_best, args.sweepers)
                                         for _ in range(args.repeat)), key=lambda x: x.seconds)}
                prog.remove_task(task)
            console.print(f"{db.label}: batch scan " + ", ".join(f"{b}: {fmt_rate(x.rate)}/s" for b, x in scan.items())
                          + f" -> {bs_best}")
            # ---- 100k
            for n in big_due:
                task, upd = bar(f"{db.label}: {n // 1000}k due, populate")
                ds = db.build(f"{n // 1000}k", n, 0, upd)
                prog.update(task, description=f"{db.label}: {n // 1000}k due, sweeping")
                r["ds"][n] = ds
                r["runs"][n] = best(db, f"{n // 1000}k", ds.due, bs_best, args.repeat)
                if kind == "postgres" and args.sweepers > 1:
                    prog.update(task, description=f"{db.label}: {n // 1000}k due, {args.sweepers} sweepers")
                    r.setdefault("par", {})[n] = min(
                        (sweep_parallel(db, f"{n // 1000}k", ds.due, bs_best, args.sweepers) for _ in range(args.repeat)),
                        key=lambda x: x.seconds)
                prog.remove_task(task)
                db.drop(f"{n // 1000}k")
                console.print(f"{db.label}: {n:,} due -> {fmt_rate(r['runs'][n].rate)}/s")
            # ---- ratio: the same 10k due among ~16.7k vs ~1M planned rows, runs interleaved
            task, upd = bar(f"{db.label}: ratio, populate {ratio_future + 16_668:,} planned")
            dsl = db.build("large", 10_000, ratio_future, upd)
            prog.update(task, description=f"{db.label}: ratio, sweeping")
            small, large = [], []
            for _ in range(max(args.repeat, 5)):
                small.append(sweep_once(db, "10k", ds10.due, bs_best))
                large.append(sweep_once(db, "large", dsl.due, bs_best))
            prog.remove_task(task)
            db.drop("large")
            db.drop("10k")
            r["ratio"] = (ds10, min(small, key=lambda x: x.seconds), dsl, min(large, key=lambda x: x.seconds))
            rs, rl = r["ratio"][1], r["ratio"][3]
            console.print(f"{db.label}: ratio {rl.seconds / rs.seconds:.2f} "
                          f"({rs.seconds:.3f}s among {ds10.planned:,} vs {rl.seconds:.3f}s among {dsl.planned:,})")
            # ---- APScheduler baseline
            task, upd = bar(f"{db.label}: APScheduler {args.aps_n:,} jobs")
            url = c.sqlite_recreate(WORK / "aps.db") if kind == "sqlite" else c.pg_recreate("bench_sweep_aps")
            r["aps"] = c.run_apscheduler(url, args.aps_n, args.aps_budget, progress=upd)
            prog.remove_task(task)
            a = r["aps"]
            console.print(f"{db.label}: APScheduler {a.fired:,}/{a.n:,} in {a.run_s:.1f}s -> {fmt_rate(a.rate)}/s "
                          f"(adding took {a.add_s:.1f}s)")
            db.cleanup()

    total_s = time.perf_counter() - started
    md = report(results, args, command, total_s, load_before, c.loadavg())
    if not args.no_write:
        c.write_section("sweep", md, "## Sweep (P1)")
        console.print(f"written: {DOC.relative_to(ROOT)} (section {START} ... {END})")
    return 0


def report(results: dict, args, command: str, total_s: float, load_before: str, load_after: str) -> str:
    m = c.machine()
    table = Table(title="Sweep: fired steps per second")
    for col in ("database", "scenario", "steps", "seconds", "fired/s", "vs APScheduler", "goal"):
        table.add_column(col, justify="right" if col not in ("database", "scenario") else "left")
    lines = [
        f"Command: `{command}`  ",
        f"Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; total run {total_s / 60:.1f} min  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {m['postgres']} (default settings, 127.0.0.1)  ",
        f"Load average (1/5/15 min) before {load_before}, after {load_after}: the machine is shared, so every "
        f"engine number is the best of {args.repeat} runs on fresh copies of the same data.",
        "",
        "| database | scenario | steps | seconds | fired/s | × APScheduler | goal |",
        "|---|---|---:|---:|---:|---:|---|",
    ]

    def row(*cells: str) -> None:
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")

    for kind, r in results.items():
        a = r["aps"]
        for n, run in r["runs"].items():
            ds = r["ds"][n]
            x = run.rate / a.rate if a.rate else 0
            row(r["label"], f"engine, {n:,} due ({ds.planned:,} planned), batch {r['batch']}", f"{run.fired:,}",
                f"{run.seconds:.2f}", fmt_rate(run.rate), f"{x:.0f}×",
                f"{check(run.rate >= GOAL_RATE)} ≥ {GOAL_RATE:,}/s")
            par = r.get("par", {}).get(n)
            if par is not None:
                x = par.rate / a.rate if a.rate else 0
                row(r["label"], f"engine, {n:,} due, {args.sweepers} sweeper processes (SKIP LOCKED), "
                    f"batch {r['batch']}", f"{par.fired:,}", f"{par.seconds:.2f}", fmt_rate(par.rate), f"{x:.0f}×",
                    f"{check(par.rate >= GOAL_RATE)} ≥ {GOAL_RATE:,}/s")
        note = "" if a.complete else f" (cut off after {args.aps_budget:.0f} s)"
        row(r["label"], f"APScheduler 3 + SQLAlchemyJobStore, {a.n:,} date jobs{note}; adding them: "
            f"{a.add_s:.1f} s", f"{a.fired:,}", f"{a.run_s:.2f}", fmt_rate(a.rate), "1×", "baseline")
        ds_s, rs, ds_l, rl = r["ratio"]
        ratio = rl.seconds / rs.seconds
        row(r["label"], f"ratio: 10,000 due among {ds_l.planned:,} planned vs among {ds_s.planned:,}",
            f"{rl.fired:,}", f"{rl.seconds:.2f} vs {rs.seconds:.2f}", f"{fmt_rate(rl.rate)} vs {fmt_rate(rs.rate)}",
            "", f"{check(ratio <= GOAL_RATIO)} {ratio:.2f} ≤ {GOAL_RATIO}")
    console.print(table)
    lines += ["", "Batch-size scan at 10,000 due (fired/s; the best size is used for the other rows):", "",
              "| database | " + " | ".join(f"batch {b}" for b in next(iter(results.values()))["scan"]) + " |",
              "|---|" + "---:|" * len(next(iter(results.values()))["scan"])]
    for r in results.values():
        lines.append(f"| {r['label']} | " + " | ".join(fmt_rate(x.rate) for x in r["scan"].values()) + " |")
    lines += [
        "",
        "Workload: trajectories of `intensief_begeleiden` with three due steps each (`herinnering_intake`: "
        "a reminder that looks up the intake task and is skipped when it is done (¼ of them); "
        "`coachingscontact` occurrence 4: a weekly reminder that plans its next occurrence; `tussenevaluatie`: "
        "a task that creates a `taak` row) and two future steps (`besluit_week9`, `nacontrole`). Firing one "
        "step writes: the step's new state, one event (a fired reminder's event is the `herinnering` the mail job reads), per reminder/task a follow-up step or task row, and once per sweep a Logboek record per client and instrument. "
        "The APScheduler job only inserts one event row (its job store deletes the job), so the baseline does "
        "less work per timer than the engine.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
