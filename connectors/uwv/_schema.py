"""The JSON Schema of one handover record (published as docs/uwv-feed.schema.json).

The validator in ``_record.py`` is the authority (it also checks the 11-test, real dates, the WW end
date in the future and the postcode's municipality); this schema lets UWV-side tools check the shape.
"""

from __future__ import annotations

import json
from pathlib import Path

DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def json_schema() -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://trajecten.example/schemas/uwv-overdracht.json",
        "title": "UWV-overdracht (WW naar gemeente)",
        "description": "One handover of a person whose WW benefit ends and who risks long-term unemployment. "
                       "JSON Lines: one object a line; CSV: the same names as columns.",
        "type": "object",
        "required": ["uwv_referentie", "bsn", "geboortedatum", "postcode", "ww_startdatum", "ww_einddatum",
                     "risico_langdurig"],
        "properties": {
            "uwv_referentie": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$",
                               "description": "unique per handover; the idempotency key (a repeat is a duplicate)"},
            "bsn": {"type": "string", "pattern": r"^\d{8,9}$",
                    "description": "burgerservicenummer, 9 digits (8 get a leading zero), must pass the 11-test"},
            "geboortedatum": {**DATE, "description": "date of birth"},
            "postcode": {"type": "string", "pattern": r"^[1-9]\d{3} ?[A-Za-z]{2}$",
                         "description": "Dutch postcode (1234 AB or 1234AB); decides the area team; must lie in the municipality"},
            "ww_startdatum": {**DATE, "description": "start of the WW benefit (not after ww_einddatum)"},
            "ww_einddatum": {**DATE, "description": "end of the WW benefit; must be in the future"},
            "risico_langdurig": {"type": "boolean",
                                 "description": "UWV judges a risk of long-term unemployment (CSV: true/false, ja/nee)"},
            "telefoon": {"type": "string", "pattern": r"^\+?[0-9 ()-]{10,20}$"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "opmerking": {"type": "string", "maxLength": 500},
        },
        "additionalProperties": True,
    }


def write_json_schema(path: Path) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
