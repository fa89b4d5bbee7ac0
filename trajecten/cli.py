"""The ``trajecten`` command line (Typer). Errors are one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from trajecten.privacy import logboek
from trajecten.basis.config import SettingsError, load_settings
from trajecten.kern.definitie import DefinitieFout, INSTRUMENTEN_DIR, load_dir, parse_definitie, write_json_schema
from trajecten.basis.fouten import AlLopend, NietToegelaten, TrajectFout
from trajecten.basis.tijd import TZ, FixedClock, Offset, local_date

app = typer.Typer(help="Trajectenengine Werk & Participatie", no_args_is_help=True, add_completion=False)
instruments_app = typer.Typer(help="Instrumentdefinities bekijken en controleren", no_args_is_help=True)
client_app = typer.Typer(help="Cliënten", no_args_is_help=True)
taak_app = typer.Typer(help="Taken op de werklijst", no_args_is_help=True)
app.add_typer(instruments_app, name="instruments")
app.add_typer(client_app, name="client")
app.add_typer(taak_app, name="taak")
regels_app = typer.Typer(help="Regels: beslissingen met uitleg", no_args_is_help=True)
app.add_typer(regels_app, name="regels")
feed_app = typer.Typer(help="UWV-overdrachten: importeren en quarantaine", no_args_is_help=True)
app.add_typer(feed_app, name="feed")
betaal_app = typer.Typer(help="Uitbetalingen: vier-ogen-goedkeuring en SEPA-export", no_args_is_help=True)
app.add_typer(betaal_app, name="uitbetalingen")
kansen_app = typer.Typer(help="Kansen in Kaart: jaarlijks contact met iedereen in de bijstand zonder traject",
                         no_args_is_help=True)
app.add_typer(kansen_app, name="kansen-in-kaart")
rapportage_app = typer.Typer(help="Rapportage voor beleid en raad (alleen aantallen, geen persoonsgegevens)",
                             no_args_is_help=True)
app.add_typer(rapportage_app, name="rapportage")

# wide enough for the summary tables when output goes to a file or a CI log
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
_state: dict = {}


@app.callback()
def _main(database_url: Optional[str] = typer.Option(None, "--database-url", envvar="TRAJECTEN_DATABASE_URL",
                                                    help="engine database (default sqlite:///trajecten.opslag.db)")):
    _state["url"] = database_url


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]fout:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def clean_errors(fn):
    """Turn the engine's refusals into one readable line and exit code 2 (1 when the client already has a
    running trajectory of the instrument: the line names it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _check_numbers(kwargs)
        try:
            return fn(*args, **kwargs)
        except NietToegelaten as exc:
            err.print(f"[bold red]niet toegelaten:[/] {exc}")
            if exc.besluit is not None:
                err.print(_uitleg(exc.besluit))
            raise typer.Exit(2)
        except AlLopend as exc:  # exit 1: the thing asked for exists already; the id names it
            fail(f"{exc} — zie: trajecten timeline {exc.traject_id}", 1)
        except (TrajectFout, DefinitieFout, SettingsError) as exc:
            fail(str(exc))

    return wrapper


MAX_NUMMER = 2**31 - 1  # ids are 32-bit integers in the database (PostgreSQL INTEGER)


def _check_numbers(kwargs: dict) -> None:
    """A number too large for the database is refused naming the option, not with a driver traceback."""
    for name, value in kwargs.items():
        for v in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_NUMMER:
                fail(f"{name.rstrip('_').replace('_', '-')}: {v} is te groot (hoogstens {MAX_NUMMER})")


def _uitleg(besluit) -> str:
    fn = getattr(besluit, "uitleg", None)
    return fn() if callable(fn) else json.dumps(besluit.to_json(), ensure_ascii=False, indent=2)


def _engine(now: Optional[datetime] = None):
    from trajecten.kern.engine import Engine

    settings = load_settings(**({"database_url": _state["url"]} if _state.get("url") else {}))
    clock = FixedClock(now) if now else None
    eng = Engine.open(settings.database_url, clock=clock, settings=settings)
    _state["engine"] = eng  # the Logboek Dataverwerkingen of the command (``logt``) writes with it
    return eng


