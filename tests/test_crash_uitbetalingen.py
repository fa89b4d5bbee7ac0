"""Crash test: the payout path is killed (SIGKILL) at random points, many times; afterwards no payout
exists twice, none is lost, every exported payout is in exactly one batch whose file matches it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from trajecten.bsn import synthetisch
from trajecten.models import Betaalbatch, Gebeurtenis, GeplandeStap, Uitbetaling

from .conftest import open_engine, reset_pg

WORKER = Path(__file__).with_name("_crash_worker.py")
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
ROOT = Path(__file__).resolve().parent.parent
PER_RUN = 8


def _add_work(eng, rng, n):
    """``n`` new Premie op Werk trajectories whose part 1 is due: work for the next run to be killed in."""
    for _ in range(n):
        cid = eng.add_client(synthetisch(rng), naam="Test Persoon", geboortedatum=date(1985, 3, 1),
                             bijstand_sinds=date(2020, 1, 1), coach="coach.a", iban="NL91ABNA0417164300")
        eng.start("premie_op_werk", cid, {"werk_start": "2026-01-05", "uren_per_week": "20", "contract_maanden": 12},
                  actor="coach.a")


def _run_worker(url, tmp_path, kill_after: float | None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(WORKER), url, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    if kill_after is None:
        out, errs = proc.communicate(timeout=120)
        assert proc.returncode == 0, errs
        return True
    time.sleep(kill_after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode == -signal.SIGKILL


def _crash_many(url, clock, tmp_path, kills: int):
    eng = open_engine(url, clock)
    rng = random.Random(7)
    _add_work(eng, rng, 60)
    killed = 0
    for _ in range(kills):
        _add_work(eng, rng, PER_RUN)  # every run has proposals, approvals and an export to be killed in
        killed += _run_worker(url, tmp_path, kill_after=rng.uniform(0.0, 0.3))
    _run_worker(url, tmp_path, kill_after=None)  # a last, clean run finishes what is left
    assert killed >= kills // 2, f"only {killed} of {kills} runs were killed mid-work"
    expected = 60 + PER_RUN * kills

    U, B, E, S = Uitbetaling.__table__, Betaalbatch.__table__, Gebeurtenis.__table__, GeplandeStap.__table__
    with eng.db.connect() as conn:
        payouts = conn.execute(sa.select(U)).all()
        batches = conn.execute(sa.select(B)).all()
        proposed_events = conn.execute(sa.select(sa.func.count()).select_from(E).where(
            E.c.type == "uitbetaling_voorgesteld")).scalar()
        exported_events = conn.execute(sa.select(E.c.payload).where(E.c.type == "uitbetaling_geexporteerd")).all()
        fired = conn.execute(sa.select(sa.func.count()).select_from(S).where(
            S.c.stap == "premie_deel_1", S.c.status == "uitgevoerd")).scalar()
    keys = [(p.traject_id, p.deel) for p in payouts]
    assert len(keys) == len(set(keys)) == expected, "a payout exists twice or is lost"
    assert fired == expected and proposed_events == expected, "a payout step fired twice or not at all"
    assert {p.status for p in payouts} == {"geexporteerd"}
    assert len(exported_events) == expected
    by_batch = {}
    for p in payouts:
        by_batch.setdefault(p.batch_id, []).append(p)
    assert set(by_batch) == {b.id for b in batches}
    for b in batches:
        mine = by_batch[b.id]
        assert b.aantal == len(mine) and b.totaal == sum(p.bedrag for p in mine)
        doc = ET.fromstring(b.xml.encode())
        ids = sorted(e.text for e in doc.iterfind(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", NS))
        assert ids == sorted(p.sleutel.replace("/", "-") for p in mine), "batch file and batch rows differ"
    eng.db.dispose()


def test_payouts_survive_50_kills_sqlite(sqlite_url, clock, tmp_path):
    _crash_many(sqlite_url, clock, tmp_path, kills=50)


@pytest.mark.postgres
def test_payouts_survive_20_kills_postgres(pg_url, clock, tmp_path):
    reset_pg(pg_url)
    _crash_many(pg_url, clock, tmp_path, kills=20)
