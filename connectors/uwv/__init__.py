"""The UWV handover feed: the product's own format (docs/uwv-feed.md), read from files, pulled over HTTP
or pushed to the API; each record validated, deduplicated on ``uwv_referentie``, and either applied
(start or schedule ww_preventie) or kept in quarantine with its reasons."""

from ._bestand import FeedParseFout, formaat, lees, lees_bestand
from ._http import FeedClient, FeedOphaalFout, PullResultaat, RetryPolicy, haal_op, haal_op_volgens_instellingen, lees_cursor
from ._schema import json_schema, write_json_schema
from ._record import VELDEN, VERPLICHT, UwvRecord, valideer
from ._verwerk import Samenvatting, herverwerk, importeer_bestand, verwerk, verwerk_map, verwerk_tekst

__all__ = [
    # _record
    "UwvRecord", "valideer", "VELDEN", "VERPLICHT",
    # _schema
    "json_schema", "write_json_schema",
    # _bestand
    "FeedParseFout", "formaat", "lees", "lees_bestand",
    # _http
    "FeedClient", "FeedOphaalFout", "PullResultaat", "RetryPolicy", "haal_op", "haal_op_volgens_instellingen",
    "lees_cursor",
    # _verwerk
    "Samenvatting", "verwerk", "verwerk_tekst", "importeer_bestand", "verwerk_map", "herverwerk",
]
