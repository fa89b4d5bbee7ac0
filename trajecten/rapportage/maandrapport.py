"""The monthly monitoring report for policy staff and the council: per instrument per month started,
active, ended by outcome, payouts (voorgesteld, goedgekeurd, afgewezen, geëxporteerd, betaald: the same
``monitoring.geldcijfers`` the monitoring page uses) and progress against the yearly target, plus herinstroom of
clients who left bijstand for work. Written as ``report.html`` (tables and inline SVG charts, no
scripts, renders offline) and ``report.csv`` (long format: one figure per row, for a spreadsheet).

Counts and sums only: no name, BSN, postcode, client or trajectory id, coach or user name is read
into the report (tests/test_rapportage.py scans the output for a caseload's personal data).
The definitions below are printed in the report itself and in docs/rapportage.md.
"""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from jinja2 import Environment, FileSystemLoader, select_autoescape

from trajecten.clienten import ladder
from trajecten.rapportage.monitoring import (GELD_DEFINITIES, GRAFIEK_STATUSSEN, STATUS_TEKST, STATUSSEN, Geld, Maandcijfers, euro,
                         euro_getal, geld_leeg, geldcijfers, maandcijfers)
from trajecten.basis.tijd import TZ, local_date
from trajecten.clienten.uitstroom import instroom_datums, uitstroom_paren, uitstromen

MAANDEN = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

DEFINITIES = {
    "gestart": "trajecten met een startdatum in de maand (ook die later beginnen, status gepland, tellen op hun startdatum)",
    "actief": "trajecten die op de laatste dag van de maand gestart en nog niet beëindigd waren",
    "afgerond": "trajecten met een einddatum in de maand, per uitkomst",
    "uitbetalingen": "per status aantal en bedrag (exact in euro's), geteld in de maand waarin de uitbetaling die "
                     "status bereikte (lokale dagen, Europe/Amsterdam), dus in elke maand waarin ze verder kwam; "
                     "dezelfde telling als de monitoringpagina",
    **{f"uitbetalingen {STATUS_TEKST[k]}": v for k, v in GELD_DEFINITIES.items()},
    "voortgang": "gestart sinds 1 januari tegen het jaardoel; 'naar rato' is jaardoel x maand / 12; "
                 "een jaardoel van 0 betekent: geen jaardoel",
    "succes": "afgerond sinds 1 januari met een van de succesuitkomsten van het instrument, als percentage van "
              "alle afgeronde; geen percentage voor een instrument zonder succesuitkomsten",
    "uitstroom": "uitstroom door werk: een traject eindigde met een uitkomst die het instrument onder "
                 "uitstroom_uitkomsten noemt; de einddatum van het traject geldt als uitstroomdatum",
    "herinstroom": "terug in de bijstand: een vastgelegde bijstandsstart (gebeurtenis bijstand_gestart of "
                   "herinstroom, of de huidige bijstand-sinds-datum) na de uitstroomdatum en uiterlijk 6 of 12 "
                   "kalendermaanden erna. Een nieuw traject telt niet vanzelf: Premie op Werk en Jobcoaching "
                   "beginnen juist omdat iemand aan het werk ging",
    "cohort": "de 6-maandsmaat volgt wie uitstroomde in de 12 kalendermaanden die eindigen 6 maanden voor het "
              "eind van de rapportmaand (hun 6 maanden zijn dan helemaal voorbij); de 12-maandsmaat idem met 12 "
              "maanden. Eén uitstroom per cliënt per dag",
}


@dataclass
class Instrumentregel:
    m: Maandcijfers  # m.geld: the payouts of the month per status (monitoring.geldcijfers)
    omschrijving: str = ""
    dit_jaar: dict[str, Geld] = field(default_factory=geld_leeg)  # the same, 1 January to the end of the month
    # (maand, gestart, actief, geld of that month)
    per_maand: list[tuple[str, int, int, dict[str, Geld]]] = field(default_factory=list)

    @property
    def naar_rato(self) -> int:
        return round(self.m.jaardoel * self.m.maand / 12)

    @property
    def betaald_dit_jaar(self) -> Decimal:
        return self.dit_jaar["betaald"].bedrag

    @property
    def heeft_uitbetalingen(self) -> bool:
        return any(g.aantal for g in self.m.geld.values()) or any(g.aantal for g in self.dit_jaar.values())


@dataclass
class Herinstroom:
    maanden: int
    van: date
    tot: date
    uitgestroomd: int = 0
    terug: int = 0
    per_instrument: dict[str, list[int]] = field(default_factory=dict)  # instrument -> [uitgestroomd, terug]

    @property
    def pct(self) -> float | None:
        return round(100 * self.terug / self.uitgestroomd, 1) if self.uitgestroomd else None


@dataclass
class Maandrapport:
    jaar: int
    maand: int
    gemaakt_op: datetime
    instrumenten: list[Instrumentregel]
    herinstroom: list[Herinstroom]
    cohorten: list[tuple[str, int, int | None, int | None]]  # (uitstroommaand, uitgestroomd, terug 6, terug 12)
    ladder: dict = field(default_factory=dict)  # ladder.beweging_maand_en_jaar: up / stayed / down per instrument

    @property
    def periode(self) -> str:
        return f"{self.jaar}-{self.maand:02d}"


