"""Decision contract: to_json shape, uitleg, determinism, reproducibility, overrides."""

from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from regels import RULES, Betaling, Reden, beslis, parameter, parameter_info
from regels import _parameters as params_module
from regels import _regel as regel_module

GEVALLEN = Path(__file__).parent / "gevallen"

FEITEN = {
    "bijstand_sinds": "2017-01-15",
    "werk_start": "2021-03-01",
    "uren_per_week": 20,
    "contract_maanden": 12,
    "geboortedatum": "1980-06-15",
    "werk_nog_op": "2021-09-01",
}
PEIL = date(2021, 10, 1)


def test_to_json_contract():
    d = beslis("premie_op_werk", FEITEN, PEIL)
    j = d.to_json()
    assert set(j) == {"regel", "versie", "peildatum", "uitkomst", "betalingen", "redenen", "parameters"}
    assert j["regel"] == "premie_op_werk"
    assert j["versie"] == "2020-11-01"
    assert j["peildatum"] == "2021-10-01"
    assert j["uitkomst"] is True
    assert j["betalingen"] == [
        {"deel": 1, "bedrag": "300.00", "opeisbaar_op": "2021-03-01"},
        {"deel": 2, "bedrag": "900.00", "opeisbaar_op": "2021-09-01"},
    ]
    for b in j["betalingen"]:
        assert list(b) == ["deel", "bedrag", "opeisbaar_op"]
        assert type(b["deel"]) is int and type(b["bedrag"]) is str and type(b["opeisbaar_op"]) is str
    for r in j["redenen"]:
        assert list(r) == ["voorwaarde", "waarde", "norm", "voldaan", "bron"]
        assert type(r["voorwaarde"]) is str and type(r["voldaan"]) is bool and type(r["bron"]) is str and r["bron"]
    assert all(type(k) is str and type(v) is str for k, v in j["parameters"].items())
    # plain JSON, no Decimal or date left
    assert json.loads(json.dumps(j)) == j


@pytest.mark.parametrize("naam", sorted(RULES))
def test_to_json_is_json_voor_elke_regel(naam):
    for bestand in sorted(GEVALLEN.glob("*.yaml")):
        for geval in yaml.safe_load(bestand.read_text(encoding="utf-8")):
            if geval["regel"] != naam:
                continue
            j = beslis(naam, geval["feiten"], geval["peildatum"], overrides=geval.get("overrides")).to_json()
            assert json.loads(json.dumps(j)) == j