def logt(activiteit: str):
    """Logboek Dataverwerkingen: the command is one processing under ``activiteit``; the clients it reads
    or changes (noted by the engine, or by the command with ``logboek.noteer``) get a record each, with
    status ERROR when it failed. Put it above ``clean_errors``."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            from trajecten.privacy import logboek

            naam = "trajecten " + fn.__name__.replace("_", " ")
            v = logboek.begin(activiteit, _actor(kwargs.get("door")), naam=naam, component="cli", erf=False)
            status = logboek.OK
            try:
                with logboek.actief(v):
                    return fn(*args, **kwargs)
            except BaseException as exc:
                if not (isinstance(exc, typer.Exit) and exc.exit_code == 0):
                    status = logboek.ERROR
                raise
            finally:
                if "engine" in _state:
                    logboek.sluit(_state["engine"], v, status)

        return wrapper

    return deco


def _actor(door: Optional[str]) -> str:
    return door or f"cli:{getpass.getuser()}"


def _parse_moment(value: Optional[str], field: str) -> Optional[datetime]:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{field}: {value!r} is geen datum/tijd (JJJJ-MM-DD of JJJJ-MM-DDTHH:MM)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
        if len(value) == 10:
            moment = moment.replace(hour=8)
    return moment


def _parse_date(value: Optional[str], field: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{field}: {value!r} is geen datum (JJJJ-MM-DD)")


# --------------------------------------------------------------------------- instruments


@instruments_app.command("list")
@clean_errors
def instruments_list(map_: Path = typer.Option(INSTRUMENTEN_DIR, "--map", help="map met instrumentbestanden")):
    """Alle instrumenten met hun regel en jaardoel."""
    if not map_.is_dir():
        fail(f"--map: {map_} is geen map")
    table = Table("instrument", "naam", "stappen", "regel", "jaardoel")
    for name, (d, _) in load_dir(map_).items():
        table.add_row(name, d.naam, str(len(d.stappen)), d.regel, str(d.jaardoel.aantal))
    out.print(table)


@instruments_app.command("show")
@clean_errors
def instruments_show(instrument: str, map_: Path = typer.Option(INSTRUMENTEN_DIR, "--map")):
    """De stappen van één instrument: wanneer, wat en waarom."""
    path = map_ / f"{instrument}.yaml"
    if not path.exists():
        fail(f"instrument: {instrument!r} bestaat niet; bekend: {', '.join(sorted(load_dir(map_)))}")
    d = parse_definitie(path.read_text(encoding="utf-8"), path)
    out.print(f"[bold]{d.naam}[/] ({d.instrument}) — regel {d.regel}, jaardoel {d.jaardoel.aantal}")
    if d.omschrijving:
        out.print(d.omschrijving)
    table = Table("stap", "soort", "wanneer", "voorwaarde", "herhaling", "titel")
    for s in d.stappen:
        when = f"{s.anchor} {Offset.parse(s.offset).describe()}"
        na = f"{s.na.stap} = {'/'.join(s.na.uitkomst)}" if s.na else ""
        rep = ""
        if s.herhaal:
            rep = f"elke {Offset.parse(s.herhaal.elke).describe()}" + (f", max {s.herhaal.max}" if s.herhaal.max else "") + (
                f", tot {s.herhaal.tot}" if s.herhaal.tot else "")
        table.add_row(s.key, s.kind.value, when, na, rep, s.titel)
    out.print(table)


@instruments_app.command("validate")
@clean_errors
def instruments_validate(files: list[Path] = typer.Argument(None, help="bestanden (standaard: alle)")):
    """Controleer instrumentbestanden; elke fout noemt bestand, stap en veld."""
    paths = files or sorted(INSTRUMENTEN_DIR.glob("*.yaml"))
    bad = 0
    for p in paths:
        try:
            if not p.is_file():
                raise DefinitieFout(p, ["bestand bestaat niet"])
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise DefinitieFout(p, [f"geen UTF-8-tekst (byte {exc.start})"]) from None
            parse_definitie(text, p)
            out.print(f"[green]ok[/]   {p}")
        except DefinitieFout as exc:
            bad += 1
            err.print(f"[red]fout[/] {exc}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(2)


@instruments_app.command("schema")
def instruments_schema(uit: Path = typer.Option(Path("docs/instrument.schema.json"), "--uit")):
    """Schrijf het JSON Schema van het instrumentformaat (voor editors)."""
    try:
        write_json_schema(uit)
    except OSError as exc:
        fail(f"--uit: {uit} kan niet geschreven worden ({exc.strerror})")
    out.print(f"geschreven: {uit}")


# --------------------------------------------------------------------------- clients and trajectories


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
    eng = _engine()
    cid = eng.add_client(bsn, naam=naam, geboortedatum=_parse_date(geboortedatum, "geboortedatum"),
                         postcode=postcode, gebied=gebied, coach=coach,
                         bijstand_sinds=_parse_date(bijstand_sinds, "bijstand_sinds"), doelgroep=doelgroep)
    logboek.noteer([cid])
    with eng.db.connect() as conn:
        from trajecten.opslag.models import Client

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
    from trajecten.clienten import caseload

    kw = {} if doelgroep is None else {"doelgroep": doelgroep}
    if geboortedatum is not None:
        kw["geboortedatum"] = _parse_date(geboortedatum, "--geboortedatum")
    w = caseload.wijzig_client(_engine(), client, door=_actor(door), postcode=postcode, reden=reden, **kw)
    if w.overplaatsing_id:
        out.print(f"cliënt {client}: hoort nu bij team {w.team}; overplaatsingsvoorstel {w.overplaatsing_id} "
                  "wacht op de teamleider (team en coach blijven tot acceptatie)")
    else:
        out.print(f"cliënt {client}: gewijzigd, blijft in team {w.team}")


coach_app = typer.Typer(help="De vaste coach van een cliënt", no_args_is_help=True)
app.add_typer(coach_app, name="coach")


@coach_app.command("toewijzen")
@logt("clientadministratie")
@clean_errors
def coach_toewijzen(client: int, naar: str = typer.Option(..., "--naar", help="de nieuwe coach (van het eigen team)"),
                 reden: str = typer.Option(..., help="waarom"), door: Optional[str] = typer.Option(None, "--door")):
    """Coach toewijzen: een andere coach van het team (de open taken gaan mee; vastgelegd als gebeurtenis)."""
    from trajecten.clienten import caseload

    t = caseload.coach_toewijzen(_engine(), client, naar, door=_actor(door), reden=reden)
    out.print(f"cliënt {client}: coach {t.van or '–'} → {t.naar} ({t.taken} open taken mee)")


@app.command("caseload")
@logt("clientadministratie")
@clean_errors
def caseload_cmd(gebied: str = typer.Argument(..., help="het team, bv. Oost")):
    """Caseload van een team: per coach cliënten, open taken en te late taken, plus open overplaatsingen."""
    from trajecten.clienten import caseload

    eng = _engine()
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
app.add_typer(overplaatsing_app, name="overplaatsing")


@overplaatsing_app.command("accepteer")
@logt("clientadministratie")
@clean_errors
def overplaatsing_accepteer(overplaatsing: int, coach: str = typer.Option(..., help="coach van het nieuwe team"),
                            toelichting: str = typer.Option(""), door: Optional[str] = typer.Option(None, "--door")):
    """Overplaatsing accepteren: de cliënt gaat naar het nieuwe team met deze coach."""
    from trajecten.clienten import caseload

    t = caseload.accepteer_overplaatsing(_engine(), overplaatsing, door=_actor(door), coach=coach,
                                         toelichting=toelichting)
    out.print(f"overplaatsing {overplaatsing} geaccepteerd: cliënt {t.client_id} heeft coach {t.naar}")


@overplaatsing_app.command("afwijzen")
@logt("clientadministratie")
@clean_errors
def overplaatsing_afwijzen(overplaatsing: int, toelichting: str = typer.Option(...),
                           door: Optional[str] = typer.Option(None, "--door")):
    """Overplaatsing afwijzen: de cliënt blijft in het team met dezelfde coach."""
    from trajecten.clienten import caseload

    caseload.wijs_overplaatsing_af(_engine(), overplaatsing, door=_actor(door), toelichting=toelichting)
    out.print(f"overplaatsing {overplaatsing} afgewezen")


@app.command()
@logt("clientadministratie")
@clean_errors
def start(
    instrument: str,
    client: int = typer.Option(..., "--client", help="cliëntnummer"),
    fact: list[str] = typer.Option([], "--fact", help="feit als naam=waarde (herhaalbaar)"),
    door: Optional[str] = typer.Option(None, "--door", help="wie start het traject"),
    overrule_reden: Optional[str] = typer.Option(None, "--overrule-reden",
                                                 help="start ondanks afwijzing (alleen teamleider)"),
    teamleider: bool = typer.Option(False, "--teamleider", help="ik ben teamleider en mag overrulen"),
):
    """Start een traject; de toegangsregel beslist en legt uit."""
    feiten = {}
    for item in fact:
        if "=" not in item:
            fail(f"--fact {item!r}: schrijf naam=waarde")
        k, v = item.split("=", 1)
        feiten[k.strip()] = v.strip()
    logboek.noteer([client], f"instrument:{instrument}")
    res = _engine().start(instrument, client, feiten, actor=_actor(door), overrule_reden=overrule_reden,
                          mag_overrulen=teamleider)
    out.print(f"traject {res.traject_id} gestart ({res.status}, begint {res.start_datum}), {res.stappen} stappen gepland"
              + (" — [yellow]toegang overruled[/]" if res.overruled else ""))
    out.print(_uitleg(res.besluit))


@app.command()
@logt("clientadministratie")
@clean_errors
def event(
    traject: int,
    naam: str,
    datum: Optional[str] = typer.Option(None, "--date", "--datum", help="datum van de gebeurtenis (JJJJ-MM-DD)"),
    door: Optional[str] = typer.Option(None, "--door"),
):
    """Leg een gebeurtenis vast (bv. werk_gestart); stappen die erop wachten worden (her)gepland."""
    _engine().record_event(traject, naam, actor=_actor(door), datum=_parse_date(datum, "--date"))
    out.print(f"gebeurtenis {naam} vastgelegd op traject {traject}")


@app.command()
@logt("clientadministratie")
@clean_errors
def beeindig(traject: int, uitkomst: str = typer.Option(...), reden: str = typer.Option(...),
             door: Optional[str] = typer.Option(None, "--door")):
    """Beëindig een traject met de hand; wat nog gepland stond vervalt."""
    _engine().end(traject, actor=_actor(door), uitkomst=uitkomst, reden=reden)
    out.print(f"traject {traject} beëindigd ({uitkomst})")


@taak_app.command("lijst")
@clean_errors
def taak_lijst(coach: Optional[str] = typer.Option(None), traject: Optional[int] = typer.Option(None)):
    """Open taken, oudste eerst."""
    eng = _engine()
    table = Table("taak", "traject", "stap", "titel", "voor", "toegewezen aan")
    for t in eng.open_tasks(traject_id=traject, assignee=coach):
        table.add_row(str(t.id), str(t.traject_id), t.stap, t.titel, t.due_at.astimezone(TZ).strftime("%Y-%m-%d"),
                      t.toegewezen_aan)
    out.print(table)


@taak_app.command("afronden")
@logt("clientadministratie")
@clean_errors
def taak_afronden(taak: int, uitkomst: Optional[str] = typer.Option(None), door: Optional[str] = typer.Option(None, "--door")):
    """Rond een taak af (met uitkomst waar de stap erom vraagt)."""
    _engine().complete_task(taak, actor=_actor(door), uitkomst=uitkomst)
    out.print(f"taak {taak} afgerond")


@app.command()
@clean_errors
def sweep(
    now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is (JJJJ-MM-DDTHH:MM)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1),
    processen: int = typer.Option(1, "--processen", min=1, max=16,
                                  help="PostgreSQL: zoveel sweepers tegelijk (elk een eigen proces); SQLite: altijd 1"),
    json_: bool = typer.Option(False, "--json", help="tellingen als JSON"),
):
    """Voer alle stappen uit die nu aan de beurt zijn (in batches)."""
    moment = _parse_moment(now, "--now")
    eng = _engine(moment)
    parts = []
    if processen > 1 and eng.is_postgres:
        from trajecten.taken import sweepers

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


@app.command()
def instellingen(markdown: bool = typer.Option(False, "--markdown", help="als Markdown-tabel (docs/instellingen.md)")):
    """Alle instellingen (omgevingsvariabelen TRAJECTEN_*) met standaardwaarde en betekenis."""
    from trajecten.basis.config import Settings, settings_doc

    if markdown:
        sys.stdout.write(settings_doc())
        return
    table = Table("variabele", "standaard", "betekenis")
    for name, f in Settings.model_fields.items():
        d = f.default
        table.add_row(f"TRAJECTEN_{name.upper()}", "(geheim)" if hasattr(d, "get_secret_value") else str(d or ""),
                      f.description or "")
    out.print(table)


@app.command()
@clean_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="adres voor de webpagina's en de API"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="poort (0: een vrije poort)"),
    demo: bool = typer.Option(False, "--demo", help="demo: maak de database met demo-caseload en demo-gebruikers "
                                                    "als die nog niet bestaat"),
    db: Optional[Path] = typer.Option(None, "--db", help="SQLite-bestand (in plaats van --database-url); "
                                                         "met --demo standaard demo.db"),
    clienten: int = typer.Option(1500, "--clienten", min=50, help="met --demo: aantal cliënten in een nieuwe demo"),
):
    """Draai de engine in één proces: webpagina's en REST API (uvicorn) plus de ingebouwde planner die sweep,
    signalen, feed, export en rapportage vuurt."""
    from trajecten.taken import scheduler

    if db is None and demo:
        db = Path("demo.db")
    if db is not None:
        _state["url"] = f"sqlite:///{db}"
    settings = _webserver_instellingen()
    if demo and settings.omgeving == "productie":
        fail("--demo maakt demo-gebruikers met bekende wachtwoorden: niet met TRAJECTEN_OMGEVING=productie")
    if demo and db is not None and not db.exists():
        from trajecten.demo import print_summary, run_demo

        out.print(f"demo: {db} bestaat nog niet; demo-caseload van {clienten} cliënten maken (12 maanden gesimuleerd)")
        print_summary(run_demo(db, clienten=clienten, console=out), out)
    eng = _engine()
    if demo:
        from trajecten.web import demo_gebruikers
        from trajecten.web._demo import DEMO_TOKEN

        table = Table("gebruikersnaam", "rol", "gebied", "wachtwoord (demo)", title="Demo-gebruikers")
        for u in demo_gebruikers(eng):
            table.add_row(u["gebruikersnaam"], u["rol"], u["gebied"], u["wachtwoord"])
        out.print(table)
        out.print(f"API-token voor de UWV-feed (demo, rol koppeling): [bold]{DEMO_TOKEN}[/]")
    _webserver(eng, host, port, f"sweep elke {eng.settings.sweep_interval_s} s", scheduler.start)


def _webserver_instellingen():
    """Logging to stderr (the engine's warnings, e.g. a development key), and in production the web
    server's own check (session key, secure cookies) before the database is touched."""
    import logging

    from trajecten.basis.omgeving import controleer_web

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings(**({"database_url": _state["url"]} if _state.get("url") else {}))
    controleer_web(settings)
    return settings


def _webserver(eng, host: str, port: int, wat: str, planner=None) -> None:
    """Serve the pages and the API with uvicorn until Ctrl-C or SIGTERM; ``planner(eng)`` starts the embedded
    scheduler next to it (``serve``), stopped when the server stops."""
    import signal

    import uvicorn

    from trajecten.web import create_app, klaar_voor_verkeer

    server = uvicorn.Server(uvicorn.Config(create_app(eng), host=host, port=port, log_level="info",
                                           access_log=False, lifespan="off"))
    klaar_voor_verkeer()
    out.print(f"trajecten {'serve' if planner else 'web'}: database "
              f"{eng.db.url.render_as_string(hide_password=True)}, {wat}; web op http://{host}:{port} (Ctrl-C stopt)",
              highlight=False, soft_wrap=True)
    # uvicorn handles SIGINT/SIGTERM itself and re-raises the signal after it stopped: make that harmless
    signal.signal(signal.SIGTERM, lambda *_: None)
    sched = planner(eng) if planner else None
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if sched is not None:
            sched.shutdown(wait=True)
    if not server.started and not server.should_exit:
        fail(f"de webserver kon niet starten op {host}:{port} (poort bezet?)")
    out.print("gestopt")


@app.command()
@clean_errors
def signalen(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is")):
    """Laat de regels beslissen over escalaties (taak te laat) en herinneringen (geen contact)."""
    from trajecten.kern.signalen import ACTOR as SIGNALEN_ACTOR
    from trajecten.kern.signalen import signaleer

    moment = _parse_moment(now, "--now")
    eng = _engine(moment)
    with logboek.systeemtaak(eng, SIGNALEN_ACTOR, naam="signalen: escalaties en herinneringen", component="cli"):
        res = signaleer(eng, moment)
    out.print(f"escalaties {res.escalaties}, herinneringen {res.herinneringen}")


@app.command()
@logt("clientadministratie")
@clean_errors
def timeline(traject: int):
    """De tijdlijn van een traject: geplande en uitgevoerde stappen, taken en gebeurtenissen."""
    tl = _engine().timeline(traject)
    tr = tl["traject"]
    out.print(f"[bold]traject {tr.id}[/] {tr.instrument} v{tr.definitie_versie} — {tr.status}"
              + (f", uitkomst {tr.uitkomst}" if tr.uitkomst else "") + f", start {tr.start_datum}")
    table = Table("wanneer", "stap", "#", "soort", "status", "uitkomst", "te laat", "reden")
    for s in tl["stappen"]:
        late = "" if s.te_laat_s is None else _duur(s.te_laat_s)
        table.add_row(s.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"), s.stap, str(s.volgnr), s.kind, s.status,
                      s.uitkomst or "", late, s.reden or "")
    out.print(table)
    ev = Table("op", "gebeurtenis", "door", "details")
    for e in tl["gebeurtenissen"]:
        detail = ", ".join(f"{k}={v}" for k, v in (e.payload or {}).items() if k not in ("besluit",) and not isinstance(v, (dict, list)))
        if e.regel:
            detail = f"regel {e.regel} {e.regel_versie}; " + detail
        ev.add_row(e.op.astimezone(TZ).strftime("%Y-%m-%d %H:%M"), e.type, e.actor, detail[:120])
    out.print(ev)


def _duur(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} u"
    return f"{seconds / 86400:.1f} d"


@app.command()
@clean_errors
def incidenten():
    """Stappen waarvan de pogingen op zijn: die wachten op een mens."""
    import sqlalchemy as sa

    from trajecten.opslag.models import Incident

    eng = _engine()
    t = Incident.__table__
    with eng.db.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.opgelost_op.is_(None)).order_by(t.c.id)).all()
    table = Table("incident", "traject", "stap-id", "pogingen", "fout")
    for r in rows:
        table.add_row(str(r.id), str(r.traject_id), str(r.stap_id), str(r.pogingen), r.fout[:100])
    out.print(table if rows else "geen open incidenten")


