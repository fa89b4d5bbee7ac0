"""Database faults: the database goes away in the middle of a sweep batch.

PostgreSQL (the shared server is never stopped): the engine talks to it through a TCP proxy in this
test; a rule hook cuts the proxy while the batch is being fired (after the claim, before the commit).
SQLite: the same hook closes the sweep's database connection and moves the database file's folder away
(the file is unavailable), then puts it back.

Each time: the sweep job raises the database error (what the embedded scheduler logs and a Prefect flow
retries: ``flows/_common.transient_db_error``), nothing of the batch is committed (the database is
exactly as before), a sweep while the database is still away fails the same way and changes nothing,
and once it is back the next sweep fires every due step once, with its payout, losing nothing.
"""

from __future__ import annotations

import random
import shutil
import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from tests.reliability.harness import START, add_caseload, check_invariants, open_engine, snapshot
from trajecten.taken import jobs
from trajecten.basis.config import load_settings
from trajecten.kern.engine import Engine
from trajecten.kern.regelhaak import RegelsHook
from trajecten.basis.tijd import FixedClock

N = 12  # Premie op Werk trajectories, each with part 1 (a payout step that asks the rules) due


class CuttingHook:
    """The real rules, but the ``after``-th decision while armed first calls ``cut`` (the fault)."""

    def __init__(self, cut, after: int = 4):
        self.inner, self.cut, self.after = RegelsHook(), cut, after
        self.armed, self.calls, self.fired = False, 0, False

    def known(self, regel):
        return self.inner.known(regel)

    def decide(self, regel, feiten, peildatum):
        if self.armed:
            self.calls += 1
            if self.calls == self.after and not self.fired:
                self.fired = True
                self.cut()
        return self.inner.decide(regel, feiten, peildatum)


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target, self.up, self.conns, self.lock = target, True, [], threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.server.close()


def _scenario(url_engine: str, snap, hook: CuttingHook, cut_again, restore, on_open=lambda eng: None):
    """The common story. ``url_engine``: the engine's (breakable) way to the database; ``snap()``: a
    snapshot of the database as it is, read around the fault."""
    now = START + timedelta(hours=1)
    eng = Engine.open(url_engine, clock=FixedClock(now), rules=hook,
                      settings=load_settings(database_url=url_engine, batch_size=N))
    on_open(eng)
    try:
        add_caseload(eng, random.Random(1), N, ("premie_op_werk",))
        before = snap()
        hook.armed = True

        with pytest.raises(DBAPIError) as fault:  # the fault comes out of the job, it is not swallowed
            jobs.sweep(eng)
        assert hook.fired, "the fault was not injected mid-batch"
        assert fault.value.connection_invalidated or isinstance(fault.value, sa.exc.OperationalError), fault.value
        assert snap() == before, "part of the broken batch was committed"

        cut_again()  # still away: the next scheduled run fails the same way and changes nothing
        with pytest.raises(sa.exc.OperationalError):
            jobs.sweep(eng)
        restore()
        assert snap() == before

        res = jobs.sweep(eng)  # the database is back: the next run resumes
        assert (res["uitgevoerd"], res["mislukt"], res["incidenten"]) == (N, 0, 0), res
        assert res["betalingen_voorgesteld"] == N
        assert snap()["uitbetaling"][0] == N
        assert {k: v for k, v in check_invariants(eng, now, notifications=False).items() if v} == {}
        assert jobs.sweep(eng)["uitgevoerd"] == 0  # and nothing fires a second time
    finally:
        eng.db.dispose()


@pytest.mark.postgres
def test_postgres_connection_cut_mid_batch_rolls_back_and_resumes(pg_url):
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    open_engine(pg_url, START)[0].db.dispose()  # schema and definitions, over the direct connection
    proxy = Proxy()
    via_proxy = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert via_proxy != pg_url
    direct = sa.create_engine(pg_url)
    try:
        _scenario(via_proxy, lambda: snapshot(direct), CuttingHook(proxy.cut), proxy.cut, proxy.restore)
    finally:
        proxy.close()
        direct.dispose()


def test_sqlite_file_unavailable_mid_batch_rolls_back_and_resumes(tmp_path):
    folder, away = tmp_path / "db", tmp_path / "weg"
    folder.mkdir()
    checked_out = []

    def cut():
        if checked_out:
            checked_out[-1].close()  # the sweep's own connection, mid-transaction
        if folder.exists():
            shutil.move(folder, away)  # and the file is gone

    def restore():
        shutil.move(away, folder)

    def snap():  # wherever the file is now, through a connection of its own
        where = folder if folder.exists() else away
        db = sa.create_engine(f"sqlite:///{where / 'engine.db'}")
        try:
            return snapshot(db)
        finally:
            db.dispose()

    def track(eng):
        event.listen(eng.db, "checkout", lambda dbapi_conn, rec, prx: checked_out.append(dbapi_conn))

    _scenario(f"sqlite:///{folder / 'engine.db'}", snap, CuttingHook(cut), cut, restore, on_open=track)
