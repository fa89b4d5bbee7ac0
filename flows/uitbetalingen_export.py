"""Prefect flow ``uitbetalingen_export``: approved payouts to one SEPA pain.001 file, exported once."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten import jobs


@task(name="export-approved-payouts", **RETRY)
def export(map_: str) -> dict:
    with engine() as eng:
        return jobs.uitbetalingen_export(eng, map_)


@flow(name="uitbetalingen_export")
def uitbetalingen_export(map_: str = "export/betalingen") -> dict:
    counts = export(map_)
    get_run_logger().info("uitbetalingen: %s", counts)
    publish("uitbetalingen-export", "Uitbetalingen geëxporteerd", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    uitbetalingen_export()
