"""The whole distributed stack on one machine, for trial and tests (``trajecten cluster start|status|stop``).

``start`` creates the engine database and Prefect's own database (with ``pg_trgm``) when they are
missing, migrates the engine schema, starts the Prefect server (all its services, the scheduler on),
creates the process work pool, deploys ``prefect.yaml``, starts N Prefect workers and ``trajecten web``
(the backoffice without the embedded scheduler). Every process runs in its own session (process group)
with its log in ``<map>/logs/<naam>.log``; the pids are in ``<map>/pids/<naam>.pid`` and, with start
time, port and command, in ``<map>/cluster.json``. ``stop`` stops them draining: the workers first (SIGTERM
to the worker only, which then takes no new runs and waits for the ones it runs; after ``wachttijd``
SIGKILL to its process group and to the flow runs it started), then the web, then the server.

Production runs the same processes under systemd instead (``deploy/``, docs/deploy.md). The approach -
own process groups, a temporary ``PREFECT_HOME``, the environment of each process - is the one of
``tests/test_prefect_integration.py``.

This module orchestrates: ``start``, ``status`` and ``stop``, and the Prefect server's REST API they read.
The parts live next door: ``cluster_omgeving`` (URLs, databases, environments; the pure parts are tested
without starting anything) and ``cluster_processen`` (the cluster file, starting and stopping process trees).
The CLI (``trajecten/cli/_cluster.py``) is a thin layer over ``start``, ``status`` and ``stop``; the names the CLI and
the tests use are importable from here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from trajecten.beheer.cluster_omgeving import (
    ClusterFout, _url_host, api_url, basis_env, engine_url, prefect_url, server_env, ui_api_url,
    WORKER_ENV, verberg, verbind_host, zorg_voor_database)
from trajecten.beheer.cluster_processen import (
    STAAT, Gestopt, Proces, Staat, _start, flow_runs, leeft, stop_processen,
    tijdstempel)

POOL = "trajecten"
REPO = Path(__file__).resolve().parents[2]  # the checkout with prefect.yaml (TRAJECTEN_HOME of the workers)
WORKER_WACHTTIJD_S = 300.0  # longer than a sweep's budget (budget_s 240 in prefect.yaml); = TimeoutStopSec in deploy/
OVERIG_WACHTTIJD_S = 30.0  # web and server have no runs to finish
LIMIET = 4  # flow runs per worker at once: the sweep deployment's concurrency_limit


# --------------------------------------------------------------------------- start, status, stop


def _prefect() -> list[str]:
    exe = Path(sys.executable).parent / "prefect"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]


def _trajecten() -> list[str]:
    exe = Path(sys.executable).parent / "trajecten"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "trajecten.cli"]


def poort_vrij(host: str, poort: int) -> bool:
    try:
        info = socket.getaddrinfo(host or None, poort, socket.AF_UNSPEC, socket.SOCK_STREAM)[0]
        with socket.socket(info[0], info[1]) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(info[4])
        return True
    except OSError:
        return False


def _staart(pad: str | Path, regels: int = 30) -> str:
    try:
        return "\n".join(Path(pad).read_text(errors="replace").splitlines()[-regels:])
    except OSError:
        return "(geen log)"


@dataclass
class Instellingen:
    database_url: str
    prefect_database_url: Optional[str] = None
    workers: int = 2
    poort: int = 4200
    web_poort: int = 8000
    host: str = "127.0.0.1"
    publieke_url: Optional[str] = None
    map: Path = Path(".cluster")
    limiet: int = LIMIET  # flow runs per worker at once
    repo: Path = REPO
    timeout_s: float = 120.0


def _wacht(wat: str, klaar: Callable[[], bool], procs: list[Proces], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not leeft(p):
                raise ClusterFout(f"{p.naam} is gestopt tijdens het starten; laatste regels van {p.log}:\n{_staart(p.log)}")
        try:
            if klaar():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.log}\n{_staart(p.log, 15)}" for p in procs)
    raise ClusterFout(f"{wat}: niet klaar na {timeout:.0f} s\n{logs}")


def _toon(args: list[str]) -> str:
    """A command as the operator would type it (``prefect ...``, not the virtualenv's path)."""
    if args[: len(_prefect())] == _prefect():
        return " ".join(["prefect"] + args[len(_prefect()):])
    return " ".join(["python"] + args[1:])


def _run(args: list[str], env: dict, cwd: Path, log: Path, timeout: float) -> str:
    with open(log, "ab") as f:
        f.write(f"\n--- {tijdstempel()} {' '.join(args)}\n".encode())
    try:
        cp = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ClusterFout(f"`{_toon(args)}`: niet klaar na {timeout:.0f} s (log: {log})") from None
    with open(log, "a") as f:
        f.write(cp.stdout + cp.stderr)
    if cp.returncode != 0:
        raise ClusterFout(f"`{_toon(args)}` mislukte (exit {cp.returncode}); log: {log}\n"
                          + "\n".join((cp.stdout + cp.stderr).splitlines()[-20:]))
    return cp.stdout


def workers_in_pool(api: str) -> list[dict]:
    import httpx

    r = httpx.post(f"{api}/work_pools/{POOL}/workers/filter", json={}, timeout=5)
    r.raise_for_status()
    return r.json()


def _online(api: str, namen: list[str]) -> bool:
    status = {w["name"]: str(w.get("status", "")).upper() for w in workers_in_pool(api)}
    return all(status.get(n) == "ONLINE" for n in namen)


def _http_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=3).status_code == 200


