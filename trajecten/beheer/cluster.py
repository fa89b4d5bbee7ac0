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

The CLI (``trajecten/cli.py``) is a thin layer over ``start``, ``status`` and ``stop``; the pure parts
(URLs, environments) are separate functions so they can be tested without starting anything.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

POOL = "trajecten"
REPO = Path(__file__).resolve().parents[2]  # the checkout with prefect.yaml (TRAJECTEN_HOME of the workers)
STAAT = "cluster.json"
WILDCARD = ("0.0.0.0", "::", "")
WORKER_WACHTTIJD_S = 300.0  # longer than a sweep's budget (budget_s 240 in prefect.yaml); = TimeoutStopSec in deploy/
OVERIG_WACHTTIJD_S = 30.0  # web and server have no runs to finish
LIMIET = 4  # flow runs per worker at once: the sweep deployment's concurrency_limit

# The Prefect settings the cluster decides itself; the caller's values are dropped (others pass through).
EIGEN_PREFECT = ("PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE", "PREFECT_API_URL", "PREFECT_API_KEY",
                 "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING",
                 "PREFECT_SERVER_UI_API_URL", "PREFECT_UI_API_URL", "PREFECT_SERVER_API_HOST", "PREFECT_SERVER_API_PORT",
                 "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED")
EIGEN_PREFIX = ("PREFECT_API_DATABASE_", "PREFECT_SERVER_DATABASE_")
# Defaults of the cluster's Prefect server, kept when the caller set them (docs/deploy.md, retention)
SERVER_STANDAARD = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": "2592000",  # 30 days
}


class ClusterFout(RuntimeError):
    """A refusal or a failure, with a message for the operator (Dutch)."""


# --------------------------------------------------------------------------- URLs (pure)


def _pg(url: str, optie: str):
    try:
        u = make_url(url)
    except ArgumentError:
        raise ClusterFout(f"{optie}: {url!r} is geen database-URL (postgresql+psycopg://gebruiker@host:5432/database)") from None
    if u.get_backend_name() != "postgresql":
        raise ClusterFout(f"{optie}: het cluster draait op PostgreSQL (postgresql+psycopg://gebruiker@host:5432/database), "
                          f"niet op {u.get_backend_name()}")
    if not u.database:
        raise ClusterFout(f"{optie}: de URL noemt geen database")
    return u


def _tekst(u, verberg: bool = False) -> str:
    return u.render_as_string(hide_password=verberg)


def engine_url(url: str) -> str:
    """The engine database as the engine wants it: ``postgresql+psycopg://`` (psycopg 3)."""
    return _tekst(_pg(url, "--database-url").set(drivername="postgresql+psycopg"))


def prefect_url(engine: str, prefect: Optional[str] = None) -> str:
    """Prefect's own database as its server wants it (``postgresql+asyncpg://``). Default: on the server of
    the engine database, named after it with ``_prefect`` (``trajecten`` -> ``trajecten_prefect``)."""
    e = _pg(engine, "--database-url")
    if prefect:
        u = _pg(prefect, "--prefect-database-url")
    else:
        u = e.set(database=f"{e.database}_prefect", query={})  # the query of one driver may not suit the other
    if (u.host, u.port, u.database) == (e.host, e.port, e.database):
        raise ClusterFout("--prefect-database-url: Prefect heeft een eigen database nodig, niet die van de engine")
    return _tekst(u.set(drivername="postgresql+asyncpg"))


