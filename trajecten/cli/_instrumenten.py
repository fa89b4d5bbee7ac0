"""``trajecten instruments`` and ``trajecten regels``: the instrument definitions (list, show, validate,
JSON Schema) and the rules that decide (list, one decision with its explanation, and ``wat-als``: what a
changed parameter does over the whole caseload)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
import yaml
from rich.table import Table

from trajecten.basis.tijd import Offset, local_date
from trajecten.cli._common import clean_errors, err, fail, open_engine, out, parse_date
from trajecten.kern.definitie import DefinitieFout, INSTRUMENTEN_DIR, load_dir, parse_definitie, write_json_schema
from trajecten.rapportage import watals

instruments_app = typer.Typer(help="Instrumentdefinities bekijken en controleren", no_args_is_help=True)


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


regels_app = typer.Typer(help="Regels: beslissingen met uitleg", no_args_is_help=True)


@regels_app.command("lijst")
def regels_lijst():
    """Alle regels met hun feiten."""
    import regels  # heavy (~50 ms): only for the regels commands

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
    import regels  # heavy (~50 ms): only for the regels commands

    day = parse_date(peildatum, "--peildatum")
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
    import regels  # heavy (~50 ms): only for the regels commands

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
    eng = open_engine()
    if not eng.rules.known(regel):
        fail(f"regel: {regel!r} bestaat niet; bekend: {', '.join(regels.regel_namen())}")
    day = parse_date(peildatum, "--peildatum") or local_date(eng.clock.now())
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