@app.command()
@clean_errors
def controleer():
    """Controleer de verwijzingen die de database niet afdwingt (geen foreign key): per verwijzing het aantal
    rijen zonder ouder. Exit 0 als alles klopt, 1 als er rijen zonder ouder zijn (met een paar ids)."""
    from trajecten.opslag.integriteit import VERWIJZINGEN, voorbeelden, wezen

    eng = _engine()
    with eng.reader.connect() as conn:
        aantallen = wezen(conn)
        fout = {v.naam: voorbeelden(conn, v.naam) for v in VERWIJZINGEN if aantallen[v.naam]}
    for v in VERWIJZINGEN:
        regel = f"{v.naam} -> {v.ouder}: {aantallen[v.naam]} zonder ouder"
        if v.naam in fout:
            regel += " (bv. " + ", ".join(f"{v.tabel} {rij} -> {v.ouder} {ouder}" for rij, ouder in fout[v.naam]) + ")"
        out.print(regel, highlight=False, soft_wrap=True)
    if fout:
        out.print(f"rijen zonder ouder in {len(fout)} van de {len(VERWIJZINGEN)} verwijzingen: " + ", ".join(fout),
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"alle {len(VERWIJZINGEN)} verwijzingen kloppen", highlight=False)


@app.command()
@clean_errors
def demo(
    db: Path = typer.Option(Path("demo.db"), "--db", help="SQLite-bestand (wordt opnieuw aangemaakt)"),
    clienten: int = typer.Option(3000, "--clienten", min=50, help="aantal cliënten"),
    maanden: int = typer.Option(12, "--maanden", min=1, max=36),
    seed: int = typer.Option(2026, "--seed"),
):
    """Maak een demo-caseload en simuleer maanden aan trajecten; toont een overzicht per instrument."""
    from trajecten.demo import print_summary, run_demo

    summary = run_demo(db, clienten=clienten, maanden=maanden, seed=seed, console=out)
    print_summary(summary, out)