def web_gereed(web_url: str) -> bool:
    """The backoffice answers ``GET /ready`` with 200: database reachable, schema at the newest migration."""
    import httpx

    return httpx.get(f"{web_url}/ready", timeout=3).status_code == 200


def worker_standaard() -> dict[str, str]:
    """What every worker needs for crash recovery (``WORKER_ENV``: flow-run heartbeats,
    docs/deploy-herstel.md); the caller's values win."""
    return dict(WORKER_ENV)


def worker_args(naam: str, limiet: int, repo: Path = REPO) -> list[str]:
    """A draining process worker (``python -m flows.worker``, docs/deploy-herstel.md): on SIGTERM it takes no
    new flow runs and exits when the ones it runs have finished. (Prefect 3.8.8's own ``prefect worker
    start`` cancels its runs on SIGTERM; it is only the fallback for a checkout without flows/worker.py.)"""
    if (repo / "flows" / "worker.py").exists():
        return [sys.executable, "-m", "flows.worker", "--pool", POOL, "--name", naam, "--limit", str(limiet)]
    return _prefect() + ["worker", "start", "--pool", POOL, "--name", naam, "--limit", str(limiet)]


def start(inst: Instellingen, meld: Callable[[str], None] = lambda s: None) -> Staat:
    """Start the whole stack (see the module docstring). On a failure everything started is stopped again
    and ``ClusterFout`` says what failed, with the end of its log."""
    import httpx

    if not 1 <= inst.workers <= 16:
        raise ClusterFout("--workers: 1 tot en met 16")
    engine = engine_url(inst.database_url)
    prefect_db = prefect_url(engine, inst.prefect_database_url)
    repo = Path(inst.repo).resolve()
    if not (repo / "prefect.yaml").exists():
        raise ClusterFout(f"{repo}: geen prefect.yaml; start het cluster vanuit een checkout van dit project")
    map_ = Path(inst.map).resolve()
    if (map_ / STAAT).exists():
        oud = Staat.lees(map_)
        levend = [p.naam for p in oud.processen if leeft(p)]
        if levend:
            raise ClusterFout(f"in {map_} draait al een cluster ({', '.join(levend)}): eerst `trajecten cluster stop"
                              f" --map {inst.map}`")
    for naam, poort in (("--poort", inst.poort), ("--web-poort", inst.web_poort)):
        if not poort_vrij(inst.host, poort):
            raise ClusterFout(f"{naam}: poort {poort} op {inst.host} is bezet")
    if inst.poort == inst.web_poort:
        raise ClusterFout("--poort en --web-poort moeten verschillen")
    logs, home = map_ / "logs", map_ / "prefect"
    for d in (map_, logs, home):
        d.mkdir(parents=True, exist_ok=True)
    if not (map_ / ".gitignore").exists():  # logs and pids never end up in a commit
        (map_ / ".gitignore").write_text("*\n")

    api = api_url(inst.host, inst.poort)
    ui_api = ui_api_url(inst.host, inst.poort, inst.publieke_url)
    web_url = f"http://{_url_host(verbind_host(inst.host))}:{inst.web_poort}"
    staat = Staat(map=str(map_), repo=str(repo), api_url=api, ui_url=ui_api[: -len("/api")], ui_api_url=ui_api,
                  web_url=web_url, engine_database=verberg(engine), prefect_database=verberg(prefect_db),
                  workers=inst.workers, gestart_op=tijdstempel())

    # 1. databases; the engine schema migrated once here (the explicit step of docs/deploy.md)
    if zorg_voor_database(engine):
        meld(f"engine-database aangemaakt: {verberg(engine)}")
    from trajecten.opslag.migreren import migreer

    import sqlalchemy as sa

    try:
        voor, na = migreer(engine)
    except sa.exc.DBAPIError as exc:  # one line, never the URL with its password
        raise ClusterFout(f"engine-database {verberg(engine)}: {str(exc.orig).strip().splitlines()[0]}") from None
    meld(f"engine-schema: revisie {', '.join(na)}" + (f" (was {', '.join(voor) or 'leeg'})" if voor != na else ""))
    if zorg_voor_database(prefect_db, ("pg_trgm",)):
        meld(f"Prefect-database aangemaakt (met pg_trgm): {verberg(prefect_db)}")

    basis = basis_env(dict(os.environ), prefect_home=home, api=api, engine=engine, repo=repo)
    try:
        # 2. the Prefect server
        srv = _start("server", "server", _prefect() + ["server", "start", "--host", inst.host, "--port", str(inst.poort)],
                     server_env(basis, host=inst.host, poort=inst.poort, prefect_db=prefect_db, ui_api=ui_api),
                     repo, logs, inst.poort)
        staat.processen.append(srv)
        staat.schrijf()
        meld(f"Prefect-server gestart (pid {srv.pid}), wacht op {api}/health ...")
        _wacht("Prefect-server", lambda: _http_ok(f"{api}/health"), [srv], inst.timeout_s)
        meld(f"Prefect-server klaar: UI {staat.ui_url} (de UI praat met {ui_api})")

        # 3. work pool and deployments
        if httpx.get(f"{api}/work_pools/{POOL}", timeout=5).status_code == 404:
            _run(_prefect() + ["work-pool", "create", POOL, "--type", "process"], basis, repo, logs / "deploy.log", 120)
            meld(f"work pool {POOL} (process) aangemaakt")
        _run(_prefect() + ["--no-prompt", "deploy", "--all"], basis, repo, logs / "deploy.log", 300)
        namen = [d["naam"] for d in deployments(api)[0]]
        meld(f"prefect.yaml gedeployd: {len(namen)} deployments ({', '.join(namen)})")
        _run([sys.executable, "-m", "flows.automatiseringen", "herstel"], basis, repo, logs / "deploy.log", 120)
        meld("herstelautomatisering op de server: een flow run zonder hartslag wordt Crashed (docs/deploy-herstel.md)")

        # 4. workers
        werkers = []
        for i in range(1, inst.workers + 1):
            args = worker_args(f"worker-{i}", inst.limiet, repo)
            w = _start(f"worker-{i}", "worker", args, {**worker_standaard(), **basis}, repo, logs)
            werkers.append(w)
            staat.processen.append(w)
        staat.schrijf()
        meld(f"{inst.workers} worker(s) gestart, wacht tot ze ONLINE zijn in pool {POOL} ...")
        _wacht("workers", lambda: _online(api, [w.naam for w in werkers]), werkers, inst.timeout_s)

        # 5. the backoffice without the embedded scheduler
        web = _start("web", "web", _trajecten() + ["web", "--host", inst.host, "--port", str(inst.web_poort)],
                     basis, repo, logs, inst.web_poort)
        staat.processen.append(web)
        staat.schrijf()
        _wacht("web", lambda: web_gereed(web_url), [web], inst.timeout_s)
        meld(f"web klaar: {web_url}")
    except BaseException:
        stop_processen([p for p in staat.processen if p.rol == "worker"], wachttijd=10, groep=False)
        stop_processen([p for p in staat.processen if p.rol != "worker"], wachttijd=10, groep=True)
        staat.gestopt_op = tijdstempel()
        staat.schrijf()
        raise
    staat.schrijf()
    return staat


