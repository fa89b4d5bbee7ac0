"""Monthly monitoring figures per instrument, against the yearly targets. Counts only: no personal data.

:func:`geldcijfers` is the one count of payouts (number and exact amount per status) that the monitoring
page, ``GET /api/monitoring`` and the monthly report (``trajecten/rapportage/maandrapport.py``) all use, so their money
figures agree. Each status is counted as a flow: the payouts that *reached* it in the period."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa

from trajecten.opslag.models import Betaalbatch, Traject, Uitbetaling
from trajecten.basis.tijd import TZ

T, U, B = Traject.__table__, Uitbetaling.__table__, Betaalbatch.__table__

# the five payout figures, in the order of the process; the codes as in the database (no diaeresis)
STATUSSEN = ("voorgesteld", "goedgekeurd", "afgewezen", "geexporteerd", "betaald")
STATUS_TEKST = {"voorgesteld": "voorgesteld", "goedgekeurd": "goedgekeurd", "afgewezen": "afgewezen",
                "geexporteerd": "geëxporteerd", "betaald": "betaald"}
# one line each: printed in the monthly report (rapportage.DEFINITIES) and in docs/rapportage.md
GELD_DEFINITIES = {
    "voorgesteld": "uitbetalingen voorgesteld in de periode (voorgesteld_op), wat hun status nu ook is",
    "goedgekeurd": "uitbetalingen goedgekeurd in de periode (beoordeeld_op) die nu goedgekeurd, geëxporteerd "
                   "of betaald zijn",
    "afgewezen": "uitbetalingen afgewezen in de periode (beoordeeld_op)",
    "geexporteerd": "uitbetalingen in een SEPA-batch die in de periode is gemaakt (betaalbatch.aangemaakt_op), "
                    "nu geëxporteerd of betaald",
    "betaald": "uitbetalingen waarvan de bank de betaling in de periode bevestigde (betaald_op)",
}
GRAFIEK_STATUSSEN = ("voorgesteld", "betaald")  # drawn per month (euro) on the monitoring page and in the report
GAAT_DOOR = ("goedgekeurd", "geexporteerd", "betaald")  # approved and not rejected since
IN_BATCH = ("geexporteerd", "betaald")
NUL = Decimal("0.00")


class Geld(NamedTuple):
    """How many payouts and their exact sum in euros."""

    aantal: int = 0
    bedrag: Decimal = NUL

    def __add__(self, other):  # type: ignore[override]  # Geld + Geld adds up, not concatenates
        return Geld(self.aantal + other.aantal, self.bedrag + other.bedrag)


def geld_leeg() -> dict[str, Geld]:
    return {s: Geld() for s in STATUSSEN}


def _begin(d: date) -> datetime:
    """The first moment of local day ``d`` (Europe/Amsterdam); the database holds UTC."""
    return datetime.combine(d, time(0), tzinfo=TZ)


def _euro_centen(v) -> Decimal:
    return (Decimal(str(v or 0)).quantize(Decimal(1)) / 100).quantize(NUL)


def geldcijfers(conn, van: date, tot: date) -> dict[str, dict[str, Geld]]:
    """instrument -> status -> (count, exact sum) of the payouts that reached each status from local day
    ``van`` up to and including ``tot`` (see :data:`GELD_DEFINITIES`). Every instrument with any payout in
    the period has all five statuses; instruments without one are absent."""
    begin, einde = _begin(van), _begin(tot + timedelta(days=1))

    def tussen(kolom):
        return sa.and_(kolom >= begin, kolom < einde)

    # summed in cents: exact on SQLite too (which keeps NUMERIC as a float)
    centen = sa.func.sum(sa.func.round(U.c.bedrag * 100))
    basis = U.join(T, T.c.id == U.c.traject_id)
    vragen = {
        "voorgesteld": (basis, tussen(U.c.voorgesteld_op)),
        "goedgekeurd": (basis, sa.and_(U.c.status.in_(GAAT_DOOR), tussen(U.c.beoordeeld_op))),
        "afgewezen": (basis, sa.and_(U.c.status == "afgewezen", tussen(U.c.beoordeeld_op))),
        "geexporteerd": (basis.join(B, B.c.id == U.c.batch_id),
                         sa.and_(U.c.status.in_(IN_BATCH), tussen(B.c.aangemaakt_op))),
        "betaald": (basis, tussen(U.c.betaald_op)),
    }
    out: dict[str, dict[str, Geld]] = {}
    for status, (bron, waar) in vragen.items():
        q = sa.select(T.c.instrument, sa.func.count(), centen).select_from(bron).where(waar).group_by(T.c.instrument)
        for instrument, n, c in conn.execute(q):
            out.setdefault(instrument, geld_leeg())[status] = Geld(n, _euro_centen(c))
    return out


def euro(bedrag) -> str:
    """An amount in Dutch notation: ``€ 1.200,00``."""
    d = Decimal(str(bedrag if bedrag is not None else 0)).quantize(NUL)
    tekst = f"{abs(d):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"€ {'-' if d < 0 else ''}{tekst}"


def euro_getal(bedrag: Decimal) -> int | float:
    """An amount as a chart bar's value: whole euros as an int (its label then shows no decimals)."""
    return int(bedrag) if bedrag == bedrag.to_integral_value() else float(bedrag)