def _maand_einde(jaar: int, maand: int) -> date:
    return date(jaar, maand, calendar.monthrange(jaar, maand)[1])


def _plus_maanden(d: date, n: int) -> date:
    """Calendar months the way the rules count them (31 Aug + 6 months = 28/29 Feb)."""
    return d + relativedelta(months=n)


def _herinstroom(conn, paren, einde: date, maanden: int) -> Herinstroom:
    tot = _maand_einde(*_ym(_plus_maanden(einde.replace(day=1), -maanden)))
    van = _plus_maanden(tot.replace(day=1), -11)
    h = Herinstroom(maanden, van, tot)
    rows = uitstromen(conn, paren, van, tot)
    terug = instroom_datums(conn, [r[0] for r in rows]) if rows else {}
    for cid, inst, u in rows:
        grens = _plus_maanden(u, maanden)
        back = any(u < d <= grens for d in terug.get(cid, ()))
        h.uitgestroomd += 1
        h.terug += back
        x = h.per_instrument.setdefault(inst, [0, 0])
        x[0] += 1
        x[1] += back
    return h


def _ym(d: date) -> tuple[int, int]:
    return d.year, d.month


def _cohorten(conn, paren, einde: date) -> list[tuple[str, int, int | None, int | None]]:
    eerste = _plus_maanden(einde.replace(day=1), -23)
    rows = uitstromen(conn, paren, eerste, einde)
    terug = instroom_datums(conn, [r[0] for r in rows]) if rows else {}
    out = []
    for k in range(24):
        start = _plus_maanden(eerste, k)
        laatste = _maand_einde(start.year, start.month)
        sel = [(c, u) for c, _, u in rows if start <= u <= laatste]

        def binnen(n: int) -> int | None:
            if _plus_maanden(laatste, n) > einde:
                return None  # the window has not passed yet
            return sum(any(u < d <= _plus_maanden(u, n) for d in terug.get(c, ())) for c, u in sel)

        out.append((f"{start.year}-{start.month:02d}", len(sel), binnen(6), binnen(12)))
    return out


def maak(engine, jaar: int, maand: int) -> Maandrapport:
    """The report's figures for ``jaar``-``maand`` (counts and sums only)."""
    if not 1 <= maand <= 12:
        from trajecten.basis.fouten import OngeldigeInvoer

        raise OngeldigeInvoer("maand", f"{maand} is geen maand (1-12)")
    einde = _maand_einde(jaar, maand)
    reeks = {k: {m.instrument: m for m in maandcijfers(engine, jaar, k)} for k in range(1, maand + 1)}
    paren = uitstroom_paren(engine)
    regels = []
    with engine.reader.connect() as conn:
        dit_jaar = geldcijfers(conn, date(jaar, 1, 1), einde)
        for name, m in reeks[maand].items():
            try:
                omschrijving = engine.register.current(name).definitie.jaardoel.omschrijving
            except KeyError:
                omschrijving = ""
            r = Instrumentregel(m, omschrijving, dit_jaar.get(name, geld_leeg()))
            for k in range(1, maand + 1):
                x = reeks[k].get(name)
                r.per_maand.append((MAANDEN[k - 1], x.gestart if x else 0, x.actief_einde_maand if x else 0,
                                    x.geld if x else geld_leeg()))
            regels.append(r)
        herinstroom = [_herinstroom(conn, paren, einde, n) for n in (6, 12)]
        cohorten = _cohorten(conn, paren, einde)
    return Maandrapport(jaar, maand, engine.clock.now(), regels, herinstroom, cohorten,
                        ladder.beweging_maand_en_jaar(engine, jaar, maand))


# --------------------------------------------------------------------------- output


