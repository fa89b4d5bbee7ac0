"""The engine's tables (SQLModel). The schema is created and upgraded by Alembic (``migrations/``).

Timers are rows: a :class:`GeplandeStap` with ``due_at`` is a step waiting to fire. Every change to a
trajectory is a :class:`Gebeurtenis` (append-only). Datetimes are stored in UTC and come back aware
(``kolommen.UTCDateTime``).

Also importable from here, defined next door: the status vocabulary (``statussen``: ``StapStatus``, ...), the
column types (``kolommen``) and the tables of the client's development (``models_ontwikkeling``). Importing
this module registers every table in ``SQLModel.metadata``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from trajecten.opslag.kolommen import UTCDateTime, tijdstip as _ts  # noqa: F401 - UTCDateTime: the migrations
from trajecten.opslag.models_ontwikkeling import (  # noqa: F401 - passed on (and registered)
    LadderTrede, OntwikkelingVerwerkt, Ontwikkelplan, OntwikkelplanTraject, OntwikkelplanVersie)
from trajecten.opslag.statussen import (  # noqa: F401 - passed on
    OverplaatsingStatus, Rol, StapStatus, TaakStatus, TrajectStatus, UitbetalingStatus)


class Client(SQLModel, table=True):
    __tablename__ = "client"
    id: int | None = Field(default=None, primary_key=True)
    bsn: str = Field(max_length=9, unique=True, description="validated with the 11-test; never logged")
    naam: str = Field(default="", max_length=200)
    geboortedatum: date | None = None
    postcode: str = Field(default="", max_length=7)
    gebied: str = Field(default="", max_length=50, index=True)
    coach: str = Field(default="", max_length=100, index=True)
    doelgroep: str | None = Field(default=None, max_length=50,
                                  description="a central target group (data/gebieden.yaml): its specialist team")
    bijstand_sinds: date | None = None
    iban: str | None = Field(default=None, max_length=34, description="account for payouts to the client")
    aangemaakt_op: datetime = _ts()


class InstrumentVersie(SQLModel, table=True):
    __tablename__ = "instrument_versie"
    __table_args__ = (sa.UniqueConstraint("instrument", "versie"),)
    id: int | None = Field(default=None, primary_key=True)
    instrument: str = Field(max_length=50)
    versie: int
    hash: str = Field(max_length=64)
    inhoud: str = Field(sa_column=Column(sa.Text, nullable=False))
    geladen_op: datetime = _ts()


class Traject(SQLModel, table=True):
    __tablename__ = "traject"
    __table_args__ = (
        # one running trajectory per client and instrument where the instrument's file says so
        # (per_client: een_lopend): the database refuses a second one, also from two concurrent starts
        sa.Index("uq_traject_een_lopend", "client_id", "instrument", unique=True,
                 postgresql_where=sa.text("een_lopend AND status <> 'beeindigd'"),
                 sqlite_where=sa.text("een_lopend AND status <> 'beeindigd'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    instrument: str = Field(max_length=50, index=True)
    definitie_versie: int
    status: str = Field(default=TrajectStatus.actief.value, max_length=12, index=True)
    uitkomst: str | None = Field(default=None, max_length=50)
    start_datum: date
    eind_datum: date | None = None
    feiten: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    gestart_door: str = Field(max_length=100)
    aangemaakt_op: datetime = _ts()
    een_lopend: bool = Field(default=False, sa_column=Column(sa.Boolean, nullable=False, server_default=sa.false()),
                             description="started under per_client: een_lopend (uq_traject_een_lopend)")


class GeplandeStap(SQLModel, table=True):
    """A timer: one occurrence of one step of one trajectory."""

    __tablename__ = "geplande_stap"
    __table_args__ = (
        sa.UniqueConstraint("traject_id", "stap", "volgnr", name="uq_stap_once"),
        # The sweep reads only planned rows by due time: a partial index keeps that O(batch)
        # however many fired rows pile up.
        sa.Index(
            "ix_stap_due",
            "due_at",
            postgresql_where=sa.text("status = 'gepland'"),
            sqlite_where=sa.text("status = 'gepland'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    # no foreign key (migration 0015): written with its trajectory, in the transaction that created or read
    # it; trajectories are never deleted. Looked up through uq_stap_once (traject_id first)
    traject_id: int
    stap: str = Field(max_length=50)
    volgnr: int = 0
    kind: str = Field(max_length=12)
    due_at: datetime = _ts()
    status: str = Field(default=StapStatus.gepland.value, max_length=12)
    pogingen: int = 0
    volgende_poging_op: datetime | None = _ts(nullable=True)  # after a failure: not before (due_at stays)
    laatste_fout: str | None = Field(default=None, sa_column=Column(sa.Text))
    uitgevoerd_op: datetime | None = _ts(nullable=True)
    te_laat_s: int | None = Field(default=None, description="lateness in seconds when it fired")
    uitkomst: str | None = Field(default=None, max_length=50)
    reden: str | None = Field(default=None, max_length=300)


class Gebeurtenis(SQLModel, table=True):
    """Append-only: who did what, when, why (rule and version where a rule decided)."""

    __tablename__ = "gebeurtenis"
    id: int | None = Field(default=None, primary_key=True)
    # no foreign key (migration 0015): appended in the transaction that created or read the trajectory, which
    # is never deleted; the key's check per event cost a trajectory look-up and row lock per inserted row
    traject_id: int | None = Field(default=None, index=True)
    # no foreign key (migration 0014): implied by traject_id, or read from client by the writer; clients
    # are never deleted, and the key's check per appended event cost the sweep a client look-up per step
    client_id: int | None = Field(default=None, index=True)
    stap_id: int | None = Field(default=None)
    type: str = Field(max_length=50)
    actor: str = Field(max_length=100)
    op: datetime = _ts()  # when it was recorded (clock)
    datum: date | None = None  # business date (e.g. the day work started)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    regel: str | None = Field(default=None, max_length=80)
    regel_versie: str | None = Field(default=None, max_length=80)


class Besluit(SQLModel, table=True):
    """A decision's explanation (``Decision.to_json()``), stored once: events refer to it by ``sleutel``, the
    SHA-256 of its JSON. Content-addressed and never changed; thousands of starts share a few hundred."""

    __tablename__ = "besluit"
    id: int | None = Field(default=None, primary_key=True)
    sleutel: str = Field(max_length=64, unique=True, description="SHA-256 (hex) of the JSON, keys sorted")
    regel: str = Field(max_length=80)
    versie: str = Field(max_length=80)
    inhoud: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Taak(SQLModel, table=True):
    __tablename__ = "taak"
    __table_args__ = (
        sa.Index("ix_taak_open", "toegewezen_aan", "due_at"),
        # a team lead's worklist: the open tasks of an area in due order, without reading the closed ones
        sa.Index("ix_taak_open_due", "due_at", postgresql_where=sa.text("status = 'open'"),
                 sqlite_where=sa.text("status = 'open'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    traject_id: int = Field(foreign_key="traject.id", index=True)
    stap_id: int = Field(unique=True)
    stap: str = Field(max_length=50)
    titel: str = Field(max_length=200)
    rol: str = Field(max_length=20)
    toegewezen_aan: str = Field(default="", max_length=100)
    due_at: datetime = _ts()
    status: str = Field(default=TaakStatus.open.value, max_length=12)
    uitkomst: str | None = Field(default=None, max_length=50)
    aangemaakt_op: datetime = _ts()
    gesloten_door: str | None = Field(default=None, max_length=100)
    gesloten_op: datetime | None = _ts(nullable=True)
    geescaleerd_op: datetime | None = _ts(nullable=True)
    geescaleerd_naar: str | None = Field(default=None, max_length=100)


class Incident(SQLModel, table=True):
    """A step whose retries ran out: a person fixes the cause and retries it."""

    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    stap_id: int = Field(index=True)
    traject_id: int = Field(index=True)
    fout: str = Field(sa_column=Column(sa.Text, nullable=False))
    pogingen: int
    aangemaakt_op: datetime = _ts()
    opgelost_door: str | None = Field(default=None, max_length=100)
    opgelost_op: datetime | None = _ts(nullable=True)


class Uitbetaling(SQLModel, table=True):
    """A payout proposed by a rule. The idempotency key is what is paid for: client, rule, part and the subject
    the rule names (e.g. the work start: one premium per job), so a second trajectory cannot pay it again."""

    __tablename__ = "uitbetaling"
    id: int | None = Field(default=None, primary_key=True)
    sleutel: str = Field(max_length=250, unique=True,
                         description="idempotency key: c<client>/<regel>/<deel>/<onderwerp> (before 0018: traject/regel/deel)")
    onderwerp: str | None = Field(default=None, max_length=200,
                                  description="what is paid for, e.g. werk_start=2026-03-02 or traject=17")
    traject_id: int = Field(foreign_key="traject.id", index=True)
    deel: int
    bedrag: Decimal = Field(sa_column=Column(sa.Numeric(12, 2), nullable=False))
    opeisbaar_op: date
    status: str = Field(default="voorgesteld", max_length=12, index=True)
    regel: str = Field(max_length=80)
    regel_versie: str = Field(max_length=80)
    voorgesteld_door: str = Field(max_length=100)
    voorgesteld_op: datetime = _ts()
    beoordeeld_door: str | None = Field(default=None, max_length=100, description="second person (four-eyes)")
    beoordeeld_op: datetime | None = _ts(nullable=True)
    afwijzing_reden: str | None = Field(default=None, max_length=500)
    batch_id: int | None = Field(default=None, foreign_key="betaalbatch.id", index=True)
    betaald_op: datetime | None = _ts(nullable=True)  # when the bank's confirmation was recorded
    ontvanger_naam: str | None = Field(default=None, max_length=200, description="payee when not the client")
    ontvanger_iban: str | None = Field(default=None, max_length=34, description="payee's account when not the client")


class Betaalbatch(SQLModel, table=True):
    """One SEPA credit-transfer file (pain.001); its payouts were marked exported in the same transaction."""

    __tablename__ = "betaalbatch"
    id: int | None = Field(default=None, primary_key=True)
    bericht_id: str = Field(max_length=35, unique=True)
    aangemaakt_op: datetime = _ts()
    door: str = Field(max_length=100)
    aantal: int
    totaal: Decimal = Field(sa_column=Column(sa.Numeric(14, 2), nullable=False))
    xml: str = Field(sa_column=Column(sa.Text, nullable=False))


class Idempotentie(SQLModel, table=True):
    """The first answer to a request that carried an ``Idempotency-Key`` (API) or a form's one-time token
    (pages): a retry with the same key gets the same answer and changes nothing."""

    __tablename__ = "idempotentie"
    __table_args__ = (sa.UniqueConstraint("actor", "sleutel", name="uq_idempotentie_actor_sleutel"),)
    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=100, description="whose key: keys of different users never meet")
    sleutel: str = Field(max_length=200)
    verzoek_hash: str = Field(max_length=64, description="SHA-256 of the request: the same key with another body is refused")
    status_code: int | None = Field(default=None, description="None while the first request is still running")
    antwoord: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    aangemaakt_op: datetime = _ts(index=True)


class Quarantaine(SQLModel, table=True):
    """A feed record (or a whole file) that was rejected: kept with its raw content and each reason."""

    __tablename__ = "quarantaine"
    id: int | None = Field(default=None, primary_key=True)
    bron: str = Field(max_length=200, description="file name, 'http' or 'push'")
    regelnr: int | None = None
    inhoud: str = Field(sa_column=Column(sa.Text, nullable=False))
    inhoud_hash: str = Field(max_length=64, index=True, description="sha256 of the content: the same record is kept once")
    redenen: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ontvangen_op: datetime = _ts()
    status: str = Field(default="open", max_length=12, index=True)
    verwerkt_door: str | None = Field(default=None, max_length=100)
    verwerkt_op: datetime | None = _ts(nullable=True)


class UwvOverdracht(SQLModel, table=True):
    """One accepted UWV handover; ``referentie`` (uwv_referentie) is the idempotency key."""

    __tablename__ = "uwv_overdracht"
    id: int | None = Field(default=None, primary_key=True)
    referentie: str = Field(max_length=64, unique=True)
    # no foreign keys on client_id and traject_id (migration 0015): the feed writes the row in the transaction
    # that created or read the client and the trajectory, which are never deleted
    client_id: int = Field(index=True)
    ontvangen_op: datetime = _ts()
    bron: str = Field(max_length=200)
    uitkomst: str = Field(max_length=20, description="gestart, gepland, geen_risico, al_lopend")
    traject_id: int | None = None


class KoppelingCursor(SQLModel, table=True):
    """Where a connector is in a stream (the HTTP feed's cursor, the last event id a connector handled)."""

    __tablename__ = "koppeling_cursor"
    naam: str = Field(primary_key=True, max_length=100)
    waarde: str = Field(sa_column=Column(sa.Text, nullable=False))
    bijgewerkt_op: datetime = _ts()


class Melding(SQLModel, table=True):
    """An e-mail to a coach or team lead (outbox): a daily digest or one event. Never holds a BSN."""

    __tablename__ = "melding"
    id: int | None = Field(default=None, primary_key=True)
    ontvanger: str = Field(max_length=100, index=True)
    adres: str = Field(max_length=254)
    onderwerp: str = Field(max_length=200)
    tekst: str = Field(sa_column=Column(sa.Text, nullable=False))
    gebeurtenissen: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="wachtend", max_length=12, index=True)  # wachtend, verzonden, mislukt
    pogingen: int = 0
    volgende_poging_op: datetime | None = _ts(nullable=True)
    laatste_fout: str | None = Field(default=None, sa_column=Column(sa.Text))
    aangemaakt_op: datetime = _ts()
    verzonden_op: datetime | None = _ts(nullable=True)


