"""The explicit migration step of an upgrade (``trajecten db migreer``).

``Engine.open`` upgrades the schema on every start too (``db.migrate``: one process migrates under an
advisory lock, the others wait). An operator upgrading a distributed installation migrates once, on
purpose, before the new code starts (docs/deploy.md, "Upgraden"); the systemd units refuse to start on a
schema that is behind (``ExecStartPre=python -m trajecten.beheer.gezondheid``, trajecten/beheer/gezondheid.py).
"""

from __future__ import annotations

from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from trajecten.opslag.db import alembic_config, make_engine, migrate


@lru_cache(maxsize=1)
def nieuwste_revisies() -> tuple[str, ...]:
    """The head revision(s) of this code's migrations."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def database_revisies(conn) -> tuple[str, ...]:
    """The revision(s) the database of ``conn`` is at (empty: no schema yet)."""
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


@lru_cache(maxsize=1)
def alle_revisies() -> frozenset[str]:
    """Every revision this code knows (a database at another one runs newer code's schema)."""
    return frozenset(r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions())


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
