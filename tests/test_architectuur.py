"""The architecture as rules that fail CI (docs/architecture.md): the import contracts of pyproject.toml
(import-linter), no import cycle between modules, no private name of another package, modules that stay
small, one clock, and one copy of the code that ends a trajectory, merges a client's facts and retries."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trajecten", "regels", "connectors", "flows")
MAX_REGELS = 500  # lines per module (migrations aside); docs/architecture.md aims near 400


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts)


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    """The unit of privacy: a package of trajecten or connectors (trajecten.kern), else the top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("trajecten", "connectors") and len(parts) > 1 else parts[0]


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def test_the_import_contracts_of_pyproject_hold():
    """Layers of trajecten's packages, regels pure, the engine never imports its shells, connectors apart."""
    lint = Path(sys.executable).with_name("lint-imports")
    res = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_no_module_imports_one_that_imports_it_back():
    """0 import cycles, type-only imports (``if TYPE_CHECKING``) and imports inside functions included."""
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    cycles = sorted({tuple(sorted((m, i))) for m in graph.modules for i in graph.find_modules_directly_imported_by(m)
                     if graph.chain_exists(importer=i, imported=m)})
    assert cycles == []


def _private_imports(source: str, here: str) -> list[str]:
    """The imports in ``source`` (module ``here``) of a private module or name of another package."""
    offences = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        else:
            continue
        for module, name in targets:
            if module.split(".")[0] not in PACKAGES or _package(module) == _package(here):
                continue
            if any(_private(p) for p in module.split(".")) or (name and _private(name)):
                offences.append(f"{here}:{node.lineno} imports {module}{'.' + name if name else ''}")
    return offences


def test_no_package_imports_a_private_name_of_another():
    assert [o for p in _modules() for o in _private_imports(p.read_text(encoding="utf-8"), _name(p))] == []


def test_the_private_name_check_sees_each_kind_of_offence():
    """Guards the check above: a private module, a private name, a private module imported whole; a package's
    own private modules and another package's public ones pass."""
    source = ("from trajecten.web._demo import DEMO_TOKEN\n"
              "from trajecten.kern.sweep import _claim\n"
              "import connectors.uwv._http\n"
              "from trajecten.cli._common import out\n"
              "from trajecten.web import DEMO_TOKEN\n")
    assert _private_imports(source, "trajecten.cli._beheer") == [
        "trajecten.cli._beheer:1 imports trajecten.web._demo.DEMO_TOKEN",
        "trajecten.cli._beheer:2 imports trajecten.kern.sweep._claim",
        "trajecten.cli._beheer:3 imports connectors.uwv._http",
    ]


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_REGELS}
    assert long == {}


def test_time_comes_from_the_one_clock():
    """``datetime.now``, ``utcnow``, ``date.today`` and ``time.time`` only in trajecten/basis/tijd.py."""
    pattern = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in _modules() if p.name != "tijd.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


@pytest.mark.parametrize("what, pattern, home", [
    # ending a trajectory: its status set to beeindigd
    ("end of a trajectory", r"TrajectStatus\.beeindigd\.value,\s*\"uitkomst\"|status=TrajectStatus\.beeindigd", "trajecten/kern/einde.py"),
    # the facts a rule sees: the client's birth date and bijstand start merged with the trajectory's facts
    ("merge of client facts", r"\{\"geboortedatum\":\s*\w+(\.geboortedatum)?,\s*\"bijstand_sinds\"", "trajecten/kern/feiten.py"),
    # the doubling wait of a retry
    ("retry backoff", r"\*\s*\(?2\s*\*\*|\*\*\s*\(?\s*(poging|pogingen|attempt)", "trajecten/basis/herhalen.py"),
])
def test_one_copy(what, pattern, home):
    rx = re.compile(pattern)
    where = sorted(str(p.relative_to(ROOT)) for p in _modules() if rx.search(p.read_text(encoding="utf-8")))
    assert where == [home], what