# --------------------------------------------------------------------------- rules


@regels_app.command("lijst")
def regels_lijst():
    """Alle regels met hun feiten."""
    import regels

    table = Table("regel", "omschrijving", "feiten")
    for name in regels.regel_namen():
        r = regels.RULES[name]
        table.add_row(name, r.omschrijving, ", ".join(r.feiten))
    out.print(table)


@regels_app.command("beslis")
def regels_beslis(
    regel: str,
    feiten: str = typer.Option(..., "--feiten", help="JSON-bestand met de feiten, of - voor standaardinvoer"),
    peildatum: str = typer.Option(..., "--peildatum", help="JJJJ-MM-DD"),
    json_: bool = typer.Option(False, "--json", help="één JSON-object (het vaste contract)"),
):
    """Laat een regel beslissen over feiten op een peildatum, met uitleg. Foute feiten: exit 2."""
    import regels

    day = _parse_date(peildatum, "--peildatum")
    try:
        text = sys.stdin.read() if feiten == "-" else Path(feiten).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--feiten: {feiten!r} kan niet gelezen worden ({exc.strerror})")
    except UnicodeDecodeError as exc:
        fail(f"--feiten: geen UTF-8-tekst (byte {exc.start})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--feiten: geen geldige JSON (regel {exc.lineno}, kolom {exc.colno}: {exc.msg})")
    if not isinstance(data, dict):
        fail("--feiten: verwacht een JSON-object met feiten")
    try:
        besluit = regels.beslis(regel, data, day)
    except (regels.RegelFout, ValueError) as exc:
        fail(str(exc))
    if json_:
        sys.stdout.write(json.dumps(besluit.to_json(), ensure_ascii=False) + "\n")
    else:
        out.print(besluit.uitleg(), highlight=False)


