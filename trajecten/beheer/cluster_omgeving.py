"""Where the cluster (``trajecten.beheer.cluster``) runs: its URLs, its databases and the environments of its
processes.

The URLs and environments are pure functions, tested without starting anything; ``zorg_voor_database``
creates a missing database on the PostgreSQL server. ``ClusterFout`` is the refusal or failure every part
of the cluster raises, with a message for the operator (Dutch).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

WILDCARD = ("0.0.0.0", "::", "")

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
#: Seconds between flow-run heartbeats (``prefect.flow-run.heartbeat`` events). Prefect 3.8 sends none
#: unless ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is set, and never more often than every 30 s.
HEARTBEAT_S = 30
#: Environment every worker needs for crash recovery (the flow-run processes inherit it;
#: ``flows/automatiseringen.py`` turns a run whose heartbeats stopped Crashed).
WORKER_ENV = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_S)}


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
