"""Prefect flow ``sweep``: fire due steps in batches until none is due or the time budget is spent.

One flow run handles thousands of steps (a Prefect run costs about a second): never one run per step.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs


@task(name="fire-due-steps", **RETRY)
def fire_due(budget_s: float, batch_size: int | None) -> dict:
    with engine() as eng:
        return jobs.sweep(eng, budget_s=budget_s, batch_size=batch_size)


@task(name="signals", **RETRY)
def signals() -> dict:
    with engine() as eng:
        return jobs.signalen(eng)


@flow(name="sweep")
def sweep(budget_s: float = 240.0, batch_size: int | None = None, signalen: bool = False) -> dict:
    counts = fire_due(budget_s, batch_size)
    if signalen:
        counts["signalen"] = signals()
    get_run_logger().info("sweep: %s", counts)
    publish("sweep", "Sweep: uitgevoerde stappen", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    sweep()
