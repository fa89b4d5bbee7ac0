"""The engine's refusals as HTTP answers, at one edge.

OngeldigeInvoer -> 422 naming the field · NietGevonden -> 404 · NietToegelaten -> 409 with the decision
and its reasons (403 when it is a permission such as four-eyes, without a decision) · AlLopend (a second
start while the client has a running trajectory of the instrument) -> 409 with ``traject_id``, the page a
link to it · OngeldigeToestand -> 409 · a number or date out of range -> 422 · anything else -> 500 (a
bug; logged with its traceback). Starlette picks the handler of the nearest class in the exception's MRO,
so AlLopend gets its own even though it is an OngeldigeToestand.
Pages get the same status with a short Dutch page; the API gets JSON.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trajecten.basis.fouten import AlLopend, NietGevonden, NietToegelaten, OngeldigeInvoer, OngeldigeToestand
from trajecten.web._auth import GeenToegang, NietIngelogd, is_api

log = logging.getLogger("trajecten.web")


def _loc(veld: str) -> list[str]:
    if veld.startswith("feit "):
        return ["body", "feiten", veld[5:]]
    if veld == "body":
        return ["body"]
    return ["body", veld]


def _page(request: Request, status: int, titel: str, tekst: str, extra: dict | None = None):
    templates = request.app.state.templates
    from trajecten.web._pages import context

    return templates.TemplateResponse(request, "fout.html", context(request, titel=titel, tekst=tekst,
                                                                   status=status, **(extra or {})),
                                      status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(OngeldigeInvoer)
    async def _ongeldig(request: Request, exc: OngeldigeInvoer):
        if not is_api(request):
            return _page(request, 422, "Ongeldige invoer", f"{exc.veld}: {exc.reden}")
        return JSONResponse({"detail": [{"loc": _loc(exc.veld), "msg": exc.reden, "type": "ongeldige_invoer"}]},
                            status_code=422)

    @app.exception_handler(NietGevonden)
    async def _niet_gevonden(request: Request, exc: NietGevonden):
        if not is_api(request):
            return _page(request, 404, "Niet gevonden", str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(NietToegelaten)
    async def _niet_toegelaten(request: Request, exc: NietToegelaten):
        b = exc.besluit
        status = 409 if b is not None else 403
        if not is_api(request):
            return _page(request, status, "Niet toegelaten", str(exc))
        body = {"detail": str(exc)}
        if b is not None:
            body.update(toegelaten=bool(b.uitkomst), besluit=b.to_json(),
                        uitleg=b.uitleg() if hasattr(b, "uitleg") else None)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(AlLopend)
    async def _al_lopend(request: Request, exc: AlLopend):
        if not is_api(request):
            return _page(request, 409, "Al een lopend traject", str(exc),
                         {"link": {"href": f"/trajecten/{exc.traject_id}",
                                   "tekst": f"Naar het lopende traject {exc.traject_id}"}})
        return JSONResponse({"detail": str(exc), "traject_id": exc.traject_id, "instrument": exc.instrument},
                            status_code=409)

    @app.exception_handler(OngeldigeToestand)
    async def _toestand(request: Request, exc: OngeldigeToestand):
        if not is_api(request):
            return _page(request, 409, "Kan niet (meer)", str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError):
        log.warning("getal/datum buiten bereik bij %s %s", request.method, request.url.path, exc_info=exc)
        if not is_api(request):
            return _page(request, 422, "Ongeldige invoer", "een getal of datum ligt buiten het bereik")
        return JSONResponse({"detail": [{"loc": ["body"], "msg": "een getal of datum ligt buiten het bereik",
                                         "type": "buiten_bereik"}]}, status_code=422)

    @app.exception_handler(NietIngelogd)
    async def _login(request: Request, exc: NietIngelogd):
        from urllib.parse import quote

        return RedirectResponse(f"/login?volgende={quote(exc.volgende, safe='')}", status_code=303)

    @app.exception_handler(GeenToegang)
    async def _geen_toegang(request: Request, exc: GeenToegang):
        return _page(request, 403, "Geen toegang", exc.reden)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if is_api(request) or request.url.path in ("/openapi.json",):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        titels = {401: "Niet ingelogd", 403: "Geen toegang", 404: "Niet gevonden", 405: "Niet toegestaan"}
        return _page(request, exc.status_code, titels.get(exc.status_code, "Fout"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validatie(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        if not is_api(request):
            tekst = "; ".join(f"{'.'.join(str(x) for x in e['loc'][1:]) or 'invoer'}: {e['msg']}" for e in errors)
            return _page(request, 422, "Ongeldige invoer", tekst)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("onverwachte fout bij %s %s", request.method, request.url.path)
        if not is_api(request):
            return _page(request, 500, "Er ging iets mis", "Een onverwachte fout; die is gelogd.")
        return JSONResponse({"detail": "interne fout; die is gelogd"}, status_code=500)
