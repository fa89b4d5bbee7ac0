"""Logging in: argon2 password hashes, signed session cookie, bearer tokens for machines, CSRF.

``huidige_gebruiker`` is the one dependency every route runs: it finds who is asking (session or
``Authorization: Bearer``), checks the CSRF token of a session's unsafe request (form field
``csrf_token`` or header ``X-CSRF-Token``; bearer calls are exempt) and checks the route's roles in
``ROUTE_ROLES``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.opslag.models import ApiToken, Gebruiker as GebruikerRij
from trajecten.web._toegang import KOPPELING, MENSEN, PUBLIEK, ROLLEN, ROUTE_ROLES, Gebruiker

G, A = GebruikerRij.__table__, ApiToken.__table__
_PH = PasswordHasher()
_DUMMY = _PH.hash("niet-een-echt-wachtwoord")
VEILIG = {"GET", "HEAD", "OPTIONS"}


class NietIngelogd(Exception):
    """A page asked for without a session: the handler redirects to the login page."""

    def __init__(self, volgende: str):
        self.volgende = volgende


class GeenToegang(Exception):
    """Logged in, but the role may not use this route (pages: a 403 page; API: 403 JSON)."""

    def __init__(self, reden: str):
        self.reden = reden


# --------------------------------------------------------------------------- passwords and tokens


def hash_wachtwoord(wachtwoord: str) -> str:
    return _PH.hash(wachtwoord)


def controleer_wachtwoord(engine, gebruikersnaam: str, wachtwoord: str) -> int | None:
    """The user's id when the password is right and the account active; else None (same time either way)."""
    with engine.reader.connect() as conn:
        row = conn.execute(sa.select(G.c.id, G.c.wachtwoord_hash, G.c.actief)
                           .where(G.c.gebruikersnaam == gebruikersnaam)).first()
    try:
        _PH.verify(row.wachtwoord_hash if row else _DUMMY, wachtwoord)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.actief:
        return None
    return row.id


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def maak_gebruiker(engine, gebruikersnaam: str, wachtwoord: str, rol: str, *, naam: str = "",
                   gebied: str | None = None, email: str = "", conn=None) -> int:
    gebruikersnaam = gebruikersnaam.strip()
    if not gebruikersnaam:
        raise OngeldigeInvoer("gebruikersnaam", "verplicht")
    if rol not in MENSEN:
        raise OngeldigeInvoer("rol", f"kies een van {', '.join(sorted(MENSEN))}")
    if len(wachtwoord) < 8:
        raise OngeldigeInvoer("wachtwoord", "minstens 8 tekens")
    if rol == "coach" and not gebied:
        raise OngeldigeInvoer("gebied", "een coach hoort bij een gebiedsteam")
    with engine.transaction(conn) as conn:
        if conn.execute(sa.select(G.c.id).where(G.c.gebruikersnaam == gebruikersnaam)).first():
            raise OngeldigeInvoer("gebruikersnaam", "bestaat al")
        return conn.execute(G.insert().values(
            gebruikersnaam=gebruikersnaam, naam=naam, rol=rol, gebied=gebied or None, email=email,
            wachtwoord_hash=hash_wachtwoord(wachtwoord), actief=True, aangemaakt_op=engine.clock.now(),
        )).inserted_primary_key[0]


def maak_token(engine, naam: str, rol: str = KOPPELING, *, gebruiker_id: int | None = None,
               token: str | None = None) -> str:
    """Create a bearer token; the token itself is returned once, only its sha256 is stored."""
    if rol not in ROLLEN:
        raise OngeldigeInvoer("rol", f"kies een van {', '.join(sorted(ROLLEN))}")
    if not naam.strip():
        raise OngeldigeInvoer("naam", "verplicht")
    token = token or "trj_" + secrets.token_urlsafe(32)
    with engine.db.begin() as conn:
        if gebruiker_id is not None and not conn.execute(sa.select(G.c.id).where(G.c.id == gebruiker_id)).first():
            raise OngeldigeInvoer("gebruiker_id", "bestaat niet")
        conn.execute(A.insert().values(naam=naam.strip(), token_hash=token_hash(token), rol=rol,
                                       gebruiker_id=gebruiker_id, actief=True, aangemaakt_op=engine.clock.now()))
    return token


def _van_rij(row, via: str, csrf: str | None = None) -> Gebruiker:
    return Gebruiker(row.id, row.gebruikersnaam, row.naam, row.rol, row.gebied, via, csrf)


