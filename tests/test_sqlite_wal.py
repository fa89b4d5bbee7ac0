"""SQLite's write-ahead log is copied into the database file by a background thread, not by the
committing writer (a sweep or a feed import would otherwise stop for the checkpoint's writes and fsync)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from trajecten.opslag import db


def _write_and_watch(tmp_path, monkeypatch, interval: float) -> bool:
    monkeypatch.setattr(db, "CHECKPOINT_INTERVAL", interval)
    path = tmp_path / "wal.db"
    eng = db.make_engine(f"sqlite:///{path}")
    try:
        with eng.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, tekst TEXT)")
        time.sleep(0.5)
        before = path.stat().st_mtime_ns, path.stat().st_size
        with eng.begin() as conn:  # far below wal_autocheckpoint: the writer never checkpoints this itself
            conn.exec_driver_sql("INSERT INTO t (tekst) VALUES (?)", [("x" * 200,) for _ in range(2000)])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if (path.stat().st_mtime_ns, path.stat().st_size) != before:
                return True
            time.sleep(0.05)
        return False
    finally:
        eng.dispose()


def test_background_thread_moves_committed_pages_into_the_database_file(tmp_path, monkeypatch):
    assert _write_and_watch(tmp_path, monkeypatch, interval=0.1)


def test_without_the_thread_the_database_file_is_not_written_by_a_small_commit(tmp_path, monkeypatch):
    # the control: the main file changes above only because of the background checkpoint
    assert not _write_and_watch(tmp_path, monkeypatch, interval=3600)


def test_checkpoint_thread_ends_when_the_engine_is_disposed(tmp_path):
    import threading

    eng = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    name = "wal-checkpoint:x.db"
    assert any(t.name == name for t in threading.enumerate())
    eng.dispose()
    deadline = time.monotonic() + 3
    while any(t.name == name for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == name for t in threading.enumerate())


def test_dispose_returns_only_once_the_checkpoint_thread_has_ended(tmp_path):
    """A copy of the file made right after ``dispose()`` (bench/sweep.py's template) meets no checkpoint."""
    import threading

    eng = db.make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with eng.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    threads = [t for t in threading.enumerate() if t.name == "wal-checkpoint:y.db"]
    assert len(threads) == 1
    eng.dispose()
    assert not threads[0].is_alive()