@dataclass
class Maandcijfers:
    instrument: str
    naam: str
    jaar: int
    maand: int
    gestart: int = 0
    actief_einde_maand: int = 0
    afgerond: int = 0
    uitkomsten: dict[str, int] = field(default_factory=dict)
    gestart_dit_jaar: int = 0
    afgerond_dit_jaar: int = 0
    succes_dit_jaar: int = 0
    jaardoel: int = 0  # 0: the instrument has no yearly target ("geen jaardoel")
    succes_doel_pct: int | None = None
    succes_uitkomsten: tuple[str, ...] = ()  # none: success is not measured for the instrument
    geld: dict[str, Geld] = field(default_factory=geld_leeg)  # status -> payouts of the month (geldcijfers)

    @property
    def heeft_jaardoel(self) -> bool:
        return self.jaardoel > 0

    @property
    def succes_pct(self) -> float | None:
        """None when nothing ended this year or the instrument names no success outcomes."""
        if not self.succes_uitkomsten or not self.afgerond_dit_jaar:
            return None
        return round(100 * self.succes_dit_jaar / self.afgerond_dit_jaar, 1)

    def as_dict(self) -> dict:
        """Flat and JSON-ready: ``uitbetalingen_<status>`` (count) and ``bedrag_<status>`` ("1200.00")."""
        d = asdict(self)
        del d["geld"], d["succes_uitkomsten"]
        d["succes_pct"] = self.succes_pct
        for s in STATUSSEN:
            d[f"uitbetalingen_{s}"] = self.geld[s].aantal
            d[f"bedrag_{s}"] = f"{self.geld[s].bedrag:.2f}"
        return d


def maandcijfers(engine, jaar: int, maand: int) -> list[Maandcijfers]:
    first = date(jaar, maand, 1)
    last = date(jaar, maand, calendar.monthrange(jaar, maand)[1])
    year_start = date(jaar, 1, 1)
    out: dict[str, Maandcijfers] = {}
    succes: dict[str, set[str]] = {}
    for name in engine.register.names():
        d = engine.register.current(name).definitie
        out[name] = Maandcijfers(name, d.naam, jaar, maand, jaardoel=d.jaardoel.aantal,
                                 succes_doel_pct=d.jaardoel.succes_percentage,
                                 succes_uitkomsten=tuple(d.jaardoel.succes_uitkomsten))
        succes[name] = set(d.jaardoel.succes_uitkomsten)
    with engine.db.connect() as conn:
        for r in conn.execute(sa.select(T.c.instrument, sa.func.count()).where(
                T.c.start_datum.between(first, last)).group_by(T.c.instrument)):
            _get(out, r[0], jaar, maand).gestart = r[1]
        for r in conn.execute(sa.select(T.c.instrument, sa.func.count()).where(
                T.c.start_datum.between(year_start, last)).group_by(T.c.instrument)):
            _get(out, r[0], jaar, maand).gestart_dit_jaar = r[1]
        for r in conn.execute(sa.select(T.c.instrument, sa.func.count()).where(
                T.c.start_datum <= last, sa.or_(T.c.eind_datum.is_(None), T.c.eind_datum > last)
        ).group_by(T.c.instrument)):
            _get(out, r[0], jaar, maand).actief_einde_maand = r[1]
        for r in conn.execute(sa.select(T.c.instrument, T.c.uitkomst, sa.func.count()).where(
                T.c.eind_datum.between(first, last)).group_by(T.c.instrument, T.c.uitkomst)):
            m = _get(out, r[0], jaar, maand)
            m.afgerond += r[2]
            m.uitkomsten[r[1] or "onbekend"] = r[2]
        for r in conn.execute(sa.select(T.c.instrument, T.c.uitkomst, sa.func.count()).where(
                T.c.eind_datum.between(year_start, last)).group_by(T.c.instrument, T.c.uitkomst)):
            m = _get(out, r[0], jaar, maand)
            m.afgerond_dit_jaar += r[2]
            if r[1] in succes.get(r[0], ()):
                m.succes_dit_jaar += r[2]
        for instrument, geld in geldcijfers(conn, first, last).items():
            _get(out, instrument, jaar, maand).geld = geld
    return [out[k] for k in sorted(out)]


def _get(out: dict, name: str, jaar: int, maand: int) -> Maandcijfers:
    if name not in out:  # an instrument whose file was removed still has trajectories
        out[name] = Maandcijfers(name, name, jaar, maand)
    return out[name]
