"""The backoffice web application: server-rendered pages and the REST API, one FastAPI app.

Start reading at ``_toegang.py`` (who may do what: ``ROUTE_ROLES``), then the API's routers (``_api.py``,
``_api_geld.py``, ``_api_beheer.py``) and ``_pages.py``;
``_verwerkingen.py`` maps each route to its processing activity (Logboek Dataverwerkingen, ``VERWERKINGEN``).
"""

from trajecten.web._app import alle_routes, create_app, klaar_voor_verkeer, openapi, routes_zonder_regel, write_openapi
from trajecten.web._auth import hash_wachtwoord, maak_gebruiker, maak_token
from trajecten.web._demo import DEMO_TOKEN, DEMO_WACHTWOORD, demo_gebruikers
from trajecten.web._toegang import (MENSEN, OVERRULE_ROLLEN, PUBLIEK, ROLLEN, ROUTE_ROLES, Gebruiker, gebied_filter,
                       mag, ziet_gebied)

__all__ = [
    # _app
    "create_app", "klaar_voor_verkeer", "openapi", "write_openapi", "alle_routes", "routes_zonder_regel",
    # _auth
    "hash_wachtwoord", "maak_gebruiker", "maak_token",
    # _demo
    "DEMO_TOKEN", "DEMO_WACHTWOORD", "demo_gebruikers",
    # _toegang
    "ROUTE_ROLES", "PUBLIEK", "ROLLEN", "MENSEN", "OVERRULE_ROLLEN", "Gebruiker", "mag", "ziet_gebied",
    "gebied_filter",
]
