"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

Tables, columns, indexes and unique constraints are compared by Alembic's own autogenerate comparison,
so a model change without its migration (or the other way round) fails here, not in production."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import trajecten.opslag.models  # noqa: F401 - registers the tables
from trajecten.opslag.db import make_engine, migrate


def _verschillen(url: str) -> list:
    eng = make_engine(url)
    try:
        migrate(eng)
        with eng.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = compare_metadata(ctx, SQLModel.metadata)
    finally:
        eng.dispose()
    # alembic_version is Alembic's own bookkeeping, not a model
    return [d for d in diffs if not (d[0] == "remove_table" and d[1].name == "alembic_version")]


def test_migrations_match_the_models(db_url):
    assert _verschillen(db_url) == []


def test_a_model_change_without_migration_is_found(sqlite_url):
    """The comparison can fail: a column the models have and no migration made is reported."""
    extra = sa.Column("niet_gemigreerd", sa.Integer)
    tabel = SQLModel.metadata.tables["client"]
    tabel.append_column(extra)
    try:
        diffs = _verschillen(sqlite_url)
    finally:
        tabel._columns.remove(extra)
    assert [(d[0], d[3].name) for d in diffs if d[0] == "add_column"] == [("add_column", "niet_gemigreerd")]
