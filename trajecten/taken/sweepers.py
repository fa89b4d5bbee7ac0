"""Several sweepers at once on one PostgreSQL database: ``processen`` processes, each running
``Engine.sweep`` with its own connection. ``FOR UPDATE SKIP LOCKED`` in the claim keeps them off each
other's steps, so every due step still fires once; on a 2-core machine two sweepers overlap one's Python
with the other's database work (docs/benchmarks.md). SQLite has one writer: ``trajecten sweep`` runs one
sweep there.
The Prefect deployment reaches the same with two or more workers (prefect.yaml)."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime

from trajecten.basis.config import Settings
from trajecten.kern.sweep import SweepResult


def _een(settings: Settings, now: datetime | None, batch_size: int | None) -> SweepResult:
    from trajecten.basis.proces import stem_af
    from trajecten.basis.tijd import FixedClock
    from trajecten.kern.engine import Engine

    stem_af()  # a sweeper process of its own
    eng = Engine.open(settings.database_url, clock=FixedClock(now) if now else None, settings=settings)
    try:
        return eng.sweep(now, batch_size=batch_size)
    finally:
        eng.db.dispose()


def sweep(settings: Settings, now: datetime | None, batch_size: int | None,
          processen: int) -> tuple[SweepResult, list[SweepResult]]:
    """``processen`` sweepers on the (PostgreSQL) database of ``settings``, the schema already migrated:
    the counts of all together (``seconden``: the slowest one's), and each sweeper's own."""
    with mp.get_context("spawn").Pool(processen) as pool:
        parts = pool.starmap(_een, [(settings, now, batch_size)] * processen)
    total = SweepResult()
    for part in parts:
        total.add(part)
    total.seconden = max(p.seconden for p in parts)
    return total, parts
