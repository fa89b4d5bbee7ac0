"""Privacy by hand: ``trajecten logboek inzage`` answers an access request from the Logboek
Dataverwerkingen (when, why and by whom a client's data was processed; never the BSN), and
``trajecten anonimiseer`` applies the retention period."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.table import Table

from trajecten.basis.bsn import valideer_bsn
from trajecten.basis.tijd import TZ
from trajecten.cli._common import clean_errors, logt, open_engine, out, parse_moment
from trajecten.privacy import anonimiseren, logboek

logboek_app = typer.Typer(help="Logboek Dataverwerkingen: inzageverzoeken", no_args_is_help=True)


@logboek_app.command("inzage")
@logt("clientadministratie")
@clean_errors
def logboek_inzage(
    client: Optional[int] = typer.Option(None, "--client", help="cliëntnummer (zonder: het BSN wordt gevraagd)"),
    door: Optional[str] = typer.Option(None, "--door", help="wie behandelt het inzageverzoek"),
    json_: bool = typer.Option(False, "--json", help="als JSON"),
):
    """Inzageverzoek: wanneer, waarvoor en door wie de gegevens van een cliënt zijn verwerkt (het BSN wordt nooit
    getoond)."""
    eng = open_engine()
    if client is not None:
        rows = logboek.inzage(eng, client_id=client)
        logboek.noteer([client])
        wie = f"cliënt {client}"
    else:
        bsn = valideer_bsn(typer.prompt("BSN", hide_input=True))
        rows = logboek.inzage(eng, bsn=bsn)
        v = logboek.huidige()
        if v is not None:
            v.noteer_bsn(bsn)
        wie = "deze persoon"
    if json_:
        sys.stdout.write(json.dumps([{**r, "start_tijd": r["start_tijd"].isoformat(), "eind_tijd": r["eind_tijd"].isoformat()}
                                     for r in rows], ensure_ascii=False) + "\n")
        return
    table = Table("wanneer", "verwerkingsactiviteit", "handeling", "door", "status", title=f"Verwerkingen van {wie}")
    for r in rows:
        table.add_row(r["start_tijd"].astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"), r["activiteit_naam"],
                      r["handeling"], r["gebruiker"], r["status"])
    out.print(table if rows else f"geen verwerkingen vastgelegd voor {wie}")


# top-level command; __init__.py registers it on the app


@clean_errors
def anonimiseer(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is (JJJJ-MM-DD)"),
                json_: bool = typer.Option(False, "--json")):
    """Anonimiseer cliënten van wie alle trajecten langer dan de bewaartermijn geleden eindigden (en zonder
    openstaande uitbetaling); de monitoringcijfers blijven gelijk."""
    moment = parse_moment(now, "--now")
    res = anonimiseren.anonimiseer(open_engine(moment))
    if json_:
        sys.stdout.write(json.dumps(res.as_dict()) + "\n")
    else:
        out.print(f"peildatum {res.peildatum}: {res.geanonimiseerd} cliënten geanonimiseerd, "
                  f"{res.wacht_op_betaling} wachten nog op een openstaande uitbetaling")
