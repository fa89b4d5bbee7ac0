"""De basisbaan: work with social value at minimum wage, a 3-year experiment with 40 jobs.

Policy (Werkprogramma 2020-2022, 5.3.7): for people for whom regular work did not (lastingly) succeed
despite support (a participatiebaan, a trial placement or a work-experience place without result);
the work has social value, is additional and displaces no jobs. Whether new participants may still
start is a dated parameter (`basisbaan.instroom_open`): the experiment runs 3 years.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._feiten import DATUM, JA_NEE, Feit
from ._parameters import Parameters
from ._regel import regel
from ._toetsen import in_bijstand, ja

BRON = "Werkprogramma 2020-2022, gemeente Groningen, 5.3.7 De basisbaan"


@regel(
    "basisbaan.toegang",
    omschrijving="Toegang tot de basisbaan (experiment van 3 jaar, 40 banen)",
    bron=BRON,
    feiten={
        "bijstand_sinds": Feit(DATUM, True, "eerste dag van de lopende bijstandsuitkering"),
        "werk_start": Feit(DATUM, True, "eerste werkdag in de basisbaan"),
        "regulier_werk_niet_gelukt": Feit(JA_NEE, True, "regulier werk lukte niet (duurzaam) ondanks ondersteuning"),
        "werk_additioneel": Feit(JA_NEE, True, "het werk heeft maatschappelijke meerwaarde, is additioneel en verdringt niet"),
    },
    regeling="basisbaan.regeling",
    versie_feit="werk_start",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def basisbaan_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    ws: date = f["werk_start"]
    open_, bron = p.met_bron("basisbaan.instroom_open", ws)
    redenen = [
        Reden("instroom in het experiment open op de werkstart", ws, "experiment loopt (3 jaar)", open_ is True, bron),
        in_bijstand(f["bijstand_sinds"], ws, BRON, "de werkstart"),
        ja("regulier werk lukte niet ondanks ondersteuning", f["regulier_werk_niet_gelukt"], BRON),
        ja("werk met maatschappelijke meerwaarde, additioneel", f["werk_additioneel"], BRON),
    ]
    return all(r.voldaan for r in redenen), (), redenen
