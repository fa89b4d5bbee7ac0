"""Shared fixtures: a real SQLite file and the real PostgreSQL at 127.0.0.1:5432.

PostgreSQL tests get their own database (created for the session, dropped after); when the server is
unreachable they are skipped with a message saying so. Set TRAJECTEN_TEST_PG_DSN to use another server.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest

from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.basis.tijd import TZ, FixedClock

pytest_plugins = ["tests.privacy"]  # the session-wide BSN scan of logs, mails, URLs, exceptions, artifacts

PG_DSN = os.environ.get("TRAJECTEN_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_DSN + " dbname=postgres", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, as a SQLAlchemy URL."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}: {exc}); PostgreSQL tests skipped")
    name = f"trajecten_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    parts = dict(p.split("=", 1) for p in PG_DSN.split())
    url = (f"postgresql+psycopg://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:"
           f"{parts.get('port', '5432')}/{name}")
    yield url
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def reset_pg(url: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """Each test that uses it runs twice: on a real SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'engine.db'}"
    url = request.getfixturevalue("pg_url")
    reset_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'engine.db'}"


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=TZ))  # a Monday


def open_engine(url: str, clock, **kwargs) -> Engine:
    return Engine.open(url, clock=clock, settings=load_settings(database_url=url), **kwargs)


@pytest.fixture
def engine(db_url, clock):
    eng = open_engine(db_url, clock)
    yield eng
    eng.db.dispose()