def _post(api: str, pad: str, body: dict) -> list[dict]:
    import httpx

    r = httpx.post(f"{api}{pad}", json=body, timeout=5)
    r.raise_for_status()
    return r.json()


def deployments(api: str) -> tuple[list[dict], dict[str, str]]:
    """The deployments (full name, pool, active schedules), and deployment id -> full name."""
    flows = {f["id"]: f["name"] for f in _post(api, "/flows/filter", {"limit": 200})}
    deps = _post(api, "/deployments/filter", {"limit": 200})
    naam = {d["id"]: f"{flows.get(d['flow_id'], '?')}/{d['name']}" for d in deps}
    return sorted(({
        "naam": naam[d["id"]], "pool": d.get("work_pool_name"), "gepauzeerd": bool(d.get("paused")),
        "schema": ", ".join(s["schedule"].get("cron") or str(s["schedule"]) for s in d.get("schedules", [])
                            if s.get("active", True)),
    } for d in deps), key=lambda d: d["naam"]), naam


def prefect_overzicht(api: str, runs: int = 10) -> dict:
    """Deployments (with schedules), the workers of the pool and the recent and next flow runs, from the
    server's REST API."""
    deps, naam = deployments(api)

    def run(r: dict) -> dict:
        return {"naam": r["name"], "deployment": naam.get(r.get("deployment_id"), "-"),
                "toestand": (r.get("state") or {}).get("name") or r.get("state_name"),
                "gepland": r.get("expected_start_time"), "start": r.get("start_time"), "eind": r.get("end_time"),
                "seconden": r.get("total_run_time")}

    recent = _post(api, "/flow_runs/filter", {"limit": runs, "sort": "EXPECTED_START_TIME_DESC",
                                               "flow_runs": {"state": {"type": {"not_any_": ["SCHEDULED"]}}}})
    volgende = _post(api, "/flow_runs/filter", {"limit": 5, "sort": "EXPECTED_START_TIME_ASC",
                                                 "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
    try:
        workers = [{"naam": w["name"], "status": w.get("status"), "hartslag": w.get("last_heartbeat_time")}
                   for w in workers_in_pool(api)]
    except Exception:  # noqa: BLE001 - no pool yet
        workers = []
    return {"deployments": deps, "workers": workers, "recent": [run(r) for r in recent],
            "volgende": [run(r) for r in volgende]}


def status(map_: Path, runs: int = 10) -> dict:
    """Each recorded process (alive or not, pid, port, log), the server's and the web's answer, and what the
    Prefect server knows (deployments, workers, runs) when it answers."""
    staat = Staat.lees(map_)
    procs = [{"naam": p.naam, "rol": p.rol, "pid": p.pid, "leeft": leeft(p), "poort": p.poort, "log": p.log,
              "flow_runs": flow_runs(p.pid) if p.rol == "worker" and leeft(p) else 0}
             for p in staat.processen]
    out = {"map": staat.map, "gestart_op": staat.gestart_op, "gestopt_op": staat.gestopt_op, "api_url": staat.api_url,
           "ui_url": staat.ui_url, "ui_api_url": staat.ui_api_url, "web_url": staat.web_url,
           "engine_database": staat.engine_database, "prefect_database": staat.prefect_database,
           "processen": procs, "server_gezond": False, "web_gezond": False, "prefect": None, "prefect_fout": None}
    try:
        out["server_gezond"] = _http_ok(f"{staat.api_url}/health")
    except Exception:  # noqa: BLE001
        pass
    try:
        out["web_gezond"] = web_gereed(staat.web_url)
    except Exception:  # noqa: BLE001
        pass
    if out["server_gezond"]:
        try:
            out["prefect"] = prefect_overzicht(staat.api_url, runs=runs)
        except Exception as exc:  # noqa: BLE001
            out["prefect_fout"] = f"{type(exc).__name__}: {exc}"
    return out




def stop(map_: Path, *, wachttijd: float = WORKER_WACHTTIJD_S,
         meld: Callable[[str], None] = lambda s: None) -> list[Gestopt]:
    """Stop draining: the workers (SIGTERM to the worker, which finishes its runs; SIGKILL after
    ``wachttijd``), then the web, then the server. Returns how each process stopped."""
    staat = Staat.lees(map_)
    rol = lambda r: [p for p in staat.processen if p.rol == r]  # noqa: E731
    uit: list[Gestopt] = []
    werkers = [p for p in rol("worker") if leeft(p)]
    if werkers:
        bezig = sum(flow_runs(p.pid) for p in werkers)
        meld(f"workers stoppen (SIGTERM; lopende flow runs: {bezig}; hoogstens {wachttijd:.0f} s, dan SIGKILL) ...")
    uit += stop_processen(rol("worker"), wachttijd=wachttijd, groep=False)
    uit += stop_processen(rol("web"), wachttijd=OVERIG_WACHTTIJD_S, groep=True)
    uit += stop_processen(rol("server"), wachttijd=OVERIG_WACHTTIJD_S, groep=True)
    staat.gestopt_op = tijdstempel()
    staat.schrijf()
    for p in staat.processen:
        (Path(staat.map) / "pids" / f"{p.naam}.pid").unlink(missing_ok=True)
    return uit
