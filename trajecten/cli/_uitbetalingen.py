"""``trajecten uitbetalingen``: payouts with the four-eyes approval (approve, reject; never the proposer nor
who started the trajectory), the SEPA export (pain.001, never anything twice), marking a batch paid and
writing a batch's file again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from trajecten.cli._common import actor, clean_errors, err, fail, logt, open_engine, out, state
from trajecten.geld import uitbetalingen
from trajecten.privacy import logboek

betaal_app = typer.Typer(help="Uitbetalingen: vier-ogen-goedkeuring en SEPA-export", no_args_is_help=True)


@betaal_app.command("lijst")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_lijst(status: Optional[str] = typer.Option(None, help="voorgesteld, goedgekeurd, ...")):
    """Uitbetalingen met hun status, bedrag en de regelversie die het bedrag rechtvaardigt."""
    table = Table("id", "traject", "instrument", "deel", "bedrag", "opeisbaar", "status", "regel", "voorgesteld door",
                  "beoordeeld door")
    rows = uitbetalingen.lijst(open_engine(), status)
    logboek.noteer_uitbetalingen(state["engine"], ids=[r.id for r in rows])
    for r in rows:
        table.add_row(str(r.id), str(r.traject_id), r.instrument, str(r.deel), f"€ {r.bedrag:.2f}",
                      r.opeisbaar_op.isoformat(), r.status, f"{r.regel} {r.regel_versie}", r.voorgesteld_door,
                      r.beoordeeld_door or "")
    out.print(table)


@betaal_app.command("keur-goed")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_keur_goed(ids: list[int], door: Optional[str] = typer.Option(None, "--door")):
    """Keur uitbetalingen goed (vier ogen: niet de voorsteller, niet wie het traject startte)."""
    eng = open_engine()
    for i in ids:
        logboek.noteer_uitbetalingen(eng, ids=[i])
        uitbetalingen.keur_goed(eng, i, door=actor(door))
        out.print(f"uitbetaling {i} goedgekeurd")


@betaal_app.command("afwijzen")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_afwijzen(uitbetaling: int, reden: str = typer.Option(...), door: Optional[str] = typer.Option(None, "--door")):
    """Wijs een uitbetaling af, met reden."""
    eng = open_engine()
    logboek.noteer_uitbetalingen(eng, ids=[uitbetaling])
    uitbetalingen.wijs_af(eng, uitbetaling, door=actor(door), reden=reden)
    out.print(f"uitbetaling {uitbetaling} afgewezen")


@betaal_app.command("exporteer")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_exporteer(uit: Path = typer.Option(..., "--uit", help="pain.001 XML-bestand"),
                            door: Optional[str] = typer.Option(None, "--door")):
    """Exporteer alle goedgekeurde uitbetalingen als één SEPA-batch (nooit iets twee keer)."""
    if uit.is_dir() or not uit.parent.is_dir() or not os.access(uit.parent, os.W_OK):
        fail(f"--uit: {uit} kan niet geschreven worden (geen map, of geen schrijfrechten)")  # before exporting
    res = uitbetalingen.exporteer(open_engine(), door=actor(door))
    logboek.noteer_uitbetalingen(state["engine"], res.batch_id, [pid for pid, _ in res.overgeslagen])
    for pid, why in res.overgeslagen:
        err.print(f"[yellow]uitbetaling {pid} niet geëxporteerd:[/] {why}")
    if res.batch_id is None:
        out.print("niets te exporteren")
        return
    try:
        uit.write_bytes(res.xml)
    except OSError as exc:
        fail(f"--uit: {uit} kan niet geschreven worden ({exc.strerror}); batch {res.batch_id} is gemaakt: "
             f"schrijf het bestand opnieuw met `trajecten uitbetalingen batch {res.batch_id} --uit ...`")
    out.print(f"batch {res.batch_id} ({res.bericht_id}): {res.aantal} betalingen, € {res.totaal:.2f} -> {uit}")


@betaal_app.command("betaald")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_betaald(batch: int, door: Optional[str] = typer.Option(None, "--door")):
    """De bank heeft een batch uitgevoerd: markeer de uitbetalingen ervan als betaald."""
    n = uitbetalingen.markeer_betaald(open_engine(), batch, door=actor(door))
    logboek.noteer_uitbetalingen(state["engine"], batch)
    out.print(f"batch {batch}: {n} uitbetalingen betaald")


@betaal_app.command("batch")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_batch(batch: int, uit: Path = typer.Option(..., "--uit")):
    """Schrijf het bestand van een eerdere batch opnieuw weg (zonder opnieuw te exporteren)."""
    uit.write_bytes(uitbetalingen.batch_xml(open_engine(), batch))
    logboek.noteer_uitbetalingen(state["engine"], batch)
    out.print(f"batch {batch} -> {uit}")
