"""A small stand-in for the Zaken API 1.x (as Open Zaak implements it), run as a real local HTTP server.

It implements only what the ZGW connector uses — ``GET/POST /zaken``, ``GET/POST /statussen``,
``GET/POST /resultaten`` under ``/zaken/api/v1`` — and checks each request the way Open Zaak does:

- the body against a JSON Schema subset written from the Zaken API's published OpenAPI
  (``ZaakRequest``, ``StatusRequest``, ``ResultaatRequest``: required fields, types, lengths, formats
  uri / date / date-time) plus the checks Open Zaak adds (RSIN 11-test, known zaaktype, statustype and
  resultaattype of the zaak's zaaktype, unique identificatie per bronorganisatie, one resultaat per zaak,
  no end status without a resultaat). Stricter than Open Zaak in one way: an unknown field is refused,
  so a misspelt (silently ignored) field or personal data cannot slip through unnoticed;
- ``Authorization: Bearer <JWT>`` signed HS256 with the shared secret, with ``client_id`` and ``iat``;
- ``Accept-Crs`` (and on writes ``Content-Crs``) ``EPSG:4326`` on ``/zaken``.

A bad request gets 400 with ``invalidParams: [{name, code, reason}]`` like Open Zaak; a good one 201
with the object and its ``url``. ``down`` makes it answer 503; ``traag_na_aanmaken`` makes the next
POSTs to /zaken store the zaak and then answer only after ``traag_s`` (longer than the client's
timeout). Every request is recorded in ``verzoeken``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

import jsonschema
import jwt
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API = "/zaken/api/v1"
CRS = "EPSG:4326"

# --------------------------------------------------------------------------- the OpenAPI subset
# From the Zaken API 1.x OpenAPI (components/schemas ZaakRequest, StatusRequest, ResultaatRequest): only the
# properties the connector may send. Property names, types, formats and lengths as published.

_URI = {"type": "string", "format": "uri", "minLength": 1, "maxLength": 1000}
_RSIN = {"type": "string", "maxLength": 9}

SCHEMAS: dict[str, dict] = {
    "ZaakRequest": {
        "type": "object",
        "required": ["bronorganisatie", "zaaktype", "verantwoordelijkeOrganisatie", "startdatum"],
        "additionalProperties": False,
        "properties": {
            "identificatie": {"type": "string", "maxLength": 40},
            "bronorganisatie": _RSIN,
            "omschrijving": {"type": "string", "maxLength": 80},
            "toelichting": {"type": "string", "maxLength": 1000},
            "zaaktype": _URI,
            "registratiedatum": {"type": "string", "format": "date"},
            "verantwoordelijkeOrganisatie": _RSIN,
            "startdatum": {"type": "string", "format": "date"},
            "einddatumGepland": {"type": ["string", "null"], "format": "date"},
            "uiterlijkeEinddatumAfdoening": {"type": ["string", "null"], "format": "date"},
            "publicatiedatum": {"type": ["string", "null"], "format": "date"},
            "vertrouwelijkheidaanduiding": {"enum": ["openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk",
                                                     "vertrouwelijk", "confidentieel", "geheim", "zeer_geheim"]},
        },
    },
    "StatusRequest": {
        "type": "object",
        "required": ["zaak", "statustype", "datumStatusGezet"],
        "additionalProperties": False,
        "properties": {
            "zaak": {"type": "string", "format": "uri"},
            "statustype": _URI,
            "datumStatusGezet": {"type": "string", "format": "date-time"},
            "statustoelichting": {"type": "string", "maxLength": 1000},
        },
    },
    "ResultaatRequest": {
        "type": "object",
        "required": ["zaak", "resultaattype"],
        "additionalProperties": False,
        "properties": {
            "zaak": {"type": "string", "format": "uri"},
            "resultaattype": _URI,
            "toelichting": {"type": "string", "maxLength": 1000},
        },
    },
}

_formats = jsonschema.FormatChecker(formats=())


@_formats.checks("uri", raises=ValueError)
def _is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    u = urlparse(value)
    return u.scheme in ("http", "https") and bool(u.netloc)


@_formats.checks("date", raises=ValueError)
def _is_date(value) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        if "T" not in value:
            raise ValueError("no time part")
    return True


_CODES = {"required": "required", "maxLength": "max_length", "minLength": "blank", "type": "invalid",
          "format": "invalid", "enum": "invalid_choice", "additionalProperties": "unknown-field"}


def _shape_errors(schema: str, body: Any) -> list[dict]:
    """Field errors as Open Zaak gives them: name (camelCase field), code, reason."""
    if not isinstance(body, dict):
        return [{"name": "nonFieldErrors", "code": "invalid", "reason": "Ongeldige data. Verwachtte een dictionary."}]
    out = []
    validator = jsonschema.Draft202012Validator(SCHEMAS[schema], format_checker=_formats)
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
        if err.validator == "required":
            name = err.message.split("'")[1]
            reason = "Dit veld is vereist."
        elif err.validator == "additionalProperties":
            extra = sorted(set(body) - set(SCHEMAS[schema]["properties"]))
            out.extend({"name": n, "code": "unknown-field", "reason": "Onbekend veld."} for n in extra)
            continue
        else:
            name = ".".join(str(p) for p in err.path) or "nonFieldErrors"
            reason = err.message
        out.append({"name": name, "code": _CODES.get(err.validator, "invalid"), "reason": reason})
    return out


def _rsin_errors(name: str, value: str) -> list[dict]:
    """Open Zaak's validate_rsin: digits, 9 long, the 11-test."""
    if not isinstance(value, str):
        return []
    if not value.isdigit():
        return [{"name": name, "code": "only-digits", "reason": "Waarde moet numeriek zijn."}]
    if len(value) != 9:
        return [{"name": name, "code": "invalid-length", "reason": "RSIN moet 9 tekens lang zijn."}]
    if sum(int(c) * w for c, w in zip(value, (9, 8, 7, 6, 5, 4, 3, 2, -1))) % 11:
        return [{"name": name, "code": "invalid", "reason": "Onjuist RSIN nummer."}]
    return []


