"""Jobcoaching en nazorg: support the new employee and employer so the placement lasts.

Policy (Werkprogramma 2020-2022): a jobcoach for people who left bijstand for work and risk dropping out,
also beyond the banenafspraak group; nazorg checks the transition (income, toeslagen, debts, the
poverty trap). Access: the client was in bijstand when work started, and work started at most
`jobcoaching_nazorg.max_maanden_na_werkstart` months before the peildatum (policy choice, 3).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._datums import plus_maanden
from ._feiten import DATUM, Feit
from ._parameters import Parameters
from ._regel import regel

BRON = "Werkprogramma 2020-2022, gemeente Groningen: jobcoaching en nazorg na uitstroom naar werk"


@regel(
    "jobcoaching_nazorg.toegang",
    omschrijving="Toegang tot Jobcoaching en nazorg na de start van werk",
    bron=BRON,
    feiten={
        "werk_start": Feit(DATUM, True, "eerste werkdag"),
        "uitstroom_datum": Feit(DATUM, False, "datum waarop de bijstand eindigde (ter informatie)"),
        "bijstand_sinds": Feit(DATUM, False, "eerste dag van de bijstandsuitkering voor de werkstart"),
    },
    regeling="jobcoaching_nazorg.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def jobcoaching_nazorg_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    ws: date = f["werk_start"]
    maanden, bron = p.met_bron("jobcoaching_nazorg.max_maanden_na_werkstart", peildatum)
    uiterlijk = plus_maanden(ws, maanden)
    op_tijd = peildatum <= uiterlijk
    bs = f["bijstand_sinds"]
    bijstand_ok = bs is not None and bs <= ws
    redenen = [
        Reden(
            f"werkstart niet meer dan {maanden} maanden voor de peildatum",
            ws,
            f"peildatum uiterlijk {uiterlijk.isoformat()}",
            op_tijd,
            bron,
        ),
        Reden("in de bijstand bij werkstart", bs, f"bijstand sinds op of voor {ws.isoformat()}", bijstand_ok, BRON),
    ]
    if f["uitstroom_datum"] is not None:
        redenen.append(Reden("uitstroomdatum (ter informatie)", f["uitstroom_datum"], None, True, BRON))
    return op_tijd and bijstand_ok, (), redenen
