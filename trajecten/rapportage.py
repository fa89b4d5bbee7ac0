"""The monthly monitoring report for policy staff and the council: per instrument per month started,
active, ended by outcome, money paid and progress against the yearly target, plus herinstroom of
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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import ladder
from .models import Betaalbatch, Traject, Uitbetaling
from .monitoring import Maandcijfers, maandcijfers
from .tijd import TZ, local_date
from .uitstroom import instroom_datums, uitstroom_paren, uitstromen

U, B, T = Uitbetaling.__table__, Betaalbatch.__table__, Traject.__table__
MAANDEN = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
BETAALD = ("geexporteerd", "betaald")

DEFINITIES = {
    "gestart": "trajecten met een startdatum in de maand (ook die later beginnen, status gepland, tellen op hun startdatum)",
    "actief": "trajecten die op de laatste dag van de maand gestart en nog niet beëindigd waren",
    "afgerond": "trajecten met een einddatum in de maand, per uitkomst",
    "betaald": "uitbetalingen die in een SEPA-batch zijn opgenomen (geëxporteerd of door de bank bevestigd), "
               "geteld in de maand waarin de batch is gemaakt; bedragen exact in euro's",
    "voortgang": "gestart sinds 1 januari tegen het jaardoel; 'naar rato' is jaardoel x maand / 12",
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
    m: Maandcijfers
    omschrijving: str = ""
    betaald_aantal: int = 0
    betaald_bedrag: Decimal = Decimal("0.00")
    betaald_dit_jaar: Decimal = Decimal("0.00")
    per_maand: list[tuple[str, int, int, Decimal]] = field(default_factory=list)  # (maand, gestart, actief, betaald)

    @property
    def naar_rato(self) -> int:
        return round(self.m.jaardoel * self.m.maand / 12)


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


def _betaald(conn, van: date, tot: date) -> dict[str, tuple[int, Decimal]]:
    """instrument -> (count, sum) of payouts in a batch made from ``van`` to ``tot`` (local days)."""
    begin = datetime.combine(van, time(0), tzinfo=TZ)
    einde = datetime.combine(tot + timedelta(days=1), time(0), tzinfo=TZ)
    q = (sa.select(T.c.instrument, sa.func.count(), sa.func.sum(U.c.bedrag))
         .select_from(U.join(B, B.c.id == U.c.batch_id).join(T, T.c.id == U.c.traject_id))
         .where(U.c.status.in_(BETAALD), B.c.aangemaakt_op >= begin, B.c.aangemaakt_op < einde)
         .group_by(T.c.instrument))
    return {r[0]: (r[1], Decimal(str(r[2] or 0)).quantize(Decimal("0.01"))) for r in conn.execute(q)}


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
        from .fouten import OngeldigeInvoer

        raise OngeldigeInvoer("maand", f"{maand} is geen maand (1-12)")
    einde = _maand_einde(jaar, maand)
    reeks = {k: {m.instrument: m for m in maandcijfers(engine, jaar, k)} for k in range(1, maand + 1)}
    paren = uitstroom_paren(engine)
    regels = []
    with engine.reader.connect() as conn:
        betaald = {k: _betaald(conn, date(jaar, k, 1), _maand_einde(jaar, k)) for k in range(1, maand + 1)}
        for name, m in reeks[maand].items():
            try:
                omschrijving = engine.register.current(name).definitie.jaardoel.omschrijving
            except KeyError:
                omschrijving = ""
            r = Instrumentregel(m, omschrijving)
            r.betaald_aantal, r.betaald_bedrag = betaald[maand].get(name, (0, Decimal("0.00")))
            r.betaald_dit_jaar = sum((betaald[k].get(name, (0, Decimal("0.00")))[1] for k in betaald), Decimal("0.00"))
            for k in range(1, maand + 1):
                x = reeks[k].get(name)
                r.per_maand.append((MAANDEN[k - 1], x.gestart if x else 0, x.actief_einde_maand if x else 0,
                                    betaald[k].get(name, (0, Decimal("0.00")))[1]))
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
        rows += [("gestart_dit_jaar", m.gestart_dit_jaar), ("jaardoel", m.jaardoel), ("jaardoel_naar_rato", x.naar_rato),
                 ("afgerond_dit_jaar", m.afgerond_dit_jaar), ("succes_dit_jaar", m.succes_dit_jaar),
                 ("succes_pct", "" if m.succes_pct is None else m.succes_pct),
                 ("succes_doel_pct", "" if m.succes_doel_pct is None else m.succes_doel_pct),
                 ("uitbetalingen_voorgesteld", m.betalingen), ("bedrag_voorgesteld", m.bedrag),
                 ("uitbetalingen_betaald", x.betaald_aantal), ("bedrag_betaald", f"{x.betaald_bedrag:.2f}"),
                 ("bedrag_betaald_dit_jaar", f"{x.betaald_dit_jaar:.2f}")]
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
    from .web._svg import staafdiagram, voortgang  # the monitoring page's charts

    grafieken = []
    for x in r.instrumenten:
        m = x.m
        grafieken.append({
            "x": x,
            "gestart": staafdiagram([(k, g) for k, g, _, _ in x.per_maand], titel=f"{m.naam}: gestart per maand"),
            "actief": staafdiagram([(k, a) for k, _, a, _ in x.per_maand], kleur="#4a6b8a",
                                   titel=f"{m.naam}: actief aan het eind van de maand"),
            "betaald": staafdiagram([(k, b) for k, _, _, b in x.per_maand], kleur="#7a5a00",
                                    titel=f"{m.naam}: betaald per maand (euro)")
            if any(b for *_, b in x.per_maand) else None,
            "doel": voortgang(m.gestart_dit_jaar, m.jaardoel, doel=x.naar_rato,
                              titel=f"{m.naam}: gestart dit jaar tegen jaardoel (streep: naar rato)")
            if m.jaardoel else None,
            "succes": voortgang(m.succes_pct or 0, 100, doel=m.succes_doel_pct, eenheid="%",
                                titel=f"{m.naam}: succes dit jaar") if m.succes_doel_pct else None,
        })
    compleet = [(label[2:], round(100 * t6 / n, 1)) for label, n, t6, _ in r.cohorten if n and t6 is not None]
    her_grafiek = staafdiagram(compleet, titel="Terug in de bijstand binnen 6 maanden (%), per uitstroommaand",
                               kleur="#b00020", breedte_staaf=30) if compleet else None
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "data"), autoescape=select_autoescape(["html"]))
    return env.get_template("rapport_maand.html").render(
        r=r, grafieken=grafieken, her_grafiek=her_grafiek, definities=DEFINITIES, maanden=MAANDEN,
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
