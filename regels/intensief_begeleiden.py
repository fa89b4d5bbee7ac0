"""Intensief begeleiden: 9 to 12 weeks of intensive coaching, in two variants.

Policy (Werk- en Ontwikkelprogramma 2022-2025): 120 clients a year in each variant, *richting werk*
(towards a job) and *ter ontwikkeling* (a next step on the ontwikkelladder). For clients who receive
bijstand. The valid variants and the minimum age are dated parameters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._datums import leeftijd
from ._feiten import DATUM, TEKST, Feit
from ._parameters import Parameters
from ._regel import regel

BRON = "Werk- en Ontwikkelprogramma 2022-2025, gemeente Groningen: projecten intensief begeleiden"


@regel(
    "intensief_begeleiden.toegang",
    omschrijving="Toegang tot Intensief begeleiden (richting werk of ter ontwikkeling)",
    bron=BRON,
    feiten={
        "variant": Feit(TEKST, True, "richting_werk of ter_ontwikkeling"),
        "bijstand_sinds": Feit(DATUM, True, "eerste dag van de lopende bijstandsuitkering"),
        "geboortedatum": Feit(DATUM, False, "geboortedatum (leeftijd wordt alleen getoetst als die bekend is)"),
    },
    regeling="intensief_begeleiden.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def intensief_begeleiden_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    variant = f["variant"]
    varianten, bron_varianten = p.met_bron("intensief_begeleiden.varianten", peildatum)
    variant_ok = variant in varianten
    bs: date = f["bijstand_sinds"]
    bijstand_ok = bs <= peildatum
    redenen = [
        Reden("geldige variant", variant, list(varianten), variant_ok, bron_varianten),
        Reden("ontvangt bijstand op de peildatum", bs, f"bijstand sinds op of voor {peildatum.isoformat()}", bijstand_ok, BRON),
    ]
    ok = variant_ok and bijstand_ok
    geboren = f["geboortedatum"]
    min_leeftijd, bron = p.met_bron("intensief_begeleiden.min_leeftijd", peildatum)
    if geboren is None:
        redenen.append(Reden(f"ten minste {min_leeftijd} jaar", None, "niet getoetst: geboortedatum onbekend", True, bron))
    else:
        jaren = leeftijd(geboren, peildatum)
        leeftijd_ok = jaren >= min_leeftijd
        redenen.append(Reden(f"ten minste {min_leeftijd} jaar", jaren, f">= {min_leeftijd} jaar", leeftijd_ok, bron))
        ok = ok and leeftijd_ok
    return ok, (), redenen
