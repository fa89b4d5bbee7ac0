"""Distributed mode end to end: a real Prefect server on PostgreSQL, the committed ``prefect.yaml``
deployed, two process workers, and the ``sweep`` deployment run twice at once over 3,000 due steps
in a PostgreSQL engine database. Every step must fire exactly once.

Everything this test starts (server, workers, databases, a temporary PREFECT_HOME) it stops or removes
in ``finally``. Processes run in their own process group and are stopped group-wise, so the flow-run
subprocesses of the workers go too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import privacy
from tests.conftest import PG_DSN, open_engine
from tests.helpers import E, S, plant_due_reminders
from trajecten.runner import STAP_EVENT_TYPES
from trajecten.tijd import TZ, FixedClock

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent  # the repo root of this checkout (CI clones elsewhere)
N_STEPS = 3000
IB = "intensief_begeleiden"
RUN_TIMEOUT_S = 180


def _prefect_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "prefect"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_parts() -> dict[str, str]:
    parts = dict(p.split("=", 1) for p in PG_DSN.split())
    return {"host": parts.get("host", "127.0.0.1"), "port": parts.get("port", "5432"),
            "user": parts.get("user", "postgres")}


def _admin():
    import psycopg

    return psycopg.connect(PG_DSN + " dbname=postgres", autocommit=True, connect_timeout=3)


def _drop(admin, name: str) -> None:
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                  "AND pid <> pg_backend_pid()", (name,))
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _plant(url: str, now: datetime) -> list[int]:
    """N_STEPS due reminder steps (``herinnering_intake``: no follow-ups), one per trajectory, due in
    the hour before ``now`` (the workers use the system clock). Returns the step ids."""
    clock = FixedClock(now - timedelta(days=10))
    eng = open_engine(url, clock)  # creates the schema and stores the instrument versions
    try:
        return plant_due_reminders(eng, N_STEPS, lambda i: now - timedelta(minutes=1 + i % 60), seed=23,
                                   created=clock.now())
    finally:
        eng.db.dispose()


# Runs in a subprocess with the test's Prefect environment: create two flow runs of sweep/sweep at
# once, wait until both are final, print their ids, states and results (or why a result is missing).
CLIENT_SCRIPT = r"""
import asyncio, json, sys, time
from prefect import get_client
from prefect.deployments import run_deployment

timeout = float(sys.argv[1])

async def main():
    async with get_client() as client:
        # both workers must be online first, so each can take one run (--limit 1)
        t0 = time.monotonic()
        while True:
            workers = await client.read_workers_for_work_pool("trajecten")
            if sum(1 for w in workers if str(getattr(w.status, "value", w.status)).upper() == "ONLINE") >= 2:
                break
            if time.monotonic() - t0 > 60:
                print("WORKERS " + json.dumps([w.name for w in workers]))
                sys.exit(3)
            await asyncio.sleep(0.5)
        dep = await client.read_deployment_by_name("sweep/sweep")
        schedules = [{"cron": getattr(s.schedule, "cron", None), "tz": getattr(s.schedule, "timezone", None),
                      "parameters": s.parameters} for s in dep.schedules]
    runs = await asyncio.gather(*[
        run_deployment("sweep/sweep", parameters={"batch_size": 100, "budget_s": 120}, timeout=0)
        for _ in range(2)])
    ids = [r.id for r in runs]
    t0 = time.monotonic()
    async with get_client() as client:
        while True:
            frs = [await client.read_flow_run(i) for i in ids]
            if all(fr.state and fr.state.is_final() for fr in frs):
                break
            if time.monotonic() - t0 > timeout:
                break
            await asyncio.sleep(1)
        out = []
        for fr in frs:
            item = {"id": str(fr.id), "state": fr.state.type.value if fr.state else None,
                    "name": fr.state.name if fr.state else None, "result": None, "result_error": None}
            if fr.state and fr.state.is_completed():
                try:
                    res = fr.state.result(raise_on_failure=False)
                    if asyncio.iscoroutine(res):
                        res = await res
                    item["result"] = res if isinstance(res, dict) else None
                except Exception as exc:
                    item["result_error"] = f"{type(exc).__name__}: {exc}"
            out.append(item)
        # the artifacts the runs published (scanned for BSNs by tests/privacy.py)
        artifacts = [a.data if isinstance(a.data, str) else json.dumps(a.data, default=str)
                     for a in await client.read_artifacts()]
    print("RESULT " + json.dumps({"runs": out, "schedules": schedules, "artifacts": artifacts}, default=str))

