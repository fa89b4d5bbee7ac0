"""Prefect flow ``uwv_feed``: import the UWV handover files that arrived (hourly on working days)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from flows._common import RETRY, engine, publish
from trajecten.koppelingen import uwv_feed as feed_connector


@task(name="import-feed-files", **RETRY)
def import_folder(map_: str) -> dict:
    with engine() as eng:
        return feed_connector(eng.settings).verwerk_map(eng, map_)


@flow(name="uwv_feed")
def uwv_feed(map_: str = "inkomend/uwv") -> dict:
    out = import_folder(map_)
    totals: dict[str, int] = {"bestanden": out["bestanden"]}
    for r in out["resultaten"]:
        for k in ("ontvangen", "geaccepteerd", "gestart", "gepland", "dubbel", "quarantaine"):
            totals[k] = totals.get(k, 0) + r[k]
    get_run_logger().info("uwv_feed: %s", totals)
    publish("uwv-feed", "UWV-overdrachten verwerkt", totals)
    return out


if __name__ == "__main__":  # pragma: no cover
    uwv_feed()
