"""Who may do what: the one place with the access rules.

``ROUTE_ROLES`` maps every route (method, path) of the pages and the API to the roles allowed to use it;
``PUBLIEK`` lists the routes that need no login. ``create_app`` refuses to start when a route is in
neither, so this table is complete by construction (the authorization-matrix test enumerates it).

Row level: a coach sees only the clients of their own area team (``client.gebied == gebruiker.gebied``),
a team lead those of their area (or all without one); anything outside is answered 404, never 403, so
its existence is not revealed. Finance sees payouts (with the trajectory, amount and IBAN they need) but
no case notes or timelines; policy staff see aggregates only.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from trajecten.opslag.models import Rol

COACH, TEAMLEIDER, FINANCIEN, BELEID, BEHEERDER, KOPPELING = (
    Rol.coach.value, Rol.teamleider.value, Rol.financien.value, Rol.beleid.value, Rol.beheerder.value,
    Rol.koppeling.value)
MENSEN = frozenset({COACH, TEAMLEIDER, FINANCIEN, BELEID, BEHEERDER})  # roles of people (login)
ROLLEN = MENSEN | {KOPPELING}  # KOPPELING: machine tokens only

ZAAK = frozenset({COACH, TEAMLEIDER, BEHEERDER})  # client files, trajectories, tasks
BETALING = frozenset({FINANCIEN, TEAMLEIDER, BEHEERDER})  # payouts: see, approve, reject
EXPORT = frozenset({FINANCIEN, BEHEERDER})  # payment batches
CIJFERS = frozenset({BELEID, TEAMLEIDER, FINANCIEN, BEHEERDER})  # aggregates
FEED = frozenset({TEAMLEIDER, BEHEERDER})  # quarantine of the UWV feed
BEHEER = frozenset({BEHEERDER})
TEAM = frozenset({TEAMLEIDER, BEHEERDER})  # a team's caseload: coach assignment, rebalancing, transfers

OVERRULE_ROLLEN = frozenset({TEAMLEIDER, BEHEERDER})  # may start despite a refusal (with a reason)

ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    # ---- API (JSON)
    ("GET", "/api/ik"): ROLLEN,
    ("GET", "/api/instrumenten"): ZAAK | {BELEID},
    ("GET", "/api/clients"): ZAAK,
    ("POST", "/api/clients"): ZAAK,
    ("POST", "/api/clients/zoek"): ZAAK,
    ("GET", "/api/clients/{client_id}"): ZAAK,
    ("GET", "/api/clients/{client_id}/verwerkingen"): frozenset({TEAMLEIDER, BEHEERDER}),  # inzageverzoek
    ("GET", "/api/clients/{client_id}/ontwikkelplan"): ZAAK,  # plans: never finance or policy
    ("POST", "/api/clients/{client_id}/ontwikkelplan"): ZAAK,
    ("GET", "/api/clients/{client_id}/ontwikkelladder"): ZAAK,
    ("POST", "/api/clients/{client_id}/ontwikkelladder"): ZAAK,
    ("POST", "/api/trajecten/toegang"): ZAAK,
    ("POST", "/api/trajecten"): ZAAK,
    ("GET", "/api/trajecten/{traject_id}"): ZAAK,
    ("POST", "/api/trajecten/{traject_id}/gebeurtenissen"): ZAAK,
    ("POST", "/api/trajecten/{traject_id}/beeindig"): ZAAK,
    ("GET", "/api/werklijst"): ZAAK,
    ("POST", "/api/taken/{taak_id}/afronden"): ZAAK,
    ("GET", "/api/uitbetalingen"): BETALING,
    ("POST", "/api/uitbetalingen/{uitbetaling_id}/goedkeuren"): BETALING,
    ("POST", "/api/uitbetalingen/{uitbetaling_id}/afwijzen"): BETALING,
    ("POST", "/api/uitbetalingen/export"): EXPORT,
    ("GET", "/api/uitbetalingen/batches"): EXPORT,
    ("GET", "/api/uitbetalingen/batches/{batch_id}.xml"): EXPORT,
    ("POST", "/api/feeds/uwv"): frozenset({KOPPELING, BEHEERDER}),
    ("GET", "/api/quarantaine"): FEED,
    ("POST", "/api/quarantaine/{quarantaine_id}/herverwerk"): FEED,
    ("GET", "/api/monitoring"): CIJFERS,
    ("GET", "/api/monitoring.csv"): CIJFERS,
    ("GET", "/api/gebruikers"): BEHEER,
    ("POST", "/api/gebruikers"): BEHEER,
    ("POST", "/api/tokens"): BEHEER,
    # ---- pages (HTML)
    ("GET", "/"): MENSEN,  # the worklist; finance and policy are sent to their own start page
    ("POST", "/logout"): MENSEN,
    ("POST", "/taken/{taak_id}/afronden"): ZAAK,
    ("GET", "/clienten"): ZAAK,
    ("POST", "/clienten/zoek"): ZAAK,
    ("GET", "/clienten/{client_id}"): ZAAK,
    ("GET", "/clienten/{client_id}/ontwikkelplan"): ZAAK,
    ("POST", "/clienten/{client_id}/ontwikkelplan"): ZAAK,
    ("GET", "/clienten/{client_id}/ontwikkelladder"): ZAAK,
    ("POST", "/clienten/{client_id}/ontwikkelladder"): ZAAK,
    ("GET", "/trajecten/nieuw"): ZAAK,
    ("POST", "/trajecten/nieuw"): ZAAK,
    ("GET", "/trajecten/{traject_id}"): ZAAK,
    ("POST", "/trajecten/{traject_id}/gebeurtenissen"): ZAAK,
    ("POST", "/trajecten/{traject_id}/beeindig"): ZAAK,
    ("GET", "/uitbetalingen"): BETALING,
    ("POST", "/uitbetalingen/{uitbetaling_id}/goedkeuren"): BETALING,
    ("POST", "/uitbetalingen/{uitbetaling_id}/afwijzen"): BETALING,
    ("POST", "/uitbetalingen/export"): EXPORT,
    ("GET", "/quarantaine"): FEED,
    ("POST", "/quarantaine/{quarantaine_id}/herverwerk"): FEED,
    ("GET", "/monitoring"): CIJFERS,
    # ---- area teams: caseload, coach assignment, transfers (``_caseload.py``)
    ("PATCH", "/api/clients/{client_id}"): ZAAK,
    ("POST", "/api/clients/{client_id}/coach"): TEAM,
    ("GET", "/api/caseload"): TEAM,
    ("POST", "/api/caseload/herverdeel"): TEAM,
    ("GET", "/api/overplaatsingen"): TEAM,
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/accepteer"): TEAM,
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/afwijzen"): TEAM,
    ("GET", "/caseload"): TEAM,
    ("POST", "/caseload/herverdeel"): TEAM,
    ("POST", "/overplaatsingen/{overplaatsing_id}/accepteer"): TEAM,
    ("POST", "/overplaatsingen/{overplaatsing_id}/afwijzen"): TEAM,
    ("POST", "/clienten/{client_id}/wijzig"): ZAAK,
}

# no login needed (the login form itself, static files, the API description, health and metrics)
PUBLIEK: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/login"), ("POST", "/login"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/static"),
    ("GET", "/gezond"),
    ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"),  # _gezondheid.py: counts only, no personal data
})


@dataclass(frozen=True)
class Gebruiker:
    """Who is asking: a logged-in person (session) or a machine (bearer token)."""

    id: int | None
    gebruikersnaam: str  # the actor name in every event: four-eyes compares it
    naam: str
    rol: str
    gebied: str | None
    via: str  # "sessie" or "token"
    csrf: str | None = None

    @property
    def actor(self) -> str:
        return self.gebruikersnaam


def mag(rol: str, method: str, path: str) -> bool:
    """May ``rol`` use the route (method, path template)?"""
    return rol in ROUTE_ROLES.get((method, path), frozenset())


def alle_gebieden(g: Gebruiker) -> bool:
    """Sees clients of every area: a beheerder, or a team lead / machine without an area."""
    return g.rol == BEHEERDER or (g.rol in (TEAMLEIDER, KOPPELING) and not g.gebied)


def ziet_gebied(g: Gebruiker, gebied: str | None) -> bool:
    """Row-level rule for client data: may ``g`` see a client of area ``gebied``?"""
    if g.rol not in ZAAK and g.rol != KOPPELING:
        return False
    if alle_gebieden(g):
        return True
    return bool(g.gebied) and gebied == g.gebied


def gebied_filter(g: Gebruiker, kolom) -> sa.ColumnElement[bool]:
    """The same rule as a WHERE clause on a ``client.gebied`` column."""
    if alle_gebieden(g):
        return sa.true()
    if not g.gebied:
        return sa.false()
    return kolom == g.gebied


def ziet_betaling(g: Gebruiker, gebied: str | None) -> bool:
    """Payouts: finance and beheerder see all; a team lead those of their area."""
    if g.rol in (FINANCIEN, BEHEERDER):
        return True
    if g.rol == TEAMLEIDER:
        return not g.gebied or gebied == g.gebied
    return False


def betaling_filter(g: Gebruiker, kolom) -> sa.ColumnElement[bool]:
    if g.rol in (FINANCIEN, BEHEERDER) or (g.rol == TEAMLEIDER and not g.gebied):
        return sa.true()
    if g.rol == TEAMLEIDER:
        return kolom == g.gebied
    return sa.false()


def mag_overrulen(g: Gebruiker) -> bool:
    return g.rol in OVERRULE_ROLLEN