def csv_tekst(r: Maandrapport) -> str:
    """Long format, ``;``-separated: onderdeel;instrument;periode;kengetal;waarde."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(["onderdeel", "instrument", "periode", "kengetal", "waarde"])
    p = r.periode
    for x in r.instrumenten:
        m = x.m
        rows = [("gestart", m.gestart), ("actief_einde_maand", m.actief_einde_maand), ("afgerond", m.afgerond)]
        rows += [(f"afgerond_{k}", v) for k, v in sorted(m.uitkomsten.items())]
        rows += [("gestart_dit_jaar", m.gestart_dit_jaar),
                 ("jaardoel", m.jaardoel if m.heeft_jaardoel else ""),  # empty: geen jaardoel
                 ("jaardoel_naar_rato", x.naar_rato if m.heeft_jaardoel else ""),
                 ("afgerond_dit_jaar", m.afgerond_dit_jaar), ("succes_dit_jaar", m.succes_dit_jaar),
                 ("succes_pct", "" if m.succes_pct is None else m.succes_pct),
                 ("succes_doel_pct", "" if m.succes_doel_pct is None else m.succes_doel_pct)]
        for s in STATUSSEN:  # monitoring.geldcijfers: the same figures as the monitoring page
            rows += [(f"uitbetalingen_{s}", m.geld[s].aantal), (f"bedrag_{s}", f"{m.geld[s].bedrag:.2f}")]
        for s in STATUSSEN:
            rows += [(f"uitbetalingen_{s}_dit_jaar", x.dit_jaar[s].aantal),
                     (f"bedrag_{s}_dit_jaar", f"{x.dit_jaar[s].bedrag:.2f}")]
        w.writerows(("instrument", m.instrument, p, k, v) for k, v in rows)
    for h in r.herinstroom:
        periode = f"{h.van.isoformat()}..{h.tot.isoformat()}"
        w.writerow(("herinstroom", "alle", periode, f"uitgestroomd_{h.maanden}m", h.uitgestroomd))
        w.writerow(("herinstroom", "alle", periode, f"terug_binnen_{h.maanden}m", h.terug))
        w.writerow(("herinstroom", "alle", periode, f"pct_terug_binnen_{h.maanden}m", "" if h.pct is None else h.pct))
        for inst, (n, t) in sorted(h.per_instrument.items()):
            w.writerow(("herinstroom", inst, periode, f"uitgestroomd_{h.maanden}m", n))
            w.writerow(("herinstroom", inst, periode, f"terug_binnen_{h.maanden}m", t))
    for deel, periode in (("maand", p), ("dit_jaar", f"{r.jaar}-01..{p}")):
        for rij in r.ladder.get(deel, ()):
            for k in ("deelnemers", "omhoog", "gelijk", "omlaag", "zonder_nulmeting"):
                w.writerow(("ontwikkelladder", rij["instrument"], periode, k, rij[k]))
    for label, n, t6, t12 in r.cohorten:
        w.writerow(("cohort", "alle", label, "uitgestroomd", n))
        w.writerow(("cohort", "alle", label, "terug_binnen_6m", "" if t6 is None else t6))
        w.writerow(("cohort", "alle", label, "terug_binnen_12m", "" if t12 is None else t12))
    return buf.getvalue()


def html_tekst(r: Maandrapport) -> str:
    from trajecten.rapportage.svg import staafdiagram, voortgang  # the monitoring page's charts

    grafieken = []
    for x in r.instrumenten:
        m = x.m
        grafieken.append({
            "x": x,
            "gestart": staafdiagram([(k, g) for k, g, _, _ in x.per_maand], titel=f"{m.naam}: gestart per maand"),
            "actief": staafdiagram([(k, a) for k, _, a, _ in x.per_maand], kleur="#4a6b8a",
                                   titel=f"{m.naam}: actief aan het eind van de maand"),
            "geld": [(STATUS_TEKST[s], staafdiagram([(k, euro_getal(g[s].bedrag)) for k, _, _, g in x.per_maand],
                                                     kleur="#7a5a00", titel=f"{m.naam}: uitbetalingen "
                                                                         f"{STATUS_TEKST[s]} per maand (euro)"))
                     for s in GRAFIEK_STATUSSEN if any(g[s].aantal for *_, g in x.per_maand)],
            "doel": voortgang(m.gestart_dit_jaar, m.jaardoel, doel=x.naar_rato,
                              titel=f"{m.naam}: gestart dit jaar tegen jaardoel (streep: naar rato)")
            if m.heeft_jaardoel else None,
            "succes": voortgang(m.succes_pct or 0, 100, doel=m.succes_doel_pct, eenheid="%",
                                titel=f"{m.naam}: succes dit jaar")
            if m.succes_doel_pct and m.succes_uitkomsten else None,
        })
    compleet = [(label[2:], round(100 * t6 / n, 1)) for label, n, t6, _ in r.cohorten if n and t6 is not None]
    her_grafiek = staafdiagram(compleet, titel="Terug in de bijstand binnen 6 maanden (%), per uitstroommaand",
                               kleur="#b00020", breedte_staaf=30) if compleet else None
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "data"), autoescape=select_autoescape(["html"]))
    env.filters["euro"] = euro
    totaal = {s: sum((x.m.geld[s] for x in r.instrumenten), Geld()) for s in STATUSSEN}
    totaal_jaar = {s: sum((x.dit_jaar[s] for x in r.instrumenten), Geld()) for s in STATUSSEN}
    return env.get_template("rapport_maand.html").render(
        r=r, grafieken=grafieken, her_grafiek=her_grafiek, definities=DEFINITIES, maanden=MAANDEN,
        statussen=STATUSSEN, status_tekst=STATUS_TEKST, totaal=totaal, totaal_jaar=totaal_jaar,
        gemaakt=r.gemaakt_op.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))


def schrijf(engine, jaar: int, maand: int, uit: Path | str) -> Maandrapport:
    """Write ``report.html`` and ``report.csv`` for the month into folder ``uit``."""
    r = maak(engine, jaar, maand)
    folder = Path(uit)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.csv").write_text(csv_tekst(r), encoding="utf-8")
    (folder / "report.html").write_text(html_tekst(r), encoding="utf-8")
    return r


def vorige_maand(engine) -> tuple[int, int]:
    d = local_date(engine.clock.now()).replace(day=1) - timedelta(days=1)
    return d.year, d.month