asyncio.run(main())
"""


class _Procs:
    """Processes started in their own session; stopped group-wise (SIGTERM, then SIGKILL)."""

    def __init__(self, logdir: Path, env: dict):
        self.logdir, self.env, self.procs = logdir, env, []

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "wb")
        p = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        log.close()
        self.procs.append((name, p))
        return p

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for _name, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for _name, p in reversed(self.procs):
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group may hold children (flow runs) even when the leader has gone
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    cp = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert cp.returncode == 0, f"{' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
    return cp


def _wait_healthy(url: str, server: subprocess.Popen, procs: _Procs, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited ({server.returncode}):\n{procs.log('server')[-4000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {timeout} s:\n{procs.log('server')[-4000:]}")


def test_two_workers_two_concurrent_sweeps_fire_each_step_once():
    try:
        admin = _admin()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}: {exc}); Prefect integration skipped")
    tag = uuid.uuid4().hex[:10]
    prefect_db, engine_db = f"prefect_it_{tag}", f"trajecten_it_{tag}"
    pg = _pg_parts()
    home = Path(tempfile.mkdtemp(prefix="prefect_it_"))
    procs: _Procs | None = None
    try:
        admin.execute(f'CREATE DATABASE "{prefect_db}"')
        admin.execute(f'CREATE DATABASE "{engine_db}"')
        import psycopg

        with psycopg.connect(f"{PG_DSN} dbname={prefect_db}", autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        engine_url = f"postgresql+psycopg://{pg['user']}@{pg['host']}:{pg['port']}/{engine_db}"
        step_ids = _plant(engine_url, datetime.now(TZ))

        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRAJECTEN_"))}
        env.update({
            "PREFECT_HOME": str(home),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_API_URL": api,
            "PREFECT_API_DATABASE_CONNECTION_URL":
                f"postgresql+asyncpg://{pg['user']}@{pg['host']}:{pg['port']}/{prefect_db}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            # no scheduled runs during the test: only the two runs we trigger may sweep
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "TRAJECTEN_DATABASE_URL": engine_url,
            "TRAJECTEN_HOME": str(ROOT),
            "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        })
        procs = _Procs(home, env)
        prefect = _prefect_cmd()

        server = procs.start("server", prefect + ["server", "start", "--host", "127.0.0.1", "--port", str(port)])
        _wait_healthy(api, server, procs)

        _run(prefect + ["work-pool", "create", "trajecten", "--type", "process"], env)
        dep = _run(prefect + ["--no-prompt", "deploy", "--all"], env, timeout=180)
        assert "sweep/sweep" in dep.stdout, dep.stdout

        workers = [procs.start(f"worker{i}", prefect + ["worker", "start", "--pool", "trajecten", "--limit", "1",
                                                          "--name", f"worker{i}"]) for i in (1, 2)]

        cp = _run([sys.executable, "-c", CLIENT_SCRIPT, str(RUN_TIMEOUT_S)], env, timeout=RUN_TIMEOUT_S + 60)
        line = next((ln for ln in cp.stdout.splitlines() if ln.startswith("RESULT ")), None)
        assert line, cp.stdout + cp.stderr
        got = json.loads(line[len("RESULT "):])
        runs = got["runs"]
        # prefect.yaml's schedules arrived as written: every 5 minutes, and daily 06:30 with the signals
        assert sorted((s["cron"], s["tz"], s["parameters"].get("signalen", False)) for s in got["schedules"]) == [
            ("*/5 * * * *", "Europe/Amsterdam", False), ("30 6 * * *", "Europe/Amsterdam", True)], got["schedules"]
        for w in workers:
            assert w.poll() is None, "a worker died"
        logs = {f"worker{i}": procs.log(f"worker{i}") for i in (1, 2)}
        # P6 privacy scan: the runs' artifacts and the workers' logs (the flows' log lines) hold no BSN
        assert got["artifacts"], "the sweep runs published no artifact"
        for i, tekst in enumerate(got["artifacts"]):
            privacy.voeg_toe("prefect-artifact", tekst, f"artifact {i}")
        for naam, tekst in logs.items():
            privacy.voeg_toe("log", tekst, f"prefect {naam}")
        assert all(r["state"] == "COMPLETED" for r in runs), (runs, {k: v[-3000:] for k, v in logs.items()})

        # the database is the judge: every planted step fired, exactly one stap_* event each
        db = sa.create_engine(engine_url)
        try:
            with db.connect() as conn:
                by_status = dict(conn.execute(sa.select(S.c.status, sa.func.count())
                                              .where(S.c.id.in_(step_ids)).group_by(S.c.status)).all())
                assert "gepland" not in by_status and sum(by_status.values()) == N_STEPS, by_status
                assert by_status == {"uitgevoerd": N_STEPS}, by_status
                per_step = dict(conn.execute(
                    sa.select(E.c.stap_id, sa.func.count()).where(E.c.type.in_(STAP_EVENT_TYPES))
                    .group_by(E.c.stap_id)).all())
                assert set(per_step) == set(step_ids)
                assert set(per_step.values()) == {1}, {k: v for k, v in per_step.items() if v != 1}
                reminders = conn.execute(sa.select(sa.func.count()).select_from(E)
                                         .where(E.c.type == "herinnering")).scalar()
                assert reminders == N_STEPS
        finally:
            db.dispose()

        # the runs' own counts (results are persisted in the temporary PREFECT_HOME) add up too
        results = [r["result"] for r in runs]
        if all(isinstance(r, dict) for r in results):
            done = [r["uitgevoerd"] + r["overgeslagen"] + r["geannuleerd"] for r in results]
            assert sum(done) == N_STEPS, results
            assert all(r["mislukt"] == 0 and r["incidenten"] == 0 for r in results), results
        else:
            print("flow-run results not retrievable:", [r["result_error"] for r in runs])
        # both workers were online before the runs were created; which worker ran which run is Prefect's
        # choice (a worker may also log a run another worker already took), so only report it
        ran = {name: [r["id"] for r in runs if r["id"] in text] for name, text in logs.items()}
        print("runs per worker:", ran, "counts per run:", results)
        assert set().union(*ran.values()) == {r["id"] for r in runs}, ran
    finally:
        if procs is not None:
            procs.stop_all()
        try:
            for name in (prefect_db, engine_db):
                _drop(admin, name)
        finally:
            admin.close()
            shutil.rmtree(home, ignore_errors=True)
