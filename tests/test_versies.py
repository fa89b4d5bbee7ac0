"""The pinned set that installs and runs together (pyproject.toml) is the set that is installed, and
SQLAlchemy stays on 2.0.x: with 2.1 the Prefect 3.8.8 server's scheduler service fails every loop
("Can't evaluate bulk DML statement"), so no schedule ever creates a run (tests/test_prefect_integration.py
runs the server with its scheduler on and sees a scheduled run complete)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PINS = dict(re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^;\s]+)", d).groups()
            for d in tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
            if "==" in d)


@pytest.mark.parametrize("pakket", ["prefect", "fastapi", "starlette", "SQLAlchemy", "sqlmodel", "pydantic",
                                    "APScheduler", "httpx", "alembic"])
def test_the_installed_version_is_the_pinned_one(pakket):
    assert version(pakket.split("[")[0]) == PINS[pakket]


def test_sqlalchemy_stays_below_2_1_for_prefects_scheduler():
    assert PINS["SQLAlchemy"].startswith("2.0."), "SQLAlchemy 2.1 breaks the Prefect 3.8.8 scheduler service"
    assert PINS["prefect"] == "3.8.8"  # the combination checked; a new Prefect needs the scheduler test again
