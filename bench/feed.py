"""Benchmark: the UWV feed - 100,000 records validated, deduplicated and planned (goal <= 10 s), on SQLite
and PostgreSQL. Also imports the same file a second time (everything is a duplicate, nothing changes).

    python bench/feed.py [--n 100000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_feed]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import _common as common  # noqa: E402
from connectors.uwv import importeer_bestand  # noqa: E402
from trajecten.basis.bsn import synthetisch  # noqa: E402
from trajecten.basis.proces import stem_af  # noqa: E402
from trajecten.basis.config import load_settings  # noqa: E402
from trajecten.kern.engine import Engine  # noqa: E402
from trajecten.basis.tijd import TZ, FixedClock  # noqa: E402

TODAY = date(2026, 11, 26)


def records(n: int, seed: int = 1):
    """Plausible handovers: ~3% broken in one field, ~2% repeated references, most at risk."""
    rng = random.Random(seed)
    pcs = ["9711", "9713", "9721", "9725", "9731", "9751", "9791"]
    for i in range(n):
        end = TODAY + timedelta(days=rng.randint(20, 400))
        rec = {"uwv_referentie": f"UWV-{i:07d}", "bsn": synthetisch(rng),
               "geboortedatum": (date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000))).isoformat(),
               "postcode": f"{rng.choice(pcs)} {rng.choice('ABCDEGH')}{rng.choice('KLMNPRT')}",
               "ww_startdatum": (end - timedelta(days=rng.randint(90, 700))).isoformat(),
               "ww_einddatum": end.isoformat(), "risico_langdurig": rng.random() < 0.8}
        r = rng.random()
        if r < 0.01:
            rec["bsn"] = "123456789"
        elif r < 0.02:
            rec["ww_einddatum"] = "2026-02-30"
        elif r < 0.03:
            rec["postcode"] = "1012 AB"
        elif r < 0.05:
            rec["uwv_referentie"] = f"UWV-{max(i - 1, 0):07d}"
        yield rec


def run(url: str, path: Path, console: Console) -> dict:
    clock = FixedClock(datetime(2026, 11, 26, 9, 0, tzinfo=TZ))
    eng = Engine.open(url, clock=clock, settings=load_settings(database_url=url))
    t0 = time.perf_counter()
    s1 = importeer_bestand(eng, path)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    s2 = importeer_bestand(eng, path)
    second = time.perf_counter() - t0
    with eng.reader.connect() as conn:
        steps = conn.execute(sa.text("select count(*) from geplande_stap")).scalar()
    eng.db.dispose()
    return {"first": first, "second": second, "s1": s1, "s2": s2, "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_feed")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="runs per database (interleaved); the best counts, every run is listed")
    ap.add_argument("--write", default=str(Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"))
    args = ap.parse_args()
    stem_af()  # as every process that runs the engine does at start (trajecten.basis.proces)
    console = Console()
    tmp = Path(tempfile.mkdtemp(prefix="bench_feed_"))
    path = tmp / "overdracht.jsonl"
    with path.open("w") as f:
        for rec in records(args.n):
            f.write(json.dumps(rec) + "\n")
    load_before, probe_before, t_start = common.loadavg(), common.cpu_probe(), time.perf_counter()
    runs: dict[str, list[dict]] = {"SQLite": [], "PostgreSQL": []}
    for i in range(args.repeat):  # interleaved, each on a new empty database; the best counts
        db_file = tmp / f"feed{i}.db"
        runs["SQLite"].append(run(f"sqlite:///{db_file}", path, console))
        common.sqlite_drop(db_file)
        if not args.no_pg:
            import psycopg

            name = args.pg.rsplit("/", 1)[1]
            with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}"')
                c.execute(f'CREATE DATABASE "{name}"')
            runs["PostgreSQL"].append(run(args.pg, path, console))
    results = {db: min(rs, key=lambda r: r["first"]) for db, rs in runs.items() if rs}
    every = {db: ", ".join(f"{r['first']:.2f}" for r in rs) for db, rs in runs.items() if rs}
    m = common.machine()
    table = Table("database", "records", "first import (s)", "records/s", "accepted", "started", "scheduled",
                  "duplicates", "quarantined", "planned steps", "second import (s)", "second: changed")
    rows = []
    for db, r in results.items():
        s1, s2 = r["s1"], r["s2"]
        changed = s2.geaccepteerd  # a second import accepts nothing new
        row = [db, f"{s1.ontvangen:,}", f"{r['first']:.2f}", f"{s1.ontvangen / r['first']:,.0f}", f"{s1.geaccepteerd:,}",
               f"{s1.gestart:,}", f"{s1.gepland:,}", f"{s1.dubbel:,}", f"{s1.quarantaine:,}", f"{r['steps']:,}",
               f"{r['second']:.2f}", str(changed)]
        table.add_row(*row)
        rows.append(row)
    console.print(table)
    goal = all(r["first"] <= 10 for r in results.values())
    md = ["## UWV feed (P4)", "",
          f"Command: `python bench/feed.py --n {args.n}`  ",
          f"Date: {datetime.now():%Y-%m-%d %H:%M} UTC; total run {(time.perf_counter() - t_start) / 60:.1f} min  ",
          f"Machine: {m['nproc']} cores ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL "
          f"{m['postgres']} (default settings, 127.0.0.1)  ",
          f"Python speed probe (`bench/_common.py: cpu_probe`, 10 million additions) before {probe_before} s, after "
          f"{common.cpu_probe()} s. "
          f"Load average (1/5/15 min) before {load_before}, after {common.loadavg()}: best of {args.repeat} runs "
          f"(first import, s: " + "; ".join(f"{db} {v}" for db, v in every.items()) + ").", "",
          "| " + " | ".join(["database", "records", "first import (s)", "records/s", "accepted", "started", "scheduled",
                             "duplicates", "quarantined", "planned steps", "second import (s)", "second: accepted"]) + " |",
          "|" + "---|" * 12] + ["| " + " | ".join(r) + " |" for r in rows] + [
          "", f"Goal: {args.n:,} records validated, deduplicated and planned in ≤ 10 s: "
              + ", ".join(f"{db} {'✅' if r['first'] <= 10 else '❌'} {r['first']:.2f} s" for db, r in results.items())
              + f" ({'met' if goal else 'not met'}). The second import of the same file accepts nothing "
              "(every record is a duplicate of its `uwv_referentie`; quarantined lines are kept once)."]
    common.write_section("feed", "\n".join(md), doc=Path(args.write))


if __name__ == "__main__":
    main()
