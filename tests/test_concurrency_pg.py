"""Four sweeper processes on one PostgreSQL database share 10,000 due steps: each fires exactly once.

The harness (``tests/reliability/harness.py``, :func:`concurrent_sweep`) bulk-inserts the rows with
SQLAlchemy Core (reminder steps ``herinnering_intake`` of intensief_begeleiden: no follow-ups, no
repeats), then four spawned processes, each with its own Engine and a FixedClock, start together (a
Barrier) and sweep with batch_size=100. The 50,000-step run with its throughput is
``python -m bench.reliability concurrency`` (docs/reliability.md).
"""

from __future__ import annotations

import pytest

from tests.conftest import reset_pg
from tests.reliability.harness import concurrent_sweep

pytestmark = pytest.mark.postgres

N_STEPS = 10_000
N_PROCS = 4


def test_four_sweepers_fire_every_step_exactly_once(pg_url):
    reset_pg(pg_url)
    r = concurrent_sweep(pg_url, N_STEPS, N_PROCS, batch_size=100)
    assert r["errors"] == [], r["errors"]  # no failures, no incidents
    assert r["exit_codes"] == [0] * N_PROCS
    assert sum(r["per_sweeper"]) == N_STEPS, r["per_sweeper"]
    assert sum(1 for n in r["per_sweeper"] if n > 0) >= 2, f"no real concurrency: {r['per_sweeper']}"
    assert r["by_status"] == {"uitgevoerd": N_STEPS}, r["by_status"]
    assert (r["fired_once"], r["fired_twice"]) == (N_STEPS, 0)
    # the reminder itself was sent once per step too
    assert (r["reminders"], r["reminders_twice"]) == (N_STEPS, 0)
    assert r["pogingen"] == (1, 1)


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
    from trajecten.basis.config import load_settings
    from trajecten.kern.engine import Engine

    try:
        eng = Engine.open(url, settings=load_settings(database_url=url))
        eng.db.dispose()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        return f"{type(exc).__name__}: {exc}"[:300]


def test_a_connection_that_rested_is_pinged_and_replaced_when_the_server_dropped_it(pg_url, monkeypatch):
    """``make_engine`` pings a pooled PostgreSQL connection before use once it has rested ``PING_NA_S``
    seconds (not on every checkout, which cost a round trip per API request): a connection the server
    dropped meanwhile is replaced, the caller never sees it."""
    import time

    import psycopg

    from tests.conftest import PG_DSN
    from trajecten.opslag import db

    monkeypatch.setattr(db, "PING_NA_S", 0.2)
    engine = db.make_engine(pg_url)
    pinged = []
    orig = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pinged.append(1) or orig(c))

    def backend() -> int:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    first = backend()
    assert backend() == first and pinged == []  # used moments ago: no ping
    with psycopg.connect(PG_DSN + " dbname=postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    time.sleep(0.3)
    assert backend() != first and pinged  # rested: pinged, found dead, replaced without an error
    engine.dispose()


def test_cli_sweep_with_two_processes_fires_every_step_once(pg_url, monkeypatch):
    """``trajecten sweep --processen 2``: two sweeper processes on the database the command was given;
    every due step fires once and the counts of both are added up (that sweepers really overlap is the
    harness test above, which starts them together behind a barrier)."""
    import json

    import sqlalchemy as sa
    from typer.testing import CliRunner

    from tests.helpers import at, plant_due_reminders
    from tests.reliability.harness import START, open_engine
    from trajecten.cli import app as cli
    from trajecten.opslag.models import Gebeurtenis, GeplandeStap

    reset_pg(pg_url)
    eng, clock = open_engine(pg_url, START)
    try:
        plant_due_reminders(eng, 4000, lambda i: at(2026, 1, 12, 8, i % 60), seed=5, created=clock.now())
    finally:
        eng.db.dispose()
    monkeypatch.setenv("TRAJECTEN_DATABASE_URL", pg_url)
    res = CliRunner().invoke(cli, ["sweep", "--now", "2026-01-12T10:00", "--processen", "2", "--batch-size", "100",
                                   "--json"])
    assert res.exit_code == 0, res.output
    counts = json.loads(res.output)
    assert counts["uitgevoerd"] == 4000 and counts["incidenten"] == 0
    assert len(counts["per_proces"]) == 2 and sum(counts["per_proces"]) == 4000  # two sweepers reported
    S, E = GeplandeStap.__table__, Gebeurtenis.__table__
    db = sa.create_engine(pg_url)
    try:
        with db.connect() as conn:
            assert conn.execute(sa.select(S.c.status, sa.func.count()).group_by(S.c.status)).all() == [("uitgevoerd", 4000)]
            per_step = conn.execute(sa.select(E.c.stap_id, sa.func.count()).where(E.c.stap_id.is_not(None))
                                    .group_by(E.c.stap_id)).all()
    finally:
        db.dispose()
    assert len(per_step) == 4000 and {n for _, n in per_step} == {1}
    assert counts["batches"] >= 40  # 4000 steps in batches of 100, over both sweepers