def test_decision_is_frozen_slots():
    d = beslis("premie_op_werk", FEITEN, PEIL)
    assert dataclasses.is_dataclass(d) and not hasattr(d, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.uitkomst = False  # type: ignore[misc]
    assert isinstance(d.betalingen, tuple) and isinstance(d.redenen, tuple)
    assert all(isinstance(b, Betaling) and isinstance(b.bedrag, Decimal) for b in d.betalingen)
    assert all(isinstance(r, Reden) for r in d.redenen)
    assert d.totaal == Decimal("1200.00")
    hash(d)


def test_uitleg_in_het_nederlands():
    tekst = beslis("premie_op_werk", dict(FEITEN, werk_nog_op="2021-08-31"), PEIL).uitleg()
    regels = tekst.splitlines()
    assert regels[0].startswith("premie_op_werk (versie 2020-11-01), peildatum 2021-10-01: PREMIE TOEGEKEND")
    assert any(r.lstrip().startswith("✘ deel 2: werk 6 maanden behouden") for r in regels)
    assert any(r.lstrip().startswith("✔ bijstand meer dan 36 maanden") and "norm:" in r and "bron:" in r for r in regels)
    assert "€ 300,00" in tekst


def test_deterministisch():
    a = beslis("premie_op_werk", FEITEN, PEIL)
    b = beslis("premie_op_werk", dict(FEITEN), PEIL)
    assert a == b and a.to_json() == b.to_json() and a.uitleg() == b.uitleg()


def test_parameters_vastgelegd_met_datumsleutel():
    d = beslis("premie_op_werk", FEITEN, PEIL)
    assert d.parameters["premie_op_werk.min_bijstand_maanden"] == "2020-11-01"
    assert d.parameters["premie_op_werk.regeling"] == d.versie
    for pad, sleutel in d.parameters.items():
        assert parameter_info(pad).waarde_op(date(2021, 3, 1)).vanaf.isoformat() == sleutel


@contextmanager
def _nieuwe_waarde(pad: str, vanaf: date, waarde):
    """Simulate a later regulation: add a dated value to a parameter, as a new YAML key would."""
    params_module._alle()
    oud = params_module._DATA[pad]
    nieuw = params_module.ParameterWaarde(vanaf, waarde, "test: nieuwe regeling")
    params_module._DATA[pad] = (oud[0] + [vanaf], oud[1] + (nieuw,))
    params_module._CACHE.clear()
    regel_module._VERSIES.clear()
    try:
        yield
    finally:
        params_module._DATA[pad] = oud
        params_module._CACHE.clear()
        regel_module._VERSIES.clear()


def test_besluit_uit_2021_blijft_reproduceerbaar():
    """A 2021 decision re-derived after a new regulation was added is exactly the same decision."""
    toen = beslis("premie_op_werk", FEITEN, PEIL)
    with _nieuwe_waarde("premie_op_werk.min_bijstand_maanden", date(2025, 1, 1), 12):
        nu = beslis("premie_op_werk", FEITEN, PEIL)
        assert parameter("premie_op_werk.min_bijstand_maanden", date(2025, 6, 1)) == 12
        later = beslis(
            "premie_op_werk",
            dict(FEITEN, bijstand_sinds="2024-01-01", werk_start="2025-02-01", werk_nog_op=None),
            date(2025, 2, 1),
        )
    assert nu == toen and nu.to_json() == toen.to_json()
    assert later.uitkomst is True
    assert later.parameters["premie_op_werk.min_bijstand_maanden"] == "2025-01-01"


def test_herleiden_uit_vastgelegde_parameters():
    """The recorded date keys are enough to re-derive the decision: feed their values back as overrides."""
    d = beslis("premie_op_werk", FEITEN, date(2021, 10, 1))
    overrides = {}
    for pad, sleutel in d.parameters.items():
        if pad.endswith(".regeling"):
            continue
        waarde = next(w for w in parameter_info(pad).waarden if w.vanaf.isoformat() == sleutel)
        overrides[pad] = waarde.waarde
    opnieuw = beslis("premie_op_werk", FEITEN, date(2021, 10, 1), overrides=overrides)
    assert opnieuw.uitkomst == d.uitkomst and opnieuw.betalingen == d.betalingen
    assert [(r.voorwaarde, r.waarde, r.norm, r.voldaan) for r in opnieuw.redenen] == [
        (r.voorwaarde, r.waarde, r.norm, r.voldaan) for r in d.redenen
    ]


def test_overrides_alleen_voor_deze_evaluatie():
    feiten = dict(FEITEN, bijstand_sinds="2018-09-01", werk_nog_op=None)
    voor = beslis("premie_op_werk", feiten, date(2021, 3, 1))
    met = beslis("premie_op_werk", feiten, date(2021, 3, 1), overrides={"premie_op_werk.min_bijstand_maanden": 24})
    na = beslis("premie_op_werk", feiten, date(2021, 3, 1))
    assert (voor.uitkomst, met.uitkomst, na.uitkomst) == (False, True, False)
    assert voor == na
    assert met.parameters["premie_op_werk.min_bijstand_maanden"] == "overschreven: 24"
    assert "wat-als" in met.uitleg()
    assert parameter("premie_op_werk.min_bijstand_maanden", date(2021, 3, 1)) == 36
    assert parameter("premie_op_werk.min_bijstand_maanden", date(2021, 3, 1), {"premie_op_werk.min_bijstand_maanden": 24}) == 24


def test_override_bedrag():
    d = beslis("premie_op_werk", FEITEN, PEIL, overrides={"premie_op_werk.bedrag_deel_1": "400"})
    assert [b.bedrag for b in d.betalingen] == [Decimal("400.00"), Decimal("900.00")]


def test_override_onbekende_parameter():
    from regels import OnbekendeParameter

    with pytest.raises(OnbekendeParameter):
        beslis("premie_op_werk", FEITEN, PEIL, overrides={"premie_op_werk.min_bijstand_maand": 24})
