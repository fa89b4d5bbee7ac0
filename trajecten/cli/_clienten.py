"""``trajecten client``, ``coach``, ``overplaatsing`` and ``caseload``: adding and changing clients, the
(re)start of bijstand, the one coach per client, a team's caseload, and accepting or rejecting a transfer
to another area team after a move."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from trajecten.cli._common import actor, clean_errors, logt, open_engine, out, parse_date
from trajecten.clienten import caseload
from trajecten.clienten.uitstroom import bijstand_start_vastleggen
from trajecten.opslag.models import Client
from trajecten.privacy import logboek

client_app = typer.Typer(help="Cliënten", no_args_is_help=True)


@client_app.command("toevoegen")
@logt("clientadministratie")
@clean_errors
def client_toevoegen(
    bsn: str = typer.Option(..., prompt=True, hide_input=True, help="BSN (wordt niet getoond of gelogd)"),
    naam: str = typer.Option(""),
    geboortedatum: Optional[str] = typer.Option(None),
    postcode: str = typer.Option(""),
    gebied: str = typer.Option(""),
    coach: str = typer.Option(""),
    bijstand_sinds: Optional[str] = typer.Option(None),
    doelgroep: Optional[str] = typer.Option(None, help="centrale doelgroep: inburgeraar, ex_gedetineerde, doelgroepregister"),
):
    """Een cliënt toevoegen (het BSN wordt gecontroleerd met de elfproef; het team volgt uit postcode of doelgroep)."""
    eng = open_engine()
    cid = eng.add_client(bsn, naam=naam, geboortedatum=parse_date(geboortedatum, "geboortedatum"),
                         postcode=postcode, gebied=gebied, coach=coach,
                         bijstand_sinds=parse_date(bijstand_sinds, "bijstand_sinds"), doelgroep=doelgroep)
    logboek.noteer([cid])
    with eng.db.connect() as conn:
        team = conn.execute(Client.__table__.select().where(Client.__table__.c.id == cid)).first().gebied
    out.print(f"cliënt {cid} toegevoegd (team {team or '–'})")


@client_app.command("wijzig")
@logt("clientadministratie")
@clean_errors
def client_wijzig(
    client: int,
    postcode: Optional[str] = typer.Option(None, help="nieuwe postcode (verhuizing)"),
    doelgroep: Optional[str] = typer.Option(None, help="centrale doelgroep; '' voor geen"),
    geboortedatum: Optional[str] = typer.Option(None, "--geboortedatum", help="geboortedatum JJJJ-MM-DD"),
    reden: str = typer.Option("", help="toelichting"),
    door: Optional[str] = typer.Option(None, "--door"),
):
    """Postcode, doelgroep of geboortedatum wijzigen; hoort de cliënt dan bij een ander team, dan volgt een
    overplaatsingsvoorstel."""
    kw = {} if doelgroep is None else {"doelgroep": doelgroep}
    if geboortedatum is not None:
        kw["geboortedatum"] = parse_date(geboortedatum, "--geboortedatum")
    w = caseload.wijzig_client(open_engine(), client, door=actor(door), postcode=postcode, reden=reden, **kw)
    if w.overplaatsing_id:
        out.print(f"cliënt {client}: hoort nu bij team {w.team}; overplaatsingsvoorstel {w.overplaatsing_id} "
                  "wacht op de teamleider (team en coach blijven tot acceptatie)")
    else:
        out.print(f"cliënt {client}: gewijzigd, blijft in team {w.team}")


@client_app.command("bijstand-start")
@logt("clientadministratie")
@clean_errors
def client_bijstand_start(client: int, datum: str = typer.Option(..., "--datum", help="eerste dag van de bijstand"),
                          door: Optional[str] = typer.Option(None, "--door")):
    """Leg vast dat een cliënt (weer) in de bijstand kwam; telt als herinstroom na uitstroom door werk."""
    day = parse_date(datum, "--datum")
    bijstand_start_vastleggen(open_engine(), client, day, actor=actor(door))
    logboek.noteer([client])
    out.print(f"cliënt {client}: bijstand sinds {day}")


coach_app = typer.Typer(help="De vaste coach van een cliënt", no_args_is_help=True)


@coach_app.command("toewijzen")
@logt("clientadministratie")
@clean_errors
def coach_toewijzen(client: int, naar: str = typer.Option(..., "--naar", help="de nieuwe coach (van het eigen team)"),
                 reden: str = typer.Option(..., help="waarom"), door: Optional[str] = typer.Option(None, "--door")):
    """Coach toewijzen: een andere coach van het team (de open taken gaan mee; vastgelegd als gebeurtenis)."""
    t = caseload.coach_toewijzen(open_engine(), client, naar, door=actor(door), reden=reden)
    out.print(f"cliënt {client}: coach {t.van or '–'} → {t.naar} ({t.taken} open taken mee)")


@logt("clientadministratie")
@clean_errors
def caseload_cmd(gebied: str = typer.Argument(..., help="het team, bv. Oost")):
    """Caseload van een team: per coach cliënten, open taken en te late taken, plus open overplaatsingen."""
    eng = open_engine()
    c = caseload.caseload(eng, gebied)
    table = Table("coach", "cliënten", "open taken", "te laat", title=f"Caseload team {gebied} ({c['datum']})")
    for r in c["coaches"]:
        table.add_row(r["coach"], str(r["clienten"]), str(r["open_taken"]), str(r["te_laat"]))
    if c["zonder_coach"]:
        table.add_row("(zonder coach)", str(c["zonder_coach"]), "", "")
    out.print(table)
    for o in caseload.overplaatsingen(eng, gebied):
        out.print(f"overplaatsing {o['id']}: cliënt {o['client_id']} {o['van_gebied']} → {o['naar_gebied']} ({o['reden']})")


overplaatsing_app = typer.Typer(help="Overplaatsingen naar een ander team (na verhuizing)", no_args_is_help=True)


@overplaatsing_app.command("accepteer")
@logt("clientadministratie")
@clean_errors
def overplaatsing_accepteer(overplaatsing: int, coach: str = typer.Option(..., help="coach van het nieuwe team"),
                            toelichting: str = typer.Option(""), door: Optional[str] = typer.Option(None, "--door")):
    """Overplaatsing accepteren: de cliënt gaat naar het nieuwe team met deze coach."""
    t = caseload.accepteer_overplaatsing(open_engine(), overplaatsing, door=actor(door), coach=coach,
                                         toelichting=toelichting)
    out.print(f"overplaatsing {overplaatsing} geaccepteerd: cliënt {t.client_id} heeft coach {t.naar}")


@overplaatsing_app.command("afwijzen")
@logt("clientadministratie")
@clean_errors
def overplaatsing_afwijzen(overplaatsing: int, toelichting: str = typer.Option(...),
                           door: Optional[str] = typer.Option(None, "--door")):
    """Overplaatsing afwijzen: de cliënt blijft in het team met dezelfde coach."""
    caseload.wijs_overplaatsing_af(open_engine(), overplaatsing, door=actor(door), toelichting=toelichting)
    out.print(f"overplaatsing {overplaatsing} afgewezen")
