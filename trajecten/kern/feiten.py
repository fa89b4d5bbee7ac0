"""A trajectory's facts: typed from what a person, a file or a feed gave, and merged with the client's own
data into what a rule sees."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from trajecten.basis.bsn import valideer_iban
from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.kern.definitie import FeitType
from trajecten.kern.planner import as_date


def regel_feiten(geboortedatum: date | None, bijstand_sinds: date | None, feiten: dict[str, Any]) -> dict[str, Any]:
    """The facts a rule sees: the client's birth date and bijstand start, overridden by the trajectory's facts."""
    merged = {"geboortedatum": geboortedatum, "bijstand_sinds": bijstand_sinds}
    merged.update(feiten)
    return merged


def typeer(compiled, raw: dict[str, Any]) -> dict[str, Any]:
    """Check and type the facts given for a trajectory of ``compiled``; JSON-ready values (dates as ISO text).
    An unknown or missing fact, or a value of the wrong type, is refused naming the fact."""
    declared = compiled.definitie.feiten
    out: dict[str, Any] = {}
    for name, value in raw.items():
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(declared)) or "(geen)"
            raise OngeldigeInvoer(f"feit {name}", f"is geen feit van {compiled.definitie.instrument}; bekend: {known}")
        out[name] = _typed(name, spec.type, value)
    for name, spec in declared.items():
        if spec.verplicht and out.get(name) is None:
            raise OngeldigeInvoer(f"feit {name}", f"verplicht voor {compiled.definitie.instrument} ({spec.omschrijving})")
    for name in compiled.iban_feiten:  # a payee's account (ontvanger: werkgever) is checked at start
        if out.get(name):
            out[name] = valideer_iban(out[name], f"feit {name}")
    return out


def _typed(name: str, kind: FeitType, value: Any) -> Any:
    """A fact value checked against its declared type, JSON-ready."""
    field = f"feit {name}"
    if value is None or value == "":
        return None
    try:
        if kind is FeitType.date:
            return as_date(value).isoformat()
        if kind is FeitType.int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is FeitType.decimal:
            d = Decimal(str(value))
            if not d.is_finite():
                raise ValueError
            return str(d)
        if kind is FeitType.bool:
            if isinstance(value, bool):
                return value
            v = str(value).strip().lower()
            if v in ("true", "ja", "1", "yes", "waar"):
                return True
            if v in ("false", "nee", "0", "no", "onwaar"):
                return False
            raise ValueError
        return str(value)
    except (ValueError, TypeError, InvalidOperation):
        expected = {"date": "een datum JJJJ-MM-DD", "int": "een geheel getal", "decimal": "een getal",
                    "bool": "ja of nee", "text": "tekst"}[kind.value]
        raise OngeldigeInvoer(field, f"{str(value)[:40]!r} is geen {expected}") from None

