"""The embedded default: ``trajecten serve`` (APScheduler, jobs stored in the engine database) fires
the sweep on its schedule, stops cleanly on SIGTERM, and resumes after a restart with the same jobs.

A real subprocess on a real SQLite file; the sweep interval is 1 s (TRAJECTEN_SWEEP_INTERVAL_S) and
the steps are made due now by starting trajectories with a clock 30 days in the past.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.conftest import open_engine
from tests.helpers import FEITEN, S, bsns, client
from trajecten.taken import scheduler
from trajecten.basis.config import load_settings
from trajecten.basis.tijd import TZ, FixedClock

ROOT = Path(__file__).resolve().parent.parent
IB = "intensief_begeleiden"


def _start_trajecten(url: str, n: int, seed: int) -> list[int]:
    """Start ``n`` intensief_begeleiden trajectories 30 days ago: their first weeks' steps are due now."""
    eng = open_engine(url, FixedClock(datetime.now(TZ) - timedelta(days=30)))
    try:
        return [eng.start(IB, client(eng, b), FEITEN[IB], actor="test:coach").traject_id
                for b in bsns(n, seed=seed)]
    finally:
        eng.db.dispose()


def _expected_jobs(url: str, tmp: Path) -> set[str]:
    """The jobs ``serve`` registers with the settings it gets (a connector job is off without its config)."""
    settings = load_settings(database_url=url, sweep_interval_s=1, export_map=str(tmp / "export"))
    return {name for name, spec in scheduler.JOBS.items() if spec.enabled(SimpleNamespace(settings=settings))}


def _due(db: sa.Engine, traject_ids: list[int]) -> list[int]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(S.c.id).where(
            S.c.traject_id.in_(traject_ids), S.c.status == "gepland", S.c.due_at <= datetime.now(TZ))).scalars())


def _jobs(db: sa.Engine) -> dict[str, float]:
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, next_run_time FROM apscheduler_jobs")).all()
    assert len(rows) == len({r.id for r in rows}), rows  # one row per job, never a duplicate
    return {r.id: r.next_run_time for r in rows}


class Serve:
    def __init__(self, url: str, tmp: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAJECTEN_")}
        env.update({"TRAJECTEN_DATABASE_URL": url, "TRAJECTEN_SWEEP_INTERVAL_S": "1",
                    "TRAJECTEN_EXPORT_MAP": str(tmp / "export"), "PYTHONPATH": str(ROOT)})
        self.log = tmp / f"serve-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.p = subprocess.Popen([sys.executable, "-m", "trajecten.cli", "serve", "--port", "0"], cwd=tmp, env=env,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, cond, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            assert self.p.poll() is None, f"serve exited ({self.p.returncode}):\n{self.text()[-3000:]}"
            time.sleep(0.3)
        pytest.fail(f"{what} not within {timeout} s:\n{self.text()[-3000:]}")

    def stop(self) -> int:
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=5)
            pytest.fail(f"serve did not stop on SIGTERM:\n{self.text()[-3000:]}")

    def kill(self) -> None:
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait(timeout=5)


def test_serve_fires_on_schedule_and_resumes_after_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    first = _start_trajecten(url, 3, seed=5)
    db = sa.create_engine(url)
    servers: list[Serve] = []
    try:
        due1 = _due(db, first)
        assert len(due1) >= 6, due1  # intake, herinnering_intake, coachingscontact x4, tussenevaluatie ...

        srv = Serve(url, tmp_path)
        servers.append(srv)
        srv.wait_until(lambda: not _due(db, first) and "job sweep:" in srv.text(), 60, "due steps fired")
        runs_before = srv.text().count("job sweep:")
        # one more step that becomes due only now, after the first run: a later run on the interval must
        # fire it (planted after the first run, so a slow start-up cannot let the first run take it)
        later = datetime.now(TZ) + timedelta(seconds=2)
        with db.begin() as conn:
            late_id = conn.execute(S.insert().returning(S.c.id).values(
                traject_id=first[0], stap="herinnering_intake", volgnr=1, kind="reminder", due_at=later,
                status="gepland", pogingen=0)).scalar_one()
        srv.wait_until(lambda: not _fired_pending(db, [late_id]), 60, "the later step fired")
        with db.connect() as conn:
            row = conn.execute(sa.select(S.c.status, S.c.uitgevoerd_op).where(S.c.id == late_id)).one()
        assert row.status == "uitgevoerd" and row.uitgevoerd_op >= later, row
        assert srv.text().count("job sweep:") > runs_before, srv.text()[-3000:]  # it ran again on its interval
        assert srv.stop() == 0, srv.text()[-3000:]
        assert "gestopt" in srv.text()

        jobs1 = _jobs(db)
        expected = _expected_jobs(url, tmp_path)
        assert {"sweep", "signalen"} <= expected
        assert set(jobs1) == expected, jobs1
        signalen_next = jobs1["signalen"]
        assert signalen_next > time.time()  # a daily job: tomorrow (or today) at 06:30 Amsterdam

        # while it is down, more steps become due; the restarted process must fire them
        second = _start_trajecten(url, 2, seed=6)
        due2 = _due(db, second)
        assert due2
        srv = Serve(url, tmp_path)
        servers.append(srv)
        srv.wait_until(lambda: not _due(db, second), 60, "due steps fired after restart")
        with db.connect() as conn:
            statuses = set(conn.execute(sa.select(S.c.status).where(S.c.id.in_(due2))).scalars())
        assert statuses <= {"uitgevoerd", "overgeslagen"}, statuses
        assert srv.stop() == 0, srv.text()[-3000:]
        stopped = time.time()

        jobs2 = _jobs(db)
        assert set(jobs2) == expected, jobs2  # the same job ids, none added twice
        assert jobs2["signalen"] == signalen_next  # kept, not reset by the restart
        for name in expected - {"sweep"}:  # every cron job that did not come due meanwhile: unchanged
            if jobs1[name] > stopped:
                assert jobs2[name] == jobs1[name], name
        assert srv.text().count("Added job") == 0, srv.text()[-3000:]  # nothing re-added on restart
    finally:
        for srv in servers:
            srv.kill()
        db.dispose()


def _fired_pending(db: sa.Engine, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are still planned."""
    with db.connect() as conn:
        return list(conn.execute(sa.select(S.c.id).where(S.c.id.in_(ids), S.c.status == "gepland")).scalars())
