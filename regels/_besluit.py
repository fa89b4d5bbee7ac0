"""The decision a rule returns, with its explanation: outcome, payments and one reason per condition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ["Reden", "Betaling", "Decision", "nieuw_besluit"]


class Reden(NamedTuple):
    """One condition: what was checked, the value used, the norm, whether it held, and the source."""

    voorwaarde: str
    waarde: Any
    norm: Any
    voldaan: bool
    bron: str


class Betaling(NamedTuple):
    """One payment (part `deel`) of `bedrag` euros, payable from `opeisbaar_op`."""

    deel: int
    bedrag: Decimal
    opeisbaar_op: date


def _json(w: Any) -> Any:
    """Plain JSON value: dates as ISO text, Decimal as text, tuples as lists."""
    if w is None or w is True or w is False or isinstance(w, (int, str)):
        return w
    if isinstance(w, date):
        return w.isoformat()
    if isinstance(w, Decimal):
        return format(w, "f")
    if isinstance(w, float):
        return w
    if isinstance(w, (list, tuple)):
        return [_json(x) for x in w]
    if isinstance(w, dict):
        return {str(k): _json(v) for k, v in w.items()}
    return str(w)


def _euro(bedrag: Decimal) -> str:
    """€ 1.200,00 (Dutch notation)."""
    tekst = f"{bedrag:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"€ {tekst}"


def _tekst(w: Any) -> str:
    if w is None:
        return "(niet opgegeven)"
    if w is True:
        return "ja"
    if w is False:
        return "nee"
    if isinstance(w, date):
        return w.isoformat()
    if isinstance(w, (list, tuple)):
        return ", ".join(_tekst(x) for x in w)
    return str(w)


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one rule for one set of facts on one peildatum, reproducible from `parameters`.

    `versie` is the date key of the regulation in force ("" when none was in force yet);
    `parameters` maps every parameter path used to the date key of its value.
    """

    regel: str
    versie: str
    peildatum: date
    uitkomst: bool
    betalingen: tuple[Betaling, ...]
    redenen: tuple[Reden, ...]
    parameters: dict[str, str] = field(default_factory=dict, hash=False)
    # how the outcome reads (the rule's uitkomst_tekst), for `uitleg`
    uitkomst_tekst: tuple[str, str] = field(default=("ja", "nee"), compare=False, hash=False, repr=False)

    @property
    def totaal(self) -> Decimal:
        """Sum of the payments in this decision."""
        return sum((b.bedrag for b in self.betalingen), Decimal("0.00"))

    def to_json(self) -> dict[str, Any]:
        """The contract shape other tools read (plus `parameters`)."""
        return {
            "regel": self.regel,
            "versie": self.versie,
            "peildatum": self.peildatum.isoformat(),
            "uitkomst": self.uitkomst,
            "betalingen": [
                {
                    "deel": b.deel,
                    "bedrag": format(b.bedrag.quantize(Decimal("0.01")), "f"),
                    "opeisbaar_op": b.opeisbaar_op.isoformat(),
                }
                for b in self.betalingen
            ],
            "redenen": [
                {
                    "voorwaarde": r.voorwaarde,
                    "waarde": _json(r.waarde),
                    "norm": _json(r.norm),
                    "voldaan": r.voldaan,
                    "bron": r.bron,
                }
                for r in self.redenen
            ],
            "parameters": dict(self.parameters),
        }

    def uitleg(self) -> str:
        """Readable Dutch explanation: the outcome, one line per reason, then the payments."""
        ja, nee = self.uitkomst_tekst
        versie = f"versie {self.versie}" if self.versie else "geen regeling van kracht"
        regels = [
            f"{self.regel} ({versie}), peildatum {self.peildatum.isoformat()}: "
            f"{(ja if self.uitkomst else nee).upper()}"
        ]
        for r in self.redenen:
            teken = "✔" if r.voldaan else "✘"
            regels.append(f"  {teken} {r.voorwaarde}: {_tekst(r.waarde)} — norm: {_tekst(r.norm)} (bron: {r.bron})")
        for b in self.betalingen:
            regels.append(f"  € deel {b.deel}: {_euro(b.bedrag)}, opeisbaar op {b.opeisbaar_op.isoformat()}")
        if self.uitkomst and self.betalingen:
            regels.append(f"  totaal: {_euro(self.totaal)}")
        return "\n".join(regels)


_leeg_object = object.__new__
_zet = tuple(getattr(Decision, naam).__set__ for naam in (
    "regel", "versie", "peildatum", "uitkomst", "betalingen", "redenen", "parameters", "uitkomst_tekst"
))


def nieuw_besluit(regel, versie, peildatum, uitkomst, betalingen, redenen, parameters,
                  uitkomst_tekst=("ja", "nee")) -> Decision:
    """Build a Decision without the dataclass __init__ (half the cost on the hot path); same object."""
    d = _leeg_object(Decision)
    z1, z2, z3, z4, z5, z6, z7, z8 = _zet
    z1(d, regel)
    z2(d, versie)
    z3(d, peildatum)
    z4(d, uitkomst)
    z5(d, betalingen)
    z6(d, redenen)
    z7(d, parameters)
    z8(d, uitkomst_tekst)
    return d
