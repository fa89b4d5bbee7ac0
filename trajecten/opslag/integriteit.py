"""The references the database does not enforce: which rows point at a parent row that is not there.

Some ``*_id`` columns refer to another table without a foreign key: the append-only tables the feed and the
sweep write in bulk lost theirs (migrations 0014 and 0015: on PostgreSQL each key is a parent look-up and
row lock per inserted row), and a few never had one. The engine keeps these references itself: it writes a
child row in the transaction that created or read its parent, and never deletes a parent. ``wezen`` checks
that on a real database (``trajecten controleer``): one anti-join per reference, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import trajecten.opslag.models  # noqa: F401 - registers the tables


class Verwijzing(NamedTuple):
    """``tabel.kolom`` holds the ``id`` of a row of ``ouder`` (or NULL), without a foreign key; with ``pad``
    the JSON column's key ``pad`` holds the value of ``ouder.ouder_kolom``."""

    tabel: str
    kolom: str
    ouder: str
    pad: str | None = None
    ouder_kolom: str = "id"

    @property
    def naam(self) -> str:
        return f"{self.tabel}.{self.kolom}" + (f".{self.pad}" if self.pad else "")


VERWIJZINGEN: tuple[Verwijzing, ...] = (
    Verwijzing("gebeurtenis", "client_id", "client"),  # key dropped in 0014
    Verwijzing("gebeurtenis", "traject_id", "traject"),  # key dropped in 0015
    Verwijzing("geplande_stap", "traject_id", "traject"),  # 0015
    Verwijzing("uwv_overdracht", "client_id", "client"),  # 0015
    Verwijzing("uwv_overdracht", "traject_id", "traject"),  # 0015
    # never had a key:
    Verwijzing("gebeurtenis", "stap_id", "geplande_stap"),  # the step whose firing (or incident) it records
    Verwijzing("taak", "stap_id", "geplande_stap"),  # the task step that made it (unique)
    Verwijzing("incident", "stap_id", "geplande_stap"),  # the step whose retries ran out
    Verwijzing("incident", "traject_id", "traject"),
    Verwijzing("zgw_opdracht", "gebeurtenis_id", "gebeurtenis"),  # the event the outbox row was made from
    # a start event's decision, stored once (trajecten/opslag/besluiten.py)
    Verwijzing("gebeurtenis", "payload", "besluit", pad="besluit_ref", ouder_kolom="sleutel"),
)


def _wees(v: Verwijzing):
    """``(child table, its column, the condition)``: the rows whose non-NULL ``kolom`` has no parent row."""
    kind = SQLModel.metadata.tables[v.tabel].alias("kind")
    ouder = SQLModel.metadata.tables[v.ouder].alias("ouder")
    kol = kind.c[v.kolom][v.pad].as_string() if v.pad else kind.c[v.kolom]
    cond = sa.and_(kol.is_not(None), ~sa.exists().where(ouder.c[v.ouder_kolom] == kol))
    return kind, kol, cond


def wezen(conn: Connection) -> dict[str, int]:
    """Per reference (``"tabel.kolom"``): how many rows point at a parent row that does not exist."""
    out: dict[str, int] = {}
    for v in VERWIJZINGEN:
        kind, _, cond = _wees(v)
        out[v.naam] = conn.execute(sa.select(sa.func.count()).select_from(kind).where(cond)).scalar_one()
    return out


def voorbeelden(conn: Connection, naam: str, n: int = 5) -> list[tuple[int, Any]]:
    """Up to ``n`` orphans of reference ``naam``: ``(the row's id, the missing parent id)``, lowest ids first."""
    v = next((v for v in VERWIJZINGEN if v.naam == naam), None)
    if v is None:
        raise KeyError(f"onbekende verwijzing {naam!r}")
    kind, kol, cond = _wees(v)
    rows = conn.execute(sa.select(kind.c.id, kol).where(cond).order_by(kind.c.id).limit(n)).all()
    return [(r[0], r[1]) for r in rows]
