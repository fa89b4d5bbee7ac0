"""The periodic jobs, by hand: ``trajecten sweep`` (fire the due steps), ``signalen`` (escalations and
reminders), ``kansen-in-kaart bijwerken`` and ``rapportage maand``; the embedded planner and the Prefect
flows run the same operations on a schedule."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from trajecten.cli._common import clean_errors, fail, open_engine, out, parse_moment
from trajecten.kern.signalen import ACTOR as SIGNALEN_ACTOR
from trajecten.kern.signalen import signaleer
from trajecten.privacy import logboek
from trajecten.taken import sweepers
from trajecten.taken.kansen import bijwerken

# top-level commands; __init__.py registers them on the app


@clean_errors
def sweep(
    now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is (JJJJ-MM-DDTHH:MM)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1),
    processen: int = typer.Option(1, "--processen", min=1, max=16,
                                  help="PostgreSQL: zoveel sweepers tegelijk (elk een eigen proces); SQLite: altijd 1"),
    json_: bool = typer.Option(False, "--json", help="tellingen als JSON"),
):
    """Voer alle stappen uit die nu aan de beurt zijn (in batches)."""
    moment = parse_moment(now, "--now")
    eng = open_engine(moment)
    parts = []
    if processen > 1 and eng.is_postgres:
        eng.db.dispose()
        res, parts = sweepers.sweep(eng.settings, moment, batch_size, processen)
    else:
        res = eng.sweep(moment, batch_size=batch_size)
    per_proces = [p.verwerkt for p in parts]
    if json_:
        out.print_json(data={**res.as_dict(), **({"per_proces": per_proces} if parts else {})})
    else:
        out.print(f"uitgevoerd {res.uitgevoerd}, overgeslagen {res.overgeslagen}, geannuleerd {res.geannuleerd}, "
                  f"opnieuw geprobeerd {res.mislukt}, incidenten {res.incidenten}, te laat {res.te_laat} "
                  f"({res.batches} batches, {res.seconden:.2f} s)"
                  + (f"; per sweeper {', '.join(map(str, per_proces))}" if parts else ""))


@clean_errors
def signalen(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is")):
    """Laat de regels beslissen over escalaties (taak te laat) en herinneringen (geen contact)."""
    moment = parse_moment(now, "--now")
    eng = open_engine(moment)
    with logboek.systeemtaak(eng, SIGNALEN_ACTOR, naam="signalen: escalaties en herinneringen", component="cli"):
        res = signaleer(eng, moment)
    out.print(f"escalaties {res.escalaties}, herinneringen {res.herinneringen}")


kansen_app = typer.Typer(help="Kansen in Kaart: jaarlijks contact met iedereen in de bijstand zonder traject",
                         no_args_is_help=True)


@kansen_app.command("bijwerken")
@clean_errors
def kansen_bijwerken(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is"),
                     json_: bool = typer.Option(False, "--json", help="tellingen als JSON")):
    """Start Kansen in Kaart voor wie in de bijstand zit zonder traject; beëindig het bij een ander traject."""
    res = bijwerken(open_engine(parse_moment(now, "--now")))
    if json_:
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
    elif not res.get("actief"):
        out.print("instrument kansen_in_kaart is niet geladen: niets gedaan")
    else:
        out.print(f"kandidaten {res['kandidaten']}: gestart {res['gestart']}, niet toegelaten {res['niet_toegelaten']}, "
                  f"al lopend {res['al_lopend']}, fouten {res['fouten']}; beëindigd: ander traject {res['beeindigd_ander_traject']}, "
                  f"uit de bijstand {res['beeindigd_uit_bijstand']}")


rapportage_app = typer.Typer(help="Rapportage voor beleid en raad (alleen aantallen, geen persoonsgegevens)",
                             no_args_is_help=True)


@rapportage_app.command("maand")
@clean_errors
def rapportage_maand(maand: Optional[str] = typer.Option(None, "--maand", help="JJJJ-MM (standaard: vorige maand)"),
                     uit: Path = typer.Option(..., "--uit", help="map voor report.html en report.csv")):
    """Maandrapportage per instrument (gestart, actief, uitkomsten, betaald, jaardoel) en herinstroom."""
    from trajecten.rapportage import maandrapport as rapportage  # heavy (~35 ms): only for rapportage maand

    eng = open_engine()
    if maand is None:
        jaar, mnd = rapportage.vorige_maand(eng)
    else:
        try:
            jaar, mnd = (int(x) for x in maand.split("-"))
            date(jaar, mnd, 1)
        except ValueError:
            fail(f"--maand: {maand!r} is geen maand (JJJJ-MM)")
    r = rapportage.schrijf(eng, jaar, mnd, uit)
    h6, h12 = r.herinstroom
    out.print(f"maandrapportage {r.periode}: {len(r.instrumenten)} instrumenten; herinstroom binnen 6 maanden "
              f"{h6.terug}/{h6.uitgestroomd}, binnen 12 maanden {h12.terug}/{h12.uitgestroomd} -> "
              f"{uit / 'report.html'}, {uit / 'report.csv'}")
