"""Monthly monitoring figures per instrument, against the yearly targets. Counts only: no personal data."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from .models import Traject, Uitbetaling

T, U = Traject.__table__, Uitbetaling.__table__


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
    jaardoel: int = 0
    succes_doel_pct: int | None = None
    betalingen: int = 0
    bedrag: str = "0.00"

    @property
    def succes_pct(self) -> float | None:
        return round(100 * self.succes_dit_jaar / self.afgerond_dit_jaar, 1) if self.afgerond_dit_jaar else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["succes_pct"] = self.succes_pct
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
                                 succes_doel_pct=d.jaardoel.succes_percentage)
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
        for r in conn.execute(
            sa.select(T.c.instrument, sa.func.count(), sa.func.sum(U.c.bedrag)).join(T, T.c.id == U.c.traject_id)
            .where(U.c.opeisbaar_op.between(first, last), U.c.status != "afgewezen").group_by(T.c.instrument)
        ):
            m = _get(out, r[0], jaar, maand)
            m.betalingen = r[1]
            m.bedrag = f"{Decimal(str(r[2] or 0)):.2f}"
    return [out[k] for k in sorted(out)]


def _get(out: dict, name: str, jaar: int, maand: int) -> Maandcijfers:
    if name not in out:  # an instrument whose file was removed still has trajectories
        out[name] = Maandcijfers(name, name, jaar, maand)
    return out[name]
