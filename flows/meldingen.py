"""Prefect flow ``meldingen``: mail reminders and escalations to coaches and team leads.

The daily digest is collected at the first run from ``TRAJECTEN_MELDINGEN_DIGEST_TIJD`` (07:00); the
other runs send per-event mails and retry failed deliveries. A mail server that is down never fails
the flow: the mails stay in the outbox and are retried. Without ``TRAJECTEN_SMTP_HOST`` the flow returns
"niet geconfigureerd" at once (as the embedded scheduler leaves the job out).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs, rooster


@task(name="collect-and-send-mails", **RETRY)
def collect_and_send() -> dict:
    with engine() as eng:
        return jobs.meldingen(eng)


@flow(name="meldingen")
def meldingen() -> dict:
    if (uit := rooster.uit("meldingen")) is not None:
        return uit
    counts = collect_and_send()
    get_run_logger().info("meldingen: %s", counts)
    publish("meldingen", "Meldingen aan coaches en teamleiders", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    meldingen()
