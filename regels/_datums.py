"""Date arithmetic for rules: calendar months the way `dateutil.relativedelta` counts them, but fast.

`plus_maanden(d, n)` equals `d + relativedelta(months=n)` (31 Aug + 6 months = 28/29 Feb) and
`maanden_tussen(a, b)` equals the whole months of `relativedelta(b, a)`; both are checked against
dateutil in tests/regels/test_regels_datums.py. They exist because relativedelta costs ~5 µs a call and a
rule evaluation has a budget of ~10 µs.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

__all__ = ["plus_maanden", "maanden_tussen", "maanden_en_dagen", "leeftijd"]

_DAGEN = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _laatste_dag(jaar: int, maand: int) -> int:
    if maand == 2 and jaar % 4 == 0 and (jaar % 100 != 0 or jaar % 400 == 0):
        return 29
    return _DAGEN[maand - 1]


@lru_cache(maxsize=1 << 14)  # rules add the same terms to the same dates (a work start + 6 months)
def plus_maanden(d: date, n: int) -> date:
    """`d` plus `n` calendar months (n may be negative); the day is clipped to the month's last day."""
    m0 = d.month - 1 + n
    jaar = d.year + m0 // 12
    maand = m0 % 12 + 1
    dag = d.day
    if dag > 28:
        laatste = _laatste_dag(jaar, maand)
        if dag > laatste:
            dag = laatste
    return date(jaar, maand, dag)


def maanden_tussen(van: date, tot: date) -> int:
    """Whole calendar months from `van` to `tot` (negative when `tot` lies before `van`)."""
    m = (tot.year - van.year) * 12 + tot.month - van.month
    if m > 0:
        # van + m months = (tot's month, day min(van.day, last day)); later than tot?
        if tot.day < van.day and tot.day != _laatste_dag(tot.year, tot.month):
            m -= 1
    elif m < 0 and plus_maanden(van, m) < tot:
        m += 1
    return m


def maanden_en_dagen(van: date, tot: date) -> tuple[int, int]:
    """Whole months from `van` to `tot` and the days left over (for `tot >= van`).

    As `maanden_tussen` and then the days from `van` plus those months (the anchor), which lies in `tot`'s
    month or the month before: plain arithmetic, no date objects (this runs for every Premie op Werk).
    """
    if tot < van:
        m = maanden_tussen(van, tot)
        return m, (tot - plus_maanden(van, m)).days
    vj, vm, vd = van.year, van.month, van.day
    tj, tm, td = tot.year, tot.month, tot.day
    m = (tj - vj) * 12 + tm - vm
    if m > 0 and td < vd and td != (_DAGEN[tm - 1] if tm != 2 else _laatste_dag(tj, 2)):
        m -= 1
    m0 = vm - 1 + m
    jaar = vj + m0 // 12
    maand = m0 % 12 + 1
    laatste = _DAGEN[maand - 1] if maand != 2 else _laatste_dag(jaar, 2)
    dag = vd if vd <= laatste else laatste
    if maand == tm and jaar == tj:
        return m, td - dag
    return m, laatste - dag + td


def leeftijd(geboortedatum: date, op: date) -> int:
    """Age in whole years on date `op` (someone born on 29 Feb turns a year older on 28 Feb)."""
    jaren = op.year - geboortedatum.year
    maand, dag = geboortedatum.month, geboortedatum.day
    if maand == 2 and dag == 29 and _laatste_dag(op.year, 2) == 28:
        dag = 28
    if (op.month, op.day) < (maand, dag):
        jaren -= 1
    return jaren
