"""One trajectory by hand: ``trajecten start``, ``event``, ``beeindig`` and ``timeline``; the work list
(``trajecten taak lijst/afronden``) and ``trajecten incidenten``, the steps whose retries ran out and that
wait for a person."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
import typer
from rich.table import Table

from trajecten.basis.tijd import TZ
from trajecten.cli._common import actor, clean_errors, fail, logt, open_engine, out, parse_date, uitleg
from trajecten.opslag.models import Incident
from trajecten.privacy import logboek

# top-level commands; __init__.py registers them on the app


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
    res = open_engine().start(instrument, client, feiten, actor=actor(door), overrule_reden=overrule_reden,
                              mag_overrulen=teamleider)
    out.print(f"traject {res.traject_id} gestart ({res.status}, begint {res.start_datum}), {res.stappen} stappen gepland"
              + (" — [yellow]toegang overruled[/]" if res.overruled else ""))
    out.print(uitleg(res.besluit))


@logt("clientadministratie")
@clean_errors
def event(
    traject: int,
    naam: str,
    datum: Optional[str] = typer.Option(None, "--date", "--datum", help="datum van de gebeurtenis (JJJJ-MM-DD)"),
    door: Optional[str] = typer.Option(None, "--door"),
):
    """Leg een gebeurtenis vast (bv. werk_gestart); stappen die erop wachten worden (her)gepland."""
    open_engine().record_event(traject, naam, actor=actor(door), datum=parse_date(datum, "--date"))
    out.print(f"gebeurtenis {naam} vastgelegd op traject {traject}")


@logt("clientadministratie")
@clean_errors
def beeindig(traject: int, uitkomst: str = typer.Option(...), reden: str = typer.Option(...),
             door: Optional[str] = typer.Option(None, "--door")):
    """Beëindig een traject met de hand; wat nog gepland stond vervalt."""
    open_engine().end(traject, actor=actor(door), uitkomst=uitkomst, reden=reden)
    out.print(f"traject {traject} beëindigd ({uitkomst})")


@logt("clientadministratie")
@clean_errors
def timeline(traject: int):
    """De tijdlijn van een traject: geplande en uitgevoerde stappen, taken en gebeurtenissen."""
    tl = open_engine().timeline(traject)
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


taak_app = typer.Typer(help="Taken op de werklijst", no_args_is_help=True)


@taak_app.command("lijst")
@clean_errors
def taak_lijst(coach: Optional[str] = typer.Option(None), traject: Optional[int] = typer.Option(None)):
    """Open taken, oudste eerst."""
    eng = open_engine()
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
    open_engine().complete_task(taak, actor=actor(door), uitkomst=uitkomst)
    out.print(f"taak {taak} afgerond")


@clean_errors
def incidenten():
    """Stappen waarvan de pogingen op zijn: die wachten op een mens."""
    eng = open_engine()
    t = Incident.__table__
    with eng.db.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.opgelost_op.is_(None)).order_by(t.c.id)).all()
    table = Table("incident", "traject", "stap-id", "pogingen", "fout")
    for r in rows:
        table.add_row(str(r.id), str(r.traject_id), str(r.stap_id), str(r.pogingen), r.fout[:100])
    out.print(table if rows else "geen open incidenten")
