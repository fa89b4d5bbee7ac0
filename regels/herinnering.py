"""Herinnering geen contact: remind the coach when a client had no contact for too long.

The number of weeks is a dated parameter per instrument (`herinnering.geen_contact_weken.<instrument>`),
falling back to `herinnering.geen_contact_weken.standaard`. Counting starts at the last recorded contact,
or at the trajectory start when there was none (a contact before the start does not count).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from ._besluit import Reden
from ._feiten import DATUM, TEKST, Feit
from ._parameters import Parameters, parameter_bestaat
from ._regel import regel

_PREFIX = "herinnering.geen_contact_weken."
_INSTRUMENT = re.compile(r"^[a-z0-9_]+$")


def _pad(instrument: str) -> str:
    if _INSTRUMENT.match(instrument) and parameter_bestaat(_PREFIX + instrument):
        return _PREFIX + instrument
    return _PREFIX + "standaard"


@regel(
    "herinnering.geen_contact",
    omschrijving="Herinner de coach als er te lang geen contact met de inwoner is geweest",
    bron="Productinstelling trajectengine: herinneringen per instrument",
    feiten={
        "laatste_contact": Feit(DATUM, False, "datum van het laatst vastgelegde contact"),
        "traject_start": Feit(DATUM, True, "startdatum van het traject"),
        "instrument": Feit(TEKST, True, "instrument van het traject, bijvoorbeeld intensief_begeleiden"),
    },
    regeling="herinnering.regeling",
    uitkomst_tekst=("coach herinneren", "geen herinnering nodig"),
)
def geen_contact(f: dict[str, Any], peildatum: date, p: Parameters):
    start: date = f["traject_start"]
    contact = f["laatste_contact"]
    anker = contact if contact is not None and contact > start else start
    weken, bron = p.met_bron(_pad(f["instrument"]), peildatum)
    vanaf = anker + timedelta(weeks=weken)
    herinneren = peildatum >= vanaf
    waarde = f"{(peildatum - anker).days} dagen sinds {'laatste contact' if anker is contact else 'trajectstart'} {anker.isoformat()}"
    redenen = [
        Reden(
            f"{weken} weken geen contact ({f['instrument']})",
            waarde,
            f"herinneren op of na {vanaf.isoformat()}",
            herinneren,
            bron,
        )
    ]
    return herinneren, (), redenen
