"""The web application: pages + REST API on one engine (``create_app``), and its OpenAPI file."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from trajecten.basis.proces import stem_af
from trajecten.web import _api, _api_beheer, _api_geld, _caseload, _fouten, _gezondheid, _pages, _traject_nieuw
from trajecten.web._toegang import PUBLIEK, ROUTE_ROLES
from trajecten.web._verwerkingen import LogboekMiddleware

HIER = Path(__file__).resolve().parent
SESSIE_COOKIE = "trajecten_sessie"


_CSP = (b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'")


class _Beveiligingskoppen:
    """Security headers on every answer (a header the handler set itself is kept). A plain ASGI
    middleware: ``@app.middleware("http")`` would run every request through an extra task and streams."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
        if not path.startswith("/docs"):
            extra += [(b"x-frame-options", b"DENY"), (b"content-security-policy", _CSP)]
        if path.startswith("/api/") or path == "/":
            extra.append((b"cache-control", b"no-store"))

        async def send_met_koppen(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_met_koppen)


def _beveiligingskoppen(app: FastAPI) -> None:
    app.add_middleware(_Beveiligingskoppen)


def alle_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, included routers unfolded (HEAD/OPTIONS left out)."""
    out: list[tuple[str, str]] = []

    def walk(routes):
        for r in routes:
            inner = getattr(r, "original_router", None)  # FastAPI keeps included routers as one node
            if inner is not None:
                walk(inner.routes)
            elif isinstance(r, APIRoute):
                out.extend((m, r.path) for m in sorted(r.methods - {"HEAD", "OPTIONS"}))

    walk(app.routes)
    return out


def routes_zonder_regel(app: FastAPI) -> list[tuple[str, str]]:
    """Routes that are neither in ROUTE_ROLES nor public (must be empty)."""
    return [k for k in alle_routes(app) if k not in ROUTE_ROLES and k not in PUBLIEK]


def create_app(engine, *, secret_key: str | None = None, https_only: bool | None = None) -> FastAPI:
    """Pages and API on ``engine``. The session key comes from ``secret_key``, else the environment
    (setting ``TRAJECTEN_SESSIE_SLEUTEL``), else a random one (sessions then end when the process restarts)."""
    app = FastAPI(
        title="Trajectenengine Werk & Participatie",
        version="0.1.0",
        description="REST API van de trajectenengine: cliënten, trajecten (met toegangsbesluit en uitleg), "
                    "werklijst, taken, uitbetalingen (vier ogen, SEPA-export), UWV-feed, quarantaine en "
                    "monitoring. Machines: `Authorization: Bearer <token>`; vanuit een sessie: cookie plus "
                    "`X-CSRF-Token`. Een BSN staat nooit in een URL.",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.templates = Jinja2Templates(directory=str(HIER / "templates"))
    app.state.templates.env.globals["maand_naam"] = _pages.MAANDEN
    # the API: case work, payouts, then feed, monitoring, users (in the order of the OpenAPI document)
    app.include_router(_api.router)
    app.include_router(_api_geld.router)
    app.include_router(_api_beheer.router)
    app.include_router(_traject_nieuw.router)  # before /trajecten/{traject_id}
    app.include_router(_pages.router)
    _caseload.installeer(app)  # area teams: caseload, coach assignment, transfers

    @app.get("/gezond", include_in_schema=False)
    def gezond():
        return {"status": "ok"}

    app.include_router(_gezondheid.router)  # /health, /ready, /metrics: no login, no personal data

    app.mount("/static", StaticFiles(directory=str(HIER / "static")), name="static")
    _fouten.install(app)
    _beveiligingskoppen(app)
    settings = getattr(engine, "settings", None)  # None when only the OpenAPI document is wanted
    configured = settings.sessie_sleutel if settings else None
    key = secret_key or (configured.get_secret_value() if configured else None) or secrets.token_urlsafe(32)
    if https_only is None:
        https_only = bool(settings and settings.cookie_secure)
    app.add_middleware(SessionMiddleware, secret_key=key, session_cookie=SESSIE_COOKIE, same_site="lax",
                       https_only=https_only, max_age=8 * 3600)
    app.add_middleware(LogboekMiddleware)  # outermost: trace context and the Logboek Dataverwerkingen
    _met_beveiliging(app)
    missing = routes_zonder_regel(app)
    if missing:  # pragma: no cover - a developer forgot the access table
        raise RuntimeError(f"routes zonder toegangsregel in ROUTE_ROLES: {missing}")
    return app


def klaar_voor_verkeer() -> None:
    """Once per server process, after ``create_app``: the process tuning (``trajecten.basis.proces``), so
    everything loaded so far (modules, definitions, rules, the app) is out of the garbage collector's sight
    and a full collection walks only what requests created (during a collection every request in flight
    stands still)."""
    stem_af()


def openapi(app: FastAPI | None = None) -> dict:
    """The OpenAPI document, with the two ways to authenticate (bearer token; session cookie + CSRF header)."""
    if app is None:
        from types import SimpleNamespace

        app = create_app(SimpleNamespace(), secret_key="openapi")
    return app.openapi()


def _met_beveiliging(app: FastAPI) -> None:
    base = app.openapi

    def schema() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = base()
        doc.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API-token (machines: feed, flows)"},
            "sessie": {"type": "apiKey", "in": "cookie", "name": SESSIE_COOKIE,
                       "description": "sessiecookie na inloggen op /login; schrijvende aanroepen sturen ook "
                                      "de header X-CSRF-Token (zie GET /api/ik)"},
        }
        doc["security"] = [{"bearer": []}, {"sessie": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = schema  # type: ignore[method-assign]


def write_openapi(path: Path | str) -> None:
    """Write the API description (OpenAPI 3) to ``path`` (``docs/openapi.json``)."""
    Path(path).write_text(json.dumps(openapi(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