@regels_app.command("wat-als")
@clean_errors
def regels_wat_als(
    regel: str,
    zet: list[str] = typer.Option(..., "--zet", help="parameter=waarde, bv. premie_op_werk.min_bijstand_maanden=24"),
    peildatum: Optional[str] = typer.Option(None, "--peildatum", help="JJJJ-MM-DD (standaard: vandaag)"),
    aanname: list[str] = typer.Option([], "--aanname", help="feit=waarde voor wat niet bekend is, bv. uren_per_week=20"),
    toon: int = typer.Option(20, "--toon", min=0, help="zoveel cliëntnummers per lijst tonen"),
    json_: bool = typer.Option(False, "--json"),
):
    """Wat als een parameter verandert? Telt over de hele caseload wie erbij komt en wie afvalt, met geldeffect."""
    import yaml

    import regels

    from trajecten.rapportage import watals

    overrides = {}
    for item in zet:
        if "=" not in item:
            fail(f"--zet {item!r}: schrijf parameter=waarde")
        k, v = item.split("=", 1)
        overrides[k.strip()] = yaml.safe_load(v)
    aannames = {}
    for item in aanname:
        if "=" not in item:
            fail(f"--aanname {item!r}: schrijf feit=waarde")
        k, v = item.split("=", 1)
        aannames[k.strip()] = yaml.safe_load(v)
    eng = _engine()
    if not eng.rules.known(regel):
        fail(f"regel: {regel!r} bestaat niet; bekend: {', '.join(regels.regel_namen())}")
    day = _parse_date(peildatum, "--peildatum") or local_date(eng.clock.now())
    try:
        res = watals.wat_als(eng, regel, overrides, day, aannames)
    except (regels.RegelFout, ValueError) as exc:
        fail(str(exc))
    if json_:
        sys.stdout.write(json.dumps(res.to_json(), ensure_ascii=False) + "\n")
        return
    out.print(res.samenvatting(), highlight=False)
    for title, ids in (("erbij (cliëntnummers)", res.gewonnen), ("eraf (cliëntnummers)", res.verloren)):
        if ids:
            more = f" … en {len(ids) - toon} meer" if len(ids) > toon else ""
            out.print(f"{title}: {', '.join(map(str, ids[:toon]))}{more}")


