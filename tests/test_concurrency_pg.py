"""Four sweeper processes on one PostgreSQL database share 5,000 due steps: each fires exactly once.

The rows are bulk-inserted with SQLAlchemy Core (reminder steps ``herinnering_intake`` of
intensief_begeleiden: no follow-ups, no repeats), then four spawned processes, each with its own
Engine and a FixedClock, start together (a Barrier) and sweep with batch_size=100.
"""

from __future__ import annotations

import multiprocessing as mp
import queue

import pytest
import sqlalchemy as sa

from tests.conftest import open_engine, reset_pg
from tests.helpers import E, S, at, plant_due_reminders, sweep_worker
from trajecten.runner import STAP_EVENT_TYPES

pytestmark = pytest.mark.postgres

N_STEPS = 5000
N_PROCS = 4
IB = "intensief_begeleiden"


def _plant(url: str, clock) -> None:
    eng = open_engine(url, clock)  # creates the schema and stores the instrument versions
    try:
        # due times spread over the morning so the claim order interleaves the trajectories
        plant_due_reminders(eng, N_STEPS, lambda i: at(2026, 1, 12, 8, i % 60), seed=11, created=clock.now())
    finally:
        eng.db.dispose()


def test_four_sweepers_fire_every_step_exactly_once(pg_url, clock):
    reset_pg(pg_url)
    _plant(pg_url, clock)

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_PROCS)
    results = ctx.Queue()
    now = at(2026, 1, 12, 10)
    procs = [ctx.Process(target=sweep_worker, args=(pg_url, now.isoformat(), 100, barrier, results))
             for _ in range(N_PROCS)]
    for p in procs:
        p.start()
    got = []
    try:
        for _ in range(N_PROCS):
            got.append(results.get(timeout=120))
    except queue.Empty:
        pytest.fail(f"only {len(got)} of {N_PROCS} sweepers reported: {got}")
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    errors = [g for g in got if g[0] == "error"]
    assert not errors, errors
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    processed = [g[0] for g in got]
    assert sum(processed) == N_STEPS, processed
    assert all(g[2] == 0 for g in got), got  # no failures, no incidents
    assert sum(1 for n in processed if n > 0) >= 2, f"no real concurrency: {processed}"

    eng = sa.create_engine(pg_url)
    try:
        with eng.connect() as conn:
            by_status = dict(conn.execute(sa.select(S.c.status, sa.func.count()).group_by(S.c.status)).all())
            assert by_status == {"uitgevoerd": N_STEPS}, by_status
            per_step = conn.execute(
                sa.select(E.c.stap_id, sa.func.count().label("n"))
                .where(E.c.type.in_(STAP_EVENT_TYPES))
                .group_by(E.c.stap_id)
            ).all()
            assert len(per_step) == N_STEPS
            assert {r.n for r in per_step} == {1}
            # the reminder itself was sent once per step too
            reminders = conn.execute(sa.select(sa.func.count()).select_from(E).where(E.c.type == "herinnering")).scalar()
            assert reminders == N_STEPS
            assert conn.execute(sa.select(sa.func.min(S.c.pogingen), sa.func.max(S.c.pogingen))).one() == (1, 1)
    finally:
        eng.dispose()


@pytest.mark.postgres
def test_workers_starting_together_on_a_new_database_migrate_once(pg_url):
    """Right after an upgrade several workers open the database at once: one migrates, none fails."""
    import multiprocessing as mp

    from tests.conftest import reset_pg

    reset_pg(pg_url)
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_open_and_report, [pg_url] * 4)
    assert results == ["ok"] * 4, results


def _open_and_report(url: str) -> str:
    from trajecten.config import load_settings
    from trajecten.engine import Engine

    try:
        eng = Engine.open(url, settings=load_settings(database_url=url))
        eng.db.dispose()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        return f"{type(exc).__name__}: {exc}"[:300]
