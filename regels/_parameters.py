"""Date-effective parameters, OpenFisca style.

Each parameter is one YAML file under `regels/parameters/`; the path mirrors the folder:
`parameters/premie_op_werk/min_bijstand_maanden.yaml` is `premie_op_werk.min_bijstand_maanden`.

    description: Minimale duur van de bijstand bij werkstart
    unit: maanden
    values:
      2020-11-01:
        value: 36
        source: Raadsvoorstel Premie op Werk 2020
      2023-04-01:
        value: 6
        source: Aangepaste regeling april 2023
        te_bevestigen: datum van inwerkingtreding bevestigen

The value in force on date D is the one under the latest key <= D. Before the first key the parameter
does not exist (`ParameterNietVanKracht`). Past values are never edited: a new regulation adds a key.
Amounts (unit EUR) and any fractional number become `Decimal`; a float never leaves this module.

Files are read once, on first use. Lookups are cached per (date, path).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import yaml

from ._exceptions import OnbekendeParameter, ParameterBestandFout, ParameterNietVanKracht

__all__ = [
    "Parameter",
    "ParameterWaarde",
    "parameter",
    "parameter_info",
    "parameter_namen",
    "parameter_bestaat",
    "controleer_overrides",
    "Parameters",
    "WatAlsParameters",
    "parameters",
    "Overrides",
]

MAP = Path(__file__).parent / "parameters"
_TWEE_DECIMALEN = Decimal("0.01")
_PAD = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


@dataclass(frozen=True, slots=True)
class ParameterWaarde:
    """One dated value: in force from `vanaf` until the next value's date."""

    vanaf: date
    waarde: Any
    bron: str
    te_bevestigen: str | None = None


@dataclass(frozen=True, slots=True)
class Parameter:
    """A parameter: its path, description, unit and dated values (oldest first)."""

    pad: str
    omschrijving: str
    eenheid: str
    waarden: tuple[ParameterWaarde, ...]
    bestand: str

    def waarde_op(self, peildatum: date) -> ParameterWaarde:
        i = bisect_right(self._data(), peildatum)
        if i == 0:
            raise ParameterNietVanKracht(self.pad, peildatum, self.waarden[0].vanaf)
        return self.waarden[i - 1]

    def _data(self) -> list[date]:
        return [w.vanaf for w in self.waarden]


def _normaliseer(waarde: Any, eenheid: str, bestand: str) -> Any:
    """Turn YAML scalars into the types rules compute with: money and fractions as Decimal."""
    if isinstance(waarde, bool) or waarde is None:
        return waarde
    if eenheid == "EUR":
        if isinstance(waarde, float):
            raise ParameterBestandFout(f"{bestand}: bedrag {waarde!r} als tekst schrijven ('300.00'), geen float")
        return Decimal(str(waarde)).quantize(_TWEE_DECIMALEN)
    if isinstance(waarde, float):
        return Decimal(str(waarde))
    if isinstance(waarde, list):
        return tuple(_normaliseer(w, eenheid, bestand) for w in waarde)
    return waarde


