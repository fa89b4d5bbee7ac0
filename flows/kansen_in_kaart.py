"""Prefect flow ``kansen_in_kaart``: start the yearly-contact trajectory for every eligible bijstand client
without a trajectory and end it where another trajectory began (``trajecten.taken.kansen.bijwerken``).

One run handles the whole caseload in chunks (tens of thousands of clients); the deployment runs it once a
day, one run at a time (two at once could start a client twice). The contacts themselves are task steps
that the ``sweep`` flow fires when they are due.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs


@task(name="kansen-in-kaart-bijwerken", **RETRY)
def bijwerken() -> dict:
    with engine() as eng:
        return jobs.kansen_in_kaart(eng)


@flow(name="kansen_in_kaart")
def kansen_in_kaart() -> dict:
    counts = bijwerken()
    get_run_logger().info("kansen in kaart: %s", counts)
    publish("kansen-in-kaart", "Kansen in Kaart bijgewerkt", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    kansen_in_kaart()
