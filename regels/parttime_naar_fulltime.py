"""Van parttime inkomsten fulltime uit de uitkering: two coaches guide people who already have
part-time income to a job above bijstand level (100 a year), and ask employers for more hours.

Policy (raadsbrief 2017 over het BUIG-tekort): "mensen die al parttime inkomsten hebben uit te laten
stromen naar werk ... boven bijstandsniveau". Access: bijstand on the peildatum and part-time work of
at least `parttime_naar_fulltime.min_uren_per_week` hours.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._feiten import DATUM, GETAL, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import in_bijstand

BRON = "Raadsbrief 2017 gemeente Groningen (BUIG): project 'Van parttime inkomsten fulltime uit de uitkering'"


@regel(
    "parttime_naar_fulltime.toegang",
    omschrijving="Toegang tot Parttime naar fulltime: parttime inkomsten en (aanvullend) bijstand",
    bron=BRON,
    feiten={
        "bijstand_sinds": Feit(DATUM, True, "eerste dag van de lopende (aanvullende) bijstandsuitkering"),
        "uren_per_week": Feit(GETAL, True, "uren per week in het huidige parttime werk"),
    },
    regeling="parttime_naar_fulltime.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def parttime_naar_fulltime_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    minimum, bron = p.met_bron("parttime_naar_fulltime.min_uren_per_week", peildatum)
    uren = f["uren_per_week"]
    redenen = [
        in_bijstand(f["bijstand_sinds"], peildatum, BRON),
        Reden("heeft parttime inkomsten uit werk", uren, f">= {minimum} uur per week", uren >= minimum, bron),
    ]
    return all(r.voldaan for r in redenen), (), redenen
