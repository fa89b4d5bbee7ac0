"""Jobhunting: one month of intensive help finding hidden jobs (verborgen werkgelegenheid).

Policy (Werkprogramma 2020-2022, 5.3.4): a jobhunter looks for jobs that have no vacancy yet; the
candidate keeps control. Only "wanneer werkzoekenden geen passend werk kunnen vinden via de reguliere
routes en/of dienstverlening". Access: bijstand on the peildatum and the regular routes were tried.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._feiten import DATUM, JA_NEE, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import in_bijstand, ja

BRON = "Werkprogramma 2020-2022, gemeente Groningen, 5.3.4 Jobhunting"


@regel(
    "jobhunting.toegang",
    omschrijving="Toegang tot Jobhunting (een maand intensieve hulp bij het vinden van verborgen banen)",
    bron=BRON,
    feiten={
        "bijstand_sinds": Feit(DATUM, True, "eerste dag van de lopende bijstandsuitkering"),
        "reguliere_route_geprobeerd": Feit(JA_NEE, True, "geen passend werk gevonden via de reguliere routes"),
    },
    regeling="jobhunting.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def jobhunting_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    redenen = [
        in_bijstand(f["bijstand_sinds"], peildatum, BRON),
        ja("reguliere routes geprobeerd zonder passend werk", f["reguliere_route_geprobeerd"], BRON),
    ]
    return all(r.voldaan for r in redenen), (), redenen
