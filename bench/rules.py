"""Benchmark of the rules: explained decisions per second, and a what-if over a caseload.

    .venv/bin/python bench/rules.py             # 200,000 decisions, 100,000 what-if clients
    .venv/bin/python bench/rules.py --n 100000  # quicker (the figure in docs/benchmarks.md)

Prints a markdown table. Facts are synthetic, already typed (dates, ints, Decimal), plus one run
with the same facts as JSON text to show the parsing cost. Each figure is the best of `--herhaal` runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from regels import beslis, wat_als  # noqa: E402


def synthetische_feiten(n: int, seed: int = 2023) -> list[tuple[dict, date]]:
    """n Premie op Werk fact sets: work starts between Nov 2020 and 2025, mixed outcomes."""
    rnd = random.Random(seed)
    uit = []
    for _ in range(n):
        werk_start = date(2020, 11, 1) + timedelta(days=rnd.randrange(0, 1850))
        bijstand_sinds = werk_start - timedelta(days=rnd.randrange(0, 2600))
        feiten = {
            "bijstand_sinds": bijstand_sinds,
            "werk_start": werk_start,
            "uren_per_week": rnd.choice((12, 16, 20, 24, 32, 36, Decimal("15.5"))),
            "contract_maanden": rnd.choice((3, 6, 6, 12, 12, 24)),
            "geboortedatum": date(1960 + rnd.randrange(45), 1 + rnd.randrange(12), 1 + rnd.randrange(28)),
            "lks_indicatie": rnd.random() < 0.15,
            "werk_nog_op": werk_start + timedelta(days=rnd.randrange(0, 400)) if rnd.random() < 0.7 else None,
            "eerdere_premie_op": werk_start - timedelta(days=rnd.randrange(300, 3000)) if rnd.random() < 0.1 else None,
        }
        uit.append((feiten, werk_start + timedelta(days=rnd.randrange(0, 400))))
    return uit


def als_json(gevallen: list[tuple[dict, date]]) -> list[tuple[dict, date]]:
    def tekst(v):
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        return v

    return [({k: tekst(v) for k, v in f.items()}, p) for f, p in gevallen]


def _meet(functie, herhaal: int) -> tuple[float, float]:
    """Best wall-clock time and best CPU time of this process over `herhaal` runs (GC on, as in production).

    Both are reported: on a shared machine other processes steal wall-clock time, CPU time is what the
    rules themselves cost.
    """
    wand = cpu = float("inf")
    for _ in range(herhaal):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        functie()
        wand = min(wand, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wand, cpu


def _run(gevallen):
    for feiten, peildatum in gevallen:
        beslis("premie_op_werk", feiten, peildatum)


def _run_json(gevallen):
    for feiten, peildatum in gevallen:
        beslis("premie_op_werk", feiten, peildatum).to_json()


def _deel(args):
    """One worker: generate its own facts (not timed), then time the decisions only."""
    n, seed, herhaal = args
    gevallen = synthetische_feiten(n, seed)
    _run(gevallen[:2000])  # warm the parameter caches
    return n, _meet(lambda: _run(gevallen), herhaal)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000, help="decisions per run")
    ap.add_argument("--klanten", type=int, default=100_000, help="clients in the what-if")
    ap.add_argument("--herhaal", type=int, default=3)
    args = ap.parse_args()

    gevallen = synthetische_feiten(args.n)
    json_gevallen = als_json(gevallen)
    _run(gevallen[:2000])  # warm-up: YAML read, caches

    rijen = []
    t = _meet(lambda: _run(gevallen), args.herhaal)
    rijen.append(("beslis, feiten getypeerd, 1 proces", args.n, t))
    t = _meet(lambda: _run(json_gevallen), args.herhaal)
    rijen.append(("beslis, feiten als JSON-tekst, 1 proces", args.n, t))
    t = _meet(lambda: _run_json(gevallen), args.herhaal)
    rijen.append(("beslis + to_json(), 1 proces", args.n, t))

    processen = os.cpu_count() or 1
    if processen > 1:
        per = args.n // processen
        with ProcessPoolExecutor(processen) as pool:
            delen = list(pool.map(_deel, [(per, i, args.herhaal) for i in range(processen)]))
        # all workers run at the same time; throughput = sum of each worker's decisions per second
        wand = per * processen / sum(n / t[0] for n, t in delen)
        cpu = per * processen / sum(n / t[1] for n, t in delen)
        rijen.append((f"beslis, feiten getypeerd, {processen} processen tegelijk", per * processen, (wand, cpu)))

    caseload = [(i, f, p) for i, (f, p) in enumerate(synthetische_feiten(args.klanten, seed=7))]
    overrides = {"premie_op_werk.min_bijstand_maanden": 24}
    resultaat = None

    def _wat_als():
        nonlocal resultaat
        resultaat = wat_als("premie_op_werk", caseload, overrides)

    t_wat_als = _meet(_wat_als, args.herhaal)

    print(f"Python {platform.python_version()} op {platform.machine()}, {os.cpu_count()} cores; best of {args.herhaal}\n")
    print("| meting | aantal | wandtijd (s) | besluiten/s (wand) | CPU-tijd (s) | besluiten/s (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    for naam, n, (wand, cpu) in rijen:
        print(f"| {naam} | {n:,} | {wand:.3f} | {n / wand:,.0f} | {cpu:.3f} | {n / cpu:,.0f} |")
    wand, cpu = t_wat_als
    print(
        f"| wat_als {overrides} | {args.klanten:,} inwoners (2 evaluaties elk) | {wand:.3f} | "
        f"{2 * args.klanten / wand:,.0f} | {cpu:.3f} | {2 * args.klanten / cpu:,.0f} |"
    )
    print()
    print(f"wat_als: {resultaat.samenvatting()}")


if __name__ == "__main__":
    main()
