"""Golden cases: the YAML files in gevallen/ run through ONE parametrised test (OpenFisca style)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from regels import RULES, beslis

GEVALLEN = Path(__file__).parent / "gevallen"


def _laad():
    for bestand in sorted(GEVALLEN.glob("*.yaml")):
        for geval in yaml.safe_load(bestand.read_text(encoding="utf-8")):
            yield pytest.param(geval, id=f"{bestand.stem}:{geval['name']}")


ALLE = list(_laad())


def test_elk_geval_is_volledig_en_uniek():
    namen = [p.values[0]["name"] for p in ALLE]
    assert len(namen) == len(set(namen))
    for p in ALLE:
        geval = p.values[0]
        assert {"name", "description", "regel", "peildatum", "feiten", "uitkomst"} <= set(geval), geval["name"]


def test_elke_regel_heeft_gevallen():
    gedekt = {p.values[0]["regel"] for p in ALLE}
    assert set(RULES) <= gedekt, set(RULES) - gedekt


@pytest.mark.parametrize("geval", ALLE)
def test_geval(geval):
    d = beslis(geval["regel"], geval["feiten"], geval["peildatum"], overrides=geval.get("overrides"))
    uitleg = d.uitleg()
    assert d.uitkomst is geval["uitkomst"], uitleg
    if "versie" in geval:
        assert d.versie == geval["versie"], uitleg
    if "betalingen" in geval:
        verwacht = [(b["deel"], Decimal(b["bedrag"]), b["opeisbaar_op"]) for b in geval["betalingen"]]
        assert [(b.deel, b.bedrag, b.opeisbaar_op) for b in d.betalingen] == verwacht, uitleg
    if not d.uitkomst:
        assert d.betalingen == ()
        assert any(not r.voldaan for r in d.redenen), "een afwijzing noemt altijd een niet-voldane voorwaarde"
    for spec in geval.get("redenen", []):
        gevonden = [r for r in d.redenen if spec["bevat"] in r.voorwaarde]
        assert gevonden, f"geen reden met {spec['bevat']!r}:\n{uitleg}"
        r = gevonden[0]
        assert r.voldaan is spec["voldaan"], uitleg
        if "waarde" in spec:
            waarde = r.waarde.isoformat() if isinstance(r.waarde, date) else r.waarde
            assert waarde == spec["waarde"], uitleg
    assert all(r.bron for r in d.redenen)
