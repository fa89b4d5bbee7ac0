"""Prefect flow: fire due steps in batches until none is due or the time budget is spent.

One flow run handles thousands of steps (a Prefect run costs about a second): never one run per step.
The counts are logged; they hold no personal data.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from trajecten.engine import Engine


@flow(name="sweep", retries=2, retry_delay_seconds=[10, 60])
def sweep(budget_s: float = 240.0, batch_size: int | None = None) -> dict:
    eng = Engine.open()
    try:
        res = eng.sweep(budget_s=budget_s, batch_size=batch_size)
    finally:
        eng.db.dispose()
    counts = res.as_dict()
    get_run_logger().info("sweep klaar: %s", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    sweep()
