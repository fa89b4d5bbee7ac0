"""The REST API for payouts (``/api/uitbetalingen``): the four-eyes queue, approving and rejecting, the SEPA
export (pain.001) and its batches. Access: ``_toegang.ROUTE_ROLES``; errors: ``_fouten``; shared types: ``_api``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from trajecten.geld import uitbetalingen as betalingen
from trajecten.opslag.models import UitbetalingStatus
from trajecten.privacy import logboek
from trajecten.web import _data as data
from trajecten.web._api import Afwijzing, Id, Wie, _engine
from trajecten.web._auth import huidige_gebruiker

router = APIRouter(prefix="/api", dependencies=[Depends(huidige_gebruiker)])


@router.get("/uitbetalingen", summary="Uitbetalingen (vier-ogen-wachtrij)")
def uitbetalingen(request: Request, g: Wie, status: UitbetalingStatus | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    return data.uitbetalingen(_engine(request), g, status.value if status else None, limit, offset)


@router.post("/uitbetalingen/{uitbetaling_id}/goedkeuren",
             summary="Goedkeuren (niet door wie voorstelde of het traject startte)")
def goedkeuren(request: Request, g: Wie, uitbetaling_id: Id):
    eng = _engine(request)
    data.check_uitbetaling(eng, g, uitbetaling_id)
    betalingen.keur_goed(eng, uitbetaling_id, door=g.actor)
    return {"id": uitbetaling_id, "status": "goedgekeurd", "beoordeeld_door": g.actor}


@router.post("/uitbetalingen/{uitbetaling_id}/afwijzen", summary="Afwijzen met reden (vier ogen)")
def afwijzen(request: Request, g: Wie, uitbetaling_id: Id, body: Afwijzing):
    eng = _engine(request)
    data.check_uitbetaling(eng, g, uitbetaling_id)
    betalingen.wijs_af(eng, uitbetaling_id, door=g.actor, reden=body.reden)
    return {"id": uitbetaling_id, "status": "afgewezen", "beoordeeld_door": g.actor}


@router.post("/uitbetalingen/export", summary="Alle goedgekeurde uitbetalingen als één SEPA-batch (pain.001)")
def export(request: Request, g: Wie):
    res = betalingen.exporteer(_engine(request), door=g.actor)
    logboek.noteer_uitbetalingen(_engine(request), res.batch_id, [i for i, _ in res.overgeslagen])
    return {"batch_id": res.batch_id, "bericht_id": res.bericht_id, "aantal": res.aantal,
            "totaal": f"{res.totaal:.2f}",
            "niet_geexporteerd": [{"uitbetaling_id": i, "reden": r} for i, r in res.overgeslagen],
            "xml_url": f"/api/uitbetalingen/batches/{res.batch_id}.xml" if res.batch_id else None}


@router.get("/uitbetalingen/batches", summary="De laatste betaalbatches")
def batch_lijst(request: Request, g: Wie, limit: Annotated[int, Query(ge=1, le=500)] = 20):
    return data.batches(_engine(request), limit)


@router.get("/uitbetalingen/batches/{batch_id}.xml", summary="Het SEPA-bestand (pain.001) van een batch",
            response_class=Response, responses={200: {"content": {"application/xml": {}}}})
def batch_xml(request: Request, g: Wie, batch_id: Id):
    xml = betalingen.batch_xml(_engine(request), batch_id)
    logboek.noteer_uitbetalingen(_engine(request), batch_id)
    return Response(xml, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="betaalbatch-{batch_id}.xml"'})
