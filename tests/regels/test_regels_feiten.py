"""Bad facts never give a decision: they raise FeitFout naming the field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from regels import FeitFout, OnbekendeRegel, beslis, regel_namen

GOED = {
    "bijstand_sinds": "2017-01-15",
    "werk_start": "2021-03-01",
    "uren_per_week": 20,
    "contract_maanden": 12,
    "geboortedatum": "1980-06-15",
}
PEIL = date(2021, 3, 1)


def _met(**wijziging):
    feiten = dict(GOED)
    for k, v in wijziging.items():
        if v is ...:
            del feiten[k]
        else:
            feiten[k] = v
    return feiten


@pytest.mark.parametrize(
    ("feiten", "veld", "tekst"),
    [
        (_met(werk_start=...), "werk_start", "ontbreekt"),
        (_met(bijstand_sinds=None), "bijstand_sinds", "verplicht"),
        (_met(werk_start="2023-02-30"), "werk_start", "bestaat niet als datum"),
        (_met(werk_start="2023-13-01"), "werk_start", "bestaat niet als datum"),
        (_met(werk_start="1-3-2021"), "werk_start", "JJJJ-MM-DD"),
        (_met(werk_start=20210301), "werk_start", "verwacht een datum"),
        (_met(werk_start=datetime(2021, 3, 1, 9, 0)), "werk_start", "zonder tijd"),
        (_met(uren_per_week=-1), "uren_per_week", "moet 0 of meer zijn"),
        (_met(uren_per_week="-0.5"), "uren_per_week", "moet 0 of meer zijn"),
        (_met(uren_per_week=Decimal("-2")), "uren_per_week", "moet 0 of meer zijn"),
        (_met(uren_per_week="zestien"), "uren_per_week", "geen geldig getal"),
        (_met(uren_per_week=float("nan")), "uren_per_week", "eindig"),
        (_met(uren_per_week=True), "uren_per_week", "verwacht een getal"),
        (_met(uren_per_week=[16]), "uren_per_week", "verwacht een getal"),
        (_met(contract_maanden=-3), "contract_maanden", "moet 0 of meer zijn"),
        (_met(contract_maanden=6.5), "contract_maanden", "verwacht een geheel getal"),
        (_met(contract_maanden="zes"), "contract_maanden", "geen geheel getal"),
        (_met(lks_indicatie="misschien"), "lks_indicatie", "ja/nee"),
        (_met(lks_indicatie=1), "lks_indicatie", "ja/nee"),
        (_met(postcode="9712AB"), "postcode", "onbekend feit"),
        (_met(nationaliteit="NL"), "nationaliteit", "verboden feit"),
    ],
)
def test_foute_feiten_geven_feitfout(feiten, veld, tekst):
    with pytest.raises(FeitFout) as fout:
        beslis("premie_op_werk", feiten, PEIL)
    assert fout.value.veld == veld
    assert tekst in fout.value.reden
    assert str(fout.value).startswith(f"feit '{veld}': ")
    assert isinstance(fout.value, ValueError)


def test_str_van_feitfout():
    with pytest.raises(FeitFout, match=r"^feit 'uren_per_week': moet 0 of meer zijn$"):
        beslis("premie_op_werk", _met(uren_per_week=-4), PEIL)


def test_bedrag_nooit_float():
    feiten = {
        "bijstand_sinds": "2022-01-01",
        "werk_start": "2023-06-01",
        "uren_per_week": 12,
        "netto_jaarloon": 10000.0,
        "blijft_in_bijstand": True,
    }
    with pytest.raises(FeitFout) as fout:
        beslis("premie_op_werk_parttime", feiten, date(2023, 6, 1))
    assert fout.value.veld == "netto_jaarloon" and "float" in fout.value.reden


def test_negatief_bedrag():
    feiten = {
        "bijstand_sinds": "2022-01-01",
        "werk_start": "2023-06-01",
        "uren_per_week": 12,
        "netto_jaarloon": "-1.00",
        "blijft_in_bijstand": True,
    }
    with pytest.raises(FeitFout, match="netto_jaarloon"):
        beslis("premie_op_werk_parttime", feiten, date(2023, 6, 1))


def test_ww_startdatum_na_einddatum():
    with pytest.raises(FeitFout) as fout:
        beslis(
            "ww_preventie.toegang",
            {"ww_einddatum": "2024-06-01", "risico_langdurig": True, "ww_startdatum": "2024-07-01"},
            date(2024, 3, 1),
        )
    assert fout.value.veld == "ww_startdatum"


def test_feiten_geen_dict():
    with pytest.raises(FeitFout):
        beslis("premie_op_werk", [("werk_start", "2021-03-01")], PEIL)


def test_foute_peildatum():
    with pytest.raises(FeitFout, match="peildatum"):
        beslis("premie_op_werk", GOED, "2021-02-30")


def test_python_en_json_feiten_geven_hetzelfde_besluit():
    typed = {
        "bijstand_sinds": date(2017, 1, 15),
        "werk_start": date(2021, 3, 1),
        "uren_per_week": Decimal("20"),
        "contract_maanden": 12,
        "geboortedatum": date(1980, 6, 15),
        "lks_indicatie": False,
        "werk_nog_op": None,
        "eerdere_premie_op": None,
    }
    json = dict(GOED, uren_per_week="20", lks_indicatie="false", werk_nog_op=None)
    assert beslis("premie_op_werk", typed, PEIL) == beslis("premie_op_werk", json, PEIL)


def test_onbekende_regel_noemt_bekende_namen():
    with pytest.raises(OnbekendeRegel) as fout:
        beslis("premie_op_wrek", GOED, PEIL)
    assert isinstance(fout.value, ValueError)
    for naam in regel_namen():
        assert naam in str(fout.value)
