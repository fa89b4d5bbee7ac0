"""``trajecten cluster start/status/stop``: the whole distributed stack (Prefect server, work pool and
deployments, workers, ``trajecten web``) as background processes on one machine, to try and to test; a
thin layer over ``trajecten.beheer.cluster``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from trajecten.basis.tijd import TZ
from trajecten.beheer import cluster
from trajecten.cli._common import err, fail, out, state

cluster_app = typer.Typer(help="Het hele gedistribueerde stelsel op één machine, om te proberen en te testen: "
                               "Prefect-server, workers en web (productie: deploy/ met systemd)",
                          no_args_is_help=True)


def _lokale_tijd(iso: Optional[str]) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


@cluster_app.command("start")
def cluster_start(
    workers: int = typer.Option(2, "--workers", min=1, max=16, help="aantal Prefect-workers"),
    database_url: Optional[str] = typer.Option(None, "--database-url",
                                               help="engine-database, PostgreSQL (standaard: TRAJECTEN_DATABASE_URL); "
                                                    "wordt aangemaakt als ze niet bestaat"),
    prefect_database_url: Optional[str] = typer.Option(
        None, "--prefect-database-url", help="Prefects eigen database (standaard: <engine-database>_prefect op "
                                             "dezelfde server); wordt aangemaakt, met pg_trgm"),
    poort: int = typer.Option(4200, "--poort", min=1, max=65535, help="poort van de Prefect-server (API en UI)"),
    web_poort: int = typer.Option(8000, "--web-poort", min=1, max=65535, help="poort van de backoffice"),
    host: str = typer.Option("127.0.0.1", "--host", help="adres waarop server en web luisteren (0.0.0.0: alle)"),
    publieke_url: Optional[str] = typer.Option(
        None, "--publieke-url", help="de Prefect-server zoals een browser hem bereikt, bv. http://server.gemeente.nl:4200 "
                                     "(voor de UI; standaard het adres van --host en --poort)"),
    map_: Path = typer.Option(Path(".cluster"), "--map", help="map voor logs, pids en PREFECT_HOME"),
    limiet: int = typer.Option(4, "--limiet", min=1, max=64, help="flow runs per worker tegelijk"),
    timeout: float = typer.Option(120.0, "--timeout", min=5, help="seconden per onderdeel om klaar te zijn"),
):
    """Start Prefect-server, work pool en deployments (prefect.yaml), N workers en `trajecten web`, elk als
    achtergrondproces met een log in <map>/logs. Stoppen: `trajecten cluster stop`."""
    url = database_url or state.get("url")
    if not url:
        fail("--database-url ontbreekt (of zet TRAJECTEN_DATABASE_URL): een PostgreSQL-database voor de engine")
    inst = cluster.Instellingen(database_url=url, prefect_database_url=prefect_database_url, workers=workers,
                                poort=poort, web_poort=web_poort, host=host, publieke_url=publieke_url, map=map_,
                                limiet=limiet, timeout_s=timeout)
    try:
        staat = cluster.start(inst, meld=lambda s: out.print(s, highlight=False, soft_wrap=True))
    except cluster.ClusterFout as exc:
        fail(str(exc))
    table = Table("proces", "pid", "poort", "log", title="Cluster gestart")
    for p in staat.processen:
        table.add_row(p.naam, str(p.pid), str(p.poort or "-"), p.log)
    out.print(table)
    out.print(f"Prefect UI: [bold]{staat.ui_url}[/]   backoffice: [bold]{staat.web_url}[/]\n"
              f"status: trajecten cluster status --map {map_}   stoppen: trajecten cluster stop --map {map_}",
              highlight=False)


@cluster_app.command("status")
def cluster_status(
    map_: Path = typer.Option(Path(".cluster"), "--map", help="de map van `cluster start`"),
    runs: int = typer.Option(10, "--runs", min=1, max=100, help="zoveel recente flow runs tonen"),
    json_: bool = typer.Option(False, "--json", help="als JSON"),
):
    """Elk proces (leeft of niet, pid, poort, log), en van de Prefect-server de deployments, workers en de
    recente en volgende flow runs. Exit 1 als niet alles draait."""
    try:
        st = cluster.status(map_, runs=runs)
    except cluster.ClusterFout as exc:
        fail(str(exc))
    alles = all(p["leeft"] for p in st["processen"]) and st["server_gezond"] and st["web_gezond"]
    if json_:
        sys.stdout.write(json.dumps(st, ensure_ascii=False, default=str) + "\n")
        raise typer.Exit(0 if alles else 1)
    out.print(f"cluster in {st['map']}: gestart {_lokale_tijd(st['gestart_op'])}"
              + (f", gestopt {_lokale_tijd(st['gestopt_op'])}" if st["gestopt_op"] else "")
              + f"\nengine-database {st['engine_database']}, Prefect-database {st['prefect_database']}", highlight=False)
    table = Table("proces", "status", "pid", "poort", "flow runs", "log", title="Processen")
    for p in st["processen"]:
        table.add_row(p["naam"], "[green]draait[/]" if p["leeft"] else "[red]gestopt[/]", str(p["pid"]),
                      str(p["poort"] or "-"), str(p["flow_runs"]) if p["rol"] == "worker" else "", p["log"])
    out.print(table)
    gezond = lambda ok: "[green]gezond[/]" if ok else "[red]antwoordt niet[/]"  # noqa: E731
    out.print(f"Prefect-server {st['api_url']}/health: {gezond(st['server_gezond'])}   (UI {st['ui_url']})\n"
              f"web {st['web_url']}/ready: {gezond(st['web_gezond'])}", highlight=False)
    pf = st["prefect"]
    if pf is None:
        if st["prefect_fout"]:
            err.print(f"[yellow]Prefect-server:[/] {st['prefect_fout']}", highlight=False)
        raise typer.Exit(0 if alles else 1)
    t = Table("deployment", "schema (Europe/Amsterdam)", "pool", title="Deployments")
    for d in pf["deployments"]:
        t.add_row(d["naam"], d["schema"] + (" (gepauzeerd)" if d["gepauzeerd"] else ""), d["pool"] or "-")
    out.print(t)
    t = Table("worker", "status", "laatste hartslag", title="Workers in pool trajecten")
    for w in pf["workers"]:
        t.add_row(w["naam"], str(w["status"]), _lokale_tijd(w["hartslag"]))
    out.print(t)
    t = Table("flow run", "deployment", "toestand", "gepland", "start", "duur", title="Recente flow runs")
    for r in pf["recent"]:
        t.add_row(r["naam"], r["deployment"], str(r["toestand"]), _lokale_tijd(r["gepland"]), _lokale_tijd(r["start"]),
                  f"{r['seconden']:.1f} s" if r["seconden"] else "-")
    out.print(t if pf["recent"] else "nog geen flow runs")
    t = Table("flow run", "deployment", "gepland", title="Volgende geplande flow runs")
    for r in pf["volgende"]:
        t.add_row(r["naam"], r["deployment"], _lokale_tijd(r["gepland"]))
    out.print(t if pf["volgende"] else "geen geplande flow runs")
    raise typer.Exit(0 if alles else 1)


@cluster_app.command("stop")
def cluster_stop(
    map_: Path = typer.Option(Path(".cluster"), "--map", help="de map van `cluster start`"),
    wachttijd: float = typer.Option(300.0, "--wachttijd", min=0,
                                    help="seconden die een worker krijgt om zijn lopende flow runs af te maken "
                                         "(daarna SIGKILL); langer dan het budget van een sweep (240 s)"),
):
    """Stop het cluster: eerst de workers (SIGTERM: geen nieuwe runs, lopende afmaken; na --wachttijd SIGKILL),
    dan het web, dan de server. Logs blijven in <map>/logs."""
    try:
        res = cluster.stop(map_, wachttijd=wachttijd, meld=lambda s: out.print(s, highlight=False, soft_wrap=True))
    except cluster.ClusterFout as exc:
        fail(str(exc))
    table = Table("proces", "pid", "hoe", "na", title="Cluster gestopt")
    for g in res:
        table.add_row(g.naam, str(g.pid), g.hoe, f"{g.seconden:.1f} s")
    out.print(table)
