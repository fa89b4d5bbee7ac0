"""``trajecten cluster start|status|stop`` and ``trajecten web`` (distributed mode on one machine).

The pure parts (URLs, environments, the cluster file) and the stopping of process trees run without
Prefect or PostgreSQL. ``test_cluster_start_status_stop`` starts the real stack on fresh PostgreSQL
databases - a Prefect server with its services, the deployments of ``prefect.yaml``, one worker and the
backoffice - runs the sweep deployment once on the worker, and stops it all. When PostgreSQL is
unreachable that test **fails** (it does not skip like the other PostgreSQL tests: distributed mode is
the thing under test); set ``TRAJECTEN_TEST_PG_OPTIONEEL=1`` to skip it instead on a machine without one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import PG_DSN
from trajecten.beheer import cluster, cluster_omgeving, cluster_processen
from trajecten.cli import app as cli

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- URLs and environments


def test_engine_url_is_postgresql_with_psycopg():
    assert cluster.engine_url("postgresql://u:geheim@db.example:5433/trajecten") == \
        "postgresql+psycopg://u:geheim@db.example:5433/trajecten"
    assert cluster.engine_url("postgresql+psycopg://postgres@127.0.0.1/x") == "postgresql+psycopg://postgres@127.0.0.1/x"
    for fout, woord in (("sqlite:///trajecten.db", "PostgreSQL"), ("postgresql://u@h", "geen database"),
                        ("geen url", "geen database-URL")):
        with pytest.raises(cluster.ClusterFout, match=woord):
            cluster.engine_url(fout)


def test_prefect_database_defaults_to_its_own_database_next_to_the_engine():
    engine = "postgresql+psycopg://u:geheim@db.example:5433/trajecten?connect_timeout=5"
    assert cluster.prefect_url(engine) == "postgresql+asyncpg://u:geheim@db.example:5433/trajecten_prefect"
    assert cluster.prefect_url(engine, "postgresql://p@elders/prefect") == "postgresql+asyncpg://p@elders/prefect"
    with pytest.raises(cluster.ClusterFout, match="eigen database"):
        cluster.prefect_url(engine, "postgresql+asyncpg://u@db.example:5433/trajecten")
    assert cluster.verberg(engine) == "postgresql+psycopg://u:***@db.example:5433/trajecten?connect_timeout=5"


def test_ui_api_url_is_what_a_browser_can_reach():
    # the reviewer's UI said "Can't connect to Server API at http://127.0.0.1:4200/api": the UI must get
    # the server's own port, and the public address when there is one
    assert cluster.ui_api_url("127.0.0.1", 4277) == "http://127.0.0.1:4277/api"
    assert cluster.ui_api_url("0.0.0.0", 4200) == f"http://{cluster_omgeving.machinenaam()}:4200/api"
    assert cluster.ui_api_url("::1", 4200) == "http://[::1]:4200/api"
    assert cluster.ui_api_url("0.0.0.0", 4200, "https://prefect.gemeente.example/") == \
        "https://prefect.gemeente.example/api"
    assert cluster.ui_api_url("127.0.0.1", 4200, "http://server:4200/api") == "http://server:4200/api"
    with pytest.raises(cluster.ClusterFout, match="http"):
        cluster.ui_api_url("127.0.0.1", 4200, "server:4200")
    # the processes on the machine itself reach a server bound to every interface on the loopback
    assert cluster.api_url("0.0.0.0", 4201) == "http://127.0.0.1:4201/api"


def test_environments_own_the_prefect_server_settings_and_pass_the_rest(tmp_path):
    caller = {"PATH": "/usr/bin", "PYTHONPATH": "/elders", "PREFECT_API_URL": "http://ander:4200/api",
              "PREFECT_PROFILE": "prod", "PREFECT_API_DATABASE_CONNECTION_URL": "postgresql+asyncpg://x/y",
              "PREFECT_API_DATABASE_PASSWORD": "x", "PREFECT_LOGGING_LEVEL": "DEBUG",
              "PREFECT_SERVER_ANALYTICS_ENABLED": "true", "TRAJECTEN_LOGBOEK_SLEUTEL": "s" * 32,
              "TRAJECTEN_DATABASE_URL": "sqlite:///ander.db"}
    basis = cluster.basis_env(caller, prefect_home=tmp_path / "prefect", api="http://127.0.0.1:4277/api",
                              engine="postgresql+psycopg://u@h/e", repo=ROOT)
    assert basis["PREFECT_API_URL"] == "http://127.0.0.1:4277/api"
    assert basis["PREFECT_HOME"] == str(tmp_path / "prefect")
    assert basis["PREFECT_PROFILES_PATH"] == str(tmp_path / "prefect" / "profiles.toml")
    assert "PREFECT_PROFILE" not in basis and "PREFECT_API_DATABASE_CONNECTION_URL" not in basis
    assert "PREFECT_API_DATABASE_PASSWORD" not in basis  # the workers never get Prefect's database
    assert basis["PREFECT_LOGGING_LEVEL"] == "DEBUG" and basis["TRAJECTEN_LOGBOEK_SLEUTEL"] == "s" * 32
    assert basis["TRAJECTEN_DATABASE_URL"] == "postgresql+psycopg://u@h/e"
    assert basis["TRAJECTEN_HOME"] == str(ROOT)  # prefect.yaml's pull step
    assert basis["PYTHONPATH"] == f"{ROOT}{os.pathsep}/elders"

    srv = cluster.server_env(basis, host="0.0.0.0", poort=4277, prefect_db="postgresql+asyncpg://u@h/p",
                             ui_api="https://prefect.gemeente.example/api")
    assert srv["PREFECT_API_DATABASE_CONNECTION_URL"] == "postgresql+asyncpg://u@h/p"
    assert srv["PREFECT_SERVER_UI_API_URL"] == "https://prefect.gemeente.example/api"
    assert (srv["PREFECT_SERVER_API_HOST"], srv["PREFECT_SERVER_API_PORT"]) == ("0.0.0.0", "4277")
    assert srv["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] == "true"  # the schedules of prefect.yaml run
    assert srv["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"  # the caller's choice wins over the default
    srv = cluster.server_env(cluster.basis_env({}, prefect_home=tmp_path, api="a", engine="e", repo=ROOT),
                             host="127.0.0.1", poort=4200, prefect_db="d", ui_api="u")
    assert srv["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert srv["PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED"] == "events,flow_runs"


def test_cluster_file_round_trip_with_pid_files(tmp_path):
    p = cluster.Proces("worker-1", "worker", os.getpid(), cluster_processen._stat(os.getpid())[3], str(tmp_path / "w.log"))
    staat = cluster.Staat(map=str(tmp_path), repo=str(ROOT), api_url="a", ui_url="u", ui_api_url="u/api",
                          web_url="w", engine_database="e", prefect_database="p", workers=1, gestart_op="t",
                          processen=[p])
    staat.schrijf()
    assert (tmp_path / "pids" / "worker-1.pid").read_text() == f"{os.getpid()}\n"
    terug = cluster.Staat.lees(tmp_path)
    assert terug == staat and cluster.leeft(terug.processen[0])
    # a pid that was reused by another process is not ours
    assert not cluster.leeft(cluster.Proces("x", "web", os.getpid(), p.starttijd + 1, "l"))
    with pytest.raises(cluster.ClusterFout, match="geen cluster"):
        cluster.Staat.lees(tmp_path / "leeg")


def test_cli_refusals_are_one_line():
    r = CliRunner().invoke(cli, ["cluster", "start", "--database-url", "sqlite:///x.db", "--map", "/tmp/nooit"])
    assert r.exit_code == 2 and "PostgreSQL" in r.output, r.output
    r = CliRunner().invoke(cli, ["cluster", "status", "--map", "/tmp/bestaat-niet-cluster"])
    assert r.exit_code == 2 and "geen cluster" in r.output, r.output
    r = CliRunner().invoke(cli, ["cluster", "stop", "--map", "/tmp/bestaat-niet-cluster"])
    assert r.exit_code == 2 and "geen cluster" in r.output, r.output


def test_db_migreer_is_the_explicit_step(tmp_path):
    from trajecten.opslag.migreren import nieuwste_revisies

    url = f"sqlite:///{tmp_path / 'engine.db'}"
    nieuwste = ", ".join(nieuwste_revisies())
    r = CliRunner().invoke(cli, ["--database-url", url, "db", "migreer"])
    assert r.exit_code == 0 and f"revisie (leeg) -> {nieuwste}" in r.output, r.output
    r = CliRunner().invoke(cli, ["--database-url", url, "db", "migreer"])
    assert r.exit_code == 0 and f"schema was al bij: revisie {nieuwste}" in r.output, r.output


def test_web_serves_without_the_embedded_scheduler(tmp_path):
    import httpx
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'engine.db'}"
    poort = _vrije_poort()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAJECTEN_")}
    env["TRAJECTEN_DATABASE_URL"] = url
    exe = Path(sys.executable).parent / "trajecten"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "trajecten.cli"]
    p = subprocess.Popen(cmd + ["web", "--port", str(poort)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert p.poll() is None, p.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{poort}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "trajecten web did not answer"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{poort}/health", timeout=2).status_code == 200
        time.sleep(1)  # time enough for a scheduler to have created its job store
        db = sa.create_engine(url)
        try:
            assert "apscheduler_jobs" not in sa.inspect(db).get_table_names()
        finally:
            db.dispose()
        p.send_signal(signal.SIGTERM)
        uit, _ = p.communicate(timeout=30)
        assert p.returncode == 0 and "zonder ingebouwde planner" in uit and "gestopt" in uit, uit
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


# --------------------------------------------------------------------------- stopping process trees


# A "worker": on SIGTERM it waits for its "flow run" (a child in a session of its own, like Prefect's
# process worker starts them) and then exits; with "koppig" it ignores SIGTERM.
WERKER = r"""
import signal, subprocess, sys, time
klaar, koppig = sys.argv[1], sys.argv[2] == "koppig"
kind = subprocess.Popen([sys.executable, "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(float(sys.argv[1])); "
    "open(sys.argv[2], 'w').write('klaar')", "60" if koppig else "1.5", klaar], start_new_session=True)
