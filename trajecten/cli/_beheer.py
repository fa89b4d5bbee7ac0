"""Running and looking after the engine: ``trajecten serve`` (web and embedded planner in one process),
``web`` (web only, next to Prefect workers), ``db migreer``, ``controleer`` (references without a foreign
key), ``instellingen`` and ``demo``."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
import typer
from rich.table import Table

from trajecten.basis.config import Settings, settings_doc
from trajecten.basis.omgeving import controleer_web
from trajecten.cli._common import clean_errors, engine_settings, fail, open_engine, out, state
from trajecten.opslag.integriteit import VERWIJZINGEN, voorbeelden, wezen
from trajecten.opslag.migreren import migreer

# top-level commands; __init__.py registers them on the app


def instellingen(markdown: bool = typer.Option(False, "--markdown", help="als Markdown-tabel (docs/instellingen.md)")):
    """Alle instellingen (omgevingsvariabelen TRAJECTEN_*) met standaardwaarde en betekenis."""
    if markdown:
        sys.stdout.write(settings_doc())
        return
    table = Table("variabele", "standaard", "betekenis")
    for name, f in Settings.model_fields.items():
        d = f.default
        table.add_row(f"TRAJECTEN_{name.upper()}", "(geheim)" if hasattr(d, "get_secret_value") else str(d or ""),
                      f.description or "")
    out.print(table)


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
    from trajecten.taken import scheduler  # heavy (~45 ms, APScheduler): only for serve

    if db is None and demo:
        db = Path("demo.db")
    if db is not None:
        state["url"] = f"sqlite:///{db}"
    settings = _webserver_instellingen()
    if demo and settings.omgeving == "productie":
        fail("--demo maakt demo-gebruikers met bekende wachtwoorden: niet met TRAJECTEN_OMGEVING=productie")
    if demo and db is not None and not db.exists():
        from trajecten.demo import print_summary, run_demo  # heavy (~40 ms): only for serve --demo and demo

        out.print(f"demo: {db} bestaat nog niet; demo-caseload van {clienten} cliënten maken (12 maanden gesimuleerd)")
        print_summary(run_demo(db, clienten=clienten, console=out), out)
    eng = open_engine()
    if demo:
        from trajecten.web import DEMO_TOKEN, demo_gebruikers  # heavy (~1 s, FastAPI and the pages): only for serve --demo

        table = Table("gebruikersnaam", "rol", "gebied", "wachtwoord (demo)", title="Demo-gebruikers")
        for u in demo_gebruikers(eng):
            table.add_row(u["gebruikersnaam"], u["rol"], u["gebied"], u["wachtwoord"])
        out.print(table)
        out.print(f"API-token voor de UWV-feed (demo, rol koppeling): [bold]{DEMO_TOKEN}[/]")
    _webserver(eng, host, port, f"sweep elke {eng.settings.sweep_interval_s} s", scheduler.start)


def _webserver_instellingen():
    """Logging to stderr (the engine's warnings, e.g. a development key), and in production the web
    server's own check (session key, secure cookies) before the database is touched."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = engine_settings()
    controleer_web(settings)
    return settings


def _webserver(eng, host: str, port: int, wat: str, planner=None) -> None:
    """Serve the pages and the API with uvicorn until Ctrl-C or SIGTERM; ``planner(eng)`` starts the embedded
    scheduler next to it (``serve``), stopped when the server stops."""
    import uvicorn  # heavy: only for serve and web

    from trajecten.web import create_app, klaar_voor_verkeer  # heavy (~1 s): only for serve and web

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


@clean_errors
def web_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="adres voor de webpagina's en de API (0.0.0.0: alle)"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="poort (0: een vrije poort)"),
):
    """Alleen de backoffice (webpagina's en REST API), zonder de ingebouwde planner: voor naast de
    Prefect-workers (gedistribueerd, docs/deploy.md). Eén proces met alles is `trajecten serve`."""
    _webserver_instellingen()
    _webserver(open_engine(), host, port, "zonder ingebouwde planner (de schema's draaien in Prefect)")


@clean_errors
def controleer():
    """Controleer de verwijzingen die de database niet afdwingt (geen foreign key): per verwijzing het aantal
    rijen zonder ouder. Exit 0 als alles klopt, 1 als er rijen zonder ouder zijn (met een paar ids)."""
    eng = open_engine()
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


@clean_errors
def demo(
    db: Path = typer.Option(Path("demo.db"), "--db", help="SQLite-bestand (wordt opnieuw aangemaakt)"),
    clienten: int = typer.Option(3000, "--clienten", min=50, help="aantal cliënten"),
    maanden: int = typer.Option(12, "--maanden", min=1, max=36),
    seed: int = typer.Option(2026, "--seed"),
):
    """Maak een demo-caseload en simuleer maanden aan trajecten; toont een overzicht per instrument."""
    from trajecten.demo import print_summary, run_demo  # heavy (~40 ms): only for serve --demo and demo

    summary = run_demo(db, clienten=clienten, maanden=maanden, seed=seed, console=out)
    print_summary(summary, out)


# --------------------------------------------------------------------------- the schema

db_app = typer.Typer(help="Het schema van de engine-database (Alembic-migraties)", no_args_is_help=True)


def _db_fout(exc: Exception) -> None:
    if isinstance(exc, sa.exc.DBAPIError):  # one line, never the URL with its password
        fail(f"database: {str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__}")
    raise exc


@db_app.command("migreer")
@clean_errors
def db_migreer():
    """Breng het schema naar de nieuwste migratie: de expliciete stap van een upgrade, vóór de nieuwe code
    start (docs/deploy.md). Veilig om te herhalen; wie tegelijk migreert wacht op een slot. Controleren zonder
    te migreren: `python -m trajecten.beheer.gezondheid` (exit 0: schema bij)."""
    try:
        voor, na = migreer(engine_settings().database_url)
    except Exception as exc:  # noqa: BLE001
        _db_fout(exc)
    tekst = lambda r: ", ".join(r) or "(leeg)"  # noqa: E731
    if voor == na:
        out.print(f"schema was al bij: revisie {tekst(na)}")
    else:
        out.print(f"schema gemigreerd: revisie {tekst(voor)} -> {tekst(na)}")
