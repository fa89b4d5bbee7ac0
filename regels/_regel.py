"""Rules, the registry and `beslis`: the one way to get a decision.

A rule is a pure function `functie(feiten, peildatum, p) -> (uitkomst, betalingen, redenen)` where
`feiten` are already typed by the rule's schema and `p(pad, datum)` reads a parameter in force on a date
(recording which dated value was used). `beslis` adds what every rule shares: fact checking, choosing
the regulation version (by `versie_feit`, e.g. the work start date, or else the peildatum), refusing
with "regeling nog niet van kracht" before the first version, and the reproducible `Decision`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ._besluit import Betaling, Decision, Reden, nieuw_besluit
from ._exceptions import DubbeleRegel, FeitFout, OnbekendeRegel, ParameterNietVanKracht
from ._feiten import DATUM, Feit, FeitSchema
from ._parameters import Overrides, Parameters, WatAlsParameters, controleer_overrides, parameter_info, parameters

__all__ = [
    "Regel",
    "RULES",
    "regel",
    "registreer",
    "regel_namen",
    "beslis",
    "evalueer",
    "uitkomst_en_betalingen",
    "lees_peildatum",
    "zoek_regel",
    "onderwerp_van",
]

RegelFunctie = Callable[[dict[str, Any], date, Parameters], tuple[bool, tuple[Betaling, ...], list[Reden]]]


@dataclass(frozen=True, slots=True)
class Regel:
    """A registered rule: its name, description, fact schema, policy source and function."""

    naam: str
    omschrijving: str
    feiten: Mapping[str, Feit]
    bron: str
    regeling: str  # parameter path whose dated values are the versions of the regulation
    functie: RegelFunctie = field(repr=False)
    versie_feit: str | None = None  # date fact that decides the version; None = the peildatum
    uitkomst_tekst: tuple[str, str] = ("ja", "nee")
    onderwerp: tuple[str, ...] = ()  # the facts that say what a payment is for (one premium per job start)
    schema: FeitSchema = field(init=False, repr=False, compare=False)
    _waar: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        schema = FeitSchema(self.naam, self.feiten)  # raises VerbodenFeit for a forbidden fact
        object.__setattr__(self, "feiten", MappingProxyType(dict(self.feiten)))
        object.__setattr__(self, "schema", schema)
        object.__setattr__(self, "_waar", f"op {self.versie_feit}" if self.versie_feit else "op peildatum")
        if self.versie_feit is not None:
            feit = self.feiten.get(self.versie_feit)
            if feit is None or feit.type is not DATUM or not feit.verplicht:
                raise ValueError(f"regel {self.naam!r}: versie_feit {self.versie_feit!r} moet een verplichte datum zijn")
        for naam in self.onderwerp:
            if naam not in self.feiten or not self.feiten[naam].verplicht:
                raise ValueError(f"regel {self.naam!r}: onderwerp {naam!r} moet een verplicht feit van de regel zijn")


_REGISTER: dict[str, Regel] = {}
RULES: Mapping[str, Regel] = MappingProxyType(_REGISTER)


def registreer(r: Regel) -> Regel:
    """Add a rule to the registry (its schema was checked against the denylist when it was built)."""
    if not isinstance(r, Regel):
        raise TypeError("registreer verwacht een Regel")
    if r.naam in _REGISTER:
        raise DubbeleRegel(f"regel {r.naam!r} is al geregistreerd")
    parameter_info(r.regeling)  # the regulation's versions must exist
    _REGISTER[r.naam] = r
    return r


def regel(
    naam: str,
    *,
    omschrijving: str,
    bron: str,
    feiten: Mapping[str, Feit],
    regeling: str,
    versie_feit: str | None = None,
    uitkomst_tekst: tuple[str, str] = ("ja", "nee"),
    onderwerp: tuple[str, ...] = (),
) -> Callable[[RegelFunctie], RegelFunctie]:
    """Decorator: register `functie` as rule `naam`. `onderwerp`: for a rule that pays, the facts that name
    what a payment is for (e.g. `("werk_start",)`: one premium per job start); none = per trajectory."""

    def registreer_functie(functie: RegelFunctie) -> RegelFunctie:
        registreer(Regel(naam, omschrijving, feiten, bron, regeling, functie, versie_feit, uitkomst_tekst,
                         tuple(onderwerp)))
        return functie

    return registreer_functie


def onderwerp_van(naam: str, feiten: Mapping[str, Any]) -> str | None:
    """What a payment of rule `naam` is for, as text (`werk_start=2026-03-02`), from the facts the rule
    declares as its `onderwerp`; None when the rule names none (then each trajectory is its own subject)."""
    r = zoek_regel(naam)
    if not r.onderwerp:
        return None
    return ";".join(f"{k}={_als_tekst(r.schema.lees_een(k, feiten.get(k)))}" for k in r.onderwerp)


def _als_tekst(v: Any) -> str:
    return v.isoformat() if isinstance(v, date) else str(v)


def regel_namen() -> tuple[str, ...]:
    """Names of all registered rules, sorted."""
    return tuple(sorted(_REGISTER))


def zoek_regel(naam: str) -> Regel:
    r = _REGISTER.get(naam)
    if r is None:
        raise OnbekendeRegel(naam, regel_namen())
    return r


def lees_peildatum(peildatum: Any) -> date:
    if peildatum.__class__ is date:
        return peildatum
    if isinstance(peildatum, str):
        try:
            if len(peildatum) == 10:
                return date.fromisoformat(peildatum)
        except ValueError:
            pass
        raise FeitFout("peildatum", f"geen bestaande datum JJJJ-MM-DD: {peildatum!r}")
    raise FeitFout("peildatum", f"verwacht een datum, kreeg {type(peildatum).__name__}")


# (rule name, version date, overrides key) -> (version, its first reason); see `_versie`
_VERSIES: dict[tuple, tuple[str, Reden]] = {}
_VERSIES_MAX = 200_000


def _versie(r: Regel, versie_datum: date, overrides: Overrides | None) -> tuple[str, Reden]:
    """The version in force on `versie_datum` and the reason that says so; built once per date and cached.

    The version is the date key of the regulation parameter (or the override's text), which is also what
    the decision records for that parameter. Raises `ParameterNietVanKracht` before the first version.
    """
    sleutel = (r.naam, versie_datum, None if overrides is None else overrides.sleutel)
    gevonden = _VERSIES.get(sleutel)
    if gevonden is None:
        p = parameters(overrides)
        naam_regeling, bron = p.met_bron(r.regeling, versie_datum)
        versie = p.gebruikt[r.regeling]
        reden = Reden(f"regeling van kracht {r._waar}", versie_datum, f"{naam_regeling}, vanaf {versie}", True, bron)
        if len(_VERSIES) >= _VERSIES_MAX:
            _VERSIES.clear()
        gevonden = _VERSIES[sleutel] = (versie, reden)
    return gevonden


def _nog_niet_van_kracht(r: Regel, versie_datum: date, peildatum: date) -> Decision:
    """The refusal before the regulation's first version."""
    eerste = parameter_info(r.regeling).waarden[0]
    reden = Reden(
        f"regeling nog niet van kracht {r._waar}",
        versie_datum,
        f"op of na {eerste.vanaf.isoformat()} ({eerste.waarde})",
        False,
        eerste.bron,
    )
    return Decision(r.naam, "", peildatum, False, (), (reden,), {}, r.uitkomst_tekst)


def evalueer(r: Regel, f: dict[str, Any], peildatum: date, overrides: Overrides | None = None) -> Decision:
    """Evaluate rule `r` on already-typed facts `f` (see `FeitSchema.lees`); overrides already checked."""
    versie_datum = peildatum if r.versie_feit is None else f[r.versie_feit]
    # the cached version without a call first: this runs for every decision
    gevonden = _VERSIES.get((r.naam, versie_datum, None)) if overrides is None else None
    if gevonden is None:
        try:
            gevonden = _versie(r, versie_datum, overrides)
        except ParameterNietVanKracht:
            return _nog_niet_van_kracht(r, versie_datum, peildatum)
    versie, eerste_reden = gevonden
    if overrides is None:
        p = Parameters({r.regeling: versie})
    else:
        p = WatAlsParameters(overrides, {r.regeling: versie})
    uitkomst, betalingen, redenen = r.functie(f, peildatum, p)
    return nieuw_besluit(r.naam, versie, peildatum, uitkomst, betalingen, (eerste_reden, *redenen), p.gebruikt,
                         r.uitkomst_tekst)


def uitkomst_en_betalingen(r: Regel, f: dict[str, Any], peildatum: date, overrides: Overrides | None = None):
    """Like `evalueer` but only (uitkomst, betalingen), without building a Decision: for what-if runs."""
    versie_datum = peildatum if r.versie_feit is None else f[r.versie_feit]
    try:
        versie, _ = _versie(r, versie_datum, overrides)
    except ParameterNietVanKracht:
        return False, ()
    if overrides is None:
        p = Parameters({r.regeling: versie})
    else:
        p = WatAlsParameters(overrides, {r.regeling: versie})
    uitkomst, betalingen, _ = r.functie(f, peildatum, p)
    return uitkomst, betalingen


def beslis(
    naam: str,
    feiten: Mapping[str, Any],
    peildatum: date,
    *,
    overrides: Mapping[str, object] | None = None,
) -> Decision:
    """Decide rule `naam` for `feiten` on `peildatum`, with its explanation.

    Raises `OnbekendeRegel` for an unknown name and `FeitFout` for any bad fact: never a decision
    from bad facts. `overrides` replaces parameter values for this evaluation only (what-if).
    """
    r = _REGISTER.get(naam)
    if r is None:
        raise OnbekendeRegel(naam, regel_namen())
    if peildatum.__class__ is not date:
        peildatum = lees_peildatum(peildatum)
    f = r.schema.lees(feiten)
    return evalueer(r, f, peildatum, controleer_overrides(overrides) if overrides else None)
