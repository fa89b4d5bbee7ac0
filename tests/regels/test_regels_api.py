"""The public surface the engine codes against, and the package's isolation."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import date
from pathlib import Path

import regels
from regels import RULES, Decision, FeitFout, OnbekendeRegel, beslis, regel_namen

REGELS_MAP = Path(regels.__file__).parent


def test_publieke_namen():
    for naam in ("beslis", "Decision", "Reden", "Betaling", "FeitFout", "OnbekendeRegel", "RULES", "regel_namen",
                 "parameter", "wat_als"):
        assert naam in regels.__all__ and hasattr(regels, naam)
    assert issubclass(FeitFout, ValueError) and issubclass(OnbekendeRegel, ValueError)


def test_regelnamen():
    assert set(regel_namen()) == {
        "premie_op_werk",
        "premie_op_werk_parttime",
        "premie_op_werk.toegang",
        "ww_preventie.toegang",
        "intensief_begeleiden.toegang",
        "jobcoaching_nazorg.toegang",
        "herinnering.geen_contact",
        "escalatie.taak_te_laat",
        "kansen_in_kaart.toegang",
        # P7: six more instruments
        "jobhunting.toegang",
        "vouchers",
        "vouchers.toegang",
        "jongeren_in_beeld.toegang",
        "basisbaan.toegang",
        "parttime_naar_fulltime.toegang",
        "activeren_27plus.toegang",
        # P8: the businesscase
        "businesscase",
        "businesscase.toegang",
    }


def test_regelobjecten():
    for naam, r in RULES.items():
        assert r.naam == naam and r.omschrijving and r.bron
        for feit, spec in r.feiten.items():
            soort, verplicht, omschrijving = spec
            assert isinstance(verplicht, bool) and omschrijving, (naam, feit)


def test_importeert_niets_van_ons():
    for bestand in REGELS_MAP.rglob("*.py"):
        boom = ast.parse(bestand.read_text(encoding="utf-8"))
        for knoop in ast.walk(boom):
            if isinstance(knoop, ast.Import):
                modules = [a.name for a in knoop.names]
            elif isinstance(knoop, ast.ImportFrom) and knoop.level == 0:
                modules = [knoop.module or ""]
            else:
                continue
            for m in modules:
                assert m.split(".")[0] not in {"trajecten", "flows", "connectors"}, (bestand, m)


def test_import_laadt_geen_andere_pakketten():
    code = (
        "import sys, regels; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('trajecten', 'flows', 'connectors')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REGELS_MAP.parent)


def test_beslis_geeft_decision():
    d = beslis(
        "ww_preventie.toegang",
        {"ww_einddatum": "2024-09-01", "risico_langdurig": True},
        date(2024, 3, 1),
    )
    assert isinstance(d, Decision) and d.uitkomst is True and d.betalingen == ()
    assert d.regel == "ww_preventie.toegang" and d.versie == "2020-01-01" and d.peildatum == date(2024, 3, 1)
