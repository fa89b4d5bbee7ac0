"""Prefect flow ``maandrapportage``: monthly figures per instrument against the yearly targets."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish_table
from trajecten import jobs


@task(name="monthly-figures", **RETRY)
def figures(jaar: int | None, maand: int | None, map_: str | None) -> dict:
    with engine() as eng:
        return jobs.maandrapportage(eng, jaar, maand, map_)


@flow(name="maandrapportage")
def maandrapportage(jaar: int | None = None, maand: int | None = None, map_: str | None = "export/rapportage") -> dict:
    out = figures(jaar, maand, map_)
    rows = [{k: v for k, v in r.items() if k != "uitkomsten"} for r in out["instrumenten"]]
    publish_table("maandrapportage", rows, f"Maandrapportage {out['jaar']}-{out['maand']:02d}")
    get_run_logger().info("maandrapportage %s-%02d: %d instrumenten", out["jaar"], out["maand"], len(rows))
    return out


if __name__ == "__main__":  # pragma: no cover
    maandrapportage()
