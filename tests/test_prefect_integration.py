"""Distributed mode end to end: a real Prefect server on PostgreSQL with **all** its services (the
scheduler on), ``prefect.yaml`` deployed, process workers, and the engine database on PostgreSQL.

One server and one deployment serve the three tests of this module (fixture ``stack``); each test starts
and stops its own workers and plants its own due steps:

* ``test_scheduled_sweep_...``: the server's scheduler creates the ``sweep`` runs (``prefect.yaml``'s sweep
  runs every minute; the test's copy only switches the other schedules off); a worker picks one up and it fires
  every planted step exactly once. Then two ``sweep`` runs at once on two workers, again exactly once.
* ``test_killed_worker_...``: two workers with their flow-run processes are SIGKILLed mid-sweep (one dead
  run is then cancelled by hand); the crash-recovery automation (``flows.automatiseringen.herstelautomatisering``)
  marks both Crashed within the bound of docs/deploy-herstel.md, their concurrency slots come free, the
  next scheduled sweep completes, every step fired exactly once, and each crash reaches a local webhook
  as one alert (``flows.automatiseringen.alertautomatisering``).
* ``test_sigterm_...``: SIGTERM to a ``python -m flows.worker`` worker stops it taking runs; its current
  run finishes first, then it exits with code 0.

Without PostgreSQL at 127.0.0.1:5432 these tests fail (they never skip).
Everything this module starts (server, workers, databases, a temporary PREFECT_HOME) it stops or removes
in ``finally``. A process worker starts each flow run in a session of its own, so stopping a worker's
process group is not enough: ``_kill_tree`` signals every descendant's process group too.
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from tests import privacy
from tests.conftest import PG_DSN, open_engine
from tests.helpers import E, S, bsns
from trajecten.kern.sweep import STAP_EVENT_TYPES
from trajecten.basis.tijd import TZ, FixedClock

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent  # the repo root of this checkout (CI clones elsewhere)
N_STEPS = 3000
RUN_TIMEOUT_S = 180
SLOW_BATCH = "1"  # TRAJECTEN_BATCH_SIZE of a worker whose sweep must last long enough to be interrupted
# the crash bound stated in docs/deploy-herstel.md: heartbeat 30 s + automation window 90 s + evaluation
CRASH_BOUND_S = 130


# --------------------------------------------------------------------------- processes


def _prefect_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "prefect"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """All descendants of ``pid`` (from /proc), children before grandchildren."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kill_tree(pid: int, sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to the process group of ``pid`` and to that of every descendant (a flow-run process
    runs in a session of its own). Never to this test's own group. Returns the pids signalled."""
    pids = [pid] + _descendants(pid)
    groups = set()
    for p in pids:
        try:
            groups.add(os.getpgid(p))
        except ProcessLookupError:
            pass
    groups.discard(os.getpgrp())
    for g in groups:
        try:
            os.killpg(g, sig)
        except ProcessLookupError:
            pass
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass
    return pids


