"""Crash safety: the scheduled work (sweep of all four instruments, the notification outbox and its
mail job, payout approval and SEPA export) runs in a child process that is killed with SIGKILL at a
random moment, 15 times per backend, while the clock moves on two days per run and coaches complete
tasks in between. After a last clean run: no step fired twice, no payout twice, no due step left
unfired, every fired step's event log and products consistent with it, every notification collected
once and sent. The 100-kill version is ``python -m bench.reliability crash`` (docs/reliability.md)."""

from __future__ import annotations

from tests.reliability.harness import crash_campaign

KILLS = 15


def test_sweep_notifications_and_payouts_survive_sigkill(db_url, tmp_path):
    r = crash_campaign(db_url, tmp_path, KILLS, mix="alles", days_per_run=2)
    assert r.kills >= KILLS // 2, f"only {r.kills} of {KILLS} runs were killed mid-work"
    assert {k: v for k, v in r.violations.items() if v} == {}
    assert r.duplicates == 0 and r.unfired_due == 0
    # the runs did real work of every kind
    assert r.steps_fired > 150 and r.payouts > 10 and r.payouts_exported == r.payouts and r.mails > 10
