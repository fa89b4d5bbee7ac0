"""The register of processing activities (``data/verwerkingsactiviteiten.yaml``): what the Logboek records
name as the activity of a processing (URI, purpose, legal ground, retention)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

log = logging.getLogger("trajecten.privacy.logboek")
REGISTER = Path(__file__).resolve().parent / "data" / "verwerkingsactiviteiten.yaml"


@dataclass(frozen=True)
class Activiteit:
    sleutel: str  # "clientadministratie", ..., or "instrument:<name>"
    uri: str
    naam: str
    doel: str
    grondslag: str
    bewaartermijn_maanden: int


class Register:
    """The register of processing activities (``data/verwerkingsactiviteiten.yaml``)."""

    def __init__(self, path: Path = REGISTER):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        basis = str(data["basis_uri"]).rstrip("/")
        self.algemeen: dict[str, Activiteit] = {}
        self.instrumenten: dict[str, Activiteit] = {}
        for sleutel, spec in (data.get("algemeen") or {}).items():
            self.algemeen[sleutel] = _activiteit(sleutel, f"{basis}/{sleutel}", spec)
        for naam, spec in (data.get("instrumenten") or {}).items():
            self.instrumenten[naam] = _activiteit(f"instrument:{naam}", f"{basis}/traject-{naam}", spec)

    def get(self, sleutel: str) -> Activiteit:
        if sleutel.startswith("instrument:"):
            return self.instrument(sleutel.split(":", 1)[1])
        return self.algemeen[sleutel]

    def instrument(self, instrument: str) -> Activiteit:
        act = self.instrumenten.get(instrument)
        if act is None:  # never lose a record; tests/test_logboek.py fails for an instrument without one
            log.warning("instrument %s heeft geen verwerkingsactiviteit in het register", instrument)
            return self.algemeen["trajectbegeleiding"]
        return act

    def alle(self) -> list[Activiteit]:
        return [*self.algemeen.values(), *self.instrumenten.values()]

    def per_uri(self) -> dict[str, Activiteit]:
        return {a.uri: a for a in self.alle()}


def _activiteit(sleutel: str, uri: str, spec: dict) -> Activiteit:
    for veld in ("naam", "doel", "grondslag", "bewaartermijn_maanden"):
        if not spec or spec.get(veld) in (None, ""):
            raise ValueError(f"{REGISTER.name}: {sleutel}.{veld} ontbreekt")
    return Activiteit(sleutel, uri, str(spec["naam"]), str(spec["doel"]), str(spec["grondslag"]),
                      int(spec["bewaartermijn_maanden"]))


@lru_cache(maxsize=1)
def register() -> Register:
    return Register()
