"""What every command shares: the consoles, opening the engine, parsing dates and moments, and the error
handling — an engine refusal is one clear line and exit code 2 (1: already running), never a traceback.
``logt`` makes a command one processing in the Logboek Dataverwerkingen."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from datetime import date, datetime
from typing import Optional

import typer
from rich.console import Console

from trajecten.basis.config import Settings, SettingsError, load_settings
from trajecten.basis.fouten import AlLopend, NietToegelaten, TrajectFout
from trajecten.basis.tijd import TZ, FixedClock
from trajecten.kern.definitie import DefinitieFout
from trajecten.kern.engine import Engine
from trajecten.privacy import logboek

# wide enough for the summary tables when output goes to a file or a CI log
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
# the --database-url of this invocation ("url") and the engine the command opened ("engine")
state: dict = {}


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
                err.print(uitleg(exc.besluit))
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


def uitleg(besluit) -> str:
    fn = getattr(besluit, "uitleg", None)
    return fn() if callable(fn) else json.dumps(besluit.to_json(), ensure_ascii=False, indent=2)


def engine_settings() -> Settings:
    """The settings, with the database of ``--database-url`` when given."""
    return load_settings(**({"database_url": state["url"]} if state.get("url") else {}))


def open_engine(now: Optional[datetime] = None) -> Engine:
    settings = engine_settings()
    clock = FixedClock(now) if now else None
    eng = Engine.open(settings.database_url, clock=clock, settings=settings)
    state["engine"] = eng  # the Logboek Dataverwerkingen of the command (``logt``) writes with it
    return eng


def logt(activiteit: str):
    """Logboek Dataverwerkingen: the command is one processing under ``activiteit``; the clients it reads
    or changes (noted by the engine, or by the command with ``logboek.noteer``) get a record each, with
    status ERROR when it failed. Put it above ``clean_errors``."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            naam = "trajecten " + fn.__name__.replace("_", " ")
            v = logboek.begin(activiteit, actor(kwargs.get("door")), naam=naam, component="cli", erf=False)
            status = logboek.OK
            try:
                with logboek.actief(v):
                    return fn(*args, **kwargs)
            except BaseException as exc:
                if not (isinstance(exc, typer.Exit) and exc.exit_code == 0):
                    status = logboek.ERROR
                raise
            finally:
                if "engine" in state:
                    logboek.sluit(state["engine"], v, status)

        return wrapper

    return deco


def actor(door: Optional[str]) -> str:
    return door or f"cli:{getpass.getuser()}"


def parse_moment(value: Optional[str], field: str) -> Optional[datetime]:
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


def parse_date(value: Optional[str], field: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{field}: {value!r} is geen datum (JJJJ-MM-DD)")