def _lees(bestand: Path) -> Parameter:
    pad = ".".join(bestand.relative_to(MAP).with_suffix("").parts)
    naam = str(bestand.relative_to(MAP.parent))
    if not _PAD.match(pad):
        raise ParameterBestandFout(f"{naam}: padnaam {pad!r} mag alleen a-z, 0-9 en _ bevatten")
    try:
        inhoud = yaml.safe_load(bestand.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterBestandFout(f"{naam}: geen geldige YAML") from exc
    if not isinstance(inhoud, dict):
        raise ParameterBestandFout(f"{naam}: verwacht een mapping met description, unit, values")
    for sleutel in ("description", "unit", "values"):
        if sleutel not in inhoud:
            raise ParameterBestandFout(f"{naam}: {sleutel!r} ontbreekt")
    eenheid = str(inhoud["unit"])
    waarden = []
    if not isinstance(inhoud["values"], dict) or not inhoud["values"]:
        raise ParameterBestandFout(f"{naam}: 'values' moet minstens één gedateerde waarde hebben")
    for vanaf, item in inhoud["values"].items():
        if type(vanaf) is not date:
            raise ParameterBestandFout(f"{naam}: sleutel {vanaf!r} is geen datum JJJJ-MM-DD")
        if not isinstance(item, dict) or "value" not in item or not item.get("source"):
            raise ParameterBestandFout(f"{naam}: waarde op {vanaf} heeft 'value' en 'source' nodig")
        onbekend = set(item) - {"value", "source", "te_bevestigen"}
        if onbekend:
            raise ParameterBestandFout(f"{naam}: onbekende sleutel(s) {sorted(onbekend)} op {vanaf}")
        waarden.append(
            ParameterWaarde(
                vanaf=vanaf,
                waarde=_normaliseer(item["value"], eenheid, naam),
                bron=str(item["source"]).strip(),
                te_bevestigen=item.get("te_bevestigen"),
            )
        )
    waarden.sort(key=lambda w: w.vanaf)
    return Parameter(pad, str(inhoud["description"]).strip(), eenheid, tuple(waarden), naam)


_ALLE: dict[str, Parameter] | None = None
_DATA: dict[str, tuple[list[date], tuple[ParameterWaarde, ...]]] = {}
# date -> path -> (date key as ISO text, value, (value, source)); bounded, cleared when full
_CACHE: dict[date, dict[str, tuple[str, Any, tuple[Any, str]]]] = {}
_CACHE_MAX = 20_000  # dates


def _alle() -> dict[str, Parameter]:
    global _ALLE
    if _ALLE is None:
        alle = {}
        for bestand in sorted(MAP.rglob("*.yaml")):
            p = _lees(bestand)
            alle[p.pad] = p
            _DATA[p.pad] = ([w.vanaf for w in p.waarden], p.waarden)
        _ALLE = alle
    return _ALLE


def _zoek(pad: str, peildatum: date) -> tuple[str, Any, tuple[Any, str]]:
    """(date key, value, (value, source)) in force on `peildatum`; cached per date and path."""
    per_pad = _CACHE.get(peildatum)
    if per_pad is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        per_pad = _CACHE[peildatum] = {}
    gevonden = per_pad.get(pad)
    if gevonden is None:
        gevonden = per_pad[pad] = _in_kracht(pad, peildatum)
    return gevonden


def _in_kracht(pad: str, peildatum: date) -> tuple[str, Any, tuple[Any, str]]:
    if _ALLE is None:
        _alle()
    data = _DATA.get(pad)
    if data is None:
        raise OnbekendeParameter(pad)
    datums, waarden = data
    i = bisect_right(datums, peildatum)
    if i == 0:
        raise ParameterNietVanKracht(pad, peildatum, datums[0])
    w = waarden[i - 1]
    return w.vanaf.isoformat(), w.waarde, (w.waarde, w.bron)


def parameter_namen() -> tuple[str, ...]:
    """All parameter paths, sorted."""
    return tuple(sorted(_alle()))


def parameter_bestaat(pad: str) -> bool:
    return pad in _alle()


def parameter_info(pad: str) -> Parameter:
    """The parameter with all its dated values and sources (for explanation and review)."""
    try:
        return _alle()[pad]
    except KeyError:
        raise OnbekendeParameter(pad) from None


class Overrides(dict):
    """Checked what-if overrides: path -> (value, bookkeeping text); `sleutel` is hashable for caching."""

    __slots__ = ("sleutel",)


def controleer_overrides(overrides: Mapping[str, object] | None) -> Overrides | None:
    """Check what-if overrides against the known parameters and convert them to the parameter's type.

    Returns path -> (value, bookkeeping text for `Decision.parameters`), or None for no overrides.
    """
    if not overrides:
        return None
    if isinstance(overrides, Overrides):
        return overrides
    alle = _alle()
    klaar = Overrides()
    for pad, waarde in overrides.items():
        p = alle.get(pad)
        if p is None:
            raise OnbekendeParameter(pad)
        voorbeeld = p.waarden[-1].waarde
        if isinstance(voorbeeld, Decimal):
            if isinstance(waarde, float):
                raise ParameterBestandFout(f"override {pad}: geef een Decimal of tekst, geen float")
            waarde = Decimal(str(waarde))
            if p.eenheid == "EUR":
                waarde = waarde.quantize(_TWEE_DECIMALEN)
        elif isinstance(voorbeeld, bool):
            if not isinstance(waarde, bool):
                raise ParameterBestandFout(f"override {pad}: verwacht ja/nee (bool), kreeg {waarde!r}")
        elif isinstance(voorbeeld, int):
            if isinstance(waarde, bool) or not isinstance(waarde, int):
                raise ParameterBestandFout(f"override {pad}: verwacht een geheel getal, kreeg {waarde!r}")
        elif isinstance(voorbeeld, tuple) and isinstance(waarde, list):
            waarde = tuple(waarde)
        klaar[pad] = (waarde, f"overschreven: {waarde}")
    klaar.sleutel = tuple(sorted((pad, repr(w)) for pad, (w, _) in klaar.items()))
    return klaar


class Parameters:
    """Parameter access for one evaluation: remembers which date key of which parameter was used.

    `gebruikt` maps each parameter path read to its date key, in the order of first use; `beslis` starts it
    with the regulation's own path. With what-if overrides: `WatAlsParameters`.
    """

    __slots__ = ("gebruikt",)
    overrides: Overrides | None = None

    def __init__(self, gebruikt: dict[str, str] | None = None) -> None:
        self.gebruikt: dict[str, str] = {} if gebruikt is None else gebruikt

    def __call__(self, pad: str, peildatum: date) -> Any:
        """The value of `pad` in force on `peildatum`."""
        try:
            gevonden = _CACHE[peildatum][pad]
        except KeyError:
            gevonden = _zoek(pad, peildatum)
        self.gebruikt[pad] = gevonden[0]
        return gevonden[1]

    def met_bron(self, pad: str, peildatum: date) -> tuple[Any, str]:
        """Value and its source text."""
        try:
            gevonden = _CACHE[peildatum][pad]
        except KeyError:
            gevonden = _zoek(pad, peildatum)
        self.gebruikt[pad] = gevonden[0]
        return gevonden[2]


class WatAlsParameters(Parameters):
    """Parameters with checked what-if overrides: an overridden path has its override on every date, and
    the decision records the override's bookkeeping text instead of a date key."""

    __slots__ = ("overrides",)

    def __init__(self, overrides: Overrides, gebruikt: dict[str, str] | None = None) -> None:
        super().__init__(gebruikt)
        self.overrides = overrides

    def __call__(self, pad: str, peildatum: date) -> Any:
        o = self.overrides.get(pad)
        if o is None:
            return Parameters.__call__(self, pad, peildatum)
        self.gebruikt[pad] = o[1]
        return o[0]

    def met_bron(self, pad: str, peildatum: date) -> tuple[Any, str]:
        """Value and its source text (the source says 'what-if' when overridden)."""
        o = self.overrides.get(pad)
        if o is None:
            return Parameters.met_bron(self, pad, peildatum)
        self.gebruikt[pad] = o[1]
        return o[0], f"wat-als: {pad} {o[1]}"


def parameters(overrides: Overrides | None = None, gebruikt: dict[str, str] | None = None) -> Parameters:
    """Parameter access for one evaluation, with what-if overrides when given (checked)."""
    return Parameters(gebruikt) if overrides is None else WatAlsParameters(overrides, gebruikt)


def parameter(pad: str, peildatum: date, overrides: Mapping[str, object] | None = None) -> Any:
    """The value of parameter `pad` in force on `peildatum` (or the override for that path)."""
    return parameters(controleer_overrides(overrides))(pad, peildatum)
