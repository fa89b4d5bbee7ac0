"""The explicit migration step of an upgrade (``trajecten db migreer``).

``Engine.open`` upgrades the schema on every start too (``db.migrate``: one process migrates under an
advisory lock, the others wait). An operator upgrading a distributed installation migrates once, on
purpose, before the new code starts (docs/deploy.md, "Upgraden"); the systemd units refuse to start on a
schema that is behind (``ExecStartPre=python -m trajecten.beheer.gezondheid``, trajecten/beheer/gezondheid.py).
"""

from __future__ import annotations

from trajecten.opslag.db import make_engine, migrate
from trajecten.beheer.gezondheid import database_revisies


def revisies(url: str) -> tuple[str, ...]:
    """The revision(s) the database is at (empty: no schema yet); reads only."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return database_revisies(conn)
    finally:
        eng.dispose()


def migreer(url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Upgrade the schema to the newest migration; returns the revisions before and after."""
    voor = revisies(url)
    eng = make_engine(url)
    try:
        migrate(eng)
    finally:
        eng.dispose()
    return voor, revisies(url)
