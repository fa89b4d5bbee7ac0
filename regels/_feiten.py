"""Fact schemas: which facts a rule reads, their types, and the central denylist.

A rule declares its facts as `name -> Feit(type, verplicht, omschrijving)`. Facts arrive as Python
values (date, int, Decimal, bool, None) or as JSON text ("2024-01-31", "15.5"); the schema turns them
into typed values or raises `FeitFout` naming the field. A fact name outside the schema is an error.

Nationality, origin, country of birth, language and their proxies may never be facts. Every schema is
checked against `VERBODEN_TERMEN` when it is built, so a rule asking for such a fact fails at import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, NamedTuple

from ._exceptions import FeitFout, VerbodenFeit

__all__ = [
    "FeitType",
    "Feit",
    "FeitSchema",
    "DATUM",
    "GETAL",
    "GEHEEL",
    "BEDRAG",
    "JA_NEE",
    "TEKST",
    "TOEKENNINGEN",
    "Toekenning",
    "VERBODEN_TERMEN",
    "controleer_feitnaam",
]

# Substrings forbidden anywhere in a fact name (separators removed, lower case).
VERBODEN_TERMEN: tuple[str, ...] = (
    "nationaliteit",
    "nationality",
    "staatsburger",
    "citizenship",
    "herkomst",
    "afkomst",
    "origin",
    "geboorteland",
    "landvangeboorte",
    "geboorteplaats",
    "countryofbirth",
    "birthcountry",
    "migratie",
    "migrant",
    "allochto",
    "autochto",
    "etnic",
    "etnisch",
    "ethnic",
    "moedertaal",
    "thuistaal",
    "mothertongue",
    "nativelanguage",
    "language",
    "ras",  # only as a whole word, see _VERBODEN_WOORDEN
)
# Forbidden as a whole word of the name (split on _ - . and spaces), or as its start/end for "taal".
_VERBODEN_WOORDEN = frozenset({"ras", "race", "taal", "land", "paspoort", "passport", "religie", "geloof"})
_NIET_VERBODEN = frozenset({"totaal"})  # words that merely contain "taal"
_SCHEIDING = re.compile(r"[\s_\-.]+")


def controleer_feitnaam(regel: str, naam: str) -> None:
    """Raise `VerbodenFeit` when `naam` is (a proxy for) nationality or origin. Central check."""
    laag = naam.lower()
    plat = _SCHEIDING.sub("", laag)
    for term in VERBODEN_TERMEN:
        if term == "ras":
            continue
        if term in plat:
            raise VerbodenFeit(regel, naam, term)
    for woord in _SCHEIDING.split(laag):
        if woord in _NIET_VERBODEN:
            continue
        if woord in _VERBODEN_WOORDEN:
            raise VerbodenFeit(regel, naam, woord)
        if woord.startswith("taal") or woord.endswith("taal"):
            raise VerbodenFeit(regel, naam, "taal")


class FeitType:
    """A kind of fact: its name, the Python type it becomes, and its parser."""

    __slots__ = ("naam", "python", "_maak")

    def __init__(self, naam: str, python: type, maak: Callable[[str, bool, Any], Callable[[Any], Any]]):
        self.naam = naam
        self.python = python
        self._maak = maak

    def parser(self, veld: str, verplicht: bool, standaard: Any) -> Callable[[Any], Any]:
        return self._maak(veld, verplicht, standaard)

    def __repr__(self) -> str:
        return self.naam


def _leeg(veld: str, verplicht: bool, standaard: Any) -> Any:
    if verplicht:
        raise FeitFout(veld, "is verplicht en mag niet leeg zijn")
    return standaard


def _soort(v: Any) -> str:
    return type(v).__name__


def _maak_datum(veld: str, verplicht: bool, standaard: Any):
    def p(v: Any) -> Any:
        if v.__class__ is date:
            return v
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, str):
            if len(v) != 10 or v[4] != "-" or v[7] != "-":
                raise FeitFout(veld, f"geen datum in de vorm JJJJ-MM-DD: {v!r}")
            try:
                return date.fromisoformat(v)
            except ValueError:
                raise FeitFout(veld, f"bestaat niet als datum: {v!r}") from None
        if isinstance(v, datetime):
            raise FeitFout(veld, "verwacht een datum zonder tijd, kreeg een datetime")
        raise FeitFout(veld, f"verwacht een datum (JJJJ-MM-DD), kreeg {_soort(v)}")

    return p


def _getal_uit_tekst(veld: str, v: str) -> Decimal:
    try:
        d = Decimal(v.strip())
    except InvalidOperation:
        raise FeitFout(veld, f"geen geldig getal: {v!r} (gebruik een punt als decimaalteken)") from None
    if not d.is_finite():
        raise FeitFout(veld, f"geen eindig getal: {v!r}")
    return d


def _maak_getal(veld: str, verplicht: bool, standaard: Any):
    """A number >= 0 (hours and the like): int, Decimal, float or numeric text."""

    def p(v: Any) -> Any:
        c = v.__class__
        if c is int:
            if v >= 0:
                return v
            raise FeitFout(veld, "moet 0 of meer zijn")
        if c is Decimal or c is float:
            if not (v.is_finite() if c is Decimal else math.isfinite(v)):
                raise FeitFout(veld, f"geen eindig getal: {v!r}")
            if v >= 0:
                return v
            raise FeitFout(veld, "moet 0 of meer zijn")
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, str):
            return p(_getal_uit_tekst(veld, v))
        raise FeitFout(veld, f"verwacht een getal, kreeg {_soort(v)}")

    return p


def _maak_geheel(veld: str, verplicht: bool, standaard: Any):
    """A whole number >= 0 (months, counts): int or digit text."""

    def p(v: Any) -> Any:
        if v.__class__ is int:
            if v >= 0:
                return v
            raise FeitFout(veld, "moet 0 of meer zijn")
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, str):
            s = v.strip()
            if s.lstrip("-").isdigit():
                return p(int(s))
            raise FeitFout(veld, f"geen geheel getal: {v!r}")
        raise FeitFout(veld, f"verwacht een geheel getal, kreeg {_soort(v)}")

    return p


def _maak_bedrag(veld: str, verplicht: bool, standaard: Any):
    """An amount in euros >= 0: Decimal, int or numeric text. Never a float."""

    def p(v: Any) -> Any:
        c = v.__class__
        if c is Decimal:
            if v.is_finite() and v >= 0:
                return v
            raise FeitFout(veld, "moet 0 of meer zijn" if v.is_finite() else "geen eindig bedrag")
        if c is int:
            return p(Decimal(v))
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, str):
            return p(_getal_uit_tekst(veld, v))
        if c is float:
            raise FeitFout(veld, "bedrag als Decimal of tekst ('30000.00') geven, nooit als float")
        raise FeitFout(veld, f"verwacht een bedrag, kreeg {_soort(v)}")

    return p


_WAAR = {"true": True, "false": False, "ja": True, "nee": False}


def _maak_ja_nee(veld: str, verplicht: bool, standaard: Any):
    def p(v: Any) -> Any:
        if v is True or v is False:
            return v
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, str) and v.strip().lower() in _WAAR:
            return _WAAR[v.strip().lower()]
        raise FeitFout(veld, f"verwacht ja/nee (true/false), kreeg {_soort(v)} {v!r}")

    return p


def _maak_tekst(veld: str, verplicht: bool, standaard: Any):
    def p(v: Any) -> Any:
        if v.__class__ is str:
            if v.strip():
                return v.strip()
            return _leeg(veld, verplicht, standaard)
        if v is None:
            return _leeg(veld, verplicht, standaard)
        raise FeitFout(veld, f"verwacht tekst, kreeg {_soort(v)}")

    return p


class Toekenning(NamedTuple):
    """An earlier payout the engine recorded for the client (its own history, not a typed fact): the rule and
    part, what it paid for (``onderwerp``, e.g. ``werk_start=2024-03-04``), payable from ``datum``, in
    trajectory ``traject`` (None: a grant from before the engine, given as a fact)."""

    regel: str
    deel: int
    onderwerp: str
    datum: date
    traject: int | None

    def tekst(self) -> str:
        waar = f", traject {self.traject}" if self.traject is not None else " (van voor de engine)"
        return f"{self.regel.replace('_', ' ')} deel {self.deel} van {self.datum.isoformat()}{waar}"


def _maak_toekenningen(veld: str, verplicht: bool, standaard: Any):
    """A list of earlier grants (`Toekenning` or mappings with its fields), oldest first."""
    datum = _maak_datum(veld, True, None)

    def een(v: Any) -> Toekenning:
        if isinstance(v, Toekenning):
            return v
        if isinstance(v, Mapping):
            try:
                return Toekenning(str(v["regel"]), int(v["deel"]), str(v.get("onderwerp") or ""),
                                  datum(v["datum"]), None if v.get("traject") is None else int(v["traject"]))
            except (KeyError, TypeError, ValueError):
                pass
        raise FeitFout(veld, "verwacht toekenningen met regel, deel, onderwerp, datum en traject")

    def p(v: Any) -> Any:
        if v is None:
            return _leeg(veld, verplicht, standaard)
        if isinstance(v, (list, tuple)):
            return tuple(sorted((een(x) for x in v), key=lambda t: (t.datum, t.regel, t.deel)))
        raise FeitFout(veld, f"verwacht een lijst toekenningen, kreeg {_soort(v)}")

    return p


DATUM = FeitType("datum", date, _maak_datum)
GETAL = FeitType("getal >= 0", Decimal, _maak_getal)
GEHEEL = FeitType("geheel getal >= 0", int, _maak_geheel)
BEDRAG = FeitType("bedrag EUR >= 0", Decimal, _maak_bedrag)
JA_NEE = FeitType("ja/nee", bool, _maak_ja_nee)
TEKST = FeitType("tekst", str, _maak_tekst)
TOEKENNINGEN = FeitType("eerdere toekenningen", tuple, _maak_toekenningen)
_ZONDER_PARSER = {DATUM: date, JA_NEE: bool, GETAL: int, GEHEEL: int}  # see FeitSchema._snel


class _Feit(NamedTuple):
    type: FeitType
    verplicht: bool
    omschrijving: str


class Feit(_Feit):
    """One entry of a fact schema: the 3-tuple (type, verplicht, omschrijving).

    Optional facts may carry a default (`standaard`, e.g. False for a yes/no fact); it is an attribute,
    not part of the tuple, so `type, verplicht, omschrijving = feit` keeps working.
    """

    def __new__(cls, type: FeitType, verplicht: bool, omschrijving: str, standaard: Any = None) -> "Feit":
        feit = super().__new__(cls, type, verplicht, omschrijving)
        feit.standaard = standaard
        return feit

    def __repr__(self) -> str:
        extra = f", standaard={self.standaard!r}" if self.standaard is not None else ""
        return f"Feit({self.type!r}, verplicht={self.verplicht}, {self.omschrijving!r}{extra})"


class FeitSchema:
    """The declared facts of one rule, checked against the denylist when built."""

    __slots__ = ("regel", "feiten", "_parsers", "_snel", "_standaard", "_verplicht")

    def __init__(self, regel: str, feiten: Mapping[str, Feit]) -> None:
        for naam, feit in feiten.items():
            controleer_feitnaam(regel, naam)
            if not isinstance(feit, Feit) or not isinstance(feit.type, FeitType):
                raise TypeError(f"regel {regel!r}: feit {naam!r} moet een Feit(type, verplicht, omschrijving) zijn")
        self.regel = regel
        self.feiten = dict(feiten)
        self._parsers = {n: f.type.parser(n, f.verplicht, f.standaard) for n, f in feiten.items()}
        # values of these exact classes need no parser: a date is a date, a bool a bool, and an int of 0 or
        # more is what the parsers of numbers return as given
        self._snel = {n: _ZONDER_PARSER[f.type] for n, f in feiten.items() if f.type in _ZONDER_PARSER}
        # optional facts start at their default (also when given as None)
        self._standaard = {n: f.standaard for n, f in feiten.items() if not f.verplicht}
        self._verplicht = tuple(n for n, f in feiten.items() if f.verplicht)

    def lees(self, feiten: Mapping[str, Any]) -> dict[str, Any]:
        """Typed facts, defaults filled in; raises `FeitFout` for anything wrong."""
        if feiten.__class__ is not dict and not isinstance(feiten, Mapping):
            raise FeitFout("feiten", f"verwacht een dict met feiten, kreeg {_soort(feiten)}", regel=self.regel)
        parsers = self._parsers
        snel = self._snel
        standaard = self._standaard
        uit = standaard.copy()
        try:
            for naam, waarde in feiten.items():
                soort = waarde.__class__
                if snel.get(naam) is soort and (soort is not int or waarde >= 0):
                    uit[naam] = waarde  # already typed: kept as given
                    continue
                if waarde is None and naam in standaard:
                    continue  # an optional fact left empty: its default
                parser = parsers.get(naam)
                if parser is None:
                    raise self._onbekend(naam)
                uit[naam] = parser(waarde)
            if len(uit) != len(parsers):
                raise FeitFout(next(n for n in self._verplicht if n not in uit), "ontbreekt (verplicht feit)")
        except FeitFout as fout:
            if fout.regel is None:
                fout.regel = self.regel
            raise
        return uit

    def lees_een(self, naam: str, waarde: Any) -> Any:
        """One fact, typed (``FeitFout`` naming it when wrong or missing)."""
        try:
            return self._parsers[naam](waarde)
        except FeitFout as fout:
            if fout.regel is None:
                fout.regel = self.regel
            raise

    def _onbekend(self, naam: Any) -> FeitFout:
        try:
            controleer_feitnaam(self.regel, str(naam))
        except VerbodenFeit:
            return FeitFout(
                str(naam), "verboden feit: nationaliteit, herkomst of een afgeleide daarvan is nooit een feit"
            )
        return FeitFout(
            str(naam), f"onbekend feit voor regel {self.regel!r}; toegestaan: {', '.join(self.feiten)}"
        )
