"""Postcode -> area team (gebiedsteam), from the data file ``data/gebieden.yaml``."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from .fouten import OngeldigeInvoer

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


def gebied_voor(postcode: str, path: Path = DATA) -> str:
    """The area team for a (valid) postcode, or OngeldigeInvoer when it lies outside the municipality."""
    pc = normaliseer_postcode(postcode)
    gemeente, ranges = _ranges(path)
    n = int(pc[:4])
    for lo, hi, team in ranges:
        if lo <= n <= hi:
            return team
    raise OngeldigeInvoer("postcode", f"{pc[:4]} ligt buiten de gemeente {gemeente}".strip())
