"""Time: the one injectable clock, the working-day calendar and step offsets.

All time in the engine comes from a :class:`Clock`. Datetimes are timezone-aware; the engine's
local zone is Europe/Amsterdam. A naive datetime is rejected at the door.

Offsets are written the way policy texts speak: ``+4w`` (weeks), ``-6mo`` (calendar months, 31 Jan
+ 1 month = 28/29 Feb), ``+10wd`` (working days: skipping weekends and the Dutch public holidays that
count, see :class:`WerkdagKalender`), ``+3d`` (calendar days), ``+1y``. Terms combine: ``-6mo+3wd``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

TZ = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in Europe/Amsterdam."""

    def now(self) -> datetime:
        return datetime.now(TZ)


class FixedClock:
    """A clock for tests and simulations: it stands still until moved."""

    def __init__(self, start: datetime):
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment, "moment")

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {moment.isoformat()} rejected; give a timezone")
    return moment


def local_date(moment: datetime) -> date:
    return require_aware(moment).astimezone(TZ).date()


def at_local(day: date, at: time = time(8, 0)) -> datetime:
    """The moment ``at`` o'clock Amsterdam time on ``day`` (DST-safe)."""
    return datetime.combine(day, at, tzinfo=TZ)


# --------------------------------------------------------------------------- working days


@dataclass(frozen=True)
class WerkdagKalender:
    """Which days count as working days for "+N wd" deadlines.

    Default: Monday-Friday except every Dutch public holiday the ``holidays`` package lists for NL
    (Nieuwjaarsdag, Goede Vrijdag, Pasen, Koningsdag, Bevrijdingsdag in lustrum years, Hemelvaart,
    Pinksteren, Kerst). Whether a day such as Goede Vrijdag counts is a municipal/legal choice
    (Algemene termijnenwet), so it is configuration: ``tellen_mee`` names holidays (Dutch names as the
    package gives them) that *do* count as working days, ``extra_vrije_dagen`` adds closing days.
    """

    tellen_mee: frozenset[str] = frozenset()
    extra_vrije_dagen: frozenset[date] = frozenset()
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        # Names are matched case-insensitively (the package writes "Goede vrijdag", policy texts
        # "Goede Vrijdag"); a name that is no Dutch holiday at all is a configuration error, not a no-op.
        known = _known_names()
        unknown = sorted(n for n in self.tellen_mee if n.strip().casefold() not in known)
        if unknown:
            raise ValueError(
                f"tellen_mee: {unknown} are not Dutch public holidays; known: {', '.join(sorted(known.values()))}"
            )

    def feestdagen(self, year: int) -> dict[date, str]:
        got = self._cache.get(year)
        if got is None:
            mee = {n.strip().casefold() for n in self.tellen_mee}
            got = {  # a day with two holidays ("Bevrijdingsdag; Hemelvaartsdag") counts only if both do
                d: name
                for d, name in _nl_holidays(year).items()
                if not all(part.strip().casefold() in mee for part in name.split(";"))
            }
            for d in self.extra_vrije_dagen:
                if d.year == year:
                    got[d] = "extra vrije dag"
            self._cache[year] = got
        return got

    def is_werkdag(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.feestdagen(day.year)

    def plus_werkdagen(self, day: date, n: int) -> date:
        """Move ``n`` working days (negative: backwards). ``n == 0`` rolls forward to a working day."""
        step = 1 if n >= 0 else -1
        if n == 0:
            while not self.is_werkdag(day):
                day += timedelta(days=1)
            return day
        left = abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_werkdag(day):
                left -= 1
        return day


@lru_cache(maxsize=64)
def _nl_holidays(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("NL", years=[year], language="nl").items())


@lru_cache(maxsize=1)
def _known_names() -> dict[str, str]:
    """Every holiday name the package gives for NL (casefolded -> as written), 2000-2040."""
    names = holidays.country_holidays("NL", years=range(2000, 2041), language="nl").values()
    return {p.strip().casefold(): p.strip() for n in names for p in n.split(";")}


DEFAULT_KALENDER = WerkdagKalender()

# --------------------------------------------------------------------------- offsets

_TERM = re.compile(r"([+-])(\d{1,4})(wd|mo|d|w|y)")
_UNIT_NAMES = {"d": "dagen", "wd": "werkdagen", "w": "weken", "mo": "maanden", "y": "jaren"}


class OffsetError(ValueError):
    """An offset string that does not follow the ``+4w`` / ``-6mo`` / ``+10wd`` grammar."""


@dataclass(frozen=True)
class Offset:
    """A sequence of signed terms, applied left to right."""

    terms: tuple[tuple[int, str], ...]
    text: str

    @classmethod
    def parse(cls, text: str | int | None) -> "Offset":
        """Parse once: offsets are few and used for every planned step."""
        try:
            return _parse_cached(text)
        except TypeError:  # unhashable input: let the parser explain
            return cls._parse(text)

    @classmethod
    def _parse(cls, text: str | int | None) -> "Offset":
        if text is None or text == 0 or text == "0":
            return cls((), "+0d")
        if not isinstance(text, str):
            raise OffsetError(f"offset must be text like '+4w', got {text!r}")
        compact = text.replace(" ", "")
        if not compact:
            raise OffsetError("offset is empty")
        pos, terms = 0, []
        while pos < len(compact):
            m = _TERM.match(compact, pos)
            if not m:
                raise OffsetError(
                    f"offset {text!r}: cannot read {compact[pos:]!r}; write terms like "
                    "+3d, +10wd, +4w, -6mo, +1y"
                )
            sign = 1 if m.group(1) == "+" else -1
            terms.append((sign * int(m.group(2)), m.group(3)))
            pos = m.end()
        return cls(tuple(terms), text)

    def apply(self, day: date, kalender: WerkdagKalender = DEFAULT_KALENDER) -> date:
        for n, unit in self.terms:
            if unit == "d":
                day = day + timedelta(days=n)
            elif unit == "w":
                day = day + timedelta(weeks=n)
            elif unit == "mo":
                day = day + relativedelta(months=n)  # 31 Jan + 1mo = 28/29 Feb
            elif unit == "y":
                day = day + relativedelta(years=n)
            else:  # wd
                day = kalender.plus_werkdagen(day, n)
        return day

    def describe(self) -> str:
        if not self.terms:
            return "direct"
        return " ".join(f"{'+' if n >= 0 else '-'}{abs(n)} {_UNIT_NAMES[u]}" for n, u in self.terms)


@lru_cache(maxsize=1024)
def _parse_cached(text) -> Offset:
    return Offset._parse(text)
