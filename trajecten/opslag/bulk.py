"""The storage layer's bulk writers: every hot INSERT and UPDATE, generated from the table definitions.

The sweep, the feed, the Logboek and the decision store write thousands of rows per transaction. Going
through SQLAlchemy's executemany costs a per-row parameter dict, per-row type processing and (PostgreSQL)
one statement per row. These helpers write the same values with one statement per batch on PostgreSQL
(arrays + ``unnest``, or binary ``COPY`` for plain appends) and a plain driver executemany on SQLite. Values
are converted with the columns' own bind processors (``UTCDateTime`` refuses naive datetimes, SQLite gets
SQLAlchemy's text formats), so what is stored is identical to the SQLAlchemy path. Column names and types
always come from the ``Table``: no statement here has a hand-typed column list.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trajecten.opslag.models import UTCDateTime

def insert_ignore(conn, table, rows: list[dict], index: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING (both dialects): re-planning the same occurrence is a no-op."""
    if not rows:
        return
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(mod.insert(table).on_conflict_do_nothing(index_elements=index), rows)


def insert_ignore_count(conn, table, rows: list[dict], key: str, chunk: int = 500) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key, a few hundred rows per statement: how many
    rows were stored (fewer than given: some key existed)."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    n = 0
    for i in range(0, len(rows), chunk):
        q = mod.insert(table).values(rows[i:i + chunk]).on_conflict_do_nothing(index_elements=[key])
        n += len(conn.execute(q.returning(table.c[key])).all())
    return n


_BULK_SQL: dict = {}


def _bulk_plan(conn, table, keys: tuple, conflict: tuple | None):
    ck = (conn.dialect.name, table.name, keys, conflict)
    got = _BULK_SQL.get(ck)
    if got is not None:
        return got
    dialect = conn.dialect
    pg = dialect.name == "postgresql"
    cols = [table.c[k] for k in keys]
    json_dumps = dialect._json_serializer or json.dumps
    procs = []
    for c in cols:
        if pg and isinstance(c.type, sa.JSON):
            procs.append(lambda v, _d=json_dumps: None if v is None else _d(v))
        else:
            procs.append(c.type._cached_bind_processor(dialect))
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in cols)
    tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    if pg:
        arrays = ", ".join(f"%b::{_pg_array_type(c, dialect)}[]" for c in cols)
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}){tail}"
    else:
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(cols))}){tail}"
    got = _BULK_SQL[ck] = (sql, procs, pg)
    return got


def _pg_array_type(col, dialect) -> str:
    if isinstance(col.type, sa.JSON):
        return "json"
    name = col.type.compile(dialect=dialect)
    if name.upper().startswith("VARCHAR"):
        # no length: an explicit cast to varchar(n) would silently truncate, while storing into the
        # column refuses a too long value, as the row-by-row INSERT did
        return "varchar"
    return name


def allocate_ids(conn, table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``, so bulk inserts need no RETURNING (which SQLite would do
    row by row). PostgreSQL: from the column's sequence; SQLite: after the current maximum, safe because
    a write transaction holds the database's only write lock (BEGIN IMMEDIATE)."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(  # one array, not n rows to fetch
            f"SELECT array_agg(nextval(pg_get_serial_sequence('{table.name}', 'id'))) FROM generate_series(1, %s)",
            (n,)).scalar_one()
    start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar()
    return list(range(start + 1, start + n + 1))


def bulk_insert(conn, table, rows: list[dict], conflict: tuple | None = None) -> None:
    """INSERT ``rows`` (dicts with the first row's keys) into ``table``; ``conflict``: ON CONFLICT DO NOTHING."""
    if not rows:
        return
    try:  # a row without one of the first row's keys: SQLAlchemy's path (and its error), as before
        kolommen = {k: list(map(itemgetter(k), rows)) for k in rows[0]}
    except KeyError:
        return _insert_sa(conn, table, rows, conflict)
    if _python_defaults(table, kolommen):
        return _insert_sa(conn, table, rows, conflict)
    bulk_insert_kolommen(conn, table, kolommen, conflict=conflict)


def _python_defaults(table, given) -> list:
    """Columns without a value whose default SQLAlchemy must compute per row (a callable)."""
    return [c.key for c in table.c if c.key not in given and c.default is not None and not c.default.is_scalar]


