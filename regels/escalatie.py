"""Escalatie taak te laat: a task not done more than N working days after its due date goes to the team lead.

Working days are Monday to Friday minus the Dutch public holidays listed in parameter
`werkdagen.feestdagen`; N is parameter `escalatie.werkdagen_te_laat` (5). Counting starts the day
after the due date: due on Monday, the following Monday is working day 5 (not yet late), Tuesday is 6.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ._besluit import Reden
from ._feiten import DATUM, JA_NEE, Feit
from ._parameters import Parameters
from ._regel import regel
from ._werkdagen import werkdagen_tussen

BRON = "Productinstelling trajectengine: escalatie naar de teamleider"


@regel(
    "escalatie.taak_te_laat",
    omschrijving="Escaleer een taak naar de teamleider als die te lang na de deadline open staat",
    bron=BRON,
    feiten={
        "taak_due": Feit(DATUM, True, "deadline van de taak"),
        "afgerond": Feit(JA_NEE, True, "de taak is afgerond"),
    },
    regeling="escalatie.regeling",
    uitkomst_tekst=("escaleren naar teamleider", "niet escaleren"),
)
def taak_te_laat(f: dict[str, Any], peildatum: date, p: Parameters):
    due: date = f["taak_due"]
    afgerond = f["afgerond"]
    grens, bron = p.met_bron("escalatie.werkdagen_te_laat", peildatum)
    feestdagen, bron_feestdagen = p.met_bron("werkdagen.feestdagen", peildatum)
    te_laat = werkdagen_tussen(due, peildatum, feestdagen)
    redenen = [
        Reden("taak niet afgerond", afgerond, False, not afgerond, BRON),
        Reden(
            f"meer dan {grens} werkdagen na de deadline",
            te_laat,
            f"> {grens} werkdagen na {due.isoformat()} (ma-vr, zonder feestdagen)",
            te_laat > grens,
            f"{bron}; {bron_feestdagen}",
        ),
    ]
    return (not afgerond) and te_laat > grens, (), redenen
