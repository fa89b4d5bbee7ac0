"""Rule files read like the regulation: the speed tricks live in the machinery (the `_` modules) only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import regels

REGELS_MAP = Path(regels.__file__).parent
REGELBESTANDEN = sorted(b for b in REGELS_MAP.glob("*.py") if not b.name.startswith("_"))
# building objects past their constructor, pre-written reason texts, caches
TRUCS = re.compile(r"__new__|snelle_reden|bundel|Instellingen|lru_cache|functools|\b(_reden|_TEKSTEN|_CACHE)\b")


def test_regelbestanden_gevonden():
    assert {b.stem for b in REGELBESTANDEN} >= {"premie_op_werk", "jobhunting", "vouchers", "businesscase"}


def test_geen_snelheidstrucs_in_regelbestanden():
    for bestand in REGELBESTANDEN:
        for nummer, regel in enumerate(bestand.read_text(encoding="utf-8").splitlines(), 1):
            assert not TRUCS.search(regel), f"{bestand.name}:{nummer}: {regel.strip()}"


def test_regelbestanden_gebruiken_geen_privenamen_van_de_machinerie():
    """A rule imports the machinery's public names (Reden, regel, the _toetsen helpers), nothing private."""
    for bestand in REGELBESTANDEN:
        for knoop in ast.walk(ast.parse(bestand.read_text(encoding="utf-8"))):
            if isinstance(knoop, ast.ImportFrom) and knoop.level == 1:
                for alias in knoop.names:
                    assert not alias.name.startswith("_"), (bestand.name, knoop.module, alias.name)


def test_besluit_importeert_regel_niet():
    """`_besluit` (the Decision) and `_regel` (beslis) stay without an import cycle."""
    boom = ast.parse((REGELS_MAP / "_besluit.py").read_text(encoding="utf-8"))
    modules = {k.module for k in ast.walk(boom) if isinstance(k, ast.ImportFrom)}
    assert "_regel" not in modules and not any(m and m.endswith("._regel") for m in modules)