def bulk_insert_kolommen(conn, table, kolommen: dict[str, list], gedeeld: dict | None = None,
                         conflict: tuple | None = None) -> None:
    """INSERT rows given column by column: ``kolommen`` maps a column to its values (one per row, all of
    the same length), ``gedeeld`` a column to the one value every row has (a batch's moment, actor,
    status). The hot paths build these directly: no dict per row, and a shared value converted once."""
    gedeeld = gedeeld or {}
    n = len(next(iter(kolommen.values()))) if kolommen else 0
    if not n:
        return
    computed = _python_defaults(table, {**kolommen, **gedeeld})
    if computed:
        raise ValueError(f"{table.name}: no value for {', '.join(computed)}, "
                         "whose default SQLAlchemy computes per row (use bulk_insert)")
    missing = [c for c in table.c if c.key not in kolommen and c.key not in gedeeld and c.default is not None]
    gedeeld = {**{c.key: c.default.arg for c in missing}, **gedeeld}
    keys = tuple(kolommen) + tuple(gedeeld)
    sql, procs, pg = _bulk_plan(conn, table, keys, conflict)
    columns = []  # column by column: map() over a column is far cheaper than a tuple per row
    for i, (key, proc) in enumerate(zip(keys, procs)):
        if i < len(kolommen):
            vals = kolommen[key]
            if proc is not None:
                vals = per_value(proc, vals) if isinstance(table.c[key].type, (sa.Date, UTCDateTime)) \
                    else list(map(proc, vals))
        else:
            v = gedeeld[key]
            vals = [v if proc is None else proc(v)] * n
        columns.append(vals)
    if pg and conflict is None and n >= COPY_FROM:
        # binary COPY: about twice as fast as INSERT ... unnest for many rows, but a few more round trips
        _copy_rows(conn, table, keys, zip(*columns))
    else:
        conn.exec_driver_sql(sql, tuple(columns) if pg else list(zip(*columns)))


COPY_FROM = 100  # rows: from here on a plain append uses COPY on PostgreSQL (a web request writes a handful)


def _copy_rows(conn, table, keys: tuple, rows) -> None:
    """``COPY table (keys) FROM STDIN (FORMAT BINARY)`` of ``rows`` (tuples of bind-processed values),
    in the caller's transaction (the same driver connection)."""
    dialect = conn.dialect
    # a JSON value arrives here as its text already; json's binary form is that text, so send it as text
    types = ["text" if isinstance(table.c[k].type, sa.JSON)
             else re.sub(r"\(.*\)", "", _pg_array_type(table.c[k], dialect)).strip().lower() for k in keys]
    names = ", ".join(dialect.identifier_preparer.quote(table.c[k].name) for k in keys)
    with conn.connection.dbapi_connection.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def _insert_sa(conn, table, rows: list[dict], conflict: tuple | None) -> None:
    if conflict:
        insert_ignore(conn, table, rows, list(conflict))
    else:
        conn.execute(table.insert(), rows)


def per_value(proc, values: list) -> list:
    """``proc`` over ``values``, called once per distinct value: the rows of a batch share a few hundred
    moments and days (``now``, due times, start dates)."""
    return list(map({v: proc(v) for v in set(values)}.__getitem__, values))


def bulk_update(conn, table, kolommen: dict[str, list], *, sleutel: str = "id", plus_een: tuple[str, ...] = ()) -> None:
    """UPDATE ``table`` row by row from columns: ``kolommen[sleutel]`` names the rows, the other columns their new
    values (one per row); each column in ``plus_een`` is raised by one. One statement per batch on PostgreSQL
    (``UPDATE ... FROM unnest(...)``), a driver executemany on SQLite."""
    keys = [k for k in kolommen if k != sleutel]
    n = len(kolommen[sleutel])
    if not n:
        return
    dialect = conn.dialect
    q = dialect.identifier_preparer.quote
    values = []
    for k in keys:
        proc = table.c[k].type._cached_bind_processor(dialect)
        vals = kolommen[k]
        values.append(vals if proc is None else per_value(proc, vals))
    sets = [f"{q(table.c[k].name)} = v.{q(table.c[k].name)}" for k in keys]
    sets += [f"{q(table.c[k].name)} = {table.name}.{q(table.c[k].name)} + 1" for k in plus_een]
    if dialect.name == "postgresql":
        cols = [sleutel] + keys
        arrays = ", ".join(f"%b::{_pg_array_type(table.c[k], dialect)}[]" for k in cols)
        names = ", ".join(q(table.c[k].name) for k in cols)
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(sets)} FROM unnest({arrays}) AS v({names}) "
            f"WHERE {table.name}.{q(table.c[sleutel].name)} = v.{q(table.c[sleutel].name)}",
            (kolommen[sleutel], *values))
    else:
        sets = [f"{q(table.c[k].name)} = ?" for k in keys] + [f"{q(table.c[k].name)} = {q(table.c[k].name)} + 1" for k in plus_een]
        conn.exec_driver_sql(f"UPDATE {table.name} SET {', '.join(sets)} WHERE {q(table.c[sleutel].name)} = ?",
                             list(zip(*values, kolommen[sleutel])))


_PLAIN = (str, int, float, bool, type(None))


def jsonable(value):
    """``value`` as JSON types: dates and datetimes as ISO text, Decimal as text (exact), tuples as lists."""
    if isinstance(value, dict):
        if all(isinstance(v, _PLAIN) for v in value.values()):
            return value  # the common case (step events): nothing to convert
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
