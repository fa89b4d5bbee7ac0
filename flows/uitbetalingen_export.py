"""Prefect flow ``uitbetalingen_export``: approved payouts to one SEPA pain.001 file, exported once.

The file goes to the settings' folder (``<TRAJECTEN_EXPORT_MAP>/betalingen``, inside
TRAJECTEN_GEDEELDE_MAP when relative): the same place whichever worker runs the flow."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs


@task(name="export-approved-payouts", **RETRY)
def export(map_: str | None) -> dict:
    with engine() as eng:
        return jobs.uitbetalingen_export(eng, None if map_ is None else eng.settings.pad(map_))


@flow(name="uitbetalingen_export")
def uitbetalingen_export(map_: str | None = None) -> dict:
    """``map_``: another folder than the settings' one (a manual run); relative: inside the shared folder."""
    counts = export(map_)
    get_run_logger().info("uitbetalingen: %s", counts)
    publish("uitbetalingen-export", "Uitbetalingen geëxporteerd", counts)
    return counts


if __name__ == "__main__":  # pragma: no cover
    uitbetalingen_export()
