"""Nationality, origin and their proxies are never facts: checked centrally, at registration."""

from __future__ import annotations

import pytest

from regels import DATUM, JA_NEE, RULES, TEKST, Feit, Regel, VerbodenFeit, controleer_feitnaam, regel, registreer
from regels._feiten import VERBODEN_TERMEN


def _nooit(f, peildatum, p):  # pragma: no cover - must never run
    raise AssertionError("een verboden regel mag nooit worden uitgevoerd")


VERBODEN = [
    "nationaliteit",
    "geboorteland",
    "herkomst",
    "land_van_herkomst",
    "afkomst",
    "migratieachtergrond",
    "heeft_migratie_achtergrond",
    "moedertaal",
    "taal",
    "taalniveau",
    "thuistaal",
    "etniciteit",
    "etnische_groep",
    "Nationality",
    "country_of_birth",
    "geboorte_land",
    "tweede_nationaliteit",
    "dubbele-nationaliteit",
]


def test_geen_regel_vraagt_om_een_verboden_feit():
    for r in RULES.values():
        for naam in r.feiten:
            controleer_feitnaam(r.naam, naam)  # raises when forbidden
            plat = naam.lower().replace("_", "")
            assert not any(term in plat for term in VERBODEN_TERMEN if term != "ras"), (r.naam, naam)


@pytest.mark.parametrize("naam", VERBODEN)
def test_regel_met_verboden_feit_faalt_bij_registratie(naam):
    with pytest.raises(VerbodenFeit) as fout:

        @regel(
            "test.verboden",
            omschrijving="mag niet bestaan",
            bron="test",
            feiten={"werk_start": Feit(DATUM, True, "werkstart"), naam: Feit(TEKST, False, "verboden")},
            regeling="premie_op_werk.regeling",
        )
        def verboden(f, peildatum, p):  # pragma: no cover
            raise AssertionError

    assert fout.value.feit == naam
    assert "test.verboden" not in RULES


@pytest.mark.parametrize("naam", ["nationaliteit", "geboorteland"])
def test_regel_object_met_verboden_feit_faalt(naam):
    with pytest.raises(VerbodenFeit):
        registreer(Regel("test.verboden2", "x", {naam: Feit(JA_NEE, True, "x")}, "test", "premie_op_werk.regeling", _nooit))
    assert "test.verboden2" not in RULES


@pytest.mark.parametrize("naam", ["totaal_bedrag", "werk_start", "uren_per_week", "lks_indicatie", "instrument"])
def test_gewone_namen_mogen(naam):
    controleer_feitnaam("test", naam)
