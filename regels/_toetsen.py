"""Conditions several rules share, each giving one `Reden` (so the wording is the same everywhere).

The speed of the rules lives here, not in the rule files: a `Reden` is built without its Python-level
constructor, and a text that depends only on a norm (a minimum, a date) is formatted once and remembered.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from ._besluit import Reden
from ._datums import leeftijd

__all__ = ["alle_voldaan", "ten_minste", "in_bijstand", "ja", "nee", "leeftijd_tussen"]

_reden = tuple.__new__  # _reden(Reden, (...)) is Reden(...) without its Python-level constructor
# texts per helper and norm, e.g. ("ten_minste", "ten minste {minimum} uur", 16, "uur") -> its two texts;
# only for norms whose text follows from equality (16 == Decimal("16.0"), but not as text)
_TEKSTEN: dict[tuple, tuple[str, str]] = {}
_TEKSTEN_MAX = 10_000
_GRENZEN = (int, type(None))  # age bounds whose text follows from equality


def _onthoud(sleutel: tuple, teksten: tuple[str, str]) -> None:
    if len(_TEKSTEN) >= _TEKSTEN_MAX:
        _TEKSTEN.clear()
    _TEKSTEN[sleutel] = teksten


def alle_voldaan(redenen: Iterable[Reden]) -> bool:
    """Every condition held."""
    for r in redenen:
        if not r.voldaan:
            return False
    return True


def ten_minste(voorwaarde: str, waarde: Any, minimum: Any, eenheid: str, bron: str) -> Reden:
    """A number that must be at least `minimum`. `voorwaarde` names it as {minimum}: "ten minste {minimum}
    uur per week"; the norm reads ">= 16 uur"."""
    sleutel = ("ten_minste", voorwaarde, minimum, eenheid)
    teksten = _TEKSTEN.get(sleutel) if minimum.__class__ is int else None
    if teksten is None:
        teksten = (voorwaarde.format(minimum=minimum), f">= {minimum} {eenheid}")
        if minimum.__class__ is int:
            _onthoud(sleutel, teksten)
    return _reden(Reden, (teksten[0], waarde, teksten[1], waarde >= minimum, bron))


def in_bijstand(bijstand_sinds: date | None, op: date, bron: str, wat: str = "de peildatum") -> Reden:
    """The client receives bijstand on `op`: a known start date on or before it."""
    ok = bijstand_sinds is not None and bijstand_sinds <= op
    sleutel = ("in_bijstand", op, wat)
    teksten = _TEKSTEN.get(sleutel) if op.__class__ is date else None
    if teksten is None:
        teksten = (f"ontvangt bijstand op {wat}", f"bijstand sinds op of voor {op.isoformat()}")
        if op.__class__ is date:
            _onthoud(sleutel, teksten)
    return _reden(Reden, (teksten[0], bijstand_sinds, teksten[1], ok, bron))


def ja(voorwaarde: str, waarde: Any, bron: str) -> Reden:
    """A yes/no fact that must be yes."""
    return _reden(Reden, (voorwaarde, waarde, True, waarde is True, bron))


def nee(voorwaarde: str, waarde: Any, bron: str) -> Reden:
    """A yes/no fact that must be no."""
    return _reden(Reden, (voorwaarde, waarde, False, waarde is False, bron))


def leeftijd_tussen(geboren: date, op: date, vanaf: int | None, tot_en_met: int | None, bron: str) -> Reden:
    """Age in whole years on `op` within [vanaf, tot_en_met] (either bound may be open)."""
    jaren = leeftijd(geboren, op)
    ok = (vanaf is None or jaren >= vanaf) and (tot_en_met is None or jaren <= tot_en_met)
    sleutel = ("leeftijd_tussen", op, vanaf, tot_en_met)
    vast = op.__class__ is date and vanaf.__class__ in _GRENZEN and tot_en_met.__class__ in _GRENZEN
    teksten = _TEKSTEN.get(sleutel) if vast else None
    if teksten is None:
        delen = ([f"ten minste {vanaf}"] if vanaf is not None else []) + (
            [f"ten hoogste {tot_en_met}"] if tot_en_met is not None else [])
        norm = " en ".join(delen) + " jaar"
        teksten = (f"leeftijd {norm} op {op.isoformat()}", norm)
        if vast:
            _onthoud(sleutel, teksten)
    return _reden(Reden, (teksten[0], jaren, teksten[1], ok, bron))
