"""Postcode -> area team (gebiedsteam), from the data file ``data/gebieden.yaml``; target groups that stay
with a central specialist team (inburgeraars, ex-gedetineerden, doelgroepregister) go to that team."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from trajecten.basis.fouten import OngeldigeInvoer

DATA = Path(__file__).with_name("data") / "gebieden.yaml"
POSTCODE = re.compile(r"^([1-9][0-9]{3}) ?([A-Za-z]{2})$")


def normaliseer_postcode(value: str, veld: str = "postcode") -> str:
    """``1234AB`` from ``1234 ab``; SA, SD and SS are not issued in the Netherlands."""
    m = POSTCODE.match(str(value).strip())
    if not m:
        raise OngeldigeInvoer(veld, "geen Nederlandse postcode (1234 AB)")
    letters = m.group(2).upper()
    if letters in ("SA", "SD", "SS"):
        raise OngeldigeInvoer(veld, f"lettercombinatie {letters} wordt niet uitgegeven")
    return m.group(1) + letters


@lru_cache(maxsize=4)
def _ranges(path: Path = DATA) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for team, ranges in data["gebieden"].items():
        for lo, hi in ranges:
            out.append((int(lo), int(hi), team))
    return data.get("gemeente", ""), tuple(sorted(out))


@lru_cache(maxsize=65536)  # a feed of 100,000 handovers looks up a few thousand distinct postcodes
def gebied_voor(postcode: str, path: Path = DATA) -> str:
    """The area team for a (valid) postcode, or OngeldigeInvoer when it lies outside the municipality."""
    pc = normaliseer_postcode(postcode)
    gemeente, ranges = _ranges(path)
    n = int(pc[:4])
    for lo, hi, team in ranges:
        if lo <= n <= hi:
            return team
    raise OngeldigeInvoer("postcode", f"{pc[:4]} ligt buiten de gemeente {gemeente}".strip())


@lru_cache(maxsize=4)
def centrale_doelgroepen(path: Path = DATA) -> dict[str, str]:
    """doelgroep -> central specialist team (the team name is the client's ``gebied``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(data.get("centrale_doelgroepen") or {})


def gebiedsteams(path: Path = DATA) -> tuple[str, ...]:
    """Every team a client can belong to: the area teams, then the central specialist teams."""
    areas = sorted({team for _, _, team in _ranges(path)[1]})
    return tuple(areas) + tuple(sorted(set(centrale_doelgroepen(path).values())))


def normaliseer_doelgroep(doelgroep: str | None, path: Path = DATA) -> str | None:
    """A known central target group, or None for none; anything else is refused naming the field."""
    d = (doelgroep or "").strip().lower()
    if not d:
        return None
    groepen = centrale_doelgroepen(path)
    if d not in groepen:
        raise OngeldigeInvoer("doelgroep", f"onbekend: {d[:40]!r}; kies een van {', '.join(sorted(groepen))} "
                                           "(of laat leeg voor het gebiedsteam)")
    return d


def team_voor(postcode: str | None, doelgroep: str | None = None, path: Path = DATA) -> str:
    """The team of a client: the central specialist team of their target group, else the area team of
    their postcode. A postcode is always checked (outside the municipality: refused, naming the field)."""
    d = normaliseer_doelgroep(doelgroep, path)
    gebied = gebied_voor(postcode, path) if postcode else None
    if d is not None:
        return centrale_doelgroepen(path)[d]
    if gebied is None:
        raise OngeldigeInvoer("postcode", "verplicht om het gebiedsteam te bepalen (of een centrale doelgroep)")
    return gebied