# --------------------------------------------------------------------------- the catalogue it knows


@dataclass
class Catalogus:
    """What the Catalogi API would know: per zaaktype URL its statustypen (in volgnummer order: the last
    is the end status) and its resultaattypen."""

    statustypen: dict[str, list[str]] = field(default_factory=dict)
    resultaattypen: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def uit_zaaktypen(cls, zaaktypen) -> "Catalogus":
        """From the connector's mapping (``connectors.zgw.lees``): phases in order gepland, actief, afgerond."""
        cat = cls()
        for zt in zaaktypen.values():
            cat.statustypen[zt.zaaktype] = [zt.statustypen[f] for f in ("gepland", "actief", "afgerond")]
            cat.resultaattypen[zt.zaaktype] = set(zt.resultaattypen.values())
        return cat


@dataclass
class Verzoek:
    method: str
    path: str
    query: dict
    headers: dict
    body: Any
    status: int = 0

    @property
    def raw(self) -> str:
        return json.dumps({"query": self.query, "body": self.body}, ensure_ascii=False)


class ZgwStandin:
    def __init__(self, *, client_id: str, secret: str, catalogus: Catalogus):
        self.client_id, self.secret, self.catalogus = client_id, secret, catalogus
        self.zaken: dict[str, dict] = {}
        self.statussen: list[dict] = []
        self.resultaten: list[dict] = []
        self.verzoeken: list[Verzoek] = []
        self.down = False
        self.traag_na_aanmaken = 0  # this many next POST /zaken are stored, then answered after traag_s
        self.traag_s = 1.0
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}{API}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "ZgwStandin":
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="zgw-standin", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("ZGW stand-in did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Verzoek]:
        return [v for v in self.verzoeken if (method is None or v.method == method)
                and (path is None or v.path == path)]

    # ------------------------------------------------------------------ the app

    def _app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        standin = self

        @app.middleware("http")
        async def record(request: Request, call_next):
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            v = Verzoek(request.method, request.url.path.removeprefix(API), dict(request.query_params),
                        {k.lower(): val for k, val in request.headers.items()}, body)
            standin.verzoeken.append(v)
            request.state.verzoek = v
            if standin.down:
                resp = _problem(503, "service_unavailable", "Service niet beschikbaar")
            else:
                fout = standin._auth(request) or (standin._crs(request) if v.path.startswith("/zaken") else None)
                resp = fout or await call_next(request)
            v.status = resp.status_code
            return resp

        @app.get(API + "/zaken")
        async def zaken_list(request: Request):
            q = request.query_params
            hits = [z for z in self.zaken.values()
                    if all(z.get(k) == q[k] for k in ("identificatie", "bronorganisatie") if k in q)]
            return _page(hits)

        @app.post(API + "/zaken")
        async def zaak_create(request: Request):
            body = request.state.verzoek.body
            errors = _shape_errors("ZaakRequest", body)
            if not errors:
                errors += _rsin_errors("bronorganisatie", body["bronorganisatie"])
                errors += _rsin_errors("verantwoordelijkeOrganisatie", body["verantwoordelijkeOrganisatie"])
                if body["zaaktype"] not in self.catalogus.statustypen:
                    errors.append({"name": "zaaktype", "code": "bad-url", "reason": "De URL is ongeldig."})
                ident = body.get("identificatie")
                if ident and any(z["identificatie"] == ident and z["bronorganisatie"] == body["bronorganisatie"]
                                 for z in self.zaken.values()):
                    errors.append({"name": "identificatie", "code": "identificatie-niet-uniek",
                                   "reason": "Deze identificatie bestaat al voor deze bronorganisatie"})
            if errors:
                return _invalid(errors)
            zid = str(uuid.uuid4())
            zaak = {"url": f"{self.url}/zaken/{zid}", "uuid": zid, "identificatie": body.get("identificatie")
                    or f"ZAAK-{len(self.zaken) + 1:06d}", "einddatum": None, "status": None, "resultaat": None,
                    **{k: v for k, v in body.items() if k != "identificatie"}}
            self.zaken[zaak["url"]] = zaak
            if self.traag_na_aanmaken > 0:
                self.traag_na_aanmaken -= 1
                await asyncio.sleep(self.traag_s)
            return _created(zaak)

        @app.get(API + "/statussen")
        async def status_list(request: Request):
            q = request.query_params
            return _page([s for s in self.statussen if all(s[k] == q[k] for k in ("zaak", "statustype") if k in q)])

        @app.post(API + "/statussen")
        async def status_create(request: Request):
            body = request.state.verzoek.body
            errors = _shape_errors("StatusRequest", body)
            zaak = None if errors else self.zaken.get(body["zaak"])
            if not errors and zaak is None:
                errors.append({"name": "zaak", "code": "does_not_exist", "reason": "Zaak bestaat niet."})
            if not errors:
                typen = self.catalogus.statustypen[zaak["zaaktype"]]
                if body["statustype"] not in typen:
                    errors.append({"name": "nonFieldErrors", "code": "zaaktype-mismatch",
                                   "reason": "Het statustype hoort niet bij het zaaktype van de zaak."})
                elif body["statustype"] == typen[-1] and zaak["resultaat"] is None:
                    errors.append({"name": "nonFieldErrors", "code": "resultaat-does-not-exist",
                                   "reason": "Een eindstatus kan pas gezet worden als de zaak een resultaat heeft."})
            if errors:
                return _invalid(errors)
            sid = str(uuid.uuid4())
            status = {"url": f"{self.url}/statussen/{sid}", "uuid": sid, **body}
            self.statussen.append(status)
            zaak["status"] = status["url"]
            if body["statustype"] == self.catalogus.statustypen[zaak["zaaktype"]][-1]:
                zaak["einddatum"] = body["datumStatusGezet"][:10]
            return _created(status)

        @app.get(API + "/resultaten")
        async def resultaat_list(request: Request):
            q = request.query_params
            return _page([r for r in self.resultaten if all(r[k] == q[k] for k in ("zaak",) if k in q)])

        @app.post(API + "/resultaten")
        async def resultaat_create(request: Request):
            body = request.state.verzoek.body
            errors = _shape_errors("ResultaatRequest", body)
            zaak = None if errors else self.zaken.get(body["zaak"])
            if not errors and zaak is None:
                errors.append({"name": "zaak", "code": "does_not_exist", "reason": "Zaak bestaat niet."})
            if not errors:
                if body["resultaattype"] not in self.catalogus.resultaattypen[zaak["zaaktype"]]:
                    errors.append({"name": "nonFieldErrors", "code": "zaaktype-mismatch",
                                   "reason": "Het resultaattype hoort niet bij het zaaktype van de zaak."})
                if zaak["resultaat"] is not None:
                    errors.append({"name": "zaak", "code": "unique", "reason": "Deze zaak heeft al een resultaat."})
            if errors:
                return _invalid(errors)
            rid = str(uuid.uuid4())
            resultaat = {"url": f"{self.url}/resultaten/{rid}", "uuid": rid, **body}
            self.resultaten.append(resultaat)
            zaak["resultaat"] = resultaat["url"]
            return _created(resultaat)

        return app

    def _auth(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return _problem(403, "not_authenticated", "Authenticatiegegevens zijn niet opgegeven.")
        try:
            claims = jwt.decode(header[7:], self.secret, algorithms=["HS256"], options={"require": ["iat"]})
        except jwt.PyJWTError as exc:
            return _problem(403, "not_authenticated", f"Ongeldig JWT: {exc}")
        if claims.get("client_id") != self.client_id:
            return _problem(403, "permission_denied", "Onbekende client_id.")
        return None

    def _crs(self, request: Request) -> JSONResponse | None:
        accept = request.headers.get("accept-crs")
        if accept is None:
            return _problem(412, "precondition_failed", "'Accept-Crs' header ontbreekt")
        if accept != CRS:
            return _problem(406, "not_acceptable", f"CRS '{accept}' is niet ondersteund")
        if request.method in ("POST", "PUT", "PATCH"):
            content = request.headers.get("content-crs")
            if content is None:
                return _problem(412, "precondition_failed", "'Content-Crs' header ontbreekt")
            if content != CRS:
                return _problem(415, "unsupported_media_type", f"CRS '{content}' is niet ondersteund")
        return None


def _page(results: list[dict]) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": results}


def _created(obj: dict) -> JSONResponse:
    return JSONResponse(obj, status_code=201, headers={"Location": obj["url"], "API-version": "1.5.1"})


def _problem(status: int, code: str, detail: str, invalid: list | None = None) -> JSONResponse:
    body = {"type": f"http://127.0.0.1/ref/fouten/{code}/", "code": code, "title": detail, "status": status,
            "detail": detail, "instance": f"urn:uuid:{uuid.uuid4()}"}
    if invalid is not None:
        body["invalidParams"] = invalid
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _invalid(errors: list[dict]) -> JSONResponse:
    return _problem(400, "invalid", "Invalid input.", errors)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
