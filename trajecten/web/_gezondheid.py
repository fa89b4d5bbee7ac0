"""Health for load balancers, orchestrators and Prometheus: ``GET /health`` (the process is alive; no
database), ``GET /ready`` (database reachable, schema at the newest migration, backlog of due steps;
503 when not ready) and ``GET /metrics`` (Prometheus text format). No login (``PUBLIEK`` in
``_toegang.py``), so they show counts and revision names only, never personal data; not in the OpenAPI
document (they are not part of the API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from trajecten.beheer import metrics
from trajecten.beheer.gezondheid import gereedheid

router = APIRouter(include_in_schema=False)
ROUTES = (("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"))


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}  # async, no database: answers as long as the event loop does


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    out = gereedheid(engine.db, engine.clock.now())
    return JSONResponse(out, status_code=200 if out["gereed"] else 503, headers={"cache-control": "no-store"})


@router.get("/metrics")
def prometheus(request: Request) -> PlainTextResponse:
    return PlainTextResponse(metrics.tekst(request.app.state.engine), media_type=metrics.CONTENT_TYPE,
                             headers={"cache-control": "no-store"})