# --------------------------------------------------------------------------- UWV feed


def _feed():
    from trajecten.beheer.koppelingen import uwv_feed

    eng = _engine()
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
    import sqlalchemy as sa

    from trajecten.opslag.models import Quarantaine

    eng = _engine()
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
    s = feed.herverwerk(eng, quarantaine, data, door=_actor(door))
    out.print(s.tekst(), highlight=False)


# --------------------------------------------------------------------------- payouts


@betaal_app.command("lijst")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_lijst(status: Optional[str] = typer.Option(None, help="voorgesteld, goedgekeurd, ...")):
    """Uitbetalingen met hun status, bedrag en de regelversie die het bedrag rechtvaardigt."""
    from trajecten.geld import uitbetalingen

    table = Table("id", "traject", "instrument", "deel", "bedrag", "opeisbaar", "status", "regel", "voorgesteld door",
                  "beoordeeld door")
    rows = uitbetalingen.lijst(_engine(), status)
    logboek.noteer_uitbetalingen(_state["engine"], ids=[r.id for r in rows])
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
    from trajecten.geld import uitbetalingen

    eng = _engine()
    for i in ids:
        logboek.noteer_uitbetalingen(eng, ids=[i])
        uitbetalingen.keur_goed(eng, i, door=_actor(door))
        out.print(f"uitbetaling {i} goedgekeurd")


