"""Businesscase: a one-off tailored payment that removes a practical obstacle to work.

Policy (Werkprogramma 2020-2022, gemeente Groningen, 5.3.5 "Businesscases: obstakels en belemmeringen
wegnemen"): sometimes a very practical obstacle stands between a person and work, for which there is no
regular solution. A businesscase weighs costs and benefits ("doelmatigheid in plaats van
rechtmatigheid") and pays what is needed. The documents' example: EUR 800 towards a car so a young man
living in Groningen could reach an early shift in Assen before public transport runs.

Conditions: an amount above zero and at most the ceiling per case (`businesscase.plafond`, a dated
parameter: a municipal choice, the documents name no figure); a description of the obstacle; and a
written cost/benefit reason (`motivering`) of at least `businesscase.min_motivering_tekens` characters.
`businesscase` pays the amount as part 1 on the peildatum; `businesscase.toegang` decides the start.

Repeats: the documents say nothing about them. Each businesscase is a case of its own (an obstacle, a
supplier, an amount), so the rule names no payment subject: its one payment is once per trajectory (the
payout key's subject is the trajectory), and the instrument allows several cases per client
(`per_client: meerdere`, marked te_bevestigen in flows/instrumenten/businesscase.yaml).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ._besluit import Betaling, Reden
from ._feiten import BEDRAG, TEKST, Feit
from ._parameters import Parameters
from ._regel import regel

BRON = ("Werkprogramma 2020-2022, gemeente Groningen, 5.3.5 Businesscases: obstakels en belemmeringen "
        "wegnemen (voorbeeld: EUR 800 voor een auto om een vroege dienst in Assen te halen)")

FEITEN = {
    "bedrag": Feit(BEDRAG, True, "het bedrag van de businesscase in euro (eenmalig)"),
    "omschrijving": Feit(TEKST, True, "het praktische obstakel naar werk dat de betaling wegneemt"),
    "motivering": Feit(TEKST, True, "schriftelijke afweging van kosten en baten"),
}
_P = "businesscase."


def voorwaarden(f: dict[str, Any], peildatum: date, p: Parameters) -> tuple[bool, list[Reden]]:
    bedrag: Decimal = f["bedrag"]
    plafond, plafond_bron = p.met_bron(_P + "plafond", peildatum)
    minimum, minimum_bron = p.met_bron(_P + "min_motivering_tekens", peildatum)
    motivering: str = f["motivering"]
    bedrag_ok = Decimal("0") < bedrag <= plafond
    motivering_ok = len(motivering) >= minimum
    redenen = [
        Reden(f"bedrag hoger dan € 0 en ten hoogste het plafond van € {plafond:.2f} per businesscase",
              f"€ {bedrag:.2f}", f"0 < bedrag <= {plafond:.2f}", bedrag_ok, plafond_bron),
        Reden("het obstakel naar werk is omschreven", f["omschrijving"][:120], "niet leeg", True, BRON),
        Reden(f"motivering (afweging kosten en baten) van ten minste {minimum} tekens", f"{len(motivering)} tekens",
              f">= {minimum} tekens", motivering_ok, minimum_bron),
    ]
    return bedrag_ok and motivering_ok, redenen


@regel(
    "businesscase",
    omschrijving="Businesscase: eenmalige maatwerkbetaling die een praktisch obstakel naar werk wegneemt",
    bron=BRON,
    feiten=FEITEN,
    regeling=_P + "regeling",
    uitkomst_tekst=("betaling toegekend", "geen betaling"),
)
def businesscase(f: dict[str, Any], peildatum: date, p: Parameters):
    """The amount as part 1, payable on the peildatum, when the conditions hold on that date."""
    ok, redenen = voorwaarden(f, peildatum, p)
    if not ok:
        return False, (), redenen
    return True, (Betaling(1, f["bedrag"], peildatum),), redenen


@regel(
    "businesscase.toegang",
    omschrijving="Toegang tot een businesscase: bedrag binnen het plafond, obstakel en motivering vastgelegd",
    bron=BRON,
    feiten=FEITEN,
    regeling=_P + "regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def businesscase_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    ok, redenen = voorwaarden(f, peildatum, p)
    return ok, (), redenen
