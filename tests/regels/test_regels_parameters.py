"""Parameter files: format, dated values with sources, lookups by date, unknown/too-early paths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from regels import (
    OnbekendeParameter,
    ParameterBestandFout,
    ParameterNietVanKracht,
    RULES,
    parameter,
    parameter_info,
    parameter_namen,
)
from regels import _parameters as params_module

MAP = Path(params_module.__file__).parent / "parameters"


def test_elke_parameter_heeft_omschrijving_eenheid_en_bron():
    namen = parameter_namen()
    assert len(namen) == len(list(MAP.rglob("*.yaml")))
    for pad in namen:
        p = parameter_info(pad)
        assert p.omschrijving and p.eenheid
        assert list(p.waarden) == sorted(p.waarden, key=lambda w: w.vanaf)
        for w in p.waarden:
            assert w.bron, pad
            assert not isinstance(w.waarde, float), f"{pad}: float in parameters"
        assert pad.replace(".", "/") + ".yaml" == p.bestand.removeprefix("parameters/")


def test_bedragen_zijn_decimal_met_twee_decimalen():
    for pad in parameter_namen():
        p = parameter_info(pad)
        if p.eenheid == "EUR":
            for w in p.waarden:
                assert isinstance(w.waarde, Decimal) and w.waarde.as_tuple().exponent == -2


def test_regeling_2023_is_gemarkeerd_te_bevestigen():
    for pad in ("premie_op_werk.min_bijstand_maanden", "premie_op_werk.regeling", "premie_op_werk_parttime.percentage"):
        w = parameter_info(pad).waarde_op(date(2023, 4, 1))
        assert w.vanaf == date(2023, 4, 1)
        assert w.te_bevestigen == "datum van inwerkingtreding bevestigen"
    assert parameter_info("premie_op_werk.herhaaltermijn_maanden").waarden[0].te_bevestigen == "beleidskeuze"


def test_waarde_op_datum():
    pad = "premie_op_werk.min_bijstand_maanden"
    assert parameter(pad, date(2020, 11, 1)) == 36
    assert parameter(pad, date(2023, 3, 31)) == 36
    assert parameter(pad, date(2023, 4, 1)) == 6
    assert parameter(pad, date(2030, 1, 1)) == 6
    assert parameter("premie_op_werk.bedrag_deel_1", date(2021, 1, 1)) == Decimal("300.00")
    assert parameter("premie_op_werk_parttime.percentage", date(2024, 1, 1)) == Decimal("0.15")


def test_voor_de_eerste_waarde_bestaat_de_parameter_niet():
    with pytest.raises(ParameterNietVanKracht, match="2020-11-01"):
        parameter("premie_op_werk.min_bijstand_maanden", date(2020, 10, 31))
    with pytest.raises(ParameterNietVanKracht):
        parameter("premie_op_werk_parttime.percentage", date(2023, 3, 31))


def test_onbekende_parameter():
    with pytest.raises(OnbekendeParameter):
        parameter("premie_op_werk.bestaat_niet", date(2021, 1, 1))


def test_elke_regel_heeft_een_regeling_met_versies():
    for r in RULES.values():
        assert parameter_info(r.regeling).waarden


@pytest.mark.parametrize(
    "inhoud",
    [
        "unit: EUR\nvalues: {2020-01-01: {value: '1.00', source: x}}\n",  # no description
        "description: x\nunit: EUR\nvalues: {2020-01-01: {value: '1.00'}}\n",  # no source
        "description: x\nunit: EUR\nvalues: {'januari': {value: '1.00', source: x}}\n",  # key not a date
        "description: x\nunit: EUR\nvalues: {2020-01-01: {value: 1.5, source: x}}\n",  # float money
        "description: x\nunit: EUR\nvalues: {}\n",
    ],
)
def test_fout_parameterbestand(tmp_path, monkeypatch, inhoud):
    (tmp_path / "groep").mkdir()
    bestand = tmp_path / "groep" / "p.yaml"
    bestand.write_text(inhoud, encoding="utf-8")
    monkeypatch.setattr(params_module, "MAP", tmp_path)
    with pytest.raises(ParameterBestandFout):
        params_module._lees(bestand)


def test_bronbestanden_zijn_geldige_yaml_met_datumsleutels():
    for bestand in MAP.rglob("*.yaml"):
        inhoud = yaml.safe_load(bestand.read_text(encoding="utf-8"))
        assert all(type(k) is date for k in inhoud["values"]), bestand
