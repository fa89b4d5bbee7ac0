"""WW-naar-bijstand preventie: start guiding people before their WW benefit ends.

Policy (Werkprogramma 2020-2022, aanpak WW naar bijstand): together with UWV, guide people who risk
long-term unemployment from 6 months before their WW benefit ends (parameter
`ww_preventie.voorloop_maanden`), so they do not end up in bijstand. A handover whose WW end date is
today or already past is refused with that reason, never silently dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._datums import plus_maanden
from ._exceptions import FeitFout
from ._feiten import DATUM, JA_NEE, Feit
from ._parameters import Parameters
from ._regel import regel

BRON = "Werkprogramma 2020-2022, gemeente Groningen: aanpak WW naar bijstand (samen met UWV)"


@regel(
    "ww_preventie.toegang",
    omschrijving="Toegang tot WW-naar-bijstand preventie voor een overdracht van UWV",
    bron=BRON,
    feiten={
        "ww_einddatum": Feit(DATUM, True, "laatste dag van de WW-uitkering"),
        "risico_langdurig": Feit(JA_NEE, True, "UWV schat een risico op langdurige werkloosheid in"),
        "ww_startdatum": Feit(DATUM, False, "eerste dag van de WW-uitkering"),
    },
    regeling="ww_preventie.regeling",
    uitkomst_tekst=("komt in aanmerking", "komt niet in aanmerking"),
)
def ww_preventie_toegang(f: dict[str, Any], peildatum: date, p: Parameters):
    einde: date = f["ww_einddatum"]
    start = f["ww_startdatum"]
    if start is not None and start > einde:
        raise FeitFout("ww_startdatum", f"ligt na ww_einddatum {einde.isoformat()}")
    risico = f["risico_langdurig"]
    einde_ok = einde > peildatum
    voorloop, bron = p.met_bron("ww_preventie.voorloop_maanden", peildatum)
    gepland = max(plus_maanden(einde, -voorloop), peildatum)
    redenen = [
        Reden("risico op langdurige werkloosheid", risico, True, risico, BRON),
        Reden("WW-einddatum ligt na de peildatum", einde, f"na {peildatum.isoformat()}", einde_ok, BRON),
        Reden(
            "geplande start begeleiding (ter informatie)",
            gepland,
            f"{voorloop} maanden voor het einde van de WW, niet voor de peildatum",
            True,
            bron,
        ),
    ]
    return risico and einde_ok, (), redenen
