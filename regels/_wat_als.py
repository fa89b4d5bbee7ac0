"""What-if for policy: run a rule over a caseload with and without parameter overrides.

    r = wat_als("premie_op_werk", caseload, {"premie_op_werk.min_bijstand_maanden": 24})
    r.aantal_gewonnen, r.aantal_verloren, r.geldeffect, r.gewonnen[:10]

Each client's facts are checked once and evaluated twice (current parameters, then the overrides).
Clients with bad facts are not counted but listed in `fouten` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Hashable, Iterable, Mapping

from ._exceptions import FeitFout
from ._parameters import controleer_overrides
from ._regel import lees_peildatum, uitkomst_en_betalingen, zoek_regel

__all__ = ["WatAlsResultaat", "wat_als"]


@dataclass(frozen=True, slots=True)
class WatAlsResultaat:
    """Effect of overrides on one rule over a caseload."""

    regel: str
    overrides: dict[str, object]
    aantal: int  # clients evaluated (without fouten)
    ja_voor: int  # eligible under the current parameters
    ja_na: int  # eligible with the overrides
    gewonnen: tuple[Hashable, ...]  # ids that become eligible
    verloren: tuple[Hashable, ...]  # ids that lose eligibility
    bedrag_voor: Decimal  # total of payments under the current parameters
    bedrag_na: Decimal  # total of payments with the overrides
    fouten: tuple[tuple[Hashable, str], ...] = ()

    @property
    def aantal_gewonnen(self) -> int:
        return len(self.gewonnen)

    @property
    def aantal_verloren(self) -> int:
        return len(self.verloren)

    @property
    def geldeffect(self) -> Decimal:
        """Money effect of the overrides: payments with minus payments without."""
        return self.bedrag_na - self.bedrag_voor

    def to_json(self) -> dict[str, Any]:
        return {
            "regel": self.regel,
            "overrides": {k: v if isinstance(v, (int, str, bool)) else str(v) for k, v in self.overrides.items()},
            "aantal": self.aantal,
            "ja_voor": self.ja_voor,
            "ja_na": self.ja_na,
            "aantal_gewonnen": self.aantal_gewonnen,
            "aantal_verloren": self.aantal_verloren,
            "bedrag_voor": format(self.bedrag_voor, "f"),
            "bedrag_na": format(self.bedrag_na, "f"),
            "geldeffect": format(self.geldeffect, "f"),
            "gewonnen": list(self.gewonnen),
            "verloren": list(self.verloren),
            "fouten": [[i, r] for i, r in self.fouten],
        }

    def samenvatting(self) -> str:
        """Dutch summary for policy staff."""
        return (
            f"Wat-als voor {self.regel} met {self.overrides}: {self.aantal} inwoners, "
            f"in aanmerking {self.ja_voor} -> {self.ja_na} (+{self.aantal_gewonnen} / -{self.aantal_verloren}); "
            f"bedrag € {self.bedrag_voor} -> € {self.bedrag_na} (effect € {self.geldeffect})"
            + (f"; {len(self.fouten)} inwoners met foute feiten overgeslagen" if self.fouten else "")
        )


def wat_als(
    naam: str,
    caseload: Iterable[tuple[Hashable, Mapping[str, Any], date]],
    overrides: Mapping[str, object],
) -> WatAlsResultaat:
    """Evaluate rule `naam` for every (id, feiten, peildatum) twice: as is, and with `overrides`."""
    r = zoek_regel(naam)
    klaar = controleer_overrides(overrides)
    lees = r.schema.lees
    gewonnen: list[Hashable] = []
    verloren: list[Hashable] = []
    fouten: list[tuple[Hashable, str]] = []
    aantal = ja_voor = ja_na = 0
    bedrag_voor = Decimal("0.00")
    bedrag_na = Decimal("0.00")
    for ident, feiten, peildatum in caseload:
        try:
            if peildatum.__class__ is not date:
                peildatum = lees_peildatum(peildatum)
            f = lees(feiten)
            voor, betalingen_voor = uitkomst_en_betalingen(r, f, peildatum, None)
            na, betalingen_na = uitkomst_en_betalingen(r, f, peildatum, klaar)
        except FeitFout as fout:
            fouten.append((ident, str(fout)))
            continue
        aantal += 1
        if voor:
            ja_voor += 1
            for b in betalingen_voor:
                bedrag_voor += b.bedrag
        if na:
            ja_na += 1
            for b in betalingen_na:
                bedrag_na += b.bedrag
        if voor != na:
            (gewonnen if na else verloren).append(ident)
    return WatAlsResultaat(
        regel=naam,
        overrides=dict(overrides),
        aantal=aantal,
        ja_voor=ja_voor,
        ja_na=ja_na,
        gewonnen=tuple(gewonnen),
        verloren=tuple(verloren),
        bedrag_voor=bedrag_voor,
        bedrag_na=bedrag_na,
        fouten=tuple(fouten),
    )
