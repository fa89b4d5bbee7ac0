"""``trajecten feed``: the handovers from UWV — import a file (bad records go to quarantine with their
reasons), list the quarantine without BSNs, and process a corrected record again; the scheduled import
runs the same code (``trajecten.beheer.koppelingen``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
import typer
from rich.table import Table

from trajecten.beheer.koppelingen import uwv_feed
from trajecten.cli._common import actor, clean_errors, fail, logt, open_engine, out
from trajecten.opslag.models import Quarantaine

feed_app = typer.Typer(help="UWV-overdrachten: importeren en quarantaine", no_args_is_help=True)


def _feed():
    eng = open_engine()
    return eng, uwv_feed(eng.settings)


@feed_app.command("importeer")
@logt("uwv_feed")
@clean_errors
def feed_importeer(bestand: Path, json_: bool = typer.Option(False, "--json")):
    """Importeer een UWV-bestand (JSON Lines of CSV); foute records gaan met reden in quarantaine."""
    if not bestand.is_file():
        fail(f"bestand: {bestand} bestaat niet")
    eng, feed = _feed()
    s = feed.importeer_bestand(eng, bestand)
    if json_:
        sys.stdout.write(json.dumps(s.as_dict(), ensure_ascii=False) + "\n")
    else:
        out.print(s.tekst(), highlight=False)


@feed_app.command("quarantaine")
@clean_errors
def feed_quarantaine(alles: bool = typer.Option(False, "--alles", help="ook verwerkte")):
    """Afgekeurde records met hun redenen (zonder BSN)."""
    eng = open_engine()
    q = Quarantaine.__table__
    stmt = sa.select(q).order_by(q.c.id)
    if not alles:
        stmt = stmt.where(q.c.status == "open")
    with eng.reader.connect() as conn:
        rows = conn.execute(stmt).all()
    table = Table("id", "bron", "regel", "status", "redenen")
    for r in rows:
        table.add_row(str(r.id), r.bron, str(r.regelnr or ""), r.status,
                      "; ".join(f"{x['veld']}: {x['reden']}" for x in r.redenen))
    out.print(table if rows else "quarantaine is leeg")


@feed_app.command("herverwerk")
@logt("uwv_feed")
@clean_errors
def feed_herverwerk(quarantaine: int, gecorrigeerd: Path = typer.Option(..., "--record", help="JSON-bestand met het verbeterde record"),
                    door: Optional[str] = typer.Option(None, "--door")):
    """Verwerk een record uit quarantaine opnieuw, na correctie."""
    try:
        data = json.loads(gecorrigeerd.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"--record: {exc}")
    except UnicodeDecodeError as exc:
        fail(f"--record: geen UTF-8-tekst (byte {exc.start})")
    if not isinstance(data, dict):
        fail("--record: verwacht een JSON-object")
    eng, feed = _feed()
    s = feed.herverwerk(eng, quarantaine, data, door=actor(door))
    out.print(s.tekst(), highlight=False)
