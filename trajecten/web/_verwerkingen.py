"""Logboek Dataverwerkingen for the pages and the API: W3C Trace Context and one processing per request.

``VERWERKINGEN`` maps every route (like ``ROUTE_ROLES``) to the processing activity of the register
(``trajecten/privacy/data/verwerkingsactiviteiten.yaml``) under which it reads or writes clients' personal data,
or to None when it touches none. ``tests/test_logboek.py`` fails for a route that is missing here.

The middleware (:class:`LogboekMiddleware`) runs around every request: it reads the caller's
``traceparent`` (a missing or invalid one starts a new trace, never an error), opens a processing for the
request, returns the request's own ``traceparent`` in the response, and afterwards writes one record per
client that ``web/_data.py`` noted (``logboek.noteer``), with the activity of the route (or the
instrument's, where the code knows it). A route mapped to None that does note clients is still logged
(under the client administration) and warned about: nothing is skipped silently.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

from anyio import to_thread

from trajecten.privacy import logboek
from trajecten.privacy import trace

log = logging.getLogger("trajecten.web.logboek")

CLIENT, FEED, BETALING, MONITORING = "clientadministratie", "uwv_feed", "uitbetalingen", "monitoring"

VERWERKINGEN: dict[tuple[str, str], str | None] = {
    # ---- API (JSON)
    ("GET", "/api/ik"): None,
    ("GET", "/api/instrumenten"): None,
    ("GET", "/api/clients"): CLIENT,
    ("POST", "/api/clients"): CLIENT,
    ("POST", "/api/clients/zoek"): CLIENT,
    ("GET", "/api/clients/{client_id}"): CLIENT,
    ("GET", "/api/clients/{client_id}/ontwikkelplan"): CLIENT,
    ("POST", "/api/clients/{client_id}/ontwikkelplan"): CLIENT,
    ("GET", "/api/clients/{client_id}/ontwikkelladder"): CLIENT,
    ("POST", "/api/clients/{client_id}/ontwikkelladder"): CLIENT,
    ("GET", "/api/clients/{client_id}/verwerkingen"): CLIENT,  # the access request (inzage) itself
    ("POST", "/api/trajecten/toegang"): CLIENT,  # + the instrument's activity (noted by the handler)
    ("POST", "/api/trajecten"): CLIENT,
    ("GET", "/api/trajecten/{traject_id}"): CLIENT,
    ("POST", "/api/trajecten/{traject_id}/gebeurtenissen"): CLIENT,
    ("POST", "/api/trajecten/{traject_id}/beeindig"): CLIENT,
    ("GET", "/api/werklijst"): CLIENT,
    ("POST", "/api/taken/{taak_id}/afronden"): CLIENT,
    ("GET", "/api/uitbetalingen"): BETALING,
    ("POST", "/api/uitbetalingen/{uitbetaling_id}/goedkeuren"): BETALING,
    ("POST", "/api/uitbetalingen/{uitbetaling_id}/afwijzen"): BETALING,
    ("POST", "/api/uitbetalingen/export"): BETALING,
    ("GET", "/api/uitbetalingen/batches"): None,  # counts and totals only
    ("GET", "/api/uitbetalingen/batches/{batch_id}.xml"): BETALING,
    ("POST", "/api/feeds/uwv"): FEED,
    ("GET", "/api/quarantaine"): FEED,
    ("POST", "/api/quarantaine/{quarantaine_id}/herverwerk"): FEED,
    ("GET", "/api/monitoring"): MONITORING,
    ("GET", "/api/monitoring.csv"): MONITORING,
    ("PATCH", "/api/clients/{client_id}"): CLIENT,
    ("POST", "/api/clients/{client_id}/coach"): CLIENT,
    ("GET", "/api/caseload"): None,  # counts per coach only
    ("POST", "/api/caseload/herverdeel"): CLIENT,
    ("GET", "/api/overplaatsingen"): CLIENT,
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/accepteer"): CLIENT,
    ("POST", "/api/overplaatsingen/{overplaatsing_id}/afwijzen"): CLIENT,
    ("GET", "/api/gebruikers"): None,  # staff, not clients
    ("POST", "/api/gebruikers"): None,
    ("POST", "/api/tokens"): None,
    # ---- pages (HTML)
    ("GET", "/"): CLIENT,
    ("POST", "/logout"): None,
    ("POST", "/taken/{taak_id}/afronden"): CLIENT,
    ("GET", "/clienten"): CLIENT,
    ("POST", "/clienten/zoek"): CLIENT,
    ("GET", "/clienten/{client_id}"): CLIENT,
    ("GET", "/clienten/{client_id}/ontwikkelplan"): CLIENT,
    ("POST", "/clienten/{client_id}/ontwikkelplan"): CLIENT,
    ("GET", "/clienten/{client_id}/ontwikkelladder"): CLIENT,
    ("POST", "/clienten/{client_id}/ontwikkelladder"): CLIENT,
    ("GET", "/trajecten/nieuw"): CLIENT,
    ("POST", "/trajecten/nieuw"): CLIENT,
    ("GET", "/trajecten/{traject_id}"): CLIENT,
    ("POST", "/trajecten/{traject_id}/gebeurtenissen"): CLIENT,
    ("POST", "/trajecten/{traject_id}/beeindig"): CLIENT,
    ("GET", "/uitbetalingen"): BETALING,
    ("POST", "/uitbetalingen/{uitbetaling_id}/goedkeuren"): BETALING,
    ("POST", "/uitbetalingen/{uitbetaling_id}/afwijzen"): BETALING,
    ("POST", "/uitbetalingen/export"): BETALING,
    ("GET", "/quarantaine"): FEED,
    ("POST", "/quarantaine/{quarantaine_id}/herverwerk"): FEED,
    ("GET", "/monitoring"): MONITORING,
    ("POST", "/clienten/{client_id}/wijzig"): CLIENT,
    ("GET", "/caseload"): CLIENT,  # with ?coach=: that coach's clients by name
    ("POST", "/caseload/herverdeel"): CLIENT,
    ("POST", "/overplaatsingen/{overplaatsing_id}/accepteer"): CLIENT,
    ("POST", "/overplaatsingen/{overplaatsing_id}/afwijzen"): CLIENT,
}

# aggregates: one record without a data subject per request
ZONDER_BETROKKENE = frozenset({MONITORING})


class LogboekMiddleware:
    """ASGI middleware: trace context in and out, one processing per request, its records afterwards."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        try:
            inkomend = trace.lees_traceparent(headers.get(b"traceparent", b"").decode("latin-1"))
        except Exception:  # noqa: BLE001 - a broken header starts a new trace, never a 500
            inkomend = None
        # the request's span: a child of the caller's span, or the root of a new trace; its records have
        # the caller's span as parent
        v = logboek.begin(CLIENT, "", naam="", component="", trace=inkomend, erf=False)
        header = v.trace.header().encode("latin-1")
        status = {"code": 500}

        async def send_with_trace(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [(k, val) for k, val in message.get("headers", []) if k.lower() != b"traceparent"]
                message["headers"].append((b"traceparent", header))
            await send(message)

        fout = False
        try:
            with logboek.actief(v):
                await self.app(scope, receive, send_with_trace)
        except BaseException:
            fout = True
            raise
        finally:
            await self._sluit(scope, v, logboek.ERROR if fout or status["code"] >= 400 else logboek.OK)

    async def _sluit(self, scope, v: logboek.Verwerking, status: str) -> None:
        if not _benoem(scope, v) or v.leeg:
            return  # nothing to record (or the handler recorded it in its own transaction: ``transactie``)
        method, path = v.naam.split(" ", 1)
        engine = scope["app"].state.engine
        try:
            await to_thread.run_sync(logboek.sluit, engine, v, status)
        except Exception:  # noqa: BLE001 - logged by logboek.schrijf; the answer has been sent already
            log.exception("logboek: verwerking van %s %s niet vastgelegd", method, path)


def _benoem(scope, v: logboek.Verwerking) -> bool:
    """Give the request's processing its activity (of the route), user, name and component; False when
    there is nothing to record (no route matched, or nobody logged in so the handler never ran)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    method = "GET" if scope.get("method") == "HEAD" else scope.get("method", "")
    if path is None:
        return False  # no route matched (404 before any handler): nothing was read
    activiteit = VERWERKINGEN.get((method, path))
    if activiteit is None:
        if not (v.clients or v.bsns):
            return False
        log.warning("route %s %s verwerkt persoonsgegevens maar heeft geen verwerkingsactiviteit in "
                    "VERWERKINGEN; vastgelegd als %s", method, path, CLIENT)
        activiteit = CLIENT
    g = (scope.get("state") or {}).get("gebruiker")
    if g is None:
        return False  # not logged in: the handler never ran
    v.activiteit = activiteit
    v.zonder_betrokkene = activiteit in ZONDER_BETROKKENE and not v.eerder_vastgelegd
    v.gebruiker = g.actor
    v.naam = f"{method} {path}"
    v.component = "api" if path.startswith("/api") else "pagina"
    return True


@contextmanager
def transactie(request) -> Iterator[tuple[Any, dict[int, str]]]:
    """A write transaction for a handler that also holds the request's Logboek records: at the end of the
    block, what the request noted is written in that same transaction (status OK, the fields the
    middleware would give them), so the processing and its record commit together in one round trip
    instead of a second transaction after the answer. When the block or the commit fails, nothing is
    marked and the middleware records the processing with status ERROR, as for any other request.

        with transactie(request) as (conn, bekend):
            ...  # bekend[client_id] = bsn for clients already read: their BSNs are not read again
    """
    engine = request.app.state.engine
    v = logboek.huidige()
    bekend: dict[int, str] = {}
    with engine.db.begin() as conn:
        yield conn, bekend
        if v is not None and _benoem(request.scope, v):
            logboek.leg_vast(engine, v, conn, bekend=bekend)
        else:
            v = None
    if v is not None:
        v.vastgelegd()  # committed: the middleware has nothing left to write
