"""Jongeren in Beeld: young people aged 23-27 with no work, no benefit and no school are traced,
approached and offered school, work or support. Participation is voluntary.

Policy (Werk- en Ontwikkelprogramma 2022-2025, project 2): "jongeren tussen de 23 en 27 jaar die geen
werk en geen uitkering hebben en die ook niet naar school gaan"; 250 a year. The age bounds are dated
parameters (both inclusive, to be confirmed).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._feiten import DATUM, JA_NEE, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import leeftijd_tussen, nee

BRON = "Werk- en Ontwikkelprogramma 2022-2025, gemeente Groningen: 2. Project Jongeren in Beeld"


@regel(
    "jongeren_in_beeld.toegang",
    omschrijving="Toegang tot Jongeren in Beeld (23-27 jaar, geen werk, geen uitkering, geen school)",
    bron=BRON,
    feiten={
        "geboortedatum": Feit(DATUM, True, "geboortedatum van de jongere"),
        "heeft_werk": Feit(JA_NEE, True, "heeft betaald werk"),
        "heeft_uitkering": Feit(JA_NEE, True, "ontvangt een uitkering"),
        "volgt_onderwijs": Feit(JA_NEE, True, "gaat naar school of volgt een opleiding"),
    },
    regeling="jongeren_in_beeld.regeling",
    uitkomst_tekst=("hoort bij de doelgroep", "hoort niet bij de doelgroep"),
)
def jongeren_in_beeld_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    vanaf, bron_min = p.met_bron("jongeren_in_beeld.min_leeftijd", peildatum)
    tot, bron_max = p.met_bron("jongeren_in_beeld.max_leeftijd", peildatum)
    redenen = [
        leeftijd_tussen(f["geboortedatum"], peildatum, vanaf, tot, bron_min if bron_min == bron_max else f"{bron_min}; {bron_max}"),
        nee("geen werk", f["heeft_werk"], BRON),
        nee("geen uitkering", f["heeft_uitkering"], BRON),
        nee("gaat niet naar school", f["volgt_onderwijs"], BRON),
    ]
    return all(r.voldaan for r in redenen), (), redenen
