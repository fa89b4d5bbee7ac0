"""Activeren bijstandsaanvragers 27+: clear expectations from the first day of the application.

Policy (Werkprogramma 2020-2022, 5.1.1): "Van bijstandsaanvragers ouder dan 27 jaar verwachten we vanaf
de eerste dag een actieve houding". Access: at least `activeren_27plus.min_leeftijd` on the day of the
application, and the trajectory starts at most `activeren_27plus.max_dagen_na_aanvraag` days after it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ._besluit import Reden
from ._feiten import DATUM, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import leeftijd_tussen

BRON = "Werkprogramma 2020-2022, gemeente Groningen, 5.1.1 Activeren bijstandsaanvragers 27+"


@regel(
    "activeren_27plus.toegang",
    omschrijving="Toegang tot Activeren bijstandsaanvragers 27+ vanaf de aanvraag",
    bron=BRON,
    feiten={
        "geboortedatum": Feit(DATUM, True, "geboortedatum van de aanvrager"),
        "aanvraagdatum": Feit(DATUM, True, "datum van de bijstandsaanvraag"),
    },
    regeling="activeren_27plus.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def activeren_27plus_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    aanvraag: date = f["aanvraagdatum"]
    vanaf, bron_leeftijd = p.met_bron("activeren_27plus.min_leeftijd", peildatum)
    dagen, bron_dagen = p.met_bron("activeren_27plus.max_dagen_na_aanvraag", peildatum)
    uiterlijk = aanvraag + timedelta(days=dagen)
    redenen = [
        leeftijd_tussen(f["geboortedatum"], aanvraag, vanaf, None, bron_leeftijd),
        Reden("aanvraag ingediend", aanvraag, f"op of voor {peildatum.isoformat()}", aanvraag <= peildatum, BRON),
        Reden(f"start binnen {dagen} dagen na de aanvraag", peildatum, f"uiterlijk {uiterlijk.isoformat()}",
              peildatum <= uiterlijk, bron_dagen),
    ]
    return all(r.voldaan for r in redenen), (), redenen