class _Procs:
    """Processes started in their own session; stopped with their whole tree."""

    def __init__(self, logdir: Path, env: dict):
        self.logdir, self.env, self.procs = logdir, env, {}

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")
        p = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        log.close()
        self.procs[name] = p
        return p

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, timeout: float = 15) -> None:
        """SIGTERM to the group, then SIGKILL to the whole tree (flow runs included)."""
        p = self.procs.pop(name, None)
        if p is None:
            return
        tree = [p.pid] + _descendants(p.pid)
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        for pid in tree:  # the flow-run processes (own sessions) may outlive the worker
            try:
                _kill_tree(pid)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def _run(args: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    cp = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert cp.returncode == 0, f"{' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}"
    return cp


# --------------------------------------------------------------------------- PostgreSQL


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


_planted = 0  # trajectories planted so far in this module: each plant takes the next BSNs


def _plant(url: str, now: datetime, n: int = N_STEPS) -> list[int]:
    """``n`` due reminder steps (``herinnering_intake``: no follow-ups), one per trajectory of a new client
    (BSNs not used before in this module), due in the hour before ``now`` (the workers use the system
    clock). Returns the step ids."""
    global _planted
    from trajecten.opslag.models import Client, Traject

    clock = FixedClock(now - timedelta(days=10))
    created = clock.now()
    numbers = bsns(_planted + n, seed=23)[_planted:]
    _planted += n
    eng = open_engine(url, clock)
    try:
        versie = eng.register.current("intensief_begeleiden").versie
        C, T = Client.__table__, Traject.__table__
        with eng.db.begin() as conn:
            client_ids = conn.execute(C.insert().returning(C.c.id, sort_by_parameter_order=True), [
                {"bsn": b, "coach": "coach.anna", "bijstand_sinds": date(2020, 1, 1), "aangemaakt_op": created}
                for b in numbers]).scalars().all()
            traject_ids = conn.execute(T.insert().returning(T.c.id, sort_by_parameter_order=True), [
                {"client_id": cid, "instrument": "intensief_begeleiden", "definitie_versie": versie,
                 "status": "actief", "start_datum": created.astimezone(TZ).date(),
                 "feiten": {"variant": "richting_werk"}, "gestart_door": "test:bulk", "aangemaakt_op": created}
                for cid in client_ids]).scalars().all()
            step_ids = conn.execute(S.insert().returning(S.c.id, sort_by_parameter_order=True), [
                {"traject_id": tid, "stap": "herinnering_intake", "volgnr": 0, "kind": "reminder",
                 "due_at": now - timedelta(minutes=1 + i % 60), "status": "gepland", "pogingen": 0}
                for i, tid in enumerate(traject_ids)]).scalars().all()
    finally:
        eng.db.dispose()
    assert len(step_ids) == n
    return list(step_ids)


def _fired(url: str, step_ids: list[int]) -> tuple[dict, dict]:
    """(steps per status, stap_* events per step) for ``step_ids``."""
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            by_status = dict(conn.execute(sa.select(S.c.status, sa.func.count())
                                          .where(S.c.id.in_(step_ids)).group_by(S.c.status)).all())
            per_step = dict(conn.execute(
                sa.select(E.c.stap_id, sa.func.count())
                .where(E.c.type.in_(STAP_EVENT_TYPES), E.c.stap_id.in_(step_ids))
                .group_by(E.c.stap_id)).all())
    finally:
        db.dispose()
    return by_status, per_step


def _assert_each_fired_once(url: str, step_ids: list[int]) -> None:
    """The database is the judge: every step ``uitgevoerd``, exactly one stap_* event each."""
    by_status, per_step = _fired(url, step_ids)
    assert by_status == {"uitgevoerd": len(step_ids)}, by_status
    assert set(per_step) == set(step_ids)
    assert set(per_step.values()) == {1}, {k: v for k, v in per_step.items() if v != 1}


# --------------------------------------------------------------------------- the Prefect API (REST)


class _Api:
    """The few Prefect REST calls the tests need (no Prefect client in the test process: its settings
    would be this process's, not the stack's)."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, timeout=30)

    def _ok(self, r: httpx.Response):
        r.raise_for_status()
        return r.json() if r.content else None

    def deployment(self, name: str = "sweep/sweep") -> dict:
        return self._ok(self.http.get(f"/deployments/name/{name}"))

    def runs(self, deployment_id: str) -> list[dict]:
        return self._ok(self.http.post("/flow_runs/filter", json={
            "flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC",
            "limit": 200}))

    def run(self, run_id: str) -> dict:
        return self._ok(self.http.get(f"/flow_runs/{run_id}"))

    def create_run(self, deployment_id: str, parameters: dict) -> dict:
        return self._ok(self.http.post(f"/deployments/{deployment_id}/create_flow_run",
                                       json={"parameters": parameters}))

    def set_paused(self, deployment_id: str, paused: bool) -> None:
        self._ok(self.http.patch(f"/deployments/{deployment_id}", json={"paused": paused}))

    def pause(self, deployment_id: str) -> None:
        """Pause the schedule, delete the scheduled runs pausing leaves (one already due), and wait until
        no run of the deployment is active: from then on only the runs a test creates can sweep."""
        self.set_paused(deployment_id, True)
        for r in self.runs(deployment_id):
            if _state(r) == "SCHEDULED":
                self.http.delete(f"/flow_runs/{r['id']}").raise_for_status()
        self.wait_idle(deployment_id)

    def online_workers(self, pool: str = "trajecten") -> list[str]:
        ws = self._ok(self.http.post(f"/work_pools/{pool}/workers/filter", json={}))
        return sorted(w["name"] for w in ws if str(w.get("status", "")).upper() == "ONLINE")

    def wait_online(self, names: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(names) <= set(self.online_workers()):
                return
            time.sleep(0.5)
        pytest.fail(f"workers {names} not online after {timeout} s: {self.online_workers()}")

    def wait_idle(self, deployment_id: str, timeout: float = 120) -> None:
        """Until no run of the deployment is Pending, Running or Cancelling."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [r for r in self.runs(deployment_id) if _state(r) in ("PENDING", "RUNNING", "CANCELLING")]
            if not busy:
                return
            time.sleep(1)
        pytest.fail(f"sweep runs still active after {timeout} s: {[(r['name'], _state(r)) for r in busy]}")


def _state(run: dict) -> str | None:
    return run["state"]["type"] if run.get("state") else None


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _scheduled(run: dict, schedule_ids: set[str]) -> bool:
    """Created by the server's scheduler (what Prefect 3.8 records for it), not by a person or a client."""
    cb = run.get("created_by") or {}
    return (run.get("auto_scheduled") is True and cb.get("type") == "SCHEDULE" and cb.get("id") in schedule_ids
            and str(run.get("idempotency_key", "")).startswith("scheduled "))


class _Hook:
    """A local webhook receiver: what an alerting system would get from ``alertautomatisering``."""

    def __init__(self):
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the stack


def _test_prefect_yaml(home: Path) -> Path:
    """A copy of ``prefect.yaml`` in which the other deployments' schedules are inactive (their flows would
    write files in this checkout during the test); the sweep runs every minute as committed, so a test sees
    a scheduled run within a minute. Everything else is as committed."""
    cfg = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    sweep = next(d for d in cfg["deployments"] if d["name"] == "sweep")
    assert [s["cron"] for s in sweep["schedules"]] == ["* * * * *", "30 6 * * *"], sweep["schedules"]
    for d in cfg["deployments"]:
        for s in d.get("schedules", []):
            if d["name"] != "sweep":
                s["active"] = False
    path = home / "prefect.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@dataclass
class Stack:
    env: dict
    procs: _Procs
    api: _Api
    engine_url: str
    prefect: list[str]
    automation_id: str

    def worker(self, name: str, extra_env: dict | None = None, args: tuple[str, ...] = ()) -> subprocess.Popen:
        env = {**self.env, **(extra_env or {})}
        return self.procs.start(name, self.prefect + ["worker", "start", "--pool", "trajecten", "--limit", "1",
                                                      "--name", name, *args], env=env)


@pytest.fixture(scope="module")
def stack():
    try:
        admin = _admin()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}: {exc}): "
                    "the Prefect integration tests need it")
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
        open_engine(engine_url, FixedClock(datetime.now(TZ))).db.dispose()  # schema, instrument versions

        from trajecten.beheer.cluster_omgeving import WORKER_ENV

        port = _free_port()
        url = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRAJECTEN_"))}
        env.update({
            "PREFECT_HOME": str(home),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_API_URL": url,
            "PREFECT_API_DATABASE_CONNECTION_URL":
                f"postgresql+asyncpg://{pg['user']}@{pg['host']}:{pg['port']}/{prefect_db}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            # every server service runs with its defaults (scheduler, triggers, repossessor, ...)
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_LOGGING_LEVEL": "INFO",
            **WORKER_ENV,  # flow-run heartbeats, as docs/deploy-herstel.md prescribes for workers
            "TRAJECTEN_DATABASE_URL": engine_url,
            "TRAJECTEN_HOME": str(ROOT),
            "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        })
        procs = _Procs(home, env)
        prefect = _prefect_cmd()
        server = procs.start("server", prefect + ["server", "start", "--host", "127.0.0.1", "--port", str(port)])
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"prefect server exited ({server.returncode}):\n{procs.log('server')[-4000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after 90 s:\n{procs.log('server')[-4000:]}")
            time.sleep(0.5)

        _run(prefect + ["work-pool", "create", "trajecten", "--type", "process"], env)
        dep = _run(prefect + ["--no-prompt", "deploy", "--all", "--prefect-file", str(_test_prefect_yaml(home))],
                   env, timeout=180)
        assert "sweep/sweep" in dep.stdout, dep.stdout
        # the operator's one-time set-up of crash recovery, as documented
        cp = _run([sys.executable, "-m", "flows.automatiseringen", "herstel"], env, timeout=120)
        automation_id = cp.stdout.strip().splitlines()[-1]
        yield Stack(env, procs, _Api(url), engine_url, prefect, automation_id)
    finally:
        if procs is not None:
            procs.stop_all()
        try:
            for name in (prefect_db, engine_db):
                _drop(admin, name)
        finally:
            admin.close()
            shutil.rmtree(home, ignore_errors=True)


# Runs in a subprocess with the stack's Prefect environment: create two flow runs of sweep/sweep at
# once, wait until both are final, print their ids, states and results (or why a result is missing).
CLIENT_SCRIPT = r"""
import asyncio, json, sys, time
from prefect import get_client
from prefect.deployments import run_deployment

timeout = float(sys.argv[1])

async def main():
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
    print("RESULT " + json.dumps({"runs": out, "artifacts": artifacts}, default=str))

asyncio.run(main())
"""


# --------------------------------------------------------------------------- tests


def test_scheduled_sweep_runs_on_a_worker_and_fires_each_step_once(stack):
    api = stack.api
    dep = api.deployment()
    # prefect.yaml's schedules arrived as written
    assert sorted((s["schedule"].get("cron"), s["schedule"].get("timezone"), s["active"],
                   (s.get("parameters") or {}).get("signalen", False)) for s in dep["schedules"]) == [
        ("* * * * *", "Europe/Amsterdam", True, False), ("30 6 * * *", "Europe/Amsterdam", True, True)]
    assert dep["global_concurrency_limit"]["limit"] == 4
    schedule_ids = {s["id"] for s in dep["schedules"]}

    step_ids = _plant(stack.engine_url, datetime.now(TZ))
    names = ["worker1", "worker2"]
    try:
        t0 = datetime.now(timezone.utc)
        workers = [stack.worker(n) for n in names]
        api.wait_online(names)
        # only the scheduler creates runs here: wait for one that a worker completed, and for the steps
        deadline = time.monotonic() + 150
        while True:
            runs = api.runs(dep["id"])
            done = [r for r in runs if _state(r) == "COMPLETED"]
            by_status, _ = _fired(stack.engine_url, step_ids)
            if done and by_status == {"uitgevoerd": N_STEPS}:
                break
            assert time.monotonic() < deadline, (
                f"no scheduled sweep completed with all steps fired: {by_status}, "
                f"{[(r['name'], _state(r), r['expected_start_time']) for r in runs][-6:]}\n"
                + stack.procs.log("worker1")[-3000:])
            time.sleep(2)
        # every sweep run so far was created by the schedule (none by a client), and one completed
        assert runs and all(_scheduled(r, schedule_ids) for r in runs), [
            (r["name"], r.get("auto_scheduled"), r.get("created_by"), r.get("idempotency_key")) for r in runs]
        first = done[0]
        print(f"scheduled run {first['name']}: expected {first['expected_start_time']}, "
              f"started {first['start_time']}, ended {first['end_time']} (workers started {t0.isoformat()})")
        assert _ts(first["start_time"]) >= t0 - timedelta(seconds=1)
        logs = "".join(stack.procs.log(n) for n in names)
        assert first["id"] in logs, "the run did not go through one of the test's workers"
        _assert_each_fired_once(stack.engine_url, step_ids)

        # two sweeps at once on two workers: pause the schedule so only these two may sweep the new steps
        api.pause(dep["id"])
        step_ids2 = _plant(stack.engine_url, datetime.now(TZ))
        cp = _run([sys.executable, "-c", CLIENT_SCRIPT, str(RUN_TIMEOUT_S)], stack.env, timeout=RUN_TIMEOUT_S + 60)
        line = next((ln for ln in cp.stdout.splitlines() if ln.startswith("RESULT ")), None)
        assert line, cp.stdout + cp.stderr
        got = json.loads(line[len("RESULT "):])
        runs2 = got["runs"]
        for w in workers:
            assert w.poll() is None, "a worker died"
        logs = {n: stack.procs.log(n) for n in names}
        # P6 privacy scan: the runs' artifacts and the workers' logs (the flows' log lines) hold no BSN
        assert got["artifacts"], "the sweep runs published no artifact"
        for i, tekst in enumerate(got["artifacts"]):
            privacy.voeg_toe("prefect-artifact", tekst, f"artifact {i}")
        for naam, tekst in logs.items():
            privacy.voeg_toe("log", tekst, f"prefect {naam}")
        assert all(r["state"] == "COMPLETED" for r in runs2), (runs2, {k: v[-3000:] for k, v in logs.items()})
        _assert_each_fired_once(stack.engine_url, step_ids2)
        results = [r["result"] for r in runs2]
        if all(isinstance(r, dict) for r in results):
            done2 = [r["uitgevoerd"] + r["overgeslagen"] + r["geannuleerd"] for r in results]
            assert sum(done2) == N_STEPS, results
            assert all(r["mislukt"] == 0 and r["incidenten"] == 0 for r in results), results
        else:
            print("flow-run results not retrievable:", [r["result_error"] for r in runs2])
        ran = {name: [r["id"] for r in runs2 if r["id"] in text] for name, text in logs.items()}
        print("runs per worker:", ran, "counts per run:", results)
        assert set().union(*ran.values()) == {r["id"] for r in runs2}, ran
    finally:
        for n in names:
            stack.procs.stop(n)
        api.set_paused(dep["id"], False)


def test_killed_worker_runs_become_crashed_and_next_scheduled_sweep_completes(stack):
    """SIGKILL of two workers with their flow-run processes (the whole tree: what a machine crash or an OOM
    kill does) in the middle of two sweeps; one dead run is then cancelled by a person (``prefect flow-run
    cancel`` sets Cancelling, which no worker will ever finish). Without anyone else: both runs turn
    Crashed through the crash-recovery automation, their deployment concurrency slots come free, the next
    scheduled sweep completes, and every due step fired exactly once (the dead runs' open batches were
    rolled back and claimed again)."""
    api = stack.api
    dep = api.deployment()
    schedule_ids = {s["id"] for s in dep["schedules"]}
    api.pause(dep["id"])  # the runs to kill are ours; the schedule resumes right after the kill
    step_ids = _plant(stack.engine_url, datetime.now(TZ))
    doomed = ["doomed1", "doomed2"]
    hook = _Hook()
    try:
        # the operator's alert set-up (docs/deploy-herstel.md): failed and crashed runs go to a webhook
        _run([sys.executable, "-m", "flows.automatiseringen", "alert", "--webhook", hook.url], stack.env, timeout=120)
        # workers whose sweeps claim one step per batch, so the runs last long enough to be interrupted
        victims = [stack.worker(n, {"TRAJECTEN_BATCH_SIZE": SLOW_BATCH}) for n in doomed]
        api.wait_online(doomed)
        runs = [api.create_run(dep["id"], {"budget_s": 240}) for _ in doomed]
        deadline = time.monotonic() + 90
        while True:
            states = [_state(api.run(r["id"])) for r in runs]
            by_status, _ = _fired(stack.engine_url, step_ids)
            if states == ["RUNNING", "RUNNING"] and by_status.get("uitgevoerd", 0) >= 200:
                break
            assert time.monotonic() < deadline, (states, by_status, stack.procs.log("doomed1")[-3000:])
            time.sleep(0.2)
        trees = [_kill_tree(v.pid) for v in victims]
        t_kill = datetime.now(timezone.utc)
        for n, v in zip(doomed, victims):
            v.wait(timeout=10)
            stack.procs.procs.pop(n, None)
        assert all(len(t) >= 2 for t in trees), f"a flow-run process was not found under its worker: {trees}"
        by_status = _fired(stack.engine_url, step_ids)[0]
        assert by_status.get("gepland", 0) > 0, f"the runs finished before the kill: {by_status}"
        # a person cancels the second dead run, as `prefect flow-run cancel` does
        api._ok(api.http.post(f"/flow_runs/{runs[1]['id']}/set_state", json={
            "state": {"type": "CANCELLING", "name": "Cancelling", "message": "cancelled by an operator"}}))
        time.sleep(3)
        assert [_state(api.run(r["id"])) for r in runs] == ["RUNNING", "CANCELLING"], \
            "Prefect itself does not notice a dead worker"
        slots_after_kill = api.deployment()["global_concurrency_limit"]["active_slots"]
        assert slots_after_kill == 2, slots_after_kill

        api.set_paused(dep["id"], False)
        stack.worker("rescuer")
        deadline = time.monotonic() + 180
        crashed_at: dict[str, datetime] = {}
        recovered = None
        while True:
            dead = [api.run(r["id"]) for r in runs]
            for d in dead:
                if d["id"] not in crashed_at and _state(d) == "CRASHED":
                    crashed_at[d["id"]] = _ts(d["state"]["timestamp"])
            after = [r for r in api.runs(dep["id"]) if _scheduled(r, schedule_ids) and _state(r) == "COMPLETED"
                     and _ts(r["start_time"]) > t_kill]
            by_status, _ = _fired(stack.engine_url, step_ids)
            if recovered is None and after and by_status == {"uitgevoerd": N_STEPS}:
                recovered = min(_ts(r["end_time"]) for r in after)
            if len(crashed_at) == len(runs) and recovered:
                break
            assert time.monotonic() < deadline, (
                f"killed runs {[_state(d) for d in dead]}, scheduled runs completed since the kill "
                f"{len(after)}, steps {by_status}\n" + stack.procs.log("server")[-3000:])
            time.sleep(1)
        crash_s = sorted((t - t_kill).total_seconds() for t in crashed_at.values())
        recover_s = (recovered - t_kill).total_seconds()
        print(f"SIGKILL -> Crashed {', '.join(f'{c:.0f}' for c in crash_s)} s; "
              f"SIGKILL -> next scheduled sweep completed {recover_s:.0f} s")
        for d in dead:  # the automation did it (its message), not a worker or the cancellation timeout
            assert "hartslag" in (d["state"].get("message") or ""), d["state"]
        assert max(crash_s) <= CRASH_BOUND_S, crash_s
        # each crashed run raised one alert at the webhook, naming the run and the state, and nothing more
        deadline = time.monotonic() + 30
        while True:
            alerts = {d["name"]: [a for a in hook.received if d["name"] in a.get("subject", "")] for d in dead}
            if all(alerts.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert all(len(a) == 1 for a in alerts.values()), (alerts, hook.received)
        for a in hook.received:
            assert "Crashed" in a["subject"] and "sweep" in a["subject"], a
            privacy.voeg_toe("prefect-alert", json.dumps(a), "webhook")
        print("alert:", hook.received[0])

        # no slot left held: once nothing runs, the deployment's concurrency limit holds 0 active slots
        api.pause(dep["id"])
        gcl = api.deployment()["global_concurrency_limit"]
        assert gcl["active_slots"] == 0, gcl
        _assert_each_fired_once(stack.engine_url, step_ids)
    finally:
        for n in (*doomed, "rescuer"):
            stack.procs.stop(n)
        api.set_paused(dep["id"], False)
        hook.close()


def test_sigterm_stops_taking_runs_and_lets_the_current_run_finish(stack):
    """``python -m flows.worker`` (docs/deploy-herstel.md): SIGTERM to the worker process alone (systemd
    ``KillMode=mixed``, ``docker stop``) in the middle of a sweep. The worker takes no run created after
    the signal, its current run completes, and then it exits with code 0."""
    api = stack.api
    dep = api.deployment()
    api.pause(dep["id"])
    step_ids = _plant(stack.engine_url, datetime.now(TZ))
    later = None
    try:
        env = {**stack.env, "TRAJECTEN_BATCH_SIZE": SLOW_BATCH}
        w = stack.procs.start("drainer", [sys.executable, "-m", "flows.worker", "--pool", "trajecten",
                                          "--name", "drainer", "--limit", "1"], env=env)
        api.wait_online(["drainer"])
        run = api.create_run(dep["id"], {"budget_s": 240})
        deadline = time.monotonic() + 90
        while _fired(stack.engine_url, step_ids)[0].get("uitgevoerd", 0) < 100:
            assert time.monotonic() < deadline, stack.procs.log("drainer")[-3000:]
            assert w.poll() is None, stack.procs.log("drainer")[-3000:]
            time.sleep(0.2)
        os.kill(w.pid, signal.SIGTERM)
        t_term = time.monotonic()
        later = api.create_run(dep["id"], {"budget_s": 240})  # must not be taken by a draining worker
        time.sleep(2)
        os.kill(w.pid, signal.SIGTERM)  # a second SIGTERM does not cut the drain short
        rc = w.wait(timeout=RUN_TIMEOUT_S)
        exit_s = time.monotonic() - t_term
        t_exit = datetime.now(timezone.utc)
        log = stack.procs.log("drainer")
        done = api.run(run["id"])
        print(f"SIGTERM -> worker exit {exit_s:.1f} s; run {_state(done)} at {done['end_time']}")
        assert rc == 0, log[-3000:]
        assert _state(done) == "COMPLETED", (done["state"], log[-3000:])
        assert _ts(done["end_time"]) <= t_exit
        assert _state(api.run(later["id"])) == "SCHEDULED", api.run(later["id"])["state"]
        assert later["id"] not in log
        assert "still draining" in log
        _assert_each_fired_once(stack.engine_url, step_ids)
    finally:
        stack.procs.stop("drainer")
        if later is not None:
            api.http.delete(f"/flow_runs/{later['id']}")
        api.set_paused(dep["id"], False)
