"""Prefect flow ``maandrapportage``: monthly figures per instrument against the yearly targets.

The figures and the report go to the settings' folder (``<TRAJECTEN_EXPORT_MAP>/rapportage``, inside
TRAJECTEN_GEDEELDE_MAP when relative): the same place whichever worker runs the flow."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish_table
from trajecten.taken import jobs


@task(name="monthly-figures", **RETRY)
def figures(jaar: int | None, maand: int | None, map_: str | None) -> dict:
    with engine() as eng:
        folder = eng.settings.rapportage_map if map_ is None else eng.settings.pad(map_)
        return jobs.maandrapportage(eng, jaar, maand, folder)


@flow(name="maandrapportage")
def maandrapportage(jaar: int | None = None, maand: int | None = None, map_: str | None = None) -> dict:
    """``map_``: another folder than the settings' one (a manual run); relative: inside the shared folder."""
    out = figures(jaar, maand, map_)
    rows = [{k: v for k, v in r.items() if k != "uitkomsten"} for r in out["instrumenten"]]
    publish_table("maandrapportage", rows, f"Maandrapportage {out['jaar']}-{out['maand']:02d}")
    get_run_logger().info("maandrapportage %s-%02d: %d instrumenten", out["jaar"], out["maand"], len(rows))
    return out


if __name__ == "__main__":  # pragma: no cover
    maandrapportage()
