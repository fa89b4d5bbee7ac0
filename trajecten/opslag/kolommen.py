"""The column types the tables share: aware datetimes stored in UTC (``UTCDateTime``, ``tijdstip``).

``trajecten.opslag.models`` imports ``UTCDateTime``, so the migrations' ``trajecten.opslag.models.UTCDateTime``
keeps working.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; a naive datetime is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        tz = value.tzinfo
        if tz is timezone.utc:  # PostgreSQL sessions run in UTC (db.make_engine): nothing to convert
            return value
        if tz is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def tijdstip(nullable: bool = False, index: bool = False) -> Any:
    """A ``UTCDateTime`` column (not null unless ``nullable``)."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))