def verberg(url: str) -> str:
    """A URL with its password as ``***`` (for output, logs and cluster.json)."""
    return _tekst(make_url(url), verberg=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def verbind_host(host: str) -> str:
    """Where a process on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in WILDCARD else host


def api_url(host: str, poort: int) -> str:
    """The Prefect API for the processes on this machine (workers, deploy, status)."""
    return f"http://{_url_host(verbind_host(host))}:{poort}/api"


def ui_api_url(host: str, poort: int, publieke_url: Optional[str] = None) -> str:
    """The API URL the Prefect UI (in the browser) talks to: ``PREFECT_SERVER_UI_API_URL``. Without it the UI
    asks ``http://127.0.0.1:4200/api``, which fails in a browser on another machine or with another port.
    ``publieke_url`` is the address a browser uses (behind a proxy: the proxy's); else the bound address,
    and for a server bound to every interface (0.0.0.0) this machine's name."""
    if publieke_url:
        basis = publieke_url.rstrip("/")
        if not basis.startswith(("http://", "https://")):
            raise ClusterFout(f"--publieke-url: {publieke_url!r} begint niet met http:// of https://")
        return basis if basis.endswith("/api") else basis + "/api"
    naam = machinenaam() if host in WILDCARD else host
    return f"http://{_url_host(naam)}:{poort}/api"


def machinenaam() -> str:
    """This machine's name as other machines know it: the fully qualified name, else the host name."""
    naam = socket.getfqdn()
    return socket.gethostname() if naam.startswith("localhost") else naam


# --------------------------------------------------------------------------- environments (pure)


def basis_env(omgeving: dict[str, str], *, prefect_home: Path, api: str, engine: str, repo: Path) -> dict[str, str]:
    """What every process of the cluster gets: the caller's environment without the Prefect settings the
    cluster decides, plus its own server, home, engine database and checkout."""
    env = {k: v for k, v in omgeving.items() if k not in EIGEN_PREFECT and not k.startswith(EIGEN_PREFIX)}
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_PROFILES_PATH": str(prefect_home / "profiles.toml"),
        "PREFECT_API_URL": api,
        "TRAJECTEN_DATABASE_URL": engine,
        "TRAJECTEN_HOME": str(repo),  # prefect.yaml's pull step: set_working_directory
        "PYTHONPATH": str(repo) + (os.pathsep + omgeving["PYTHONPATH"] if omgeving.get("PYTHONPATH") else ""),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def server_env(basis: dict[str, str], *, host: str, poort: int, prefect_db: str, ui_api: str) -> dict[str, str]:
    """The Prefect server: its database, its address, the UI's API URL, every service on (the scheduler
    creates the runs of prefect.yaml's schedules)."""
    env = {**SERVER_STANDAARD, **basis}
    env.update({
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(poort),
        "PREFECT_SERVER_UI_API_URL": ui_api,
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
    })
    return env


# --------------------------------------------------------------------------- processes


@dataclass
class Proces:
    naam: str  # server, worker-1, ..., web
    rol: str  # server, worker, web
    pid: int
    starttijd: Optional[int]  # /proc/<pid>/stat field 22: a reused pid is not mistaken for ours
    log: str
    poort: Optional[int] = None
    args: list[str] = field(default_factory=list)


@dataclass
class Staat:
    map: str
    repo: str
    api_url: str
    ui_url: str
    ui_api_url: str
    web_url: str
    engine_database: str  # password hidden
    prefect_database: str  # password hidden
    workers: int
    gestart_op: str
    gestopt_op: Optional[str] = None
    processen: list[Proces] = field(default_factory=list)

    @classmethod
    def lees(cls, map_: Path) -> "Staat":
        pad = Path(map_) / STAAT
        if not pad.exists():
            raise ClusterFout(f"geen cluster in {map_} ({STAAT} ontbreekt): start er een met `trajecten cluster start`")
        data = json.loads(pad.read_text())
        data["processen"] = [Proces(**p) for p in data.get("processen", [])]
        return cls(**data)

    def schrijf(self) -> None:
        pad = Path(self.map) / STAAT
        tmp = pad.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")
        tmp.replace(pad)
        pids = Path(self.map) / "pids"
        pids.mkdir(exist_ok=True)
        for p in self.processen:
            (pids / f"{p.naam}.pid").write_text(f"{p.pid}\n")


def _stat(pid: int) -> Optional[tuple[str, int, int, int]]:
    """(state, ppid, pgid, start time) from /proc, or None when the process is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[19])


def _heeft_proc() -> bool:
    return Path("/proc/self/stat").exists()


def pid_leeft(pid: int, starttijd: Optional[int] = None) -> bool:
    """Alive and not a zombie; with ``starttijd``, also the same process as the one recorded."""
    if not _heeft_proc():  # pragma: no cover - not Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X") and (starttijd is None or st[3] == starttijd)


def leeft(p: Proces) -> bool:
    return pid_leeft(p.pid, p.starttijd)


def _kinderen() -> dict[int, list[int]]:
    """Parent pid -> the pids of its living children, from one pass over /proc."""
    kinderen: dict[int, list[int]] = {}
    if not _heeft_proc():  # pragma: no cover
        return kinderen
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st is not None and st[0] not in ("Z", "X"):
                kinderen.setdefault(st[1], []).append(int(d.name))
    return kinderen


def nakomelingen(pid: int, kinderen: Optional[dict[int, list[int]]] = None) -> list[int]:
    """Every living descendant of ``pid`` (children, their children, ...). A Prefect process worker starts
    each flow run in a session of its own, so the worker's process group does not hold its flow runs."""
    kinderen = _kinderen() if kinderen is None else kinderen
    out, todo = [], [pid]
    while todo:
        for k in kinderen.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def _start(naam: str, rol: str, args: list[str], env: dict, cwd: Path, logs: Path, poort: Optional[int] = None) -> Proces:
    log = logs / f"{naam}.log"
    with open(log, "ab") as f:
        f.write(f"\n--- {datetime.now(timezone.utc).isoformat(timespec='seconds')} start: {' '.join(args)}\n".encode())
        f.flush()
        p = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True)
    st = _stat(p.pid)
    return Proces(naam, rol, p.pid, st[3] if st else None, str(log), poort, args)


def _signaal(pid: int, sig: int, groep: bool) -> None:
    try:
        if groep and os.getpgid(pid) != os.getpgrp():  # never our own group
            os.killpg(os.getpgid(pid), sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Gestopt:
    naam: str
    pid: int
    hoe: str  # "was al gestopt", "gestopt", "SIGKILL"
    seconden: float


def stop_processen(procs: list[Proces], *, wachttijd: float, groep: bool, sig: int = signal.SIGTERM,
                   nu: Callable[[], float] = time.monotonic) -> list[Gestopt]:
    """Stop ``procs`` together: ``sig`` to each (to its process group when ``groep``, else to the process
    only, so a worker can let its runs finish), wait until each and all its descendants are gone, at most
    ``wachttijd`` seconds, then SIGKILL to the process groups of whatever is left."""
    t0 = nu()
    volg: dict[str, set[int]] = {}
    uit: dict[str, Gestopt] = {}
    for p in procs:
        if not leeft(p):
            uit[p.naam] = Gestopt(p.naam, p.pid, "was al gestopt", 0.0)
            continue
        volg[p.naam] = {p.pid, *nakomelingen(p.pid)}
        _signaal(p.pid, sig, groep)

    def levend(naam: str) -> set[int]:
        pids = {q for q in volg[naam] if pid_leeft(q)}
        kaart = _kinderen()
        for q in list(pids):
            pids.update(nakomelingen(q, kaart))
        volg[naam] = pids
        return pids

    open_ = set(volg)
    while open_ and nu() - t0 < wachttijd:
        for naam in list(open_):
            if not levend(naam):
                open_.discard(naam)
                pid = next(p.pid for p in procs if p.naam == naam)
                uit[naam] = Gestopt(naam, pid, "gestopt", nu() - t0)
        if open_:
            time.sleep(0.2)
    for naam in open_:
        rest = levend(naam)
        for q in rest:
            _signaal(q, signal.SIGKILL, True)
            _signaal(q, signal.SIGKILL, False)
        pid = next(p.pid for p in procs if p.naam == naam)
        uit[naam] = Gestopt(naam, pid, "SIGKILL", nu() - t0)
    deadline = nu() + 10
    while any(levend(n) for n in open_) and nu() < deadline:
        time.sleep(0.1)
    return [uit[p.naam] for p in procs]


# --------------------------------------------------------------------------- databases


def _psycopg_conninfo(url: str, database: Optional[str] = None) -> str:
    u = make_url(url).set(drivername="postgresql", query={})
    if database:
        u = u.set(database=database)
    return _tekst(u)


def zorg_voor_database(url: str, extensies: tuple[str, ...] = ()) -> bool:
    """Create the database of ``url`` when it does not exist (connecting to ``postgres`` on the same server
    with the same role), then the ``extensies`` in it. True when it was created."""
    import psycopg
    from psycopg import sql

    u = make_url(url)
    try:
        with psycopg.connect(_psycopg_conninfo(url, "postgres"), autocommit=True, connect_timeout=5) as c:
            bestaat = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone() is not None
            if not bestaat:
                try:
                    c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))
                except psycopg.errors.DuplicateDatabase:  # created by someone else just now
                    bestaat = True
        if extensies:
            with psycopg.connect(_psycopg_conninfo(url), autocommit=True, connect_timeout=5) as c:
                for ext in extensies:
                    c.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
    except psycopg.OperationalError as exc:
        raise ClusterFout(f"PostgreSQL op {u.host or 'localhost'}:{u.port or 5432} als {u.username}: "
                          f"{str(exc).strip().splitlines()[0]}") from None
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ClusterFout(f"database {u.database}: onvoldoende rechten ({str(exc).strip().splitlines()[0]}); "
                          f"maak haar (en voor Prefect de extensie pg_trgm) aan als beheerder") from None
    return not bestaat


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
        f.write(f"\n--- {datetime.now(timezone.utc).isoformat(timespec='seconds')} {' '.join(args)}\n".encode())
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
    """What every worker needs for crash recovery (``flows.automatiseringen.WORKER_ENV``: flow-run
    heartbeats, docs/deploy-herstel.md); the caller's values win. (That module imports no Prefect.)"""
    from flows.automatiseringen import WORKER_ENV

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
                  workers=inst.workers, gestart_op=datetime.now(timezone.utc).isoformat(timespec="seconds"))

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
        staat.gestopt_op = datetime.now(timezone.utc).isoformat(timespec="seconds")
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


def flow_runs(worker_pid: int) -> int:
    """The flow runs a process worker runs now: its children that run Prefect's flow-run supervisor or engine."""
    def is_flow_run(pid: int) -> bool:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return any(c.startswith(b"prefect.runner") or c == b"prefect.engine" for c in cmd)

    return sum(1 for q in _kinderen().get(worker_pid, []) if is_flow_run(q))


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
    staat.gestopt_op = datetime.now(timezone.utc).isoformat(timespec="seconds")
    staat.schrijf()
    for p in staat.processen:
        (Path(staat.map) / "pids" / f"{p.naam}.pid").unlink(missing_ok=True)
    return uit
