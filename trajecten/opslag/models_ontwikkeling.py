"""The tables of the client's development: the ontwikkelplan (its versions and the trajectories started
from its steps), the ontwikkelladder rungs and the reconcile's bookkeeping.

Used by ``trajecten/clienten/ontwikkelplan.py`` and ``trajecten/clienten/ladder.py`` (migration 0009).
``trajecten.opslag.models`` imports these tables: ``SQLModel.metadata`` (Alembic) holds them once that module
is imported, and ``from trajecten.opslag.models import Ontwikkelplan`` keeps working.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from trajecten.opslag.kolommen import tijdstip as _ts


class Ontwikkelplan(SQLModel, table=True):
    """The client's one current development plan (the client owns it; made with the coach). Every change
    writes a new :class:`OntwikkelplanVersie` and an event; ``versie`` guards against lost updates."""

    __tablename__ = "ontwikkelplan"
    client_id: int = Field(primary_key=True, foreign_key="client.id")
    versie: int
    inhoud: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    stap_teller: int = Field(default=0, description="last step number handed out: step ids are never reused")
    bijgewerkt_door: str = Field(max_length=100)
    bijgewerkt_op: datetime = _ts()


class OntwikkelplanVersie(SQLModel, table=True):
    """One version of a plan: the full content, who changed it and why (append-only)."""

    __tablename__ = "ontwikkelplan_versie"
    __table_args__ = (sa.UniqueConstraint("client_id", "versie", name="uq_ontwikkelplan_versie"),)
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    versie: int
    inhoud: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    door: str = Field(max_length=100)
    reden: str = Field(max_length=500)
    wijzigingen: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    traject_id: int | None = Field(default=None, foreign_key="traject.id", description="set when a trajectory caused it")
    op: datetime = _ts()


class OntwikkelplanTraject(SQLModel, table=True):
    """A trajectory started from a plan step (plan step -> traject)."""

    __tablename__ = "ontwikkelplan_traject"
    traject_id: int = Field(primary_key=True, foreign_key="traject.id")
    client_id: int = Field(foreign_key="client.id", index=True)
    stap: str = Field(max_length=20)
    gekoppeld_door: str = Field(max_length=100)
    gekoppeld_op: datetime = _ts()


class LadderTrede(SQLModel, table=True):
    """One assessment of the client's rung on the ontwikkelladder: dated, with who assessed it (history)."""

    __tablename__ = "ladder_trede"
    __table_args__ = (sa.Index("ix_ladder_trede_client_datum", "client_id", "datum"),)
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id")
    trede: int
    trede_naam: str = Field(max_length=100, description="the rung's name when it was recorded")
    datum: date
    door: str = Field(max_length=100, description="who assessed it (systeem:... for an outcome)")
    toelichting: str = Field(default="", max_length=500)
    traject_id: int | None = Field(default=None, foreign_key="traject.id", description="the outcome that moved it")
    vastgelegd_op: datetime = _ts()


class OntwikkelingVerwerkt(SQLModel, table=True):
    """Which trajectory outcomes the reconcile (``ontwikkeling.bijwerken_uit_trajecten``) has handled:
    the primary key makes it exactly once, also when two sweeps run at the same moment."""

    __tablename__ = "ontwikkeling_verwerkt"
    traject_id: int = Field(primary_key=True, foreign_key="traject.id")
    soort: str = Field(primary_key=True, max_length=10)  # plan, ladder
    verwerkt_op: datetime = _ts()
