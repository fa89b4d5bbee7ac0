"""The UWV handover record: the product's own format (there is no national schema), validated strictly.

Every problem is reported as (field, reason); a record is accepted only with none. Unknown fields are
reported, not fatal. See docs/uwv-feed.md and docs/uwv-feed.schema.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from trajecten.bsn import cijfers, elfproef
from trajecten.fouten import OngeldigeInvoer
from trajecten.gebieden import normaliseer_postcode

VELDEN = ("uwv_referentie", "bsn", "geboortedatum", "postcode", "ww_startdatum", "ww_einddatum", "risico_langdurig",
          "telefoon", "email", "opmerking")
VERPLICHT = VELDEN[:7]
_BEKEND = frozenset(VELDEN)
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_TEL = re.compile(r"^\+?[0-9 ()-]{10,20}$")
_MAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")
_TRUE = {"true", "ja", "1", "yes", "waar", "j", "y"}
_FALSE = {"false", "nee", "0", "no", "onwaar", "n"}


@dataclass(frozen=True, slots=True)
class UwvRecord:
    uwv_referentie: str
    bsn: str
    geboortedatum: date
    postcode: str
    ww_startdatum: date
    ww_einddatum: date
    risico_langdurig: bool
    telefoon: str | None = None
    email: str | None = None
    opmerking: str | None = None


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("geen datum (JJJJ-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is geen bestaande datum (JJJJ-MM-DD)") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return False
    raise ValueError("moet true of false zijn")


def valideer(raw: dict[str, Any], vandaag: date) -> tuple[UwvRecord | None, list[tuple[str, str]], list[str]]:
    """(record or None, [(field, reason)], unknown field names)."""
    unknown = [k for k in raw if k not in _BEKEND]
    val: dict[str, Any] = {}
    fields: dict[str, Any] = {}  # each known field once: text stripped, empty text = absent
    for name in VELDEN:
        v = raw.get(name)
        if isinstance(v, str):
            v = v.strip() or None
        fields[name] = v
    get = fields.__getitem__
    problems: list[tuple[str, str]] = [(name, "ontbreekt") for name in VERPLICHT if fields[name] is None]
    ref = get("uwv_referentie")
    if ref is not None:
        if not isinstance(ref, str) or not _REF.match(ref):
            problems.append(("uwv_referentie", "1-64 tekens: letters, cijfers, . _ / -"))
        else:
            val["uwv_referentie"] = ref
    bsn = get("bsn")
    if bsn is not None:
        s = str(bsn) if isinstance(bsn, (str, int)) and not isinstance(bsn, bool) else ""
        if len(s) == 8 and cijfers(s):
            s = "0" + s
        if len(s) != 9 or not cijfers(s):
            problems.append(("bsn", "moet 9 cijfers zijn"))
        elif not elfproef(s):
            problems.append(("bsn", "voldoet niet aan de elfproef"))
        else:
            val["bsn"] = s
    for name in ("geboortedatum", "ww_startdatum", "ww_einddatum"):
        v = get(name)
        if v is not None:
            try:
                val[name] = _date(v)
            except ValueError as exc:
                problems.append((name, str(exc)))
    gb = val.get("geboortedatum")
    if gb is not None and not (date(1900, 1, 1) <= gb <= vandaag):
        problems.append(("geboortedatum", "ligt in de toekomst of voor 1900"))
        val.pop("geboortedatum")
    if "ww_startdatum" in val and "ww_einddatum" in val and val["ww_startdatum"] > val["ww_einddatum"]:
        problems.append(("ww_startdatum", "ligt na ww_einddatum"))
    if "ww_einddatum" in val and val["ww_einddatum"] <= vandaag:
        problems.append(("ww_einddatum", "ligt niet in de toekomst: de WW is al geëindigd"))
    pc = get("postcode")
    if pc is not None:
        try:
            val["postcode"] = normaliseer_postcode(pc) if isinstance(pc, str) else normaliseer_postcode("")
        except OngeldigeInvoer as exc:
            problems.append(("postcode", exc.reden))
    risk = get("risico_langdurig")
    if risk is not None:
        try:
            val["risico_langdurig"] = _bool(risk)
        except ValueError as exc:
            problems.append(("risico_langdurig", str(exc)))
    for name, pattern, why in (("telefoon", _TEL, "geen telefoonnummer (10-20 cijfers, + - ( ) spaties)"),
                               ("email", _MAIL, "geen e-mailadres")):
        v = get(name)
        if v is not None:
            if not isinstance(v, str) or not pattern.match(v):
                problems.append((name, why))
            else:
                val[name] = v
    note = get("opmerking")
    if note is not None:
        if not isinstance(note, str) or len(note) > 500:
            problems.append(("opmerking", "tekst van hoogstens 500 tekens"))
        else:
            val["opmerking"] = note
    if problems:
        return None, problems, unknown
    return UwvRecord(**val), [], unknown
