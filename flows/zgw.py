"""Prefect flow ``zgw``: register trajectories as zaken in the Zaken API (every 10 minutes).

The outbox makes it safe to run late or twice: what was sent is not sent again, and while the ZGW
service is down nothing fails here (rows wait with a growing delay; see docs/zgw.md). Without
``TRAJECTEN_ZGW_ZAKEN_URL`` the flow returns "niet geconfigureerd" at once (as the embedded scheduler
leaves the job out).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs, rooster


@task(name="zgw-outbox", **RETRY)
def send_outbox() -> dict:
    with engine() as eng:
        return jobs.zgw(eng)


@flow(name="zgw")
def zgw() -> dict:
    if (uit := rooster.uit("zgw")) is not None:
        return uit
    counts = send_outbox()
    get_run_logger().info("zgw: %s", counts)
    publish("zgw", "ZGW-registratie: zaken, statussen en resultaten", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    zgw()
