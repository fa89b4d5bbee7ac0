"""regels: the rules of Werk & Participatie as pure, date-effective, explainable functions.

    from regels import beslis
    d = beslis("premie_op_werk", feiten, peildatum)
    d.uitkomst, d.betalingen, d.uitleg(), d.to_json()

Imports nothing from the rest of the project. Parameters are YAML files in `regels/parameters/`.
"""

from ._besluit import Betaling, Decision, Reden
from ._exceptions import (
    DubbeleRegel,
    FeitFout,
    OnbekendeParameter,
    OnbekendeRegel,
    ParameterBestandFout,
    ParameterFout,
    ParameterNietVanKracht,
    RegelFout,
    VerbodenFeit,
)
from ._feiten import (BEDRAG, DATUM, GEHEEL, GETAL, JA_NEE, TEKST, TOEKENNINGEN, VERBODEN_TERMEN, Feit, FeitType,
                      Toekenning, controleer_feitnaam)
from ._parameters import Parameter, ParameterWaarde, parameter, parameter_info, parameter_namen
from ._regel import RULES, Regel, beslis, onderwerp_van, regel, regel_namen, registreer
from ._wat_als import WatAlsResultaat, wat_als

# Importing the rule modules registers their rules.
from . import businesscase, escalatie, herinnering, intensief_begeleiden, jobcoaching_nazorg, premie_op_werk, ww_preventie  # noqa: E402,F401  isort: skip
from . import kansen_in_kaart  # noqa: E402,F401  isort: skip
from . import activeren_27plus, basisbaan, jobhunting, jongeren_in_beeld, parttime_naar_fulltime, vouchers  # noqa: E402,F401  isort: skip  (P7)

__all__ = [
    # _regel
    "beslis",
    "RULES",
    "regel_namen",
    "Regel",
    "regel",
    "registreer",
    "onderwerp_van",
    # _besluit
    "Decision",
    "Reden",
    "Betaling",
    # _exceptions
    "RegelFout",
    "FeitFout",
    "OnbekendeRegel",
    "VerbodenFeit",
    "DubbeleRegel",
    "ParameterFout",
    "OnbekendeParameter",
    "ParameterNietVanKracht",
    "ParameterBestandFout",
    # _parameters
    "parameter",
    "parameter_info",
    "parameter_namen",
    "Parameter",
    "ParameterWaarde",
    # _feiten
    "Feit",
    "FeitType",
    "DATUM",
    "GETAL",
    "GEHEEL",
    "BEDRAG",
    "JA_NEE",
    "TEKST",
    "TOEKENNINGEN",
    "Toekenning",
    "VERBODEN_TERMEN",
    "controleer_feitnaam",
    # _wat_als
    "wat_als",
    "WatAlsResultaat",
]
