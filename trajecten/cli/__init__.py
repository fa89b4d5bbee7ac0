"""The ``trajecten`` command line (Typer): assembles ``app`` from the command modules of this package, in
the order ``trajecten --help`` shows them. Errors are one clear line and exit code 2, never a traceback
(``_common.clean_errors``). Which module holds which command: README.md."""

from __future__ import annotations

from typing import Optional

import typer

from trajecten.basis.proces import stem_af
from trajecten.cli._beheer import controleer, db_app, demo, instellingen, serve, web_cmd
from trajecten.cli._clienten import caseload_cmd, client_app, coach_app, overplaatsing_app
from trajecten.cli._cluster import cluster_app
from trajecten.cli._common import state
from trajecten.cli._feed import feed_app
from trajecten.cli._instrumenten import instruments_app, regels_app
from trajecten.cli._privacy import anonimiseer, logboek_app
from trajecten.cli._taken import kansen_app, rapportage_app, signalen, sweep
from trajecten.cli._trajecten import beeindig, event, incidenten, start, taak_app, timeline
from trajecten.cli._uitbetalingen import betaal_app

__all__ = ["app", "main"]

app = typer.Typer(help="Trajectenengine Werk & Participatie", no_args_is_help=True, add_completion=False)
_state = state  # tests close the engine a command opened between two commands (tests/test_integriteit.py)


@app.callback()
def _main(database_url: Optional[str] = typer.Option(None, "--database-url", envvar="TRAJECTEN_DATABASE_URL",
                                                    help="engine database (default sqlite:///trajecten.db)")):
    state["url"] = database_url
    stem_af()  # the process tuning every process that runs the engine sets at start (trajecten.basis.proces)


# the commands, then the groups: each in the order of --help
app.command("caseload")(caseload_cmd)
for command in (start, event, beeindig, sweep, instellingen, serve, signalen, timeline, incidenten, controleer, demo,
                anonimiseer):
    app.command()(command)
app.command("web")(web_cmd)

app.add_typer(instruments_app, name="instruments")
app.add_typer(client_app, name="client")
app.add_typer(taak_app, name="taak")
app.add_typer(regels_app, name="regels")
app.add_typer(feed_app, name="feed")
app.add_typer(betaal_app, name="uitbetalingen")
app.add_typer(kansen_app, name="kansen-in-kaart")
app.add_typer(rapportage_app, name="rapportage")
app.add_typer(coach_app, name="coach")
app.add_typer(overplaatsing_app, name="overplaatsing")
app.add_typer(logboek_app, name="logboek")
app.add_typer(db_app, name="db")
app.add_typer(cluster_app, name="cluster")


def main() -> None:  # pragma: no cover
    app()
