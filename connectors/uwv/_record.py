"""The UWV handover record: the product's own format (there is no national schema), validated strictly.

Every problem is reported as (field, reason); a record is accepted only with none. Unknown fields are
reported, not fatal. See docs/uwv-feed.md and docs/uwv-feed.schema.json.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from trajecten.basis.bsn import cijfers, elfproef
from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.clienten.gebieden import normaliseer_postcode
from trajecten.kern.planner import as_date

VELDEN = ("uwv_referentie", "bsn", "geboortedatum", "postcode", "ww_startdatum", "ww_einddatum", "risico_langdurig",
          "telefoon", "email", "opmerking")
VERPLICHT = VELDEN[:7]
_BEKEND = frozenset(VELDEN)
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_TEL = re.compile(r"^\+?[0-9 ()-]{10,20}$")
_MAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")
_TRUE = {"true", "ja", "1", "yes", "waar", "j", "y"}
_FALSE = {"false", "nee", "0", "no", "onwaar", "n"}
_VROEGST = date(1900, 1, 1)


class UwvRecord(NamedTuple):
    """An accepted handover (a tuple: a feed file makes 100,000 of them)."""

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
        return as_date(value)  # remembered: a feed repeats a few thousand dates
    except ValueError:
        raise ValueError(f"{value!r} is geen bestaande datum (JJJJ-MM-DD)") from None


_postcode = lru_cache(maxsize=8192)(normaliseer_postcode)  # and a few thousand postcodes


def _schoon(v: Any) -> Any:
    """Text stripped, empty text absent."""
    return (v.strip() or None) if isinstance(v, str) else v


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
    unknown = [] if _BEKEND.issuperset(raw) else [k for k in raw if k not in _BEKEND]
    get = raw.get
    ref, bsn, gb, pc, start, end, risk, tel, mail, note = (_schoon(get(n)) for n in VELDEN)
    problems = [(n, "ontbreekt") for n, v in zip(VERPLICHT, (ref, bsn, gb, pc, start, end, risk)) if v is None]
    if ref is not None and (not isinstance(ref, str) or not _REF.match(ref)):
        problems.append(("uwv_referentie", "1-64 tekens: letters, cijfers, . _ / -"))
    if bsn is not None:
        s = str(bsn) if isinstance(bsn, (str, int)) and not isinstance(bsn, bool) else ""
        if len(s) == 8 and cijfers(s):
            s = "0" + s
        if len(s) != 9 or not cijfers(s):
            problems.append(("bsn", "moet 9 cijfers zijn"))
        elif not elfproef(s):
            problems.append(("bsn", "voldoet niet aan de elfproef"))
        bsn = s
    dates = []
    for name, v in (("geboortedatum", gb), ("ww_startdatum", start), ("ww_einddatum", end)):
        if v is not None:
            try:
                v = _date(v)
            except ValueError as exc:
                problems.append((name, str(exc)))
                v = None
        dates.append(v)
    gb, start, end = dates
    if gb is not None and not (_VROEGST <= gb <= vandaag):
        problems.append(("geboortedatum", "ligt in de toekomst of voor 1900"))
    if start is not None and end is not None and start > end:
        problems.append(("ww_startdatum", "ligt na ww_einddatum"))
    if end is not None and end <= vandaag:
        problems.append(("ww_einddatum", "ligt niet in de toekomst: de WW is al geëindigd"))
    if pc is not None:
        try:
            pc = _postcode(pc) if isinstance(pc, str) else normaliseer_postcode("")
        except OngeldigeInvoer as exc:
            problems.append(("postcode", exc.reden))
    if risk is not None:
        try:
            risk = _bool(risk)
        except ValueError as exc:
            problems.append(("risico_langdurig", str(exc)))
    if tel is not None and (not isinstance(tel, str) or not _TEL.match(tel)):
        problems.append(("telefoon", "geen telefoonnummer (10-20 cijfers, + - ( ) spaties)"))
    if mail is not None and (not isinstance(mail, str) or not _MAIL.match(mail)):
        problems.append(("email", "geen e-mailadres"))
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        problems.append(("opmerking", "tekst van hoogstens 500 tekens"))
    if problems:
        return None, problems, unknown
    return UwvRecord(ref, bsn, gb, pc, start, end, risk, tel, mail, note), [], unknown
