"""Conditions several rules share, each giving one `Reden` (so the wording is the same everywhere)."""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._datums import leeftijd


def in_bijstand(bijstand_sinds: date | None, op: date, bron: str, wat: str = "de peildatum") -> Reden:
    """The client receives bijstand on `op`: a known start date on or before it."""
    ok = bijstand_sinds is not None and bijstand_sinds <= op
    return Reden(f"ontvangt bijstand op {wat}", bijstand_sinds, f"bijstand sinds op of voor {op.isoformat()}", ok, bron)


def ja(voorwaarde: str, waarde: Any, bron: str) -> Reden:
    """A yes/no fact that must be yes."""
    return Reden(voorwaarde, waarde, True, waarde is True, bron)


def nee(voorwaarde: str, waarde: Any, bron: str) -> Reden:
    """A yes/no fact that must be no."""
    return Reden(voorwaarde, waarde, False, waarde is False, bron)


def leeftijd_tussen(geboren: date, op: date, vanaf: int | None, tot_en_met: int | None, bron: str) -> Reden:
    """Age in whole years on `op` within [vanaf, tot_en_met] (either bound may be open)."""
    jaren = leeftijd(geboren, op)
    delen = ([f"ten minste {vanaf}"] if vanaf is not None else []) + (
        [f"ten hoogste {tot_en_met}"] if tot_en_met is not None else [])
    ok = (vanaf is None or jaren >= vanaf) and (tot_en_met is None or jaren <= tot_en_met)
    norm = " en ".join(delen) + " jaar"
    return Reden(f"leeftijd {norm} op {op.isoformat()}", jaren, norm, ok, bron)
