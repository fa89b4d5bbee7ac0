"""The mapping from our instruments to the ZGW catalogue (``zaaktypen.yaml``, setting TRAJECTEN_ZGW_ZAAKTYPEN).

The file's shape is checked at start by the settings (``trajecten.basis.config``); here it becomes frozen records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import yaml

from ._exceptions import NietGeconfigureerd

FASEN = ("gepland", "actief", "afgerond")  # the phases of a trajectory, in order; afgerond is the end status


@dataclass(frozen=True)
class Zaaktype:
    instrument: str
    zaaktype: str
    statustypen: Mapping[str, str]
    resultaattypen: Mapping[str, str]
    omschrijving: str

    def statustype(self, fase: str) -> str:
        try:
            return self.statustypen[fase]
        except KeyError:
            raise NietGeconfigureerd(f"geen statustype voor fase {fase!r} van {self.instrument}") from None

    def resultaattype(self, uitkomst: str | None) -> str:
        url = self.resultaattypen.get(uitkomst or "") or self.resultaattypen.get("*")
        if not url:
            raise NietGeconfigureerd(f"geen resultaattype voor uitkomst {uitkomst!r} van {self.instrument} "
                                     "(en geen \"*\")")
        return url


def lees(path: str | Path) -> dict[str, Zaaktype]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out = {}
    for instrument, spec in data.items():
        out[instrument] = Zaaktype(
            instrument=instrument,
            zaaktype=spec["zaaktype"],
            statustypen=MappingProxyType(dict(spec.get("statustypen") or {})),
            resultaattypen=MappingProxyType({str(k): v for k, v in (spec.get("resultaattypen") or {}).items()}),
            omschrijving=str(spec.get("omschrijving") or instrument.replace("_", " ").capitalize()),
        )
    return out


def voor(zaaktypen: Mapping[str, Zaaktype], instrument: str) -> Zaaktype:
    try:
        return zaaktypen[instrument]
    except KeyError:
        raise NietGeconfigureerd(f"geen zaaktype voor instrument {instrument!r} in de ZGW-zaaktypen") from None