class ZgwZaak(SQLModel, table=True):
    """The zaak (ZGW Zaken API) that registers a trajectory."""

    __tablename__ = "zgw_zaak"
    traject_id: int = Field(primary_key=True, foreign_key="traject.id")
    zaak_url: str = Field(max_length=500)
    laatste_status: str | None = Field(default=None, max_length=50)
    resultaat_gezet: bool = False
    bijgewerkt_op: datetime = _ts()


class ZgwOpdracht(SQLModel, table=True):
    """Outbox for the ZGW registration: the engine keeps working when the ZGW service is down."""

    __tablename__ = "zgw_opdracht"
    __table_args__ = (sa.UniqueConstraint("gebeurtenis_id", "soort", name="uq_zgw_opdracht_once"),)
    id: int | None = Field(default=None, primary_key=True)
    traject_id: int = Field(foreign_key="traject.id", index=True)
    gebeurtenis_id: int
    soort: str = Field(max_length=20)  # zaak, status, resultaat
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="wachtend", max_length=12, index=True)  # wachtend, klaar, mislukt
    pogingen: int = 0
    volgende_poging_op: datetime | None = _ts(nullable=True)
    laatste_fout: str | None = Field(default=None, sa_column=Column(sa.Text))
    aangemaakt_op: datetime = _ts()
    klaar_op: datetime | None = _ts(nullable=True)


