"""The status vocabulary of the tables: the values a ``status`` (or ``rol``) column may hold.

The columns themselves are plain strings (``trajecten/opslag/models.py``); these enums name the values the
code writes and compares. ``trajecten.opslag.models`` imports them, so ``from trajecten.opslag.models import
StapStatus`` keeps working.
"""

from __future__ import annotations

from enum import StrEnum


class TrajectStatus(StrEnum):
    gepland = "gepland"  # begins later (e.g. WW end date - 6 months)
    actief = "actief"
    beeindigd = "beeindigd"


class StapStatus(StrEnum):
    gepland = "gepland"  # waiting for due_at
    uitgevoerd = "uitgevoerd"  # fired
    overgeslagen = "overgeslagen"  # fired but no longer made sense (reason recorded)
    geannuleerd = "geannuleerd"  # cancelled before it was due
    incident = "incident"  # failed too often: a person must look


class TaakStatus(StrEnum):
    open = "open"
    afgerond = "afgerond"
    vervallen = "vervallen"


class UitbetalingStatus(StrEnum):
    voorgesteld = "voorgesteld"
    goedgekeurd = "goedgekeurd"
    geexporteerd = "geexporteerd"
    betaald = "betaald"
    afgewezen = "afgewezen"


class Rol(StrEnum):
    """What a person (or a machine token) may do in the web application (``trajecten/web``)."""

    coach = "coach"  # the clients of their own area team
    teamleider = "teamleider"  # everything in their area team (no gebied: all), may overrule a refusal
    financien = "financien"  # payouts: approve (four-eyes) and export; no case notes
    beleid = "beleid"  # aggregates only (monitoring)
    beheerder = "beheerder"  # everything, plus user management
    koppeling = "koppeling"  # machine tokens only: the feed push and Prefect flows


class OverplaatsingStatus(StrEnum):
    open = "open"
    geaccepteerd = "geaccepteerd"
    afgewezen = "afgewezen"
    vervallen = "vervallen"  # replaced by a newer proposal for the same client
