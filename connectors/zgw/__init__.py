"""ZGW registration: each trajectory is a zaak in the Zaken API (as Open Zaak implements it), with one
zaaktype per instrument, a status per phase and the resultaat at the end. The engine writes an outbox
(``zgw_opdracht``); this connector sends it, retried and idempotent, so the engine keeps working while
the ZGW service is down. See docs/zgw.md."""

from ._client import CRS, RetryPolicy, ZakenClient
from ._exceptions import (BlijvendeFout, Geweigerd, NietGeconfigureerd, Onbereikbaar, Serverfout, TijdelijkeFout,
                          ZgwFout)
from ._outbox import client, job, opnieuw, verwerk, vul
from ._zaaktypen import FASEN, Zaaktype, lees, voor

__all__ = [
    # _client
    "ZakenClient", "RetryPolicy", "CRS",
    # _exceptions
    "ZgwFout", "TijdelijkeFout", "Onbereikbaar", "Serverfout", "BlijvendeFout", "Geweigerd", "NietGeconfigureerd",
    # _outbox
    "vul", "verwerk", "job", "opnieuw", "client",
    # _zaaktypen
    "Zaaktype", "FASEN", "lees", "voor",
]
