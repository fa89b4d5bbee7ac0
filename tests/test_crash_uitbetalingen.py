"""Crash test: the payout path is killed (SIGKILL) at random points, many times; afterwards no payout
exists twice, none is lost, every exported payout is in exactly one batch whose file matches it.

The runs and the checks are the reliability harness's (``tests/reliability/harness.py``, mix
``uitbetalingen``: sweep proposing payouts, four-eyes approval, SEPA export); this file adds the
payout-specific expectations. The general mix (all instruments, notifications) is in
``tests/reliability/test_crash.py``; the 100-kill runs are ``python -m bench.reliability crash``.
"""

from __future__ import annotations

import pytest

from tests.reliability.harness import crash_campaign

from .conftest import reset_pg

INITIAL, PER_RUN = 60, 8


def _crash_many(url, tmp_path, kills: int):
    r = crash_campaign(url, tmp_path, kills, mix="uitbetalingen", initial=INITIAL, per_run=PER_RUN)
    assert r.kills >= kills // 2, f"only {r.kills} of {kills} runs were killed mid-work"
    expected = INITIAL + PER_RUN * kills  # one Premie op Werk trajectory each, part 1 due at once
    assert r.trajecten == expected
    assert {k: v for k, v in r.violations.items() if v} == {}
    assert r.payouts == expected, "a payout is lost"
    assert r.payouts_exported == expected, "an approved payout was not exported"
    assert r.batches >= 1


def test_payouts_survive_20_kills_sqlite(sqlite_url, tmp_path):
    _crash_many(sqlite_url, tmp_path, kills=20)


@pytest.mark.postgres
def test_payouts_survive_10_kills_postgres(pg_url, tmp_path):
    reset_pg(pg_url)
    _crash_many(pg_url, tmp_path, kills=10)
