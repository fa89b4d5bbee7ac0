"""Kansen in Kaart (KIK): yearly contact with every bijstand client who has no running trajectory.

Policy (Werkprogramma 2020-2022, 4.1 Instroom): "Met KIK hernieuwen en onderhouden we het contact met
bijstandsgerechtigden zonder lopend traject [...] en onderhouden het contact minimaal één keer per jaar."
Access on the peildatum: the client receives bijstand (for at least
`kansen_in_kaart.min_bijstand_maanden` whole months, a dated policy choice, 0), has not left it for work
since the current bijstand began, and has no other running trajectory. The yearly rhythm itself is in
the instrument file (``flows/instrumenten/kansen_in_kaart.yaml``), not here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._datums import maanden_tussen
from ._feiten import DATUM, GEHEEL, Feit
from ._parameters import Parameters
from ._regel import regel

BRON = "Werkprogramma 2020-2022, gemeente Groningen, 4.1 Instroom: Kansen in Kaart (KIK)"


@regel(
    "kansen_in_kaart.toegang",
    omschrijving="Toegang tot Kansen in Kaart: in de bijstand en geen ander lopend traject",
    bron=BRON,
    feiten={
        "bijstand_sinds": Feit(DATUM, False, "eerste dag van de lopende bijstandsuitkering (leeg: geen bijstand)"),
        "andere_lopende_trajecten": Feit(GEHEEL, True, "aantal lopende of geplande trajecten van andere instrumenten"),
        "uitgestroomd_op": Feit(DATUM, False, "einddatum van het laatste traject met uitstroom door werk"),
    },
    regeling="kansen_in_kaart.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def kansen_in_kaart_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    bs: date | None = f["bijstand_sinds"]
    min_maanden, bron_min = p.met_bron("kansen_in_kaart.min_bijstand_maanden", peildatum)
    in_bijstand = bs is not None and bs <= peildatum
    lang_genoeg = in_bijstand and maanden_tussen(bs, peildatum) >= min_maanden
    uit: date | None = f["uitgestroomd_op"]
    niet_uit = uit is None or (bs is not None and uit < bs)
    andere = f["andere_lopende_trajecten"]
    redenen = [
        Reden("ontvangt bijstand op de peildatum", bs, f"bijstand sinds op of voor {peildatum.isoformat()}",
              in_bijstand, BRON),
        Reden(f"ten minste {min_maanden} hele maanden in de bijstand", bs, f">= {min_maanden} maanden",
              lang_genoeg, bron_min),
        Reden("niet uitgestroomd door werk sinds de start van de bijstand", uit,
              "geen uitstroom, of uitstroom voor de start van de huidige bijstand", niet_uit, BRON),
        Reden("geen ander lopend traject", andere, 0, andere == 0, BRON),
    ]
    return in_bijstand and lang_genoeg and niet_uit and andere == 0, (), redenen
