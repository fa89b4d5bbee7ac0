"""The REST API for running the service: what comes in (the UWV feed push, ``/api/feeds/uwv``, and its
quarantine), the figures that go out (``/api/monitoring``) and who may call (users, machine tokens).
Access: ``_toegang.ROUTE_ROLES``; errors: ``_fouten``; shared types: ``_api``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AfterValidator, Field

from trajecten.basis.fouten import OngeldigeInvoer
from trajecten.beheer.koppelingen import uwv_feed
from trajecten.clienten import ladder as ontwikkelladder
from trajecten.rapportage.monitoring import maandcijfers
from trajecten.taken.jobs import cijfers_csv
from trajecten.web import _data as data
from trajecten.web._api import MAX_ID, Id, Invoer, Tekst, Wie, _engine, _geen_nul
from trajecten.web._auth import huidige_gebruiker, maak_gebruiker, maak_token

FEED_MAX_BYTES = 50 * 1024 * 1024
router = APIRouter(prefix="/api", dependencies=[Depends(huidige_gebruiker)])


class Herverwerk(Invoer):
    record: Annotated[dict[Annotated[str, Field(max_length=100)], Any], AfterValidator(_geen_nul),
                      Field(max_length=100)]


class NieuweGebruiker(Invoer):
    gebruikersnaam: Tekst(100, 1)
    naam: Tekst(200) = ""
    rol: Literal["coach", "teamleider", "financien", "beleid", "beheerder"]
    gebied: Tekst(50) | None = None
    email: Tekst(254) = ""
    wachtwoord: Tekst(200, 8)


class NieuwToken(Invoer):
    naam: Tekst(100, 1)
    rol: Literal["coach", "teamleider", "financien", "beleid", "beheerder", "koppeling"] = "koppeling"
    gebruiker_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


# --------------------------------------------------------------------------- UWV feed and quarantine

_FEED_TYPES = {"application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/json": "jsonl",
               "text/csv": "csv"}


@router.post("/feeds/uwv", summary="UWV-overdrachten aanleveren (JSON Lines of CSV); geeft de samenvatting",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-ndjson": {"schema": {"type": "string"}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def feed_uwv(request: Request, g: Wie):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FEED_TYPES.get(ctype)
    if fmt is None:
        raise HTTPException(415, "Content-Type: application/x-ndjson (JSON Lines) of text/csv")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > FEED_MAX_BYTES:
            raise HTTPException(413, f"meer dan {FEED_MAX_BYTES // (1024 * 1024)} MB: lever in delen aan")
    if b"\x00" in body:
        line = body[: body.index(b"\x00")].count(b"\n") + 1
        raise OngeldigeInvoer("body", f"bevat een NUL-teken (regel {line}); lever tekst aan (UTF-8)")
    eng = _engine(request)
    name = f"push-{g.actor}-{eng.clock.now():%Y%m%dT%H%M%S}.{fmt}"
    from starlette.concurrency import run_in_threadpool

    feed = uwv_feed(eng.settings)
    s = await run_in_threadpool(feed.verwerk_tekst, eng, bytes(body), name)
    return s.as_dict()


@router.get("/quarantaine", summary="Afgekeurde feedrecords met hun redenen")
def quarantaine(request: Request, g: Wie, alles: bool = False, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    return data.quarantaine(_engine(request), alles, limit, offset)


@router.post("/quarantaine/{quarantaine_id}/herverwerk", summary="Gecorrigeerd record opnieuw verwerken")
def herverwerk(request: Request, g: Wie, quarantaine_id: Id, body: Herverwerk):
    eng = _engine(request)
    return uwv_feed(eng.settings).herverwerk(eng, quarantaine_id, body.record, door=g.actor).as_dict()


# --------------------------------------------------------------------------- monitoring

Jaar = Annotated[int | None, Query(ge=2000, le=2100)]
Maand = Annotated[int | None, Query(ge=1, le=12)]


def _periode(eng, jaar, maand) -> tuple[int, int]:
    today = data.vandaag(eng)
    return jaar or today.year, maand or (today.month if not jaar or jaar == today.year else 12)


@router.get("/monitoring", summary="Maandcijfers per instrument tegen de jaardoelen (alleen aantallen)")
def monitoring(request: Request, g: Wie, jaar: Jaar = None, maand: Maand = None):
    eng = _engine(request)
    j, m = _periode(eng, jaar, maand)
    return {"jaar": j, "maand": m, "instrumenten": [x.as_dict() for x in maandcijfers(eng, j, m)],
            "ontwikkelladder": ontwikkelladder.beweging_maand_en_jaar(eng, j, m)}


@router.get("/monitoring.csv", summary="Maandcijfers als CSV (;-gescheiden)", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def monitoring_csv(request: Request, g: Wie, jaar: Jaar = None, maand: Maand = None):
    eng = _engine(request)
    j, m = _periode(eng, jaar, maand)
    text = cijfers_csv([x.as_dict() for x in maandcijfers(eng, j, m)])
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="monitoring-{j}-{m:02d}.csv"'})


# --------------------------------------------------------------------------- users and tokens


@router.get("/gebruikers", summary="Gebruikers (beheer)")
def gebruikers(request: Request, g: Wie):
    import sqlalchemy as sa

    from trajecten.web._auth import G

    with _engine(request).reader.connect() as conn:
        rows = conn.execute(sa.select(G.c.id, G.c.gebruikersnaam, G.c.naam, G.c.rol, G.c.gebied, G.c.email,
                                      G.c.actief).order_by(G.c.gebruikersnaam)).all()
    return [dict(r._mapping) for r in rows]


@router.post("/gebruikers", status_code=201, summary="Gebruiker aanmaken (beheer)")
def gebruiker_maken(request: Request, g: Wie, body: NieuweGebruiker):
    uid = maak_gebruiker(_engine(request), body.gebruikersnaam, body.wachtwoord, body.rol, naam=body.naam,
                         gebied=body.gebied, email=body.email)
    return {"id": uid, "gebruikersnaam": body.gebruikersnaam.strip(), "rol": body.rol, "gebied": body.gebied or None}


@router.post("/tokens", status_code=201, summary="API-token aanmaken voor een machine (het token wordt één keer getoond)")
def token_maken(request: Request, g: Wie, body: NieuwToken):
    token = maak_token(_engine(request), body.naam, body.rol, gebruiker_id=body.gebruiker_id)
    return {"naam": body.naam, "rol": body.rol, "token": token}
