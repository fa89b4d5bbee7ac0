"""Database access: engine creation (SQLite or PostgreSQL) and schema migrations (Alembic)."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from contextlib import closing
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


CHECKPOINT_INTERVAL = 0.2  # seconds between looks at a SQLite database's write-ahead log


class _Checkpointer:
    """Copies a SQLite database's write-ahead log into the database file from a background thread, so a
    writer's COMMIT seldom has to (with ``wal_autocheckpoint`` the committing connection does it itself: a
    few hundred ms of writing and fsync in the middle of a sweep or a feed import). PASSIVE checkpoints
    never block readers or writers; the writers' own autocheckpoint stays as the backstop when this thread
    falls behind. The thread looks every ``CHECKPOINT_INTERVAL`` s, opens a connection only when the log
    changed, and ends when its engine is disposed or garbage-collected."""

    def __init__(self, engine: Engine):
        self._engine = weakref.ref(engine)
        self._path = Path(engine.url.database).resolve()
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                                name=f"wal-checkpoint:{self._path.name}")
                self._thread.start()

    def stop(self) -> None:
        """End the thread and wait for it: after ``dispose()`` no checkpoint of this engine runs (a copy of
        the database file made then is whole)."""
        with self._lock:
            stop, thread, self._stop, self._thread = self._stop, self._thread, None, None
        if stop is not None:
            stop.set()
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _run(self, stop: threading.Event) -> None:
        wal = self._path.with_name(self._path.name + "-wal")
        seen = None
        while not stop.wait(CHECKPOINT_INTERVAL) and self._engine() is not None:
            try:
                st = wal.stat()
            except OSError:
                continue
            if (st.st_mtime_ns, st.st_size) == seen:
                continue
            try:  # mode=rw: never creates a database where the file has gone
                with closing(sqlite3.connect(self._path.as_uri() + "?mode=rw", uri=True, timeout=0)) as conn:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                seen = (st.st_mtime_ns, st.st_size)
            except sqlite3.Error:
                seen = None  # busy or gone: try again at the next look


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
            # 8 KiB pages (PostgreSQL's size) for a new database file: bulk writes (a feed import, a sweep)
            # were faster than with 4 KiB in alternated runs; no effect on an existing database
            cur.execute("PRAGMA page_size=8192")
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

        if engine.url.database and engine.url.database != ":memory:":
            checkpointer = _Checkpointer(engine)
            event.listen(engine, "connect", lambda *_: checkpointer.start())
            event.listen(engine, "engine_disposed", lambda *_: checkpointer.stop())

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
    ping_na_rust = "pool_pre_ping" not in kwargs  # the default: ping a connection that rested a while
    kwargs.setdefault("pool_pre_ping", False)
    if url.startswith("postgresql"):
        # sessions in UTC: timestamps come back with datetime.timezone.utc, which needs no conversion
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("options", "-c timezone=UTC")
        # keep up to 20 connections open (default 5): the web server's threads (up to 40) share this
        # pool, and a connection beyond the kept ones is opened and closed per use (a new server
        # process each time: milliseconds, the tail of the API's latency under 50 users)
        kwargs.setdefault("pool_size", 20)
    engine = sa.create_engine(url, **kwargs)
    if ping_na_rust:
        _ping_na_rust(engine)
    return engine


PING_NA_S = 5.0


def _ping_na_rust(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for a connection that has been back in the pool for ``PING_NA_S``
    seconds or more: a server restart or a dropped idle connection is still caught before use (and the
    connection replaced), but a connection that was in use moments ago is not pinged again. The ping cost
    a round trip plus two autocommit switches on every checkout."""
    @event.listens_for(engine, "connect")
    def _nieuw(dbapi_conn, record):
        record.info["terug_op"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _terug(dbapi_conn, record):
        if dbapi_conn is not None:
            record.info["terug_op"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _uit(dbapi_conn, record, proxy):
        if time.monotonic() - record.info.get("terug_op", 0.0) < PING_NA_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:  # the pool drops it and checks out another
            raise sa.exc.DisconnectionError(f"verbinding verbroken: {exc}") from exc


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


def in_values(col, values, conn):
    """``col IN values`` for a statement run on ``conn``, with one bound parameter instead of one per value:
    compiling and sending thousands of placeholders cost more than the query (PostgreSQL: ``= ANY(array)``;
    SQLite: ``IN (SELECT value FROM json_each(?))``). Integer or text columns."""
    values = list(values)
    if len(values) <= 16:  # a request's few ids: SQLAlchemy's cached statement with a plain IN is cheaper
        return col.in_(values)
    # the values as one JSON text: orjson makes it in C, where the driver would convert a list value by value
    p = sa.bindparam(None, orjson.dumps(values).decode(), type_=sa.String)
    if conn.dialect.name == "postgresql":
        item = sa.func.json_array_elements_text(sa.cast(p, sa.JSON))
        if isinstance(col.type, sa.Integer):
            item = sa.cast(item, sa.Integer)
        return col == sa.any_(sa.func.array(sa.select(item).scalar_subquery()))
    return col.in_(sa.select(sa.literal_column("value")).select_from(sa.func.json_each(p)))
