"""Downtime: the scheduler is off for 7 simulated days over a running caseload (weekly cohorts of all four
instruments, swept every morning, coaches completing tasks) while coaches keep working; on restart the
scheduler's sweep job catches up. Every step that fell due fires once, per trajectory in due order, with
its lateness (restart - due) on the row; reminders whose task was completed meanwhile are skipped with
their reason and send nothing. 400 trajectories here on SQLite and PostgreSQL; the 10,000-trajectory
run is ``python -m bench.reliability downtime`` (docs/reliability.md)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.reliability.harness import E, S, downtime_campaign


def test_seven_days_of_downtime_are_caught_up_once_in_order(db_url):
    r = downtime_campaign(db_url, 400, down_days=7, cohorts=4)
    assert {k: v for k, v in r.violations.items() if v} == {}
    assert r.due_in_window > 200 and r.fired >= r.due_in_window
    assert r.max_late_s >= 6 * 86400  # something waited (almost) the whole week
    assert r.tasks_completed_meanwhile > 0 and r.skipped > 0  # and some reminders became pointless


def test_skipped_reminders_name_their_reason(db_url):
    r = downtime_campaign(db_url, 120, down_days=7, cohorts=2, seed=5)
    assert r.skipped > 0
    eng = sa.create_engine(db_url)
    try:
        with eng.connect() as conn:
            skipped = conn.execute(sa.select(S.c.id, S.c.stap, S.c.reden).where(
                S.c.status == "overgeslagen", S.c.uitgevoerd_op == r.restart)).all()
            ev = {e.stap_id: e.payload for e in conn.execute(sa.select(E.c.stap_id, E.c.payload).where(
                E.c.type == "stap_overgeslagen", E.c.op == r.restart))}
    finally:
        eng.dispose()
    assert len(skipped) == r.skipped
    for s in skipped:
        assert s.reden and s.reden.startswith("taak ") and "afgerond" in s.reden, s
        assert ev[s.id]["reden"] == s.reden


def test_a_long_downtime_is_caught_up_chronologically_per_trajectory(db_url):
    """Four weeks off with weekly repeats: a repeat's next occurrence is already due when the one before it
    fires; it must still fire before the trajectory's later steps (runner: `later` waits a batch)."""
    r = downtime_campaign(db_url, 200, down_days=28, cohorts=2)
    assert r.violations["out_of_order"] == [], f"{len(r.violations['out_of_order'])} trajectories out of due order"
    assert {k: v for k, v in r.violations.items() if v} == {}
