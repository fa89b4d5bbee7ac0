"""Prefect flow ``uwv_feed``: import the UWV handovers that arrived (hourly on working days): the files in
the feed folder (TRAJECTEN_UWV_FEED_MAP, inside TRAJECTEN_GEDEELDE_MAP when relative) and, when
TRAJECTEN_UWV_FEED_URL is set, the pages behind the HTTP cursor - the same job as the embedded scheduler
(``trajecten.taken.jobs.uwv_feed``). Neither configured: the flow returns "niet geconfigureerd" at once."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.taken import jobs, rooster

TELLERS = ("ontvangen", "geaccepteerd", "gestart", "gepland", "dubbel", "quarantaine")


@task(name="import-feed", **RETRY)
def import_feed(map_: str | None) -> dict:
    with engine() as eng:
        return jobs.uwv_feed(eng, map_)


def totalen(out: dict) -> dict[str, int]:
    """Counts over the folder's files and the HTTP pages (no personal data)."""
    delen = list(out.get("map", {}).get("resultaten", [])) + ([out["http"]] if "http" in out else [])
    totals = {"bestanden": out.get("map", {}).get("bestanden", 0), "paginas": out.get("http", {}).get("paginas", 0)}
    for k in TELLERS:
        totals[k] = sum(d.get(k, 0) for d in delen)
    return totals


@flow(name="uwv_feed")
def uwv_feed(map_: str | None = None) -> dict:
    """``map_``: another folder than the settings' one (a manual run); relative: inside the shared folder."""
    if map_ is None and (uit := rooster.uit("uwv_feed")) is not None:
        return uit
    out = import_feed(map_)
    totals = totalen(out)
    get_run_logger().info("uwv_feed: %s", totals)
    publish("uwv-feed", "UWV-overdrachten verwerkt", totals)
    return {**out, "totalen": totals}


if __name__ == "__main__":  # pragma: no cover
    uwv_feed()