# Who a token or a session's user id is, remembered per app for a few seconds: 50 staff working at once
# would otherwise read the same token and user rows for every request (on the event loop). Only a
# found, active token or user is remembered; a revoked token or a deactivated account is refused at most
# this long after the change (also one made by another process: the CLI, a second worker).
ONTHOUD_S = 5.0
_MAX_ONTHOUDEN = 10_000
_klok = time.monotonic  # (tests move it forward)


def _geheugen(request: Request) -> dict:
    state = request.app.state
    mem = getattr(state, "wie_geheugen", None)
    if mem is None:
        mem = state.wie_geheugen = {}
    return mem


def _onthouden(mem: dict, key):
    hit = mem.get(key)
    if hit is not None and hit[0] > _klok():
        return hit[1]
    return None


def _onthoud(mem: dict, key, value) -> None:
    if len(mem) >= _MAX_ONTHOUDEN:
        mem.clear()
    mem[key] = (_klok() + ONTHOUD_S, value)


_TOKEN_Q = (sa.select(A.c.naam, A.c.rol, A.c.actief, A.c.gebruiker_id, G.c.id.label("g_id"),
                      G.c.gebruikersnaam, G.c.naam.label("g_naam"), G.c.gebied, G.c.actief.label("g_actief"))
            .select_from(A.outerjoin(G, G.c.id == A.c.gebruiker_id)))


def _via_token(engine, token: str, mem: dict | None = None) -> Gebruiker | None:
    h = token_hash(token)
    if mem is not None and (g := _onthouden(mem, ("token", h))) is not None:
        return g
    with engine.reader.connect() as conn:  # the token and its user in one query
        row = conn.execute(_TOKEN_Q.where(A.c.token_hash == h)).first()
    if row is None or not row.actief:
        return None
    if row.gebruiker_id is not None:
        if row.g_id is None or not row.g_actief:
            return None
        g = Gebruiker(row.g_id, row.gebruikersnaam, row.g_naam, row.rol, row.gebied, "token")
    else:
        g = Gebruiker(None, f"token:{row.naam}", row.naam, row.rol, None, "token")
    if mem is not None:
        _onthoud(mem, ("token", h), g)
    return g


def _via_sessie(engine, request: Request) -> Gebruiker | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    mem = _geheugen(request)
    g = _onthouden(mem, ("sessie", uid))
    if g is None:
        with engine.reader.connect() as conn:
            row = conn.execute(sa.select(G).where(G.c.id == uid)).first()
        if row is None or not row.actief:
            request.session.clear()
            return None
        g = _van_rij(row, "sessie")
        _onthoud(mem, ("sessie", uid), g)
    return Gebruiker(g.id, g.gebruikersnaam, g.naam, g.rol, g.gebied, "sessie", csrf_token(request))


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    tok = request.session.get("csrf")
    if not isinstance(tok, str) or len(tok) < 20:
        tok = secrets.token_urlsafe(32)
        request.session["csrf"] = tok
    return tok


def log_in(request: Request, uid: int) -> None:
    """A fresh session (no fixation): a new CSRF token too."""
    request.session.clear()
    request.session["uid"] = uid
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.session["sinds"] = request.app.state.engine.clock.now().isoformat(timespec="seconds")


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected:
        return False
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


async def huidige_gebruiker(request: Request) -> Gebruiker | None:
    """Authenticate, check CSRF and the route's roles. Everything about access passes here."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = "GET" if request.method == "HEAD" else request.method
    if (method, path) in PUBLIEK:
        return None
    engine = request.app.state.engine
    api = is_api(request)
    auth = request.headers.get("authorization", "")
    g: Gebruiker | None = None
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "gebruik Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
        g = _via_token(engine, token.strip(), _geheugen(request))
        if g is None:
            raise HTTPException(401, "onbekend of ingetrokken token", headers={"WWW-Authenticate": "Bearer"})
    else:
        g = _via_sessie(engine, request)
        if g is None:
            if api:
                raise HTTPException(401, "niet ingelogd", headers={"WWW-Authenticate": "Bearer"})
            raise NietIngelogd(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if method not in VEILIG and not await csrf_ok(request):
            raise HTTPException(403, "CSRF-token ontbreekt of klopt niet; laad de pagina opnieuw")
    allowed = ROUTE_ROLES.get((method, path))
    if allowed is None or g.rol not in allowed:
        if api:
            raise HTTPException(403, f"uw rol ({g.rol}) mag dit niet")
        raise GeenToegang(f"Uw rol ({g.rol}) heeft geen toegang tot deze pagina.")
    request.state.gebruiker = g
    return g