@betaal_app.command("afwijzen")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_afwijzen(uitbetaling: int, reden: str = typer.Option(...), door: Optional[str] = typer.Option(None, "--door")):
    """Wijs een uitbetaling af, met reden."""
    from trajecten.geld import uitbetalingen

    eng = _engine()
    logboek.noteer_uitbetalingen(eng, ids=[uitbetaling])
    uitbetalingen.wijs_af(eng, uitbetaling, door=_actor(door), reden=reden)
    out.print(f"uitbetaling {uitbetaling} afgewezen")


@betaal_app.command("exporteer")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_exporteer(uit: Path = typer.Option(..., "--uit", help="pain.001 XML-bestand"),
                            door: Optional[str] = typer.Option(None, "--door")):
    """Exporteer alle goedgekeurde uitbetalingen als één SEPA-batch (nooit iets twee keer)."""
    import os

    from trajecten.geld import uitbetalingen

    if uit.is_dir() or not uit.parent.is_dir() or not os.access(uit.parent, os.W_OK):
        fail(f"--uit: {uit} kan niet geschreven worden (geen map, of geen schrijfrechten)")  # before exporting
    res = uitbetalingen.exporteer(_engine(), door=_actor(door))
    logboek.noteer_uitbetalingen(_state["engine"], res.batch_id, [pid for pid, _ in res.overgeslagen])
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
    from trajecten.geld import uitbetalingen

    n = uitbetalingen.markeer_betaald(_engine(), batch, door=_actor(door))
    logboek.noteer_uitbetalingen(_state["engine"], batch)
    out.print(f"batch {batch}: {n} uitbetalingen betaald")


@betaal_app.command("batch")
@logt("uitbetalingen")
@clean_errors
def uitbetalingen_batch(batch: int, uit: Path = typer.Option(..., "--uit")):
    """Schrijf het bestand van een eerdere batch opnieuw weg (zonder opnieuw te exporteren)."""
    from trajecten.geld import uitbetalingen

    uit.write_bytes(uitbetalingen.batch_xml(_engine(), batch))
    logboek.noteer_uitbetalingen(_state["engine"], batch)
    out.print(f"batch {batch} -> {uit}")


# --------------------------------------------------------------------------- Kansen in Kaart, bijstand, report


@kansen_app.command("bijwerken")
@clean_errors
def kansen_bijwerken(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is"),
                     json_: bool = typer.Option(False, "--json", help="tellingen als JSON")):
    """Start Kansen in Kaart voor wie in de bijstand zit zonder traject; beëindig het bij een ander traject."""
    from trajecten.taken.kansen import bijwerken

    res = bijwerken(_engine(_parse_moment(now, "--now")))
    if json_:
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
    elif not res.get("actief"):
        out.print("instrument kansen_in_kaart is niet geladen: niets gedaan")
    else:
        out.print(f"kandidaten {res['kandidaten']}: gestart {res['gestart']}, niet toegelaten {res['niet_toegelaten']}, "
                  f"al lopend {res['al_lopend']}, fouten {res['fouten']}; beëindigd: ander traject {res['beeindigd_ander_traject']}, "
                  f"uit de bijstand {res['beeindigd_uit_bijstand']}")