if koppig:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: (kind.wait(), sys.exit(0)))
print("gestart", flush=True)
while True:
    time.sleep(0.1)
"""


def _werker(tmp_path: Path, naam: str, koppig: bool) -> tuple[cluster.Proces, Path]:
    klaar = tmp_path / f"{naam}.klaar"
    p = cluster_processen._start(naam, "worker", [sys.executable, "-c", WERKER, str(klaar), "koppig" if koppig else "braaf"],
                       dict(os.environ), tmp_path, tmp_path)
    deadline = time.monotonic() + 10
    while "gestart" not in Path(p.log).read_text() or not cluster_processen.nakomelingen(p.pid):
        assert time.monotonic() < deadline, Path(p.log).read_text()
        time.sleep(0.05)
    return p, klaar


def test_stop_lets_a_worker_finish_its_run_then_kills_what_does_not_stop(tmp_path):
    braaf, braaf_klaar = _werker(tmp_path, "braaf", koppig=False)
    koppig, _ = _werker(tmp_path, "koppig", koppig=True)
    kinderen = cluster_processen.nakomelingen(braaf.pid) + cluster_processen.nakomelingen(koppig.pid)
    t0 = time.monotonic()
    res = {g.naam: g for g in cluster.stop_processen([braaf, koppig], wachttijd=4, groep=False)}
    assert res["braaf"].hoe == "gestopt" and res["braaf"].seconden < 4
    assert braaf_klaar.read_text() == "klaar"  # its "flow run" was not signalled: it finished
    assert res["koppig"].hoe == "SIGKILL" and 4 <= res["koppig"].seconden < 6
    assert time.monotonic() - t0 < 15
    for pid in [braaf.pid, koppig.pid, *kinderen]:  # the child in its own session went too
        assert not cluster_processen.pid_leeft(pid), pid
    assert cluster.stop_processen([braaf], wachttijd=1, groep=False)[0].hoe == "was al gestopt"


# --------------------------------------------------------------------------- the real stack


def _admin():
    import psycopg

    return psycopg.connect(PG_DSN + " dbname=postgres", autocommit=True, connect_timeout=3)


def _vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trajecten(args: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "trajecten"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "trajecten.cli"]
    return subprocess.run(cmd + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.postgres
def test_cluster_start_status_stop(tmp_path):
    import httpx
    import sqlalchemy as sa

    try:
        admin = _admin()
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}: {exc}): distributed mode untested"
        if os.environ.get("TRAJECTEN_TEST_PG_OPTIONEEL") == "1":
            pytest.skip(msg)
        pytest.fail(msg + " (TRAJECTEN_TEST_PG_OPTIONEEL=1 skips this test instead)")
    parts = dict(p.split("=", 1) for p in PG_DSN.split())
    engine_db = f"trajecten_cl_{uuid.uuid4().hex[:10]}"  # does not exist yet: `cluster start` creates both
    url = (f"postgresql+psycopg://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:"
           f"{parts.get('port', '5432')}/{engine_db}")
    poort, web_poort = _vrije_poort(), _vrije_poort()
    map_ = tmp_path / "cluster"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TRAJECTEN_"))}
    env["PREFECT_WORKER_QUERY_SECONDS"] = "1"  # passed through to the worker: picks the run up at once
    t0 = time.monotonic()
    try:
        r = _trajecten(["cluster", "start", "--workers", "1", "--database-url", url, "--poort", str(poort),
                        "--web-poort", str(web_poort), "--map", str(map_), "--timeout", "60"], env, 240)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Cluster gestart" in r.stdout and f"http://127.0.0.1:{web_poort}" in r.stdout, r.stdout
        gestart_s = time.monotonic() - t0

        api, web = f"http://127.0.0.1:{poort}/api", f"http://127.0.0.1:{web_poort}"
        assert httpx.get(f"{api}/health", timeout=5).json() is True
        assert httpx.get(f"{web}/login", timeout=5).status_code == 200
        assert httpx.get(f"{web}/health", timeout=5).status_code == 200
        assert httpx.get(f"{web}/ready", timeout=5).json()["gereed"] is True
        assert {w["name"]: w["status"] for w in cluster.workers_in_pool(api)} == {"worker-1": "ONLINE"}
        # the UI is told the server's own address (not the default 127.0.0.1:4200)
        assert httpx.get(f"http://127.0.0.1:{poort}/ui-settings", timeout=5).json()["api_url"] == api
        # the crash recovery automation is on the server (docs/deploy-herstel.md)
        from flows.automatiseringen import HERSTEL_NAAM

        automaties = httpx.post(f"{api}/automations/filter", json={}, timeout=5).json()
        assert HERSTEL_NAAM in [a["name"] for a in automaties], automaties
        # the backoffice runs without the embedded scheduler: no APScheduler job store in the engine database
        db = sa.create_engine(url)
        try:
            assert "apscheduler_jobs" not in sa.inspect(db).get_table_names()
        finally:
            db.dispose()

        # the worker runs the sweep deployment from this checkout (TRAJECTEN_HOME) on the engine database
        deps = {d["name"]: d["id"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=5).json()}
        run = httpx.post(f"{api}/deployments/{deps['sweep']}/create_flow_run",
                         json={"parameters": {"budget_s": 5}}, timeout=5).json()
        deadline = time.monotonic() + 60
        while (toestand := httpx.get(f"{api}/flow_runs/{run['id']}", timeout=5).json()["state"]["type"]) \
                not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            assert time.monotonic() < deadline, toestand
            time.sleep(1)
        assert toestand == "COMPLETED", (map_ / "logs" / "worker-1.log").read_text()[-3000:]

        r = _trajecten(["cluster", "status", "--map", str(map_), "--json"], env, 60)
        assert r.returncode == 0, r.stdout + r.stderr
        st = json.loads(r.stdout)
        assert {p["naam"]: (p["leeft"], p["poort"]) for p in st["processen"]} == {
            "server": (True, poort), "worker-1": (True, None), "web": (True, web_poort)}
        assert st["server_gezond"] and st["web_gezond"]
        namen = {d["naam"] for d in st["prefect"]["deployments"]}
        assert {"sweep/sweep", "uwv_feed/uwv_feed", "zgw/zgw"} <= namen, namen
        assert [w["naam"] for w in st["prefect"]["workers"]] == ["worker-1"]
        # (a scheduled run may have come due meanwhile: look for ours)
        assert ("sweep/sweep", "Completed") in [(r_["deployment"], r_["toestand"]) for r_ in st["prefect"]["recent"]]
        assert st["prefect"]["volgende"], "the server's scheduler planned no runs"  # the scheduler is on
        r = _trajecten(["cluster", "status", "--map", str(map_)], env, 60)  # the tables
        assert r.returncode == 0 and "Recente flow runs" in r.stdout, r.stdout + r.stderr

        staat = cluster.Staat.lees(map_)
        pids = [p.pid for p in staat.processen] + [q for p in staat.processen for q in cluster_processen.nakomelingen(p.pid)]
        r = _trajecten(["cluster", "stop", "--map", str(map_), "--wachttijd", "30"], env, 120)
        assert r.returncode == 0, r.stdout + r.stderr
        tabel = r.stdout.split("Cluster gestopt", 1)[-1]
        assert "Cluster gestopt" in r.stdout and "SIGKILL" not in tabel and tabel.count("gestopt") == 3, r.stdout
        levend = [pid for pid in pids if cluster_processen.pid_leeft(pid)]
        assert not levend, levend
        assert cluster.poort_vrij("127.0.0.1", poort) and cluster.poort_vrij("127.0.0.1", web_poort)
        assert not list((map_ / "pids").glob("*.pid"))
        r = _trajecten(["cluster", "status", "--map", str(map_), "--json"], env, 60)
        assert r.returncode == 1 and not any(p["leeft"] for p in json.loads(r.stdout)["processen"])
        print(f"cluster start {gestart_s:.1f} s, all {time.monotonic() - t0:.1f} s")
    finally:
        if (map_ / cluster.STAAT).exists():
            cluster.stop(map_, wachttijd=5)
        for naam in (engine_db, f"{engine_db}_prefect"):
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                          "AND pid <> pg_backend_pid()", (naam,))
            admin.execute(f'DROP DATABASE IF EXISTS "{naam}"')
        admin.close()