class Gebruiker(SQLModel, table=True):
    """A person who logs in to the pages (and, with the session, the API). Passwords: argon2 hashes."""

    __tablename__ = "gebruiker"
    __table_args__ = (sa.UniqueConstraint("gebruikersnaam", name="uq_gebruiker_gebruikersnaam"),)
    id: int | None = Field(default=None, primary_key=True)
    gebruikersnaam: str = Field(max_length=100, description="also the actor name in events (four-eyes)")
    naam: str = Field(default="", max_length=200)
    rol: str = Field(max_length=20)
    gebied: str | None = Field(default=None, max_length=50, description="area team; none = all (teamleider, beheerder)")
    email: str = Field(default="", max_length=254)
    wachtwoord_hash: str = Field(max_length=200)
    actief: bool = True
    aangemaakt_op: datetime = _ts()


class ApiToken(SQLModel, table=True):
    """A bearer token for a machine (the feed push, Prefect flows); only its sha256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    naam: str = Field(max_length=100)
    token_hash: str = Field(max_length=64)
    rol: str = Field(max_length=20)
    gebruiker_id: int | None = Field(default=None, sa_column=Column(
        sa.Integer, sa.ForeignKey("gebruiker.id", name="fk_api_token_gebruiker"), nullable=True))
    actief: bool = True
    aangemaakt_op: datetime = _ts()
    laatst_gebruikt_op: datetime | None = _ts(nullable=True)


# --------------------------------------------------------------------------- P8: area teams and transfers


class Overplaatsing(SQLModel, table=True):
    """A proposed transfer of a client to another team (after a move or a new target group): the client's
    gebied and coach change only when a team lead accepts it (``trajecten/clienten/caseload.py``)."""

    __tablename__ = "overplaatsing"
    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    van_gebied: str = Field(max_length=50, index=True)
    naar_gebied: str = Field(max_length=50, index=True)
    postcode: str = Field(default="", max_length=7, description="the new postcode that led to the proposal")
    reden: str = Field(max_length=500)
    status: str = Field(default=OverplaatsingStatus.open.value, max_length=12, index=True)
    voorgesteld_door: str = Field(max_length=100)
    voorgesteld_op: datetime = _ts()
    beoordeeld_door: str | None = Field(default=None, max_length=100)
    beoordeeld_op: datetime | None = _ts(nullable=True)
    toelichting: str | None = Field(default=None, max_length=500, description="why accepted or rejected")
    nieuwe_coach: str | None = Field(default=None, max_length=100)


# --------------------------------------------------------------------------- P6: Logboek Dataverwerkingen
# (trajecten/privacy/logboek.py, docs/logboek.md; migration 0011)


class Verwerking(SQLModel, table=True):
    """One record of the Logboek Dataverwerkingen (Logius): one processing of one data subject's data
    (or of none, for aggregates). A span in W3C Trace Context terms. The data subject is a keyed hash
    (HMAC-SHA256) of the BSN: never the BSN itself. Append-only."""

    __tablename__ = "verwerking"
    id: int | None = Field(default=None, primary_key=True)
    trace_id: str = Field(max_length=32, index=True, description="W3C trace-id (32 hex)")
    span_id: str = Field(max_length=16, description="W3C span-id of this processing (16 hex)")
    parent_span_id: str | None = Field(default=None, max_length=16, description="the span that caused it")
    naam: str = Field(max_length=200, description="name of the operation, e.g. 'GET /api/clients/{client_id}'")
    start_tijd: datetime = _ts()
    eind_tijd: datetime = _ts()
    status: str = Field(max_length=8, description="OK or ERROR (the standard's status code)")
    # no index (migration 0016): no query selects by activity alone, and every appended record paid for it
    activiteit: str = Field(max_length=300, description="URI in the register of processing activities")
    betrokkene: str | None = Field(default=None, max_length=64, index=True,
                                   description="pseudonymised data subject id: HMAC-SHA256 of the BSN (hex)")
    betrokkene_type: str | None = Field(default=None, max_length=10, description="'BSN' (what was hashed)")
    gebruiker: str = Field(max_length=100, description="who: the user or the system actor")
    component: str = Field(max_length=50, description="which part of the system: api, pagina, cli, sweep, ...")
