"""Working days: Monday to Friday, minus the Dutch public holidays that count as days off.

Which holidays count is configuration, not code: parameter `werkdagen.feestdagen` lists the Dutch
holiday names (as the `holidays` package spells them with language "nl") that are not working days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = ["feestdagen", "werkdagen_tussen", "is_werkdag"]


@lru_cache(maxsize=512)
def _feestdagen_in_jaar(jaar: int, namen: tuple[str, ...]) -> frozenset[date]:
    kalender = holidays.country_holidays("NL", years=jaar, language="nl")
    tellen = set(namen)
    return frozenset(d for d, naam in kalender.items() if any(n.strip() in tellen for n in naam.split(";")))


def feestdagen(jaar: int, namen: tuple[str, ...]) -> frozenset[date]:
    """Dutch public holidays in `jaar` whose name is in `namen` (the days that are not working days)."""
    return _feestdagen_in_jaar(jaar, tuple(namen))


def is_werkdag(d: date, namen: tuple[str, ...]) -> bool:
    return d.weekday() < 5 and d not in _feestdagen_in_jaar(d.year, tuple(namen))


def werkdagen_tussen(van: date, tot: date, namen: tuple[str, ...]) -> int:
    """Working days after `van` up to and including `tot` (0 when `tot <= van`)."""
    if tot <= van:
        return 0
    eerste = van + timedelta(days=1)
    dagen = (tot - eerste).days + 1
    weken, rest = divmod(dagen, 7)
    aantal = weken * 5
    wd = eerste.weekday()
    for i in range(rest):
        if (wd + i) % 7 < 5:
            aantal += 1
    namen = tuple(namen)
    for jaar in range(eerste.year, tot.year + 1):
        for d in _feestdagen_in_jaar(jaar, namen):
            if eerste <= d <= tot and d.weekday() < 5:
                aantal -= 1
    return aantal
