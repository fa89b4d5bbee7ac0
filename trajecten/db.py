"""Database access: engine creation (SQLite or PostgreSQL) and schema migrations (Alembic)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value) -> str:
    """JSON for the JSON columns (orjson: the event log writes thousands of payloads per batch)."""
    return orjson.dumps(value, default=_json_default).decode()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout and explicit BEGIN IMMEDIATE writes."""
    kwargs.setdefault("json_serializer", dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MiB page cache (default 2 MiB): the sweep's index pages stay in memory at 100k+ steps
            cur.execute("PRAGMA cache_size=-65536")
            # checkpoint the WAL into the database every ~40 MB instead of every 4 MB: a sweep batch rewrites
            # the same index pages, and fewer, larger checkpoints write each of them once
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # One writer at a time: a transaction takes the write lock at its start, so two sweeps never
            # interleave a read-then-write (SQLite's equivalent of SKIP LOCKED is waiting). Pure reads
            # go through ``reader(engine)`` and do not take it (WAL lets them read during a write).
            if conn.get_execution_options().get("sqlite_deferred"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # sessions in UTC: timestamps come back with datetime.timezone.utc, which needs no conversion
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("options", "-c timezone=UTC")
    return sa.create_engine(url, **kwargs)


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # several workers may start at once right after an upgrade: one migrates, the others wait
            # (the lock is held until this transaction commits); SQLite serialises via BEGIN IMMEDIATE
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(731002611)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def reader(engine: Engine) -> Engine:
    """The same database for reading only: on SQLite its transactions do not take the write lock."""
    return engine.execution_options(sqlite_deferred=True) if engine.dialect.name == "sqlite" else engine
