"""Prefect flow ``anonimiseren``: the retention job (daily, 02:15). Anonymise the clients whose
trajectories ended longer ago than the retention period and clear old idempotency answers
(``trajecten.taken.jobs.anonimiseren``, the same job as the embedded scheduler; docs/logboek.md)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs


@task(name="anonymise-past-retention", **RETRY)
def anonymise() -> dict:
    with engine() as eng:
        return jobs.anonimiseren(eng)


@flow(name="anonimiseren")
def anonimiseren() -> dict:
    counts = anonymise()
    get_run_logger().info("anonimiseren: %s", counts)
    publish("anonimiseren", "Bewaartermijn: cliënten geanonimiseerd", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    anonimiseren()
