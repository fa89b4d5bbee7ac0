"""Pulling the UWV feed over HTTP (httpx): pages behind a cursor, so a re-run fetches only what is new.

Protocol (the product's own, docs/uwv-feed.md): ``GET <url>?cursor=<c>&limit=<n>`` answers
``{"records": [...], "volgende_cursor": "<c2>", "meer": true|false}``. The cursor is stored after each
page is processed; a crash in between re-fetches that page, whose records then count as duplicates.
Timeouts, connection errors and 5xx answers are retried with backoff; a 4xx is not (it is our bug or
our credentials) and ends the run with a clear error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from trajecten.basis.herhalen import RetryPolicy

from trajecten.opslag.models import KoppelingCursor

from ._verwerk import ACTOR, Samenvatting, verwerk

CURSOR = "uwv_http"
K = KoppelingCursor.__table__


class FeedOphaalFout(RuntimeError):
    """The feed could not be fetched (after retries, or refused with a 4xx); names the URL without secrets."""


# one request: 4 attempts, 0.5, 1 and 2 s apart (trajecten.RetryPolicy)
VERZOEK = RetryPolicy(pogingen=4, start_s=0.5, max_s=8.0)


@dataclass
class PullResultaat:
    paginas: int = 0
    cursor: str | None = None
    samenvatting: Samenvatting = field(default_factory=lambda: Samenvatting("http"))
    herhaald: int = 0  # requests retried

    def as_dict(self) -> dict:
        return {"paginas": self.paginas, "herhaald": self.herhaald, **self.samenvatting.as_dict()}


def lees_cursor(engine) -> str | None:
    with engine.reader.connect() as conn:
        return conn.execute(sa.select(K.c.waarde).where(K.c.naam == CURSOR)).scalar()


def _zet_cursor(engine, waarde: str) -> None:
    now = engine.clock.now()
    with engine.db.begin() as conn:
        if conn.execute(K.update().where(K.c.naam == CURSOR).values(waarde=waarde, bijgewerkt_op=now)).rowcount == 0:
            conn.execute(K.insert().values(naam=CURSOR, waarde=waarde, bijgewerkt_op=now))


class FeedClient:
    """All network I/O of the pull goes through :meth:`_get` (tests plug in a transport or a real server)."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 10.0, verify: bool | str = True,
                 retry: RetryPolicy = VERZOEK, transport: httpx.BaseTransport | None = None,
                 sleep=time.sleep):
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        self.retry = retry
        self._sleep = sleep
        self.retried = 0
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), verify=verify, headers=headers,
                                  transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def page(self, cursor: str | None, limit: int) -> dict:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = self._get(params)
        try:
            data = resp.json()
        except json.JSONDecodeError as exc:
            raise FeedOphaalFout(f"{self.url}: antwoord is geen JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise FeedOphaalFout(f"{self.url}: antwoord mist 'records' (lijst)")
        return data

    def _get(self, params: dict) -> httpx.Response:
        delays = iter(self.retry.wachttijden())
        while True:
            try:
                resp = self._http.get(self.url, params=params)
                if resp.status_code < 500:
                    if resp.status_code >= 400:
                        raise FeedOphaalFout(f"{self.url}: geweigerd met HTTP {resp.status_code}")
                    return resp
                problem = f"HTTP {resp.status_code}"
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = type(exc).__name__
            delay = next(delays, None)
            if delay is None:
                raise FeedOphaalFout(f"{self.url}: niet bereikbaar na {self.retry.pogingen} pogingen ({problem})")
            self.retried += 1
            self._sleep(delay)


def haal_op(engine, client: FeedClient, *, limit: int = 1000, max_paginas: int = 10_000,
            actor: str = ACTOR) -> PullResultaat:
    """Fetch and process every page after the stored cursor; the cursor moves after each page."""
    res = PullResultaat(cursor=lees_cursor(engine))
    totaal = res.samenvatting
    retried_before = client.retried
    while res.paginas < max_paginas:
        data = client.page(res.cursor, limit)
        items = [(i, rec, json.dumps(rec, ensure_ascii=False)) for i, rec in enumerate(data["records"], 1)]
        s = verwerk(engine, items, f"http:{engine.clock.now():%Y%m%d}", actor=actor)
        _optellen(totaal, s)
        res.paginas += 1
        nxt = data.get("volgende_cursor")
        if nxt:
            _zet_cursor(engine, str(nxt))
            res.cursor = str(nxt)
        if not data.get("meer") or not nxt:
            break
    res.herhaald = client.retried - retried_before
    return res


def _optellen(total: Samenvatting, s: Samenvatting) -> None:
    for name in ("ontvangen", "geaccepteerd", "gestart", "gepland", "geen_risico", "al_lopend", "dubbel", "quarantaine"):
        setattr(total, name, getattr(total, name) + getattr(s, name))
    total.per_reden.update(s.per_reden)
    total.onbekende_velden.update(s.onbekende_velden)


def haal_op_volgens_instellingen(engine) -> dict:
    """The scheduled job: pull from ``TRAJECTEN_UWV_FEED_URL`` with the configured token, TLS and timeout."""
    s = engine.settings
    verify: bool | str = s.uwv_feed_verify
    if verify in ("true", "false"):
        verify = verify == "true"
    client = FeedClient(s.uwv_feed_url, token=s.uwv_feed_token, timeout_s=s.uwv_feed_timeout_s, verify=verify)
    try:
        return haal_op(engine, client, limit=s.uwv_feed_paginagrootte).as_dict()
    finally:
        client.close()