@client_app.command("bijstand-start")
@logt("clientadministratie")
@clean_errors
def client_bijstand_start(client: int, datum: str = typer.Option(..., "--datum", help="eerste dag van de bijstand"),
                          door: Optional[str] = typer.Option(None, "--door")):
    """Leg vast dat een cliënt (weer) in de bijstand kwam; telt als herinstroom na uitstroom door werk."""
    from trajecten.clienten.uitstroom import bijstand_start_vastleggen

    day = _parse_date(datum, "--datum")
    bijstand_start_vastleggen(_engine(), client, day, actor=_actor(door))
    logboek.noteer([client])
    out.print(f"cliënt {client}: bijstand sinds {day}")


@rapportage_app.command("maand")
@clean_errors
def rapportage_maand(maand: Optional[str] = typer.Option(None, "--maand", help="JJJJ-MM (standaard: vorige maand)"),
                     uit: Path = typer.Option(..., "--uit", help="map voor report.html en report.csv")):
    """Maandrapportage per instrument (gestart, actief, uitkomsten, betaald, jaardoel) en herinstroom."""
    from trajecten.rapportage import maandrapport as rapportage

    eng = _engine()
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


# --------------------------------------------------------------------------- Logboek Dataverwerkingen, retention

logboek_app = typer.Typer(help="Logboek Dataverwerkingen: inzageverzoeken", no_args_is_help=True)
app.add_typer(logboek_app, name="logboek")


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
    from trajecten.basis.bsn import valideer_bsn

    eng = _engine()
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


@app.command()
@clean_errors
def anonimiseer(now: Optional[str] = typer.Option(None, "--now", help="doe alsof het nu dit moment is (JJJJ-MM-DD)"),
                json_: bool = typer.Option(False, "--json")):
    """Anonimiseer cliënten van wie alle trajecten langer dan de bewaartermijn geleden eindigden (en zonder
    openstaande uitbetaling); de monitoringcijfers blijven gelijk."""
    from trajecten.privacy.anonimiseren import anonimiseer as anonimiseer_

    moment = _parse_moment(now, "--now")
    res = anonimiseer_(_engine(moment))
    if json_:
        sys.stdout.write(json.dumps(res.as_dict()) + "\n")
    else:
        out.print(f"peildatum {res.peildatum}: {res.geanonimiseerd} cliënten geanonimiseerd, "
                  f"{res.wacht_op_betaling} wachten nog op een openstaande uitbetaling")


# --------------------------------------------------------------------------- distributed mode: web, schema, cluster


@app.command("web")
@clean_errors
def web_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="adres voor de webpagina's en de API (0.0.0.0: alle)"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="poort (0: een vrije poort)"),
):
    """Alleen de backoffice (webpagina's en REST API), zonder de ingebouwde planner: voor naast de
    Prefect-workers (gedistribueerd, docs/deploy.md). Eén proces met alles is `trajecten serve`."""
    _webserver_instellingen()
    _webserver(_engine(), host, port, "zonder ingebouwde planner (de schema's draaien in Prefect)")


db_app = typer.Typer(help="Het schema van de engine-database (Alembic-migraties)", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _database_url() -> str:
    return load_settings(**({"database_url": _state["url"]} if _state.get("url") else {})).database_url


def _db_fout(exc: Exception) -> None:
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.DBAPIError):  # one line, never the URL with its password
        fail(f"database: {str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__}")
    raise exc


@db_app.command("migreer")
@clean_errors
def db_migreer():
    """Breng het schema naar de nieuwste migratie: de expliciete stap van een upgrade, vóór de nieuwe code
    start (docs/deploy.md). Veilig om te herhalen; wie tegelijk migreert wacht op een slot. Controleren zonder
    te migreren: `python -m trajecten.beheer.gezondheid` (exit 0: schema bij)."""
    from trajecten.opslag.migreren import migreer

    try:
        voor, na = migreer(_database_url())
    except Exception as exc:  # noqa: BLE001
        _db_fout(exc)
    tekst = lambda r: ", ".join(r) or "(leeg)"  # noqa: E731
    if voor == na:
        out.print(f"schema was al bij: revisie {tekst(na)}")
    else:
        out.print(f"schema gemigreerd: revisie {tekst(voor)} -> {tekst(na)}")


cluster_app = typer.Typer(help="Het hele gedistribueerde stelsel op één machine, om te proberen en te testen: "
                               "Prefect-server, workers en web (productie: deploy/ met systemd)",
                          no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")


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
    from trajecten.beheer import cluster

    url = database_url or _state.get("url")
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
    from trajecten.beheer import cluster

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
    from trajecten.beheer import cluster

    try:
        res = cluster.stop(map_, wachttijd=wachttijd, meld=lambda s: out.print(s, highlight=False, soft_wrap=True))
    except cluster.ClusterFout as exc:
        fail(str(exc))
    table = Table("proces", "pid", "hoe", "na", title="Cluster gestopt")
    for g in res:
        table.add_row(g.naam, str(g.pid), g.hoe, f"{g.seconden:.1f} s")
    out.print(table)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
