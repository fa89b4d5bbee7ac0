"""Reliability runs at the issue's full size; each writes its figures with the command into docs/reliability.md.

Run from the repository root (one at a time: they use the whole machine):

    .venv/bin/python -m bench.reliability crash --db sqlite --runs 100
    .venv/bin/python -m bench.reliability crash --db postgres --runs 100
    .venv/bin/python -m bench.reliability concurrency --steps 50000 --sweepers 4
    .venv/bin/python -m bench.reliability downtime --db sqlite --trajecten 10000 --dagen 7
    .venv/bin/python -m bench.reliability downtime --db postgres --trajecten 10000 --dagen 7

The harness is the tests' (``tests/reliability/harness.py``): the pytest suite runs the same code at a
smaller size (``tests/reliability/``). Each run gets a fresh database (a SQLite file under
``$BENCH_WORKDIR`` or a ``bench_reliability_*`` database on the PostgreSQL at 127.0.0.1:5432) and
exits non-zero when a promise was broken.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as c  # noqa: E402
from tests.reliability import harness as h  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
TITLE = "# Reliability\n\nFigures of the reliability runs, each with the command that produced it.\n"


def _db(kind: str, name: str, work: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        path = work / f"{name}.db"
        return c.sqlite_recreate(path), lambda: c.sqlite_drop(path)
    db = f"bench_reliability_{name}"
    return c.pg_recreate(db), lambda: c.pg_drop(db)


def _stamp(command: str, seconds: float) -> list[str]:
    m = c.machine()
    return [f"Command: `{command}`", "",
            f"Run {datetime.now().strftime('%Y-%m-%d %H:%M')}, {seconds:.0f} s; machine: {m['nproc']} cores "
            f"({m['cpu'] or '?'}), Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgres']}; "
            f"load average {c.loadavg()} (shared machine).", ""]


def _violations(v: dict) -> str:
    broken = {k: len(x) for k, x in v.items() if x}
    return "none" if not broken else ", ".join(f"{k}: {n}" for k, n in broken.items())


def _ensure_doc() -> None:
    if not DOC.exists():
        DOC.write_text(TITLE, encoding="utf-8")


def crash(args) -> int:
    work = Path(args.workdir)
    url, drop = _db(args.db, f"crash_{args.db}", work)
    out = Path(tempfile.mkdtemp(prefix="crash-", dir=work))
    t0 = time.perf_counter()
    try:
        r = h.crash_campaign(url, out, args.runs, mix="alles", days_per_run=2, seed=args.seed,
                             progress=lambda m: print(m, flush=True))
    finally:
        drop()
    cmd = f".venv/bin/python -m bench.reliability crash --db {args.db} --runs {args.runs}"
    stages = ", ".join(f"{k} {n}" for k, n in sorted(r.kills_per_stage.items()))
    lines = _stamp(cmd, time.perf_counter() - t0) + [
        "| runs | kills (still working) | kills per stage | trajectories | steps fired | payouts (exported) | "
        "batches | mails | duplicates | unfired due | other violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {r.runs} | {r.kills} | {stages} | {r.trajecten} | {r.steps_fired} | {r.payouts} ({r.payouts_exported}) | "
        f"{r.batches} | {r.mails} | {r.duplicates} | {r.unfired_due} | {_violations(r.violations)} |",
    ]
    _ensure_doc()
    c.write_section(f"reliability-crash-{args.db}", "\n".join(lines), heading=f"### Crash: {args.db}", doc=DOC)
    print(r.as_dict())
    return 1 if any(r.violations.values()) else 0


def concurrency(args) -> int:
    work = Path(args.workdir)
    url, drop = _db("postgres", "concurrency", work)
    t0 = time.perf_counter()
    try:
        r = h.concurrent_sweep(url, args.steps, args.sweepers, batch_size=args.batch_size)
    finally:
        drop()
    cmd = f".venv/bin/python -m bench.reliability concurrency --steps {args.steps} --sweepers {args.sweepers}"
    ok = (not r["errors"] and r["fired_once"] == args.steps and r["fired_twice"] == 0
          and r["by_status"] == {"uitgevoerd": args.steps} and r["reminders_twice"] == 0)
    lines = _stamp(cmd, time.perf_counter() - t0) + [
        "| due steps | sweepers | batch | per sweeper | fired once | fired twice | left unfired | errors | "
        "seconds | steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {r['steps']} | {r['sweepers']} | {r['batch_size']} | {' / '.join(map(str, r['per_sweeper']))} | "
        f"{r['fired_once']} | {r['fired_twice']} | {r['by_status'].get('gepland', 0)} | {len(r['errors'])} | "
        f"{r['seconds']:.1f} | {r['steps_per_s']:.0f} |",
    ]
    _ensure_doc()
    c.write_section("reliability-concurrency", "\n".join(lines), heading="### Concurrency: PostgreSQL", doc=DOC)
    print(r)
    return 0 if ok else 1


def downtime(args) -> int:
    work = Path(args.workdir)
    url, drop = _db(args.db, f"downtime_{args.db}", work)
    t0 = time.perf_counter()
    try:
        r = h.downtime_campaign(url, args.trajecten, down_days=args.dagen, cohorts=args.cohorten,
                                progress=lambda m: print(m, flush=True))
    finally:
        drop()
    cmd = (f".venv/bin/python -m bench.reliability downtime --db {args.db} --trajecten {args.trajecten} "
           f"--dagen {args.dagen}")
    lines = _stamp(cmd, time.perf_counter() - t0) + [
        "| trajectories | scheduler off | due meanwhile | fired on restart | skipped (with reason) | "
        "tasks completed meanwhile | max lateness | catch-up sweep | violations |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {r.trajecten} | {r.down_days} days ({r.down_from:%Y-%m-%d} → {r.restart:%Y-%m-%d}) | {r.due_in_window} | "
        f"{r.fired} | {r.skipped} | {r.tasks_completed_meanwhile} | {r.max_late_s / 86400:.1f} days | "
        f"{r.seconds:.1f} s | {_violations(r.violations)} |",
    ]
    _ensure_doc()
    c.write_section(f"reliability-downtime-{args.db}", "\n".join(lines), heading=f"### Downtime: {args.db}", doc=DOC)
    print(r.as_dict())
    return 1 if any(r.violations.values()) else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", default=tempfile.gettempdir())
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("crash", help="SIGKILL the scheduled work N times, then check every promise")
    a.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    a.add_argument("--runs", type=int, default=100)
    a.add_argument("--seed", type=int, default=7)
    a.set_defaults(fn=crash)
    a = sub.add_parser("concurrency", help="P sweeper processes over N due steps (PostgreSQL)")
    a.add_argument("--steps", type=int, default=50_000)
    a.add_argument("--sweepers", type=int, default=4)
    a.add_argument("--batch-size", type=int, default=500)
    a.set_defaults(fn=concurrency)
    a = sub.add_parser("downtime", help="the scheduler off for D days over N trajectories")
    a.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    a.add_argument("--trajecten", type=int, default=10_000)
    a.add_argument("--dagen", type=int, default=7)
    a.add_argument("--cohorten", type=int, default=8)
    a.set_defaults(fn=downtime)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
